"""A fast load generator for ETSI 014 key pairs: several processes, each an asyncio event loop
(uvloop when installed) driving many keep-alive HTTP/1.1 connections with hand-written requests.

A *pair* is ``enc_keys`` at the master's KME, then ``dec_keys`` of the key id it returned at the
slave's KME; a virtual client makes pairs one after the other on its two connections. The httpx
thread client of the tests tops out near 450 pairs/s on two cores (the generator itself is then
the bottleneck); this one spends a fraction of that CPU per request, so that what is measured is
the server. Both the KMEs and the bare echo baseline are measured with it in the same run.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


@dataclass
class LoadReport:
    """What the clients of one run saw: each pair's latency (ms), failures by kind."""

    seconds: float
    pair_ms: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)

    @property
    def pairs(self) -> int:
        return len(self.pair_ms)

    @property
    def rate(self) -> float:
        return self.pairs / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.pair_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class _Connection:
    def __init__(self, url: str, sae: str, pki: str | None = None) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.sae = sae
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.tls: ssl.SSLContext | None = None
        if parts.scheme == "https":
            # Mutual TLS: the SAE is named by its certificate (from ``qsafecity pki issue sae``).
            if pki is None:
                raise ValueError("https needs the PKI folder with the SAEs' certificates")
            folder = Path(pki)
            self.tls = ssl.create_default_context(cafile=str(folder / "ca.pem"))
            self.tls.load_cert_chain(
                str(folder / f"sae-{sae}.pem"), str(folder / f"sae-{sae}-key.pem")
            )

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port, ssl=self.tls
            )
        assert self.reader is not None
        self.writer.write(
            (
                f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nX-SAE-ID: {self.sae}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def _client(
    master_url: str,
    slave_url: str,
    master: str,
    slave: str,
    stop_at: float,
    report: LoadReport,
    pki: str | None,
) -> None:
    enc = _Connection(master_url, master, pki)
    dec = _Connection(slave_url, slave, pki)
    enc_path = f"/api/v1/keys/{slave}/enc_keys"
    dec_path = f"/api/v1/keys/{master}/dec_keys"
    while time.monotonic() < stop_at:
        started = time.perf_counter()
        try:
            status, body = await enc.post(enc_path, b'{"number":1}')
            if status != 200:
                report.failures[f"enc {status}"] = report.failures.get(f"enc {status}", 0) + 1
                await asyncio.sleep(0.05)
                continue
            key_id = json.loads(body)["keys"][0]["key_ID"]
            request = json.dumps({"key_IDs": [{"key_ID": key_id}]}).encode()
            status, body = await dec.post(dec_path, request)
            if status != 200:
                report.failures[f"dec {status}"] = report.failures.get(f"dec {status}", 0) + 1
                continue
        except (OSError, asyncio.IncompleteReadError, ValueError, KeyError) as error:
            kind = type(error).__name__
            report.failures[kind] = report.failures.get(kind, 0) + 1
            enc.close()
            dec.close()
            await asyncio.sleep(0.05)
            continue
        report.pair_ms.append((time.perf_counter() - started) * 1000)
    enc.close()
    dec.close()


def _one_process(
    master_url: str,
    slave_url: str,
    master: str,
    slave: str,
    clients: int,
    start_at: float,
    seconds: float,
    pki: str | None = None,
) -> dict[str, Any]:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # plain asyncio still works, a little slower
        pass
    report = LoadReport(seconds)

    async def run() -> None:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        stop_at = time.monotonic() + seconds
        await asyncio.gather(
            *(
                _client(master_url, slave_url, master, slave, stop_at, report, pki)
                for _ in range(clients)
            )
        )

    asyncio.run(run())
    return {"pair_ms": report.pair_ms, "failures": report.failures}


def run_pairs(
    master_url: str,
    slave_url: str,
    *,
    clients: int,
    seconds: float,
    processes: int = 2,
    master: str = "video@a",
    slave: str = "video@b",
    pki: Path | None = None,
) -> LoadReport:
    """``clients`` virtual clients spread over ``processes`` processes make pairs for ``seconds``."""
    shares = [
        clients // processes + (1 if i < clients % processes else 0) for i in range(processes)
    ]
    start_at = time.time() + 1.0  # every process is up before the clock starts
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.pair_load",
                json.dumps(
                    [
                        master_url,
                        slave_url,
                        master,
                        slave,
                        share,
                        start_at,
                        seconds,
                        None if pki is None else str(pki),
                    ]
                ),
            ],
            stdout=subprocess.PIPE,
            cwd=Path(__file__).resolve().parents[1],
        )
        for share in shares
        if share
    ]
    report = LoadReport(seconds)
    for child in children:
        out, _ = child.communicate(timeout=seconds + 120)
        part = json.loads(out)
        report.pair_ms.extend(part["pair_ms"])
        for kind, count in part["failures"].items():
            report.failures[kind] = report.failures.get(kind, 0) + count
    return report


if __name__ == "__main__":
    report = memoryview(json.dumps(_one_process(*json.loads(sys.argv[1]))).encode())
    # One os.write loop, not print: under PYTHONUNBUFFERED, after the event loop has run, a print
    # over the pipe's 64 KiB was cut short without an error (a partial write is not retried).
    os.set_blocking(sys.stdout.fileno(), True)
    while report:
        report = report[os.write(sys.stdout.fileno(), report) :]
