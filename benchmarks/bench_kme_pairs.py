"""KME throughput: ``enc_keys`` + ``dec_keys`` pairs per second and their latency.

Two KMEs (a and b of a small city joined by one QKD link) run as real servers on this machine,
each with its own database; a load generator with ``--clients`` clients (asyncio, in two
processes) makes pairs, each client one after another: video@a asks
KME a for a key for video@b (``enc_keys``), then video@b fetches it from KME b (``dec_keys``).
Every configuration is measured in the same run:

* SQLite, one process per KME;
* PostgreSQL with 1, 2 and 4 worker processes per KME (each KME its own database);
* the baseline: the same load generator against a bare FastAPI app on the same uvicorn set-up
  that answers both requests with a fixed body (no key management, no database), so that the
  ratio shows what key management costs over the HTTP round trips themselves.

The KMEs run in insecure-dev mode (plain HTTP on loopback, callers named by a header), and the
PostgreSQL configurations of ``--tls-workers`` (default: one worker) again over mutual TLS as
deployed, with SAE and KME certificates from ``qsafecity pki``, to show what TLS costs. The
default of 16 clients keeps the queue short enough for the latency goal: by Little's law a
pair's mean latency is clients / throughput, so 32 clients at 1,000 pairs/s wait 32 ms on average
however fast the KME is.

Run: ``.venv/bin/python -m benchmarks.bench_kme_pairs [--seconds 10] [--clients 16]``.
Needs PostgreSQL at 127.0.0.1:5432 (user postgres, trust); creates and drops its databases.
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from fastapi import FastAPI

from benchmarks.pair_load import LoadReport, run_pairs
from qsafecity.api.server import EVENT_LOOP, HTTP_PROTOCOL

HTTP_PROTOCOL_NAME = "httptools" if HTTP_PROTOCOL.__name__.endswith("HttpTools") else "h11"

CITY = """
format: 1
city: {name: Benchville, country: RU, population: 1000, currency: RUB}
sites:
  - {id: a, name: Site A, kind: data-centre, location: {lat: 51.0, lon: 39.0}}
  - {id: b, name: Site B, kind: government, location: {lat: 51.1, lon: 39.0}}
links:
  - {a: a, b: b, length_km: 10, fibre: dark, qkd: true}
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
"""

KEY = {"key_ID": "00000000-0000-4000-8000-000000000000", "key": "A" * 43 + "="}
echo_app = FastAPI()


@echo_app.post("/api/v1/keys/{sae}/enc_keys")
def _echo_enc(sae: str) -> dict[str, object]:
    return {"keys": [KEY]}


@echo_app.post("/api/v1/keys/{sae}/dec_keys")
def _echo_dec(sae: str) -> dict[str, object]:
    return {"keys": [KEY]}


@echo_app.get("/readyz")
def _echo_ready() -> dict[str, str]:
    return {"status": "ready"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _client_tls(pki: Path) -> ssl.SSLContext:
    """An SAE's client certificate, to reach a KME's operations endpoints over mutual TLS."""
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    context.load_cert_chain(str(pki / "sae-video@a.pem"), str(pki / "sae-video@a-key.pem"))
    return context


def _wait_ready(url: str, timeout_s: float = 120, verify: ssl.SSLContext | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(f"{url}/readyz", timeout=2, verify=verify or True)
            if answer.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not become ready")


@dataclass
class Measured:
    label: str
    report: LoadReport
    #: CPU milliseconds per pair, by component (KME a, KME b, PostgreSQL, load generator).
    cpu_ms: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.report.rate


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    """A process and all its descendants (uvicorn's worker processes)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            found.extend(_tree(int(child)))
    return found


def _cpu_s(pids: list[int], *, exited_children: bool = False) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
        if exited_children:
            total += int(fields[13]) + int(fields[14])  # cutime, cstime (children reaped)
    return total / _CLOCK_TICKS


def _postgres_cpu_s() -> float | None:
    """CPU of the whole PostgreSQL server on this machine (backends come and go with the
    connection pools' overflow, so the server's process tree and its reaped children are
    counted); ``None`` when it is not on this machine. Other users of the server count too."""
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if "\nName:\tpostgres\n" not in f"\n{text}" and not text.startswith("Name:\tpostgres\n"):
            continue
        pid = int(status.parent.name)
        ppid = int(text.split("PPid:\t", 1)[1].split("\n", 1)[0])
        try:
            parent = Path(f"/proc/{ppid}/comm").read_text().strip()
        except OSError:
            parent = ""
        if parent != "postgres":  # the postmaster
            tree = _tree(pid)
            return _cpu_s(tree[:1], exited_children=True) + _cpu_s(tree[1:])
    return None


def load(
    label: str,
    urls: tuple[str, str],
    servers: dict[str, int],
    databases: list[str],
    settings: Settings,
    *,
    pki: Path | None = None,
) -> Measured:
    """Pairs for ``seconds``; each pair's latency, and the CPU each component spent per pair."""
    trees = {name: _tree(pid) for name, pid in servers.items()}
    before = {name: _cpu_s(pids) for name, pids in trees.items()}
    before_pg = _postgres_cpu_s() if databases else None
    before_gen = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = run_pairs(
        *urls,
        clients=settings.clients,
        seconds=settings.seconds,
        processes=settings.processes,
        pki=pki,
    )
    after_gen = resource.getrusage(resource.RUSAGE_CHILDREN)
    pairs = max(report.pairs, 1)
    cpu = {name: (_cpu_s(trees[name]) - before[name]) * 1000 / pairs for name in trees}
    after_pg = _postgres_cpu_s() if databases else None
    if before_pg is not None and after_pg is not None:
        cpu["PostgreSQL"] = (after_pg - before_pg) * 1000 / pairs
    cpu["load generator"] = (
        ((after_gen.ru_utime - before_gen.ru_utime) + (after_gen.ru_stime - before_gen.ru_stime))
        * 1000
        / pairs
    )
    return Measured(label, report, cpu)


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _qsafecity(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "qsafecity", *args], check=True, capture_output=True)


@dataclass(frozen=True)
class Settings:
    clients: int
    seconds: float
    processes: int
    max_key_count: int
    postgres: str = "postgresql://postgres@127.0.0.1:5432/test"


def _wait_full(
    url: str, blocks: int, timeout_s: float = 180, verify: ssl.SSLContext | None = None
) -> None:
    """Wait until the KME's pools are full: then the refill only replaces what is used (the steady
    state); before, it would fill at the link's full rate and be measured along."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pools = httpx.get(f"{url}/readyz", timeout=5, verify=verify or True).json()["pools"]
        if min(pools.values()) >= blocks * 0.98:
            return
        time.sleep(0.5)
    raise RuntimeError(f"{url}: the pools did not fill in {timeout_s} s")


def measure_kmes(
    folder: Path,
    label: str,
    db: dict[str, str],
    *,
    workers: int,
    settings: Settings,
    tls: bool = False,
) -> Measured:
    """Two KMEs on ``db``; in insecure-dev mode (plain HTTP, callers named by header), or with
    ``tls`` over mutual TLS as deployed (SAEs and peer KMEs named by their certificates)."""
    ports = {"a": _free_port(), "b": _free_port()}
    scheme = "https" if tls else "http"
    pki = folder / "pki"
    processes: dict[str, subprocess.Popen[bytes]] = {}
    for site, peer in (("a", "b"), ("b", "a")):
        processes[site] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "qsafecity",
                "kme",
                "serve",
                str(folder / "city.yaml"),
                "--site",
                site,
                "--port",
                str(ports[site]),
                "--db",
                db[site],
                "--pki",
                str(pki),
                *([] if tls else ["--insecure-dev"]),
                "--workers",
                str(workers),
                f"--peer={peer}={scheme}://127.0.0.1:{ports[peer]}",
                "--rate-bps",
                "5000000",
                "--max-key-count",
                str(settings.max_key_count),
                "--audit-log",
                str(folder / f"audit-{site}.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    urls = (f"{scheme}://127.0.0.1:{ports['a']}", f"{scheme}://127.0.0.1:{ports['b']}")
    client_tls = _client_tls(pki) if tls else None
    servers = {f"KME {site}": process.pid for site, process in processes.items()}
    databases = [url.rsplit("/", 1)[1] for url in db.values() if url.startswith("postgresql")]
    try:
        for url in urls:
            _wait_ready(url, verify=client_tls)
            _wait_full(url, settings.max_key_count, verify=client_tls)
        time.sleep(1.0)  # every worker is up
        client_pki = pki if tls else None
        run_pairs(
            *urls,
            clients=settings.clients,
            seconds=2.0,
            processes=settings.processes,
            pki=client_pki,
        )
        return load(label, urls, servers, databases, settings, pki=client_pki)
    finally:
        _stop(list(processes.values()))


def measure_echo(settings: Settings) -> Measured:
    """The bare FastAPI echo on the KMEs' uvicorn set-up (httptools, uvloop), one worker for both
    requests of a pair: what HTTP alone costs with this load generator on this machine."""
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "benchmarks.bench_kme_pairs:echo_app",
            "--port",
            str(port),
            "--http",
            HTTP_PROTOCOL_NAME,
            "--loop",
            EVENT_LOOP,
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url)
        run_pairs(url, url, clients=settings.clients, seconds=2.0, processes=settings.processes)
        return load(
            "baseline: bare FastAPI echo, 1 worker",
            (url, url),
            {"echo server": process.pid},
            [],
            settings,
        )
    finally:
        _stop([process])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--generator-processes", type=int, default=2)
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--max-key-count", type=int, default=30_000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument(
        "--tls-workers",
        type=int,
        nargs="*",
        default=[1],
        help="PostgreSQL configurations measured again over mutual TLS (as deployed)",
    )
    args = parser.parse_args()
    admin = args.postgres
    settings = Settings(
        args.clients, args.seconds, args.generator_processes, args.max_key_count, admin
    )
    load_before = os.getloadavg()
    results: list[Measured] = []
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        (folder / "city.yaml").write_text(CITY, encoding="utf-8")
        pki = folder / "pki"
        city = str(folder / "city.yaml")
        _qsafecity("pki", "init", "--dir", str(pki), "--city", city)
        for site in "ab":
            _qsafecity("pki", "issue", "kme", site, "--dir", str(pki), "--city", city)
            _qsafecity("pki", "issue", "sae", f"video@{site}", "--dir", str(pki), "--city", city)
        results.append(measure_echo(settings))
        if not args.no_sqlite:
            sqlite = {s: f"sqlite:///{folder / f'{s}.db'}" for s in "ab"}
            results.append(
                measure_kmes(folder, "SQLite, 1 process", sqlite, workers=1, settings=settings)
            )
        configurations = [(w, False) for w in args.workers] + [(w, True) for w in args.tls_workers]
        for workers, tls in configurations:
            names = {s: f"qsafecity_bench_{s}_{secrets.token_hex(4)}" for s in "ab"}
            with psycopg.connect(admin, autocommit=True) as c:
                for name in names.values():
                    c.execute(f'CREATE DATABASE "{name}"')
            base = admin.rsplit("/", 1)[0]
            try:
                results.append(
                    measure_kmes(
                        folder,
                        f"PostgreSQL, {workers} worker{'s' if workers > 1 else ''} per KME"
                        + (", mutual TLS" if tls else ""),
                        {s: f"{base}/{n}" for s, n in names.items()},
                        workers=workers,
                        settings=settings,
                        tls=tls,
                    )
                )
            finally:
                with psycopg.connect(admin, autocommit=True) as c:
                    for name in names.values():
                        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    baseline = results[0].rate
    load_after = os.getloadavg()
    print(
        f"\nKME pairs (enc_keys + dec_keys): {args.clients} clients in "
        f"{args.generator_processes} load generator processes, {args.seconds:.0f} s each, "
        f"{os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after\n"
    )
    print("| configuration | pairs/s | p50 pair ms | p99 pair ms | failures | ratio to baseline |")
    print("|---|---|---|---|---|---|")
    for result in results:
        report = result.report
        print(
            f"| {result.label} | {report.rate:.1f} | {report.percentile(0.5):.1f} | "
            f"{report.percentile(0.99):.1f} | {sum(report.failures.values())} | "
            f"{report.rate / baseline:.3f} |"
        )
    print("\nCPU per pair (ms), by component:\n")
    print("| configuration | " + " | ".join(_COMPONENTS) + " | total |")
    print("|---|" + "---|" * (len(_COMPONENTS) + 1))
    for result in results:
        cells = [result.cpu_ms.get(name) for name in _COMPONENTS]
        shown = ["" if c is None else f"{c:.2f}" for c in cells]
        total = sum(c for c in cells if c is not None)
        print(f"| {result.label} | " + " | ".join(shown) + f" | {total:.2f} |")


_COMPONENTS = ("echo server", "KME a", "KME b", "PostgreSQL", "load generator")


if __name__ == "__main__":
    main()
