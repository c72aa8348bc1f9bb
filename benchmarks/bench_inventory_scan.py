"""Scanning many TLS endpoints concurrently vs one at a time (the inventory's ``scan``).

A city's endpoints are across a network, so most of a scan is waiting for answers. The benchmark
puts each of N local endpoints behind a relay that delays every server flight by ``--delay-ms``
(an emulated round trip) in front of a real TLS server of Python's ``ssl`` on 127.0.0.1, then scans
all of them with ``concurrency=1`` (the baseline: a plain loop) and with ``--concurrency`` threads,
under the same rate limit. Reports both times, the ratio, and checks both runs found the same.

Run: ``.venv/bin/python -m benchmarks.bench_inventory_scan [--endpoints N --delay-ms D]``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from qsafecity.inventory.probe import ProbeSettings, RateLimiter
from qsafecity.inventory.scanner import Target, scan_targets

LOCALHOST = "127.0.0.1"


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench.qsafecity.invalid")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    cert, key_file = folder / "bench.crt", folder / "bench.key"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key_file


def _serve_forever(listener: socket.socket, handle: object, stop: threading.Event) -> None:
    listener.settimeout(0.2)
    while not stop.is_set():
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        threading.Thread(target=handle, args=(connection,), daemon=True).start()  # type: ignore[arg-type]


def _listener() -> socket.socket:
    listener = socket.socket()
    listener.bind((LOCALHOST, 0))
    listener.listen(128)
    return listener


@contextlib.contextmanager
def tls_server(cert: Path, key: Path, stop: threading.Event) -> Iterator[int]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def handle(connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError, ssl.SSLError):
            connection.settimeout(5)
            with context.wrap_socket(connection, server_side=True) as tls:
                tls.recv(1)

    listener = _listener()
    threading.Thread(target=_serve_forever, args=(listener, handle, stop), daemon=True).start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        listener.close()


@contextlib.contextmanager
def delaying_relay(upstream_port: int, delay_s: float, stop: threading.Event) -> Iterator[int]:
    """Forwards to ``upstream_port``, holding each server-to-client chunk for ``delay_s``."""

    def pump(source: socket.socket, sink: socket.socket, delay: float) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                if delay:
                    time.sleep(delay)
                sink.sendall(chunk)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def handle(client: socket.socket) -> None:
        with (
            client,
            contextlib.suppress(OSError),
            socket.create_connection((LOCALHOST, upstream_port), timeout=5) as server,
        ):
            back = threading.Thread(target=pump, args=(server, client, delay_s), daemon=True)
            back.start()
            pump(client, server, 0.0)
            back.join(timeout=10)

    listener = _listener()
    threading.Thread(target=_serve_forever, args=(listener, handle, stop), daemon=True).start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        listener.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoints", type=int, default=16)
    parser.add_argument("--delay-ms", type=float, default=40.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, default=500.0)
    args = parser.parse_args(argv)
    stop = threading.Event()
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        cert, key = _certificate(Path(folder))
        upstream = stack.enter_context(tls_server(cert, key, stop))
        ports = [
            stack.enter_context(delaying_relay(upstream, args.delay_ms / 1000, stop))
            for _ in range(args.endpoints)
        ]
        targets = [Target(LOCALHOST, port, f"service-{i}") for i, port in enumerate(ports)]
        now = dt.datetime.now(dt.UTC)
        timings = {}
        found = {}
        for label, concurrency in (("sequential", 1), ("concurrent", args.concurrency)):
            settings = ProbeSettings(timeout_s=5.0, limiter=RateLimiter(args.rate))
            started = time.perf_counter()
            scans = scan_targets(targets, settings, now=now, concurrency=concurrency)
            timings[label] = time.perf_counter() - started
            found[label] = [(s.status, s.accepted_groups, s.supported_versions) for s in scans]
        stop.set()
    same = found["sequential"] == found["concurrent"]
    connections = 1 + 13 + 3 + 4  # preferred-group probe, 13 group probes, 3 suites, 4 versions
    print(
        f"{args.endpoints} endpoints, {args.delay_ms:.0f} ms per server flight, "
        f"~{connections} connections each, rate limit {args.rate:.0f}/s"
    )
    print(f"sequential (concurrency 1): {timings['sequential']:.2f} s")
    print(f"concurrent (concurrency {args.concurrency}): {timings['concurrent']:.2f} s")
    print(f"speed-up: {timings['sequential'] / timings['concurrent']:.1f}x; same findings: {same}")
    if not same:
        raise SystemExit("the concurrent scan found something else than the sequential one")


if __name__ == "__main__":
    main()
