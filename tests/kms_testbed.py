"""The mini city and a testbed of its KMEs in one process, shared by the key management tests."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from qsafecity.city import load_manifest_text
from qsafecity.cli import main as cli_main
from qsafecity.crypto.secretbox import SecretBox
from qsafecity.kms.channel import InProcessNetwork
from qsafecity.kms.directory import Directory
from qsafecity.kms.kme import KME
from qsafecity.kms.model import KMELimits
from qsafecity.kms.rate import FixedRateModel, SimulatedQKDDevice
from qsafecity.kms.store import KeyStore, MemoryKeyStore

# A small city for the KME tests. Sites a-b-c in a line with QKD links a~b and b~c, and a detour
# a~d~c, so that a key from a to c is relayed through a trusted node (b or d). Site e has no QKD.
MINI_CITY = """
format: 1
city: {name: Testville, country: RU, population: 1000, currency: RUB}
sites:
  - {id: a, name: Site A, kind: data-centre, location: {lat: 51.0, lon: 39.0}}
  - {id: b, name: Site B, kind: trusted-node, location: {lat: 51.1, lon: 39.0}}
  - {id: c, name: Site C, kind: government, location: {lat: 51.2, lon: 39.0}}
  - {id: d, name: Site D, kind: trusted-node, location: {lat: 51.1, lon: 39.1}}
  - {id: e, name: Site E, kind: other, location: {lat: 51.3, lon: 39.2}}
links:
  - {a: a, b: b, length_km: 10, fibre: dark, qkd: true}
  - {a: b, b: c, length_km: 10, fibre: dark, qkd: true}
  - {a: a, b: d, length_km: 20, fibre: dark, qkd: true}
  - {a: d, b: c, length_km: 20, fibre: dark, qkd: true}
  - {a: c, b: e, length_km: 5, fibre: dark}
operators:
  - {id: city-it, name: City IT, type: municipal}
services:
  - id: video
    name: Video
    operator: city-it
    function: public-safety-video
    data: {categories: [video], shelf_life_years: 10}
    endpoints: [a, b]
    crypto: {key_exchange: ECDHE-P256, signature: RSA-2048, cipher: AES-128-GCM}
  - id: dispatch
    name: Dispatch
    operator: city-it
    function: emergency-dispatch
    data: {categories: [personal], shelf_life_years: 10}
    endpoints: [a, c, b]
    crypto: {key_exchange: ECDHE-P256, signature: RSA-2048, cipher: AES-128-GCM}
  - id: records
    name: Records
    operator: city-it
    function: public-safety-video
    data: {categories: [personal], shelf_life_years: 10}
    endpoints: [c, e]
    crypto: {key_exchange: ECDHE-P256, signature: RSA-2048, cipher: AES-128-GCM}
  - id: portal
    name: Portal
    operator: city-it
    function: public-safety-video
    data: {categories: [personal], shelf_life_years: 1}
    endpoints: [a]
    crypto: {key_exchange: ECDHE-P256, signature: RSA-2048, cipher: AES-128-GCM}
"""

MINI_CITY_SITES = ("a", "b", "c", "d", "e")


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now_s: float = 1_000_000.0) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s

    def advance(self, seconds: float) -> None:
        self.now_s += seconds


@dataclass
class KMEBed:
    """Five KMEs of the mini city in one process, joined by an ``InProcessNetwork``."""

    kmes: dict[str, KME]
    network: InProcessNetwork
    clock: FakeClock
    audit: list[tuple[str, dict[str, object]]]

    def fill(self, seconds: float = 1.0) -> None:
        self.clock.advance(seconds)
        for kme in self.kmes.values():
            kme.refill()


def make_testbed(
    stores: dict[str, KeyStore] | None = None,
    *,
    rate_bps: float = 256_000.0,
    limits: KMELimits | None = None,
) -> KMEBed:
    city = load_manifest_text(MINI_CITY, "mini city")
    directory = Directory.from_city(city)
    network = InProcessNetwork()
    clock = FakeClock()
    device = SimulatedQKDDevice(b"\x07" * 32)
    audit: list[tuple[str, dict[str, object]]] = []
    kmes: dict[str, KME] = {}
    for site in sorted(directory.sites):
        kmes[site] = KME(
            site_id=site,
            directory=directory,
            store=(stores or {}).get(site) or MemoryKeyStore(),
            wrapper=SecretBox.generate()[0],
            source=device,
            rate_model=FixedRateModel(rate_bps),
            channel=network.channel_for(site),
            clock=clock,
            limits=limits or KMELimits(),
            audit=lambda event, fields: audit.append((event, dict(fields))),
        )
    network.kmes.update(kmes)
    bed = KMEBed(kmes, network, clock, audit)
    bed.fill(0.0)  # the links start: their devices begin to count from now
    bed.fill(1.0)
    return bed


@dataclass
class APIBed:
    bed: KMEBed
    clients: dict[str, TestClient]

    def call(self, site: str, sae: str | None, method: str, path: str, **kwargs: object) -> object:
        headers = dict(kwargs.pop("headers", {}))  # type: ignore[call-overload]
        if sae:
            headers["X-SAE-ID"] = sae
        return self.clients[site].request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qsafecity", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def make_pki(folder: Path, city: Path, kmes: list[str], saes: list[str]) -> None:
    for args in (
        ["pki", "init", "--dir", str(folder), "--city", str(city)],
        *(
            ["pki", "issue", "kme", site, "--dir", str(folder), "--city", str(city)]
            for site in kmes
        ),
        *(["pki", "issue", "sae", sae, "--dir", str(folder), "--city", str(city)] for sae in saes),
    ):
        with pytest.raises(SystemExit) as done:
            cli_main(list(args))
        assert done.value.code == 0, f"qsafecity {' '.join(args)} exited with {done.value.code}"


_LOGS: dict[int, Path] = {}


def start_kme(
    city: Path, site: str, port: int, pki: Path, *extra: str, db: str, peers: dict[str, int]
) -> subprocess.Popen[bytes]:
    """A ``kme serve`` process. Its stderr (warnings, audit log) goes to a file beside the PKI
    folder: a pipe that nobody reads would fill up and block the KME."""
    scheme = "http" if "--insecure-dev" in extra else "https"
    peer_args = [f"--peer={s}={scheme}://127.0.0.1:{p}" for s, p in peers.items()]
    log = pki.parent / f"kme-{site}-{port}.log"
    with log.open("ab") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "qsafecity",
                "kme",
                "serve",
                str(city),
                "--site",
                site,
                "--port",
                str(port),
                "--db",
                db,
                "--pki",
                str(pki),
                *peer_args,
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    _LOGS[process.pid] = log
    return process


def wait_until_listening(
    port: int, process: subprocess.Popen[bytes], timeout_s: float = 30
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the KME exited: {stop(process)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port} after {timeout_s} s")


def kme_log(process: subprocess.Popen[bytes]) -> str:
    """What a KME started by ``start_kme`` wrote to stderr so far (warnings, audit log)."""
    log = _LOGS.get(process.pid)
    return log.read_text("utf-8", "replace") if log is not None else ""


def stop_all(processes: list[subprocess.Popen[bytes]]) -> list[str]:
    """SIGTERM to all at once (they shut down in parallel), then their stderr."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    return [stop(process) for process in processes]


def stop(process: subprocess.Popen[bytes]) -> str:
    """SIGTERM, then wait (a KME shuts down gracefully); the KME's stderr (its audit log)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    log = _LOGS.get(process.pid)
    return log.read_text("utf-8", "replace") if log is not None else ""


@dataclass
class LoadResult:
    """What a load run saw: keys the master got, keys the slave got, failures by kind."""

    issued: dict[str, str]
    delivered: dict[str, str]
    duplicates: list[str]
    mismatches: list[str]
    failures: Counter[str]


def run_pair_load(
    master_url: str,
    slave_url: str,
    *,
    clients: int,
    pairs: int,
    master: str = "video@a",
    slave: str = "video@b",
    stop_after_failures: int = 10_000,
    result: LoadResult | None = None,
) -> LoadResult:
    """``clients`` threads share ``pairs`` enc_keys+dec_keys pairs (2 requests each); ``result``
    (filled as the load runs) lets another thread watch progress."""
    result = result if result is not None else LoadResult({}, {}, [], [], Counter())
    lock = threading.Lock()
    remaining = [pairs]

    def worker() -> None:
        with (
            httpx.Client(base_url=master_url, headers={"X-SAE-ID": master}, timeout=30) as enc,
            httpx.Client(base_url=slave_url, headers={"X-SAE-ID": slave}, timeout=30) as dec,
        ):
            while True:
                with lock:
                    if remaining[0] <= 0 or sum(result.failures.values()) >= stop_after_failures:
                        return
                    remaining[0] -= 1
                try:
                    response = enc.post(f"/api/v1/keys/{slave}/enc_keys", json={"number": 1})
                except httpx.HTTPError as error:
                    with lock:
                        result.failures[f"enc {type(error).__name__}"] += 1
                    continue
                if response.status_code != 200:
                    with lock:
                        result.failures[f"enc HTTP {response.status_code}"] += 1
                        result.failures[f"enc: {response.text[:160]}"] += 1
                    time.sleep(0.1)  # as a real SAE would, back off before asking again
                    continue
                key = response.json()["keys"][0]
                with lock:
                    if key["key_ID"] in result.issued or key["key"] in result.issued.values():
                        result.duplicates.append(key["key_ID"])
                    result.issued[key["key_ID"]] = key["key"]
                try:
                    response = dec.post(
                        f"/api/v1/keys/{master}/dec_keys",
                        json={"key_IDs": [{"key_ID": key["key_ID"]}]},
                    )
                except httpx.HTTPError as error:
                    with lock:
                        result.failures[f"dec {type(error).__name__}"] += 1
                    continue
                with lock:
                    if response.status_code != 200:
                        result.failures[f"dec HTTP {response.status_code}"] += 1
                        continue
                    got = response.json()["keys"][0]
                    if got["key_ID"] in result.delivered:
                        result.duplicates.append(got["key_ID"])
                    result.delivered[got["key_ID"]] = got["key"]
                    if got["key"] != key["key"]:
                        result.mismatches.append(got["key_ID"])

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result


def worker_pids(master_pid: int) -> list[int]:
    """The uvicorn worker processes under a ``kme serve --workers N`` process."""
    pids: list[int] = []
    for task in Path(f"/proc/{master_pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in children:
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline:
                pids.append(int(child))
    return pids


def wait_for_workers(master_pid: int, count: int, timeout_s: float = 60) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pids = worker_pids(master_pid)
        if len(pids) >= count:
            return pids
        time.sleep(0.2)
    raise AssertionError(f"{count} workers did not start")


def wait_until_ready(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} is not ready after {timeout_s} s")


def _admin_conninfo(server_url: str) -> str:
    url = make_url(server_url)
    return (
        f"host={url.host or '127.0.0.1'} port={url.port or 5432} "
        f"user={url.username or 'postgres'} dbname={url.database or 'postgres'}"
    )


def create_database(server_url: str, name: str) -> str:
    with psycopg.connect(_admin_conninfo(server_url), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(_admin_conninfo(server_url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
