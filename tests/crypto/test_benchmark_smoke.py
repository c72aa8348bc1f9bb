"""The crypto benchmark runs end to end (a smoke run; the figures are in docs/benchmarks.md)."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_crypto_benchmark_quick_run(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import bench_crypto

    bench_crypto.main(["--quick"])
    out = capsys.readouterr().out
    assert "session seal, 1 KiB vs bare AES-GCM encrypt" in out
    assert "combine_qkd_pqc" in out
    assert out.count("x ") >= 10  # one ratio per line
