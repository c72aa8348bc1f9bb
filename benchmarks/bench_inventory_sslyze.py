"""Our key-exchange group probe against sslyze's ``elliptic_curves`` scan (the peer).

sslyze 6.3.1 pins ``cryptography<47``, so it cannot live in this project's environment; install it
in a separate virtual environment outside the repository and point ``--sslyze-python`` at it::

    python3 -m venv /tmp/peers/sslyze-venv && /tmp/peers/sslyze-venv/bin/pip install sslyze==6.3.1

Two local servers: a TLS server of Python's ``ssl`` (classical groups only) and a scripted server
that answers like a hybrid-capable TLS 1.3 server (HelloRetryRequest for X25519MLKEM768, else
X25519). For each, both tools answer "which key-exchange groups does it accept?"; the peer's time is
measured inside its own process (no interpreter start-up). Reports time per group tested by each
tool, the ratio, whether both agree on the curves both test, and what each sees of the hybrid.

Run: ``.venv/bin/python -m benchmarks.bench_inventory_sslyze [--sslyze-python PATH --rounds N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks.bench_inventory_scan import _certificate, _listener, _serve_forever, tls_server
from qsafecity.inventory.probe import ProbeSettings, probe_group, scan_endpoint
from qsafecity.inventory.results import GroupSupport
from qsafecity.inventory.tls_wire import (
    CLASSICAL_GROUPS,
    GROUP_CODES,
    POST_QUANTUM_GROUPS,
    build_hello_retry_request,
    parse_client_hello_offer,
)

#: Runs inside the peer's environment: one elliptic_curves scan, timed there.
PEER_DRIVER = """
import json, sys, time
from sslyze import Scanner, ServerScanRequest, ServerNetworkLocation, ScanCommand
port = int(sys.argv[1])
started = time.perf_counter()
scanner = Scanner()
scanner.queue_scans([ServerScanRequest(
    server_location=ServerNetworkLocation("127.0.0.1", port),
    scan_commands={ScanCommand.ELLIPTIC_CURVES})])
out = {"status": None, "accepted": [], "rejected": 0}
for result in scanner.get_results():
    out["status"] = result.scan_status.name
    attempt = result.scan_result.elliptic_curves if result.scan_result else None
    if attempt is not None and attempt.result is not None:
        out["accepted"] = [c.name for c in attempt.result.supported_curves]
        out["rejected"] = len(attempt.result.rejected_curves)
out["seconds"] = time.perf_counter() - started
print(json.dumps(out))
"""

#: sslyze's curve names for the groups both tools test.
_SSLYZE_NAMES = {"X25519": "X25519", "X448": "X448", "ECDHE-P256": "secp256r1",
                 "ECDHE-P384": "secp384r1", "ECDHE-P521": "secp521r1"}  # fmt: skip


@contextlib.contextmanager
def hybrid_server(stop: threading.Event) -> Iterator[int]:
    def handle(connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError, ValueError):
            connection.settimeout(5)
            data = b""
            while len(data) < 5 or len(data) < 5 + int.from_bytes(data[3:5], "big"):
                chunk = connection.recv(4096)
                if not chunk:
                    return
                data += chunk
            groups, suites, session_id = parse_client_hello_offer(data)
            suite = next((s for s in (0x1302, 0x1301, 0x1303) if s in suites), None)
            for supported in (GROUP_CODES["X25519MLKEM768"], GROUP_CODES["X25519"]):
                if supported in groups and suite is not None:
                    connection.sendall(
                        build_hello_retry_request(
                            supported, cipher_suite=suite, session_id=session_id
                        )
                    )
                    return
            connection.sendall(b"\x15\x03\x03\x00\x02\x02\x28")

    listener = _listener()
    threading.Thread(target=_serve_forever, args=(listener, handle, stop), daemon=True).start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        listener.close()


def run_peer(python: Path, port: int) -> dict[str, object]:
    done = subprocess.run(
        [str(python), "-c", PEER_DRIVER, str(port)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def run_ours(port: int) -> tuple[float, dict[str, GroupSupport]]:
    settings = ProbeSettings(timeout_s=5.0)
    started = time.perf_counter()
    verdicts = {g: probe_group("127.0.0.1", port, g, settings) for g in settings.probe_groups}
    return time.perf_counter() - started, verdicts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--sslyze-python", type=Path, default=Path("/tmp/peers/sslyze-venv/bin/python")
    )
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if not args.sslyze_python.exists():
        print(f"peer not installed ({args.sslyze_python}); see this module's docstring. Skipped.")
        return
    stop = threading.Event()
    groups_ours = len(POST_QUANTUM_GROUPS) + len(CLASSICAL_GROUPS)
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        cert, key = _certificate(Path(folder))
        classical = stack.enter_context(tls_server(cert, key, stop))
        hybrid = stack.enter_context(hybrid_server(stop))
        peer_times, our_times = [], []
        peer: dict[str, object] = {}
        ours: dict[str, GroupSupport] = {}
        for _ in range(args.rounds):
            peer = run_peer(args.sslyze_python, classical)
            peer_times.append(float(peer["seconds"]))  # type: ignore[arg-type]
            seconds, ours = run_ours(classical)
            our_times.append(seconds)
        peer_groups = len(peer["accepted"]) + int(peer["rejected"])  # type: ignore[arg-type, call-overload]
        agree = all(
            (name in peer["accepted"]) == (ours[group] is GroupSupport.ACCEPTED)  # type: ignore[operator]
            for group, name in _SSLYZE_NAMES.items()
        )
        peer_hybrid = run_peer(args.sslyze_python, hybrid)
        our_hybrid = scan_endpoint(
            "127.0.0.1", hybrid, ProbeSettings(), now=dt.datetime.now(dt.UTC)
        )
        stop.set()
    peer_per_group = min(peer_times) / max(peer_groups, 1)
    our_per_group = min(our_times) / groups_ours
    print(f"classical server, best of {args.rounds}:")
    print(f"  sslyze elliptic_curves: {min(peer_times):.3f} s for {peer_groups} curves "
          f"({peer_per_group * 1000:.1f} ms per group); accepted {peer['accepted']}")  # fmt: skip
    print(f"  qsafecity group probe: {min(our_times):.3f} s for {groups_ours} groups "
          f"({our_per_group * 1000:.1f} ms per group); accepted "
          f"{[g for g, v in ours.items() if v is GroupSupport.ACCEPTED]}")  # fmt: skip
    print(f"  time per group, sslyze / qsafecity: {peer_per_group / our_per_group:.1f}x; "
          f"agree on the 5 curves both test: {agree}")  # fmt: skip
    print(f"hybrid server: sslyze status {peer_hybrid['status']}, accepted {peer_hybrid['accepted']};"
          f" qsafecity accepted {list(our_hybrid.accepted_groups)}, "
          f"preferred {our_hybrid.preferred_group}")  # fmt: skip


if __name__ == "__main__":
    main()
