"""``qsafecity up`` as a process: Ctrl-C (SIGINT) and SIGTERM stop everything and print a summary."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import pytest


def run_and_signal(sig: signal.Signals) -> str:
    process = subprocess.Popen(
        [sys.executable, "-m", "qsafecity", "up", "--port", "0", "--speed", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines = []
    deadline = time.monotonic() + 90
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C stops") or time.monotonic() > deadline:
                break
        time.sleep(3)  # a few steps of traffic
        process.send_signal(sig)
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = "".join(lines) + rest
    assert process.returncode == 0, output
    return output


def test_ctrl_c_stops_cleanly_with_a_summary() -> None:
    output = run_and_signal(signal.SIGINT)
    assert "dashboard: http://127.0.0.1:" in output
    summary = next(line for line in output.splitlines() if line.startswith("summary:"))
    sent = re.search(r"sent (\d+)", summary)
    stored = re.search(r"stored (\d+)", summary)
    assert sent is not None
    assert stored is not None
    assert int(sent.group(1)) > 0
    assert stored.group(1) == sent.group(1)
    assert "Traceback" not in output


@pytest.mark.slow
def test_sigterm_stops_cleanly_with_a_summary() -> None:
    output = run_and_signal(signal.SIGTERM)
    assert any(line.startswith("summary:") for line in output.splitlines())
    assert "Traceback" not in output
