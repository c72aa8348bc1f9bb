"""Running a KME: its configuration, building it from a city manifest, and serving it with
uvicorn over mutual TLS (or, in the insecure development mode, plain HTTP on loopback only).

uvicorn does not (yet) hand the client certificate to the application, so ``TLSClientCertH11``
puts the verified certificate of each connection into the ASGI scope the way the ASGI TLS
extension does (``scope["extensions"]["tls"]["client_cert_chain"]``).

With several workers uvicorn starts fresh processes that rebuild the app from the configuration
in the environment variable ``QSAFECITY_KME_CONFIG`` (``app_from_environment``); they share the
database, whose row locks keep them from handing out a block or a key twice.
"""

from __future__ import annotations

import ipaddress
import json
import os
import ssl
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from qsafecity.api.app import create_app
from qsafecity.api.peer import HttpPeerChannel
from qsafecity.crypto.secretbox import KEY_BYTES as KEK_BYTES
from qsafecity.crypto.secretbox import SecretBox
from qsafecity.errors import InputError
from qsafecity.kms.directory import Directory
from qsafecity.kms.kme import KME
from qsafecity.kms.model import KMELimits
from qsafecity.kms.rate import FixedRateModel, KeyRateModel, PresetRateModel, SimulatedQKDDevice
from qsafecity.kms.sql import SQLKeyStore
from qsafecity.manifests import load_city

CONFIG_VARIABLE: Final = "QSAFECITY_KME_CONFIG"
SIMULATION_SECRET: Final = "qkd-simulation.secret"


@dataclass(frozen=True)
class ServeConfig:
    """Everything ``qsafecity kme serve`` needs; JSON-serialisable for the worker processes."""

    site: str
    pki_dir: str
    city: str | None = None
    host: str = "127.0.0.1"
    port: int = 8014
    db: str | None = None
    insecure_dev: bool = False
    peers: dict[str, str] = field(default_factory=dict)
    rate_bps: float | None = None
    #: The QKD link preset whose key rate fills the pools (``qsafecity.qkd.physics``).
    preset: str = "metro"
    max_key_count: int = 100_000
    workers: int = 1
    refill_interval_s: float = 0.2
    #: Where the audit log goes (JSON lines); ``None``: standard error.
    audit_file: str | None = None

    @property
    def database_url(self) -> str:
        return self.db or f"sqlite:///kme-{self.site}.db"

    def file(self, name: str) -> Path:
        return Path(self.pki_dir) / name

    @property
    def certificate(self) -> Path:
        return self.file(f"kme-{self.site}.pem")

    @property
    def key(self) -> Path:
        return self.file(f"kme-{self.site}-key.pem")

    @property
    def ca(self) -> Path:
        return self.file("ca.pem")

    @property
    def kek(self) -> Path:
        return self.file(f"kme-{self.site}.kek")

    def check(self) -> None:
        """Refuse what is unsafe or cannot work, before anything starts."""
        if self.insecure_dev and not _is_loopback(self.host):
            raise InputError(
                f"--insecure-dev refuses to listen on {self.host}: only a loopback address "
                "(127.0.0.1, ::1, localhost) is allowed without mutual TLS"
            )
        if not 1 <= self.port <= 65535:
            raise InputError(f"port {self.port} is outside 1..65535")
        if not 1 <= self.workers <= 64:
            raise InputError("--workers must be between 1 and 64")
        if self.workers > 1 and not self.database_url.startswith("postgresql"):
            raise InputError(
                "several workers need PostgreSQL (--db postgresql://…); SQLite is one process"
            )
        needed = [self.file(SIMULATION_SECRET), self.kek]
        if not self.insecure_dev:
            needed += [self.certificate, self.key, self.ca]
        missing = [str(p) for p in needed if not p.is_file()]
        if missing:
            raise InputError(
                "missing PKI files (make them with `qsafecity pki init` and "
                f"`qsafecity pki issue kme {self.site}`): " + ", ".join(missing)
            )
        for peer, url in self.peers.items():
            if not url.startswith("http://" if self.insecure_dev else "https://"):
                raise InputError(
                    f"peer {peer}: {url!r} must be an {'http' if self.insecure_dev else 'https'}:// URL"
                )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _read_secret(path: Path, size: int) -> bytes:
    data = path.read_bytes()
    if len(data) != size:
        raise InputError(f"{path} must hold exactly {size} bytes")
    return data


class _AuditLog:
    """One JSON object a line, written with one ``write`` to a descriptor opened for appending
    (standard error until :meth:`open` names a file).

    Not through ``logging``: its handler lock, taken by every request thread for the write and
    the flush, made a convoy under load (the largest wait of a KME's request threads). A single
    ``write`` of one line to an ``O_APPEND`` descriptor is not interleaved with other lines,
    and it is in the kernel's hands when it returns, before the commit it announces.
    """

    def __init__(self) -> None:
        self.fd = 2

    def open(self, path: str) -> None:
        if self.fd == 2:
            self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def __call__(self, event: str, fields: MutableMapping[str, object] | Any) -> None:
        record = {"ts": round(time.time(), 3), "event": event, **dict(fields)}
        line = memoryview(orjson.dumps(record) + b"\n")
        while line:
            line = line[os.write(self.fd, line) :]


_audit = _AuditLog()


#: A served KME sends its delivery notices in batches gathered over this long (``KME.notice_delay_s``).
NOTICE_DELAY_S = 0.05


def build_kme(config: ServeConfig) -> tuple[KME, Callable[[], None]]:
    """The KME of ``config`` and the function that releases what it holds."""
    config.check()
    city = load_city(config.city)
    directory = Directory.from_city(city)
    if config.site not in directory.sites:
        raise InputError(f"the city has no site {config.site!r}")
    unknown = sorted(set(config.peers) - directory.sites)
    if unknown:
        raise InputError(f"--peer names unknown sites: {', '.join(unknown)}")
    store = SQLKeyStore(config.database_url)
    channel = HttpPeerChannel(
        config.site,
        config.peers,
        certificate=None if config.insecure_dev else config.certificate,
        key=None if config.insecure_dev else config.key,
        ca=None if config.insecure_dev else config.ca,
        insecure_dev=config.insecure_dev,
    )
    rate_model: KeyRateModel = (
        FixedRateModel(config.rate_bps)
        if config.rate_bps is not None
        else PresetRateModel(config.preset)
    )
    kme = KME(
        site_id=config.site,
        directory=directory,
        store=store,
        wrapper=SecretBox(_read_secret(config.kek, KEK_BYTES)),
        source=SimulatedQKDDevice(_read_secret(config.file(SIMULATION_SECRET), 32)),
        rate_model=rate_model,
        channel=channel,
        clock=time.time,
        limits=KMELimits(max_key_count=config.max_key_count),
        audit=_audit,
        # Each worker batches its own notices: over as many intervals as there are workers, the
        # master's KME gets about the same number of batches a second however many there are.
        notice_delay_s=NOTICE_DELAY_S * config.workers,
    )

    def release() -> None:
        channel.close()
        store.close()
        _audit("kme-stopped", {"kme": config.site})

    return kme, release


def configure_audit_log(config: ServeConfig) -> None:
    """Send the audit log (one JSON object a line, never key material) to its file or stderr."""
    if config.audit_file:
        _audit.open(config.audit_file)


def build_app(config: ServeConfig) -> FastAPI:
    configure_audit_log(config)
    kme, release = build_kme(config)
    return create_app(
        kme,
        insecure_dev=config.insecure_dev,
        # Every worker refills the same pools (the store's row lock keeps them apart): each one
        # less often, so that the KME as a whole refills every refill_interval_s, not N times as
        # often (each refill counts the pool, a scan that grew the CPU per pair with workers).
        refill_interval_s=config.refill_interval_s * config.workers,
        on_shutdown=release,
    )


def app_from_environment() -> FastAPI:
    """The app factory uvicorn's worker processes call."""
    raw = os.environ.get(CONFIG_VARIABLE)
    if not raw:
        raise InputError(f"{CONFIG_VARIABLE} is not set")
    return build_app(ServeConfig(**json.loads(raw)))


Scope = MutableMapping[str, Any]
ASGI = Callable[[Scope, Any, Any], Awaitable[None]]


def _with_client_certificate(app: ASGI, pem: str) -> ASGI:
    async def app_with_certificate(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            extensions = dict(scope.get("extensions") or {})
            extensions["tls"] = {"client_cert_chain": [pem], "client_cert_error": None}
            scope = {**scope, "extensions": extensions}
        await app(scope, receive, send)

    return app_with_certificate


class _ClientCertificateMixin:
    """Hands each connection's verified client certificate to the app, and drops idle keep-alive
    connections at once on shutdown (for uvicorn's HTTP protocol classes)."""

    app: Any
    cycle: Any
    transport: Any

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return
        der = ssl_object.getpeercert(binary_form=True)
        if der:
            self.app = _with_client_certificate(self.app, ssl.DER_cert_to_PEM_cert(der))

    def shutdown(self) -> None:
        # An idle keep-alive connection (a peer KME's pooled connection) is dropped at once: a TLS
        # close would wait for a close_notify from a peer that is not reading, and hold the whole
        # shutdown until uvicorn's graceful timeout. Requests in flight still finish first.
        if self.cycle is None or self.cycle.response_complete:
            self.transport.abort()
        else:
            super().shutdown()  # type: ignore[misc]


class TLSClientCertH11(_ClientCertificateMixin, H11Protocol):
    """uvicorn's h11 protocol (pure Python), with the client certificate in the scope."""


HTTP_PROTOCOL: type[Any] = TLSClientCertH11
EVENT_LOOP = "asyncio"
try:
    # The C parser and event loop (uvicorn's "standard" set) take a third of the CPU a request
    # costs in h11 on asyncio; the behaviour is the same.
    import uvloop  # noqa: F401
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class TLSClientCertHttpTools(_ClientCertificateMixin, HttpToolsProtocol):
        """uvicorn's httptools protocol, with the client certificate in the scope."""

    HTTP_PROTOCOL = TLSClientCertHttpTools
    EVENT_LOOP = "uvloop"
except ImportError:  # pragma: no cover - both are dependencies; h11 on asyncio still works
    pass


def serve(config: ServeConfig) -> None:
    """Run the KME until SIGINT/SIGTERM; uvicorn finishes the requests in flight first."""
    config.check()
    if config.workers == 1:
        # Build once here so that configuration errors surface before the server starts.
        app: Any = build_app(config)
    else:
        build_kme(config)[1]()  # the same early check, then let each worker build its own
        os.environ[CONFIG_VARIABLE] = json.dumps(asdict(config))
        app = "qsafecity.api.server:app_from_environment"
    tls: dict[str, Any] = {}
    if not config.insecure_dev:
        tls = {
            "ssl_certfile": str(config.certificate),
            "ssl_keyfile": str(config.key),
            "ssl_ca_certs": str(config.ca),
            "ssl_cert_reqs": ssl.CERT_REQUIRED,
        }
    uvicorn.run(
        app,
        factory=config.workers > 1,
        host=config.host,
        port=config.port,
        workers=config.workers,
        http=HTTP_PROTOCOL,
        loop=EVENT_LOOP,
        log_level="warning",
        access_log=False,
        # Callers are named by their TLS certificates; no proxy stands in front of a KME, and
        # X-Forwarded-* headers from a caller must not be believed.
        proxy_headers=False,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=30,
        # Workers import the whole stack before they answer; on a busy machine that takes
        # longer than uvicorn's default 5 s, which would restart them in a loop.
        timeout_worker_healthcheck=60,
        **tls,
    )
