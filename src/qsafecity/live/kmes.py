"""The city's key management layer as the live city runs it: the KMEs of ``qsafecity.kms``, one per
site on a QKD link, each with its own store, served on loopback with its ETSI GS QKD 014 API, and
the SAEs (devices and gateways) that fetch their keys from them over that API.

How a key gets from a link to an SAE::

    QKDLinkRuntime.step ──bits──▶ CityKMEs.feed ──KME.feed (both ends, same block indices)──▶ pools
    device (master SAE) ──ETSI 014 enc_keys──▶ KME of its site ══hop(s) over /kme/v1══▶ KME of the
    gateway's site ◀──ETSI 014 dec_keys (key id from the handshake)── gateway (slave SAE)

* **Pools.** Each link's pool lives at both of its ends, in each KME's own database (SQLite files in
  the run's data directory; with PostgreSQL one schema per KME, dropped when the city stops). The
  live link engine (``live/links.py``) distils a finite-size block of key each step; the whole
  256-bit blocks it produced go into both ends' copies (:meth:`KME.feed`), read
  from the simulated device pair (``kms.rate.SimulatedQKDDevice``, a per-run secret), up to the
  pool's capacity. The KMEs never refill on their own clock.
* **Relay and rerouting.** The KMEs agree on blocks and relay keys hop by hop over their real
  KME-to-KME channel (``api.peer.HttpPeerChannel``: HTTPS on 127.0.0.1). A link whose devices
  abort (QBER above the threshold) or whose fibre is cut is announced to every KME
  (:meth:`KME.set_link_in_service`), which routes around it; a KME that finds a pool empty on the
  way reroutes by itself.
* **SAEs.** A device calls ``enc_keys`` on the KME of its site as master SAE ``SERVICE@SITE``
  (``qsafecity.api.client.ETSI014Client``), names the key id in its handshake, and the gateway
  calls ``dec_keys`` with that id on the KME of its site as slave SAE ``SERVICE@GATEWAY``: each key
  once. The KMEs' audit events give the route each key took (for the dashboard).
* **Keys ahead.** A device's next keys are fetched in the background, :data:`KEYS_AHEAD` in one
  ``enc_keys`` request, when it has none left (:meth:`CityKMEs.enc_key`), so that the city's step
  does not wait for the KMEs. A key fetched
  ahead whose route crosses a link taken out of service since is not used (a conservative choice:
  it stays unfetched at the slave's KME) and a new one is fetched on a route around the link.

Every KME, its peers and its SAEs talk over mutual TLS, as with ``qsafecity kme serve``: the run
makes its own city CA (``kms.pki``) and issues each KME and each SAE a certificate naming it; the
KME reads the caller's identity from the certificate, never from the request.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import itertools
import queue
import re
import secrets
import shutil
import socket
import ssl
import tempfile
import threading
import time
import zlib
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

import httpx
import uvicorn
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from qsafecity.api.app import create_app
from qsafecity.api.client import ETSI014Client
from qsafecity.api.peer import HttpPeerChannel
from qsafecity.api.server import TLSClientCertH11
from qsafecity.city.model import CityManifest
from qsafecity.crypto.secretbox import SecretBox
from qsafecity.errors import KeyManagementError, KeyRequestError, QSafeCityError
from qsafecity.kms import pki
from qsafecity.kms.directory import Directory, QKDLink
from qsafecity.kms.directory import link_id as kms_link_id
from qsafecity.kms.kme import KME
from qsafecity.kms.model import BLOCK_BITS, KMELimits
from qsafecity.kms.rate import FixedRateModel, SimulatedQKDDevice
from qsafecity.kms.sql import SQLKeyStore, normalise_url
from qsafecity.live.clock import Clock
from qsafecity.live.links import QKDLinkRuntime

#: ETSI GS QKD 014 keys are usually 256 bits: one pool block per key.
KEY_BITS: Final = BLOCK_BITS
#: A pool holds at most this many blocks per link end (the KMEs' ``max_key_count``): 1,024 keys,
#: 17 hours of one critical device's keys (one a minute). Every block is derived, sealed and
#: inserted at both ends, so a larger pool mostly lengthens the start (warm-up fills them all).
POOL_CAPACITY_BLOCKS: Final = 1_024
#: A full pool is looked at again after this many wall seconds (its devices idle meanwhile): a
#: feed costs each KME a database transaction, and most steps find the pools full.
FULL_RECHECK_S: Final = 1.0
#: Keys a device's SAE fetches ahead in one ``enc_keys`` request (the 014 ``number``): one request
#: carries several keys for little more than the cost of one.
KEYS_AHEAD: Final = 4
#: Routes remembered from the KMEs' audit events (by key id), for the dashboard.
_ROUTES_KEPT: Final = 10_000
_HOST: Final = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class DeliveredKey:
    """A key handed to a master SAE: its id (public), its material (secret) and its route."""

    key_id: str
    material: bytes
    route: tuple[str, ...]

    def __repr__(self) -> str:
        return f"DeliveredKey(key_id={self.key_id!r}, route={self.route!r}, material=<redacted>)"


class KeyDelivery(Protocol):
    """What a device (master SAE) and a gateway (slave SAE) need from the key management layer."""

    def enc_key(self, master_site: str, master_sae: str, slave_sae: str) -> DeliveredKey:
        """A new key for ``master_sae`` shared with ``slave_sae`` (ETSI 014 ``enc_keys``)."""

    def dec_key(self, slave_site: str, slave_sae: str, master_sae: str, key_id: str) -> bytes:
        """The key ``master_sae`` named by ``key_id``, once (ETSI 014 ``dec_keys``)."""

    def has_route(self, a: str, b: str) -> bool:
        """Whether the KME at ``a`` has a route with key to the KME at ``b`` now."""


_SCHEMA_RUN: Final = re.compile(r"^qsafecity_kme_([0-9a-f]{8})_")
#: The first key of the live city's advisory locks (the second is the run's).
_RUN_LOCK_CLASS: Final = 0x71534B4D  # "qSKM"


def _run_lock(run_id: str) -> dict[str, int]:
    """The advisory lock (two 32-bit keys) that a live run holds while it lives."""
    return {"k": _RUN_LOCK_CLASS, "r": zlib.crc32(run_id.encode()) - 2**31}


def _schema_name(run_id: str, site: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", f"qsafecity_kme_{run_id}_{site}".lower())[:63]


class _Databases:
    """One database per KME: SQLite files in a directory, or one PostgreSQL schema each."""

    def __init__(self, where: str | None, run_id: str) -> None:
        self.run_id = run_id
        self._postgres: str | None = None
        self._schemas: list[str] = []
        self._own_dir: Path | None = None
        #: The connection that holds this run's advisory lock while the run lives (PostgreSQL).
        self._lock: Connection | None = None
        self._lock_engine: Engine | None = None
        if where is not None and where.startswith("postgresql"):
            self._postgres = normalise_url(where)
            self.directory: Path | None = None
        elif where is None:
            self._own_dir = Path(tempfile.mkdtemp(prefix="qsafecity-kmes-"))
            self.directory = self._own_dir
        else:
            self.directory = Path(where)
            self.directory.mkdir(parents=True, exist_ok=True)

    def url_for(self, site: str) -> str:
        if self._postgres is None:
            assert self.directory is not None
            return f"sqlite:///{self.directory / f'kme-{site}-{self.run_id}.sqlite'}"
        schema = _schema_name(self.run_id, site)
        try:
            if self._lock is None:
                self._claim_run()
            engine = create_engine(self._postgres)
            try:
                with engine.begin() as connection:
                    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            finally:
                engine.dispose()
        except SQLAlchemyError as error:
            raise KeyManagementError(
                f"cannot create the schema of KME {site}: {type(error).__name__}"
            ) from None
        self._schemas.append(schema)
        url = make_url(self._postgres).update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    def describe(self) -> str:
        if self._postgres is not None:
            return f"PostgreSQL schemas qsafecity_kme_{self.run_id}_*"
        return f"SQLite files in {self.directory}"

    def _claim_run(self) -> None:
        """Hold this run's advisory lock for as long as the run lives, then drop the schemas of
        runs that hold none: a run killed without its stop (SIGKILL, a crash) leaves its schemas
        behind, and PostgreSQL releases a session's advisory lock when its connection dies."""
        assert self._postgres is not None
        self._lock_engine = create_engine(self._postgres, poolclass=NullPool)
        self._lock = self._lock_engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._lock.execute(text("SELECT pg_advisory_lock(:k, :r)"), _run_lock(self.run_id))
        found = self._lock.execute(
            text("SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE :p"),
            {"p": "qsafecity\\_kme\\_%"},
        ).scalars()
        runs: dict[str, list[str]] = {}
        for schema in found:
            match = _SCHEMA_RUN.match(schema)
            if match is not None and match[1] != self.run_id:
                runs.setdefault(match[1], []).append(schema)
        for run_id, schemas in runs.items():
            lock = _run_lock(run_id)
            taken = self._lock.execute(text("SELECT pg_try_advisory_lock(:k, :r)"), lock)
            if not taken.scalar_one():
                continue  # that run is alive
            try:
                for schema in schemas:
                    self._lock.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            finally:
                self._lock.execute(text("SELECT pg_advisory_unlock(:k, :r)"), lock)

    def drop(self) -> None:
        """Remove what this run created: the schemas, or a temporary directory."""
        if self._postgres is not None and self._schemas:
            try:
                engine = create_engine(self._postgres)
                try:
                    with engine.begin() as connection:
                        for schema in self._schemas:
                            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                finally:
                    engine.dispose()
            except SQLAlchemyError:
                pass  # the schemas stay behind; the next run drops them (``_claim_run``)
        if self._lock is not None and self._lock_engine is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._lock.close()  # releases the run's advisory lock
            self._lock_engine.dispose()
            self._lock = self._lock_engine = None
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)


class _Audit:
    """Collects the KMEs' audit events: counts by KME and event, the route of each key issued."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.routes: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self.relayed_keys = 0
        self._lock = threading.Lock()

    def route_of(self, key_id: str) -> tuple[str, ...]:
        """The route the key took, from its ``enc_keys`` event (empty when not known)."""
        with self._lock:
            return self.routes.get(key_id, ())

    def sink(self, event: str, fields: Mapping[str, object]) -> None:
        with self._lock:
            self.counts[(str(fields.get("kme", "")), event)] += 1
            if event != "enc_keys":
                return
            routes = fields.get("routes")
            key_ids = fields.get("key_ids")
            if not isinstance(routes, list) or not routes or not isinstance(key_ids, list):
                return
            route = tuple(str(site) for site in routes[0])
            if len(route) > 2:
                self.relayed_keys += len(key_ids)
            for key_id in key_ids:
                self.routes[str(key_id)] = route
            while len(self.routes) > _ROUTES_KEPT:
                self.routes.popitem(last=False)


class _PKI:
    """The run's own city CA and the certificates of its KMEs and SAEs (``kms.pki``), as files in
    a private temporary directory (the TLS stack reads files), removed when the city stops."""

    def __init__(self, city_name: str) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="qsafecity-kme-pki-"))  # mode 0700
        self._ca = pki.create_ca(city_name, dt.datetime.now(dt.UTC))
        self.ca = self.folder / "ca.pem"
        self.ca.write_bytes(self._ca.certificate_pem)
        self._lock = threading.Lock()

    def issue(self, role: pki.Role, identity: str) -> tuple[Path, Path]:
        """The certificate and key files of ``identity``, issued on first use."""
        certificate = self.folder / f"{role}-{identity}.pem"
        key = self.folder / f"{role}-{identity}-key.pem"
        with self._lock:
            if not certificate.is_file():
                issued = pki.issue(self._ca, role, identity, dt.datetime.now(dt.UTC))
                key.touch(mode=0o600)
                key.write_bytes(issued.key_pem)
                certificate.write_bytes(issued.certificate_pem)
        return certificate, key

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class _Server:
    """One KME's FastAPI app served by uvicorn over mutual TLS on a socket bound in advance."""

    def __init__(self, kme: KME, sock: socket.socket, authority: _PKI) -> None:
        app = create_app(kme, insecure_dev=False, refill_interval_s=None)
        certificate, key = authority.issue("kme", kme.site_id)
        # log_config=None: reconfiguring uvicorn's loggers once per KME, from the thread that
        # builds the city, briefly resets their level while the other KMEs' servers log.
        config = uvicorn.Config(
            app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
            # As `qsafecity kme serve`: a client certificate from the city CA is required, and
            # the KME reads the caller's SAE or KME id from it.
            http=TLSClientCertH11,
            ssl_certfile=str(certificate),
            ssl_keyfile=str(key),
            ssl_ca_certs=str(authority.ca),
            ssl_cert_reqs=ssl.CERT_REQUIRED,
        )
        self.server = uvicorn.Server(config)
        self.sock = sock
        self.thread = threading.Thread(
            target=self.server.run,
            kwargs={"sockets": [sock]},
            name=f"qsafecity-kme-{kme.site_id}",
            daemon=True,
        )

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10.0)
        self.sock.close()


class CityKMEs:
    """The KMEs of the live city and their SAE clients (see the module docstring). Thread-safe."""

    def __init__(
        self,
        city: CityManifest,
        links: Iterable[QKDLinkRuntime],
        *,
        clock: Clock,
        run_id: str,
        database: str | None = None,
        capacity_blocks: int = POOL_CAPACITY_BLOCKS,
        fetch_ahead: bool = True,
    ) -> None:
        self.links: dict[str, QKDLinkRuntime] = {link.id: link for link in links}
        #: The KME network's name of each live link (``a~b``, order-free).
        self.kms_ids = {lid: kms_link_id(link.a, link.b) for lid, link in self.links.items()}
        self.capacity_blocks = capacity_blocks
        self.fetch_ahead = fetch_ahead
        self.directory = Directory.from_city(
            city,
            links=[QKDLink(link.a, link.b, link.length_km) for link in self.links.values()],
        )
        self.sites = sorted(
            {site for link in self.directory.links for site in (link.site_a, link.site_b)}
        )
        self.audit = _Audit()
        self.databases = _Databases(database, run_id)
        self.pki = _PKI(city.city.name)
        self.kmes: dict[str, KME] = {}
        self.urls: dict[str, str] = {}
        self._channels: list[HttpPeerChannel] = []
        self._stores: list[SQLKeyStore] = []
        self._servers: list[_Server] = []
        self._clients: dict[str, ETSI014Client] = {}
        self._carry_bits: dict[str, int] = dict.fromkeys(self.links, 0)
        #: Wall time (monotonic) until which a link end found full is not fed.
        self._full_until: dict[tuple[str, str], float] = {}
        #: Blocks added to the leader's copy of each pool since the start (to count consumption).
        self.added_blocks: dict[str, int] = dict.fromkeys(self.links, 0)
        self._lock = threading.Lock()
        self._closed = False
        #: Keys fetched ahead, by (master SAE, slave SAE), and the link ids out of service.
        self._ready: dict[tuple[str, str], list[DeliveredKey]] = {}
        self._out_of_service: set[str] = set()
        self._wanted: queue.SimpleQueue[tuple[str, str, str] | None] = queue.SimpleQueue()
        self._fetcher = threading.Thread(
            target=self._fetch_ahead, name="qsafecity-kme-fetch-ahead", daemon=True
        )
        self._last_levels: dict[str, int] = dict.fromkeys(self.links, 0)
        try:
            self._build(clock)
        except BaseException:
            self.close()
            raise

    def _build(self, clock: Clock) -> None:
        sockets: dict[str, socket.socket] = {}
        for site in self.sites:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((_HOST, 0))
            sockets[site] = sock
            self.urls[site] = f"https://{_HOST}:{sock.getsockname()[1]}"
        # One simulated device pair per link, keyed by a secret of this run (kms.rate).
        devices = SimulatedQKDDevice(secrets.token_bytes(32))
        limits = KMELimits(max_key_count=self.capacity_blocks)
        for site in self.sites:
            store = SQLKeyStore(self.databases.url_for(site), pool_size=2)
            self._stores.append(store)
            # Every other KME: hops go to neighbours, delivery notices to the key's first KME.
            peers = {other: url for other, url in self.urls.items() if other != site}
            certificate, key = self.pki.issue("kme", site)
            channel = HttpPeerChannel(site, peers, certificate=certificate, key=key, ca=self.pki.ca)
            self._channels.append(channel)
            wrapper, _ = SecretBox.generate()
            self.kmes[site] = KME(
                site_id=site,
                directory=self.directory,
                store=store,
                wrapper=wrapper,
                source=devices,
                # The pools are fed by the live link engine (feed), never refilled by the KME.
                rate_model=FixedRateModel(0.0),
                channel=channel,
                clock=clock.now_s,
                limits=limits,
                audit=self.audit.sink,
            )
        for site in self.sites:
            server = _Server(self.kmes[site], sockets.pop(site), self.pki)
            self._servers.append(server)
            server.thread.start()
        deadline = time.monotonic() + 20.0
        while not all(s.server.started for s in self._servers):
            if time.monotonic() > deadline or not all(s.thread.is_alive() for s in self._servers):
                raise KeyManagementError("the KMEs' ETSI 014 servers did not start")
            time.sleep(0.01)
        self._fetcher.start()

    def close(self) -> None:
        """Stop the servers, close the clients, channels and stores; drop this run's schemas."""
        self._closed = True
        if self._fetcher.is_alive():
            self._wanted.put(None)
            self._fetcher.join(15.0)
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        for channel in self._channels:
            channel.close()  # sends the delivery notices it batched, while the peers still listen
        self._channels.clear()
        for server in self._servers:
            server.server.should_exit = True  # all at once: each waits for its own requests
        for server in self._servers:
            server.stop()
        self._servers.clear()
        for store in self._stores:
            store.close()
        self._stores.clear()
        self.databases.drop()
        self.pki.remove()

    # --- the link engine's side ----------------------------------------------------------------

    def feed(self, link_id: str, bits: int) -> int:
        """The devices of ``link_id`` distilled ``bits`` more: whole blocks go into both ends'
        pools (the rest waits for the next step); return the blocks added at the leader."""
        with self._lock:
            self._carry_bits[link_id] += bits
            blocks, self._carry_bits[link_id] = divmod(self._carry_bits[link_id], KEY_BITS)
        if blocks == 0:
            return 0
        kms_id = self.kms_ids[link_id]
        link = self.directory.links_by_id[kms_id]
        added = 0
        now = time.monotonic()
        for site in (link.site_a, link.site_b):
            if self._full_until.get((link_id, site), 0.0) > now:
                continue
            count = self.kmes[site].feed(kms_id, blocks)
            if count < blocks:
                self._full_until[(link_id, site)] = now + FULL_RECHECK_S
            if site == link.leader():
                added = count
        with self._lock:
            self.added_blocks[link_id] += added
        return added

    def set_in_service(self, link_id: str, in_service: bool) -> None:
        """Announce to every KME that a link stopped (or resumed) producing key."""
        kms_id = self.kms_ids[link_id]
        with self._lock:
            if in_service:
                self._out_of_service.discard(kms_id)
            else:
                self._out_of_service.add(kms_id)
        for kme in self.kmes.values():
            kme.set_link_in_service(kms_id, in_service)

    # --- the SAEs' side (ETSI GS QKD 014) -------------------------------------------------------

    def _client(self, site: str, sae_id: str) -> ETSI014Client:
        url = self.urls.get(site)
        if url is None:
            raise KeyManagementError(f"no KME at {site}: the site has no QKD link")
        with self._lock:
            client = self._clients.get(sae_id)
            if client is None:
                certificate, key = self.pki.issue("sae", sae_id)
                client = ETSI014Client(
                    url, certificate=certificate, key=key, ca=self.pki.ca, timeout_s=10.0
                )
                self._clients[sae_id] = client
            return client

    def enc_key(self, master_site: str, master_sae: str, slave_sae: str) -> DeliveredKey:
        key: DeliveredKey | None = None
        with self._lock:
            ready = self._ready.get((master_sae, slave_sae), [])
            while ready and key is None:
                candidate = ready.pop(0)
                if not any(
                    kms_link_id(a, b) in self._out_of_service
                    for a, b in itertools.pairwise(candidate.route)
                ):
                    key = candidate
        if key is None:
            key = self._fetch(master_site, master_sae, slave_sae, 1)[0]
        self.prefetch(master_site, master_sae, slave_sae)
        return key

    def prefetch(self, master_site: str, master_sae: str, slave_sae: str) -> None:
        """Fetch the pair's next key in the background (at most one ahead)."""
        if self.fetch_ahead and not self._closed:
            self._wanted.put((master_site, master_sae, slave_sae))

    def _fetch_ahead(self) -> None:
        while (wanted := self._wanted.get()) is not None:
            master_site, master_sae, slave_sae = wanted
            with self._lock:
                if self._ready.get((master_sae, slave_sae)):
                    continue
            try:
                keys = self._fetch(master_site, master_sae, slave_sae, KEYS_AHEAD)
            except QSafeCityError:
                continue  # no route now: the device asks again when it needs the key
            with self._lock:
                self._ready.setdefault((master_sae, slave_sae), []).extend(keys)

    def _fetch(
        self, master_site: str, master_sae: str, slave_sae: str, number: int
    ) -> list[DeliveredKey]:
        try:
            container = self._client(master_site, master_sae).get_key(slave_sae, number=number)
        except KeyRequestError as error:
            raise KeyManagementError(str(error)) from None
        if len(container.keys) != number:
            raise KeyManagementError("the KME answered another number of keys than asked for")
        routes = [self.audit.route_of(key.key_ID) for key in container.keys]
        return [
            DeliveredKey(key.key_ID, _decode(key.key), route)
            for key, route in zip(container.keys, routes, strict=True)
        ]

    def dec_key(self, slave_site: str, slave_sae: str, master_sae: str, key_id: str) -> bytes:
        try:
            container = self._client(slave_site, slave_sae).get_key_with_ids(master_sae, [key_id])
        except KeyRequestError as error:
            raise KeyManagementError(str(error)) from None
        if len(container.keys) != 1 or container.keys[0].key_ID != key_id:
            raise KeyManagementError("the KME answered another key than the one asked for")
        return _decode(container.keys[0].key)

    def has_route(self, a: str, b: str) -> bool:
        kme = self.kmes.get(a)
        if kme is None or b not in self.kmes:
            return False
        return a == b or kme.route_to(b) is not None

    # --- what the dashboard shows ----------------------------------------------------------------

    def pool_levels(self) -> dict[str, int]:
        """Blocks in each live link's pool at its leader (the end that allocates); after
        :meth:`close`, the last levels read."""
        if self._closed:
            return dict(self._last_levels)
        levels: dict[str, int] = {}
        by_site: dict[str, dict[str, int]] = {}
        for link_id, kms_id in self.kms_ids.items():
            leader = self.directory.links_by_id[kms_id].leader()
            if leader not in by_site:
                try:
                    by_site[leader] = self.kmes[leader].pool_levels()
                except QSafeCityError:
                    by_site[leader] = {}
            levels[link_id] = by_site[leader].get(kms_id, 0)
        self._last_levels = levels
        return dict(levels)

    def operations_client(self) -> httpx.Client:
        """An HTTPS client for the KMEs' operations endpoints (``/metrics``, ``/readyz``), with a
        certificate of the run's CA (it names no SAE, so the 014 API refuses it)."""
        certificate, key = self.pki.issue("sae", "operations")
        context = ssl.create_default_context(cafile=str(self.pki.ca))
        context.load_cert_chain(str(certificate), str(key))
        return httpx.Client(verify=context, timeout=10.0)

    def kme_stats(self) -> dict[str, dict[str, int]]:
        """Per KME: keys issued (enc_keys), delivered (dec_keys), forwarded as a trusted node."""
        return {
            site: {
                "keys_issued": kme.stats.get("keys_issued", 0),
                "keys_delivered": kme.stats.get("keys_delivered", 0),
                "relayed_hops": kme.stats.get("relayed_hops", 0),
                "link_down_events": kme.stats.get("link_down_events", 0),
            }
            for site, kme in self.kmes.items()
        }

    @property
    def relayed_keys(self) -> int:
        """Keys issued along a route through at least one trusted node."""
        return self.audit.relayed_keys


def _decode(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise KeyManagementError("the KME answered a key that is not base64") from None
