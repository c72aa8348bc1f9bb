"""``qsafecity qkd``: output formats, exit codes, and hostile input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qsafecity.cli import main


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    captured = capsys.readouterr()
    return int(done.value.code or 0), captured.out, captured.err


def test_keyrate_json_reproduces_the_reference_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        ["qkd", "keyrate", "--preset", "gys", "--mu", "0.48", "--distance-km", "50", "--json"],
        capsys,
    )
    assert code == 0
    document = json.loads(out)
    (row,) = document["rows"]
    assert set(row) == {"distance_km", "rate_per_pulse", "rate_bps", "qber", "mu", "plob_per_pulse"}
    assert row["rate_per_pulse"] == pytest.approx(2.2260e-4, rel=1e-3)
    assert row["rate_bps"] == pytest.approx(2.2260e-4 * 2e6, rel=1e-3)
    assert row["mu"] == 0.48
    assert row["plob_per_pulse"] > 600 * row["rate_per_pulse"]


def test_keyrate_sweep_table_and_plot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    plot = tmp_path / "rate.png"
    code, out, _ = run_cli(
        [
            "qkd",
            "keyrate",
            "--preset",
            "metro",
            "--protocol",
            "vacuum-weak",
            "--sweep",
            "0:100:25",
            "--plot",
            str(plot),
        ],
        capsys,
    )
    assert code == 0
    assert "maximum distance" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_keyrate_default_distances_zero_km_has_no_finite_plob(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run_cli(["qkd", "keyrate", "--json"], capsys)
    assert code == 0
    rows = json.loads(out)["rows"]
    assert [r["distance_km"] for r in rows] == [0.0, 25.0, 50.0, 100.0]
    assert rows[0]["plob_per_pulse"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--distance-km", "-5"], "distance"),
        (["--preset", "moon"], "unknown link preset"),
        (["--protocol", "e91"], "unknown protocol"),
        (["--mu", "0"], "mu"),
        (["--mu", "nan"], "mu"),
        (["--protocol", "vacuum-weak", "--mu", "0.04"], "exceed"),
        (["--sweep", "10:0:5"], "sweep"),
        (["--sweep", "0:1e9:0.001"], "rows"),
        (["--sweep", "a:b"], "sweep"),
        (["--distance-km", "inf"], "distance"),
    ],
)
def test_keyrate_bad_input_exits_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["qkd", "keyrate", *args], capsys)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_keyrate_unwritable_plot_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run_cli(
        ["qkd", "keyrate", "--plot", str(tmp_path / "missing" / "x.png")], capsys
    )
    assert code == 2
    assert "cannot write the plot" in err


def test_run_json_has_the_issue_fields(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        [
            "qkd",
            "run",
            "--preset",
            "metro",
            "--distance-km",
            "25",
            "--pulses",
            "3e8",
            "--seed",
            "5",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    report = json.loads(out)
    for field in (
        "aborted",
        "abort_reason",
        "qber",
        "sifted_bits",
        "leaked_bits",
        "secret_bits",
        "f_ec",
        "secret_key_rate_bps",
    ):
        assert field in report
    assert report["aborted"] is False
    assert report["secret_bits"] > 0


def test_run_intercept_resend_aborts_with_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(
        [
            "qkd",
            "run",
            "--preset",
            "metro",
            "--pulses",
            "1e8",
            "--eve",
            "intercept-resend:1",
            "--seed",
            "1",
        ],
        capsys,
    )
    assert code == 3
    assert "ABORTED" in out
    assert "QBER" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pulses", "0"], "pulses"),
        (["--pulses", "1e30"], "pulses"),
        (["--pulses", "many"], "pulses"),
        (["--distance-km", "-1"], "distance"),
        (["--eve", "intercept-resend:2"], "fraction"),
        (["--eve", "noisy:0.6"], "noise"),
        (["--cascade", "ldpc"], "Cascade"),
        (["--authentication", "none"], "authentication"),
        (["--seed", "-3"], "seed"),
    ],
)
def test_run_bad_input_exits_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["qkd", "run", "--pulses", "1e6", *args], capsys)
    assert code == 2
    assert message in err
