"""KME throughput: ``enc_keys`` + ``dec_keys`` pairs per second and their latency.

Two KMEs (a and b of a small city joined by one QKD link) run as real servers on this machine,
each with its own database; a load generator with ``--clients`` threads makes pairs: video@a asks
KME a for a key for video@b (``enc_keys``), then video@b fetches it from KME b (``dec_keys``).
Every configuration is measured in the same run:

* SQLite, one process per KME;
* PostgreSQL with 1, 2 and 4 worker processes per KME (each KME its own database);
* the baseline: the same load generator against a bare FastAPI app on the same uvicorn set-up
  that answers both requests with a fixed body (no key management, no database), so that the
  ratio shows what key management costs over the HTTP round trips themselves.

The KMEs run in insecure-dev mode (plain HTTP on loopback) so that TLS is not measured.

Run: ``.venv/bin/python -m benchmarks.bench_kme_pairs [--seconds 10] [--clients 16]``.
Needs PostgreSQL at 127.0.0.1:5432 (user postgres, trust); creates and drops its databases.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from fastapi import FastAPI

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


def _wait_ready(url: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not become ready")


@dataclass
class Measured:
    label: str
    pairs: int
    failures: int
    seconds: float
    pair_ms: list[float]

    @property
    def rate(self) -> float:
        return self.pairs / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.pair_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def load(label: str, url_a: str, url_b: str, clients: int, seconds: float) -> Measured:
    """Pairs for ``seconds`` from ``clients`` threads; the latency of each whole pair."""
    stop_at = time.monotonic() + seconds
    lock = threading.Lock()
    latencies: list[float] = []
    failures = [0]

    def client() -> None:
        with (
            httpx.Client(base_url=url_a, headers={"X-SAE-ID": "video@a"}, timeout=30) as enc,
            httpx.Client(base_url=url_b, headers={"X-SAE-ID": "video@b"}, timeout=30) as dec,
        ):
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                try:
                    got = enc.post("/api/v1/keys/video@b/enc_keys", json={"number": 1})
                    if got.status_code != 200:
                        raise RuntimeError(got.text)
                    key_id = got.json()["keys"][0]["key_ID"]
                    back = dec.post(
                        "/api/v1/keys/video@a/dec_keys", json={"key_IDs": [{"key_ID": key_id}]}
                    )
                    if back.status_code != 200:
                        raise RuntimeError(back.text)
                except (httpx.HTTPError, RuntimeError):
                    with lock:
                        failures[0] += 1
                    continue
                elapsed_ms = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed_ms)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Measured(label, len(latencies), failures[0], time.perf_counter() - started, latencies)


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


def measure_kmes(
    folder: Path, label: str, db: dict[str, str], *, workers: int, clients: int, seconds: float
) -> Measured:
    ports = {"a": _free_port(), "b": _free_port()}
    processes = []
    for site, peer in (("a", "b"), ("b", "a")):
        processes.append(
            subprocess.Popen(
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
                    str(folder / "pki"),
                    "--insecure-dev",
                    "--workers",
                    str(workers),
                    f"--peer={peer}=http://127.0.0.1:{ports[peer]}",
                    "--rate-bps",
                    "5000000",
                    "--audit-log",
                    str(folder / f"audit-{site}.log"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    try:
        for port in ports.values():
            _wait_ready(f"http://127.0.0.1:{port}")
        time.sleep(3.0)  # workers settle, pools fill
        load(label, *(f"http://127.0.0.1:{ports[s]}" for s in "ab"), clients, 2.0)  # warm-up
        return load(label, *(f"http://127.0.0.1:{ports[s]}" for s in "ab"), clients, seconds)
    finally:
        _stop(processes)


def measure_echo(clients: int, seconds: float, workers: int = 1) -> Measured:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "benchmarks.bench_kme_pairs:echo_app",
            "--port",
            str(port),
            "--workers",
            str(workers),
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
        load("echo", url, url, clients, 2.0)
        return load(f"baseline: bare FastAPI echo, {workers} worker", url, url, clients, seconds)
    finally:
        _stop([process])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    results: list[Measured] = []
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        (folder / "city.yaml").write_text(CITY, encoding="utf-8")
        pki = folder / "pki"
        city = str(folder / "city.yaml")
        _qsafecity("pki", "init", "--dir", str(pki), "--city", city)
        for site in "ab":
            _qsafecity("pki", "issue", "kme", site, "--dir", str(pki), "--city", city)
        results.append(measure_echo(args.clients, args.seconds))
        sqlite = {s: f"sqlite:///{folder / f'{s}.db'}" for s in "ab"}
        results.append(
            measure_kmes(
                folder,
                "SQLite, 1 process",
                sqlite,
                workers=1,
                clients=args.clients,
                seconds=args.seconds,
            )
        )
        admin = args.postgres.replace("postgresql://", "postgresql://", 1)
        for workers in args.workers:
            names = {s: f"qsafecity_bench_{s}_{secrets.token_hex(4)}" for s in "ab"}
            with psycopg.connect(
                admin.replace("postgresql://", "postgres://"), autocommit=True
            ) as c:
                for name in names.values():
                    c.execute(f'CREATE DATABASE "{name}"')
            base = args.postgres.rsplit("/", 1)[0]
            try:
                results.append(
                    measure_kmes(
                        folder,
                        f"PostgreSQL, {workers} worker{'s' if workers > 1 else ''} per KME",
                        {s: f"{base}/{n}" for s, n in names.items()},
                        workers=workers,
                        clients=args.clients,
                        seconds=args.seconds,
                    )
                )
            finally:
                with psycopg.connect(
                    admin.replace("postgresql://", "postgres://"), autocommit=True
                ) as c:
                    for name in names.values():
                        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    baseline = results[0].rate
    print(
        f"\nKME pairs (enc_keys + dec_keys), {args.clients} clients, {args.seconds:.0f} s each, "
        f"{os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n"
    )
    print("| configuration | pairs/s | p50 pair ms | p99 pair ms | failures | ratio to baseline |")
    print("|---|---|---|---|---|---|")
    for result in results:
        print(
            f"| {result.label} | {result.rate:.1f} | {result.percentile(0.5):.1f} | "
            f"{result.percentile(0.99):.1f} | {result.failures} | {result.rate / baseline:.3f} |"
        )


if __name__ == "__main__":
    main()
