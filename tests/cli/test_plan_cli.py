"""``qsafecity plan``: outputs, files, sweeps, and bad input without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from qsafecity.cli import main
from qsafecity.cli.plan import parse_amount, parse_sweep, parse_sweeps
from qsafecity.errors import InputError


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    out, err = capsys.readouterr()
    code = done.value.code
    return (code if isinstance(code, int) else 1), out, err


def test_plan_summary_of_the_sample_city(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["plan", "--budget", "700M"], capsys)
    assert code == 0, err
    assert "QKD for 14 of 15 critical services" in out
    assert "disaster-warning" in out  # the one the budget cannot cover, with its fix
    assert "raise the budget" in " ".join(out.split())


def test_plan_json_is_pure_json_and_stable(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["plan", "--json"], capsys)
    assert code == 0
    document = json.loads(out)  # the HiGHS banner must not leak into stdout
    assert document["format"] == 1
    assert document["coverage"]["covered"] == document["coverage"]["critical_services"] == 15
    _, again, _ = run(["plan", "--json"], capsys)
    second = json.loads(again)
    for doc in (document, second):
        doc["solver"].pop("seconds")
    assert document == second


def test_plan_writes_an_offline_html_map(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "plan.html"
    code, _, err = run(["plan", "-o", str(target)], capsys)
    assert code == 0, err
    page = target.read_text(encoding="utf-8")
    assert "plotly" in page
    assert "trusted node (built)" in page
    assert '<script src="http' not in page  # everything inlined: works offline


def test_plan_sweep_table_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "sweep.html"
    code, out, err = run(["plan", "--sweep", "budget=100M:1bn:4", "-o", str(target)], capsys)
    assert code == 0, err
    assert "Budget sweep" in out
    assert "below" in out  # 100M cannot even pay for the mandatory PQC migration
    assert "15/15" in out
    assert "Coverage and cost across budgets" in target.read_text(encoding="utf-8")


def test_plan_with_a_forecast_reports_the_exposure_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "plan.html"
    code, out, err = run(
        ["plan", "--budget", "500M", "--forecast", "gri-2025", "-o", str(target)], capsys
    )
    assert code == 0, err
    text = " ".join(out.split())
    assert "CRQC forecast gri-2025" in text
    assert "of the critical services' exposure (Mosca)" in text
    assert "CRQC forecast gri-2025" in target.read_text(encoding="utf-8")
    code, out, err = run(["plan", "--forecast", "gri-2024", "--json"], capsys)
    assert code == 0, err
    document = json.loads(out)
    assert document["forecast"]["forecast"] == "gri-2024"
    assert 0.0 <= document["forecast"]["risk_covered"] <= 1.0
    critical = [s for s in document["services"] if s["required_protection"] == "qkd+pqc"]
    assert all(s["probability_exposed"] is not None for s in critical)


def test_plan_sweep_over_forecasts_and_budgets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "crqc.csv"
    table.write_text("year,probability\n2030,0.2\n2040,0.6\n", encoding="utf-8")
    target = tmp_path / "sweep.html"
    args = ["plan", "--sweep", f"forecast=gri-2024,{table}", "--sweep", "budget=400M:800M:2"]
    code, out, err = run([*args, "-o", str(target)], capsys)
    assert code == 0, err
    assert "Scenario sweep (forecasts x budgets)" in out
    assert "gri-2024" in out
    page = target.read_text(encoding="utf-8")
    assert "Coverage and cost across budgets and CRQC forecasts" in page
    assert "gri-2024" in page
    assert "crqc.csv" in page


def test_plan_with_a_costs_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    costs = tmp_path / "costs.yaml"
    costs.write_text("qkd_device_pair: 1000\ntrusted_node: 1000\npqc_migration_per_service: 1\n")
    code, out, err = run(["plan", "--costs", str(costs), "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["costs_used"]["qkd_device_pair"] == 1000.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--budget", "lots"], "is not an amount"),
        (["--budget", "-5"], "is not an amount"),
        (["--budget", "nan"], "is not an amount"),
        (["--budget", "1e400"], "too large"),
        (["--budget", "10"], "below the mandatory PQC migration"),
        (["--horizon-years", "0"], "--horizon-years"),
        (["--horizon-years", "1000"], "--horizon-years"),
        (["--gap", "1.5"], "--gap"),
        (["--time-limit", "-1"], "--time-limit"),
        (["--method", "magic"], "--method"),
        (["--rekey-mb", "0"], "--rekey-mb"),
        (["--rekey-seconds", "inf"], "--rekey-seconds"),
        (["--preset", "warp-drive"], "unknown link preset"),
        (["--sweep", "budget=1:2"], "budget=<from>:<to>:<count>"),
        (["--sweep", "horizon=1:2:3"], "sweep budget=<from>:<to>:<count> or forecast="),
        (["--sweep", "forecast="], "list forecasts separated by commas"),
        (["--sweep", "forecast=gri-2024,,gri-2025"], "list forecasts separated by commas"),
        (["--sweep", "forecast=gri-2024,gri-2024"], "listed twice"),
        (["--sweep", "forecast=gri-1066"], "unknown forecast 'gri-1066'"),
        (
            ["--sweep", "forecast=gri-2024", "--sweep", "forecast=gri-2025"],
            "give forecast=... once",
        ),
        (["--sweep", "budget=1M:2M:3", "--sweep", "budget=1M:2M:3"], "give budget=... once"),
        (["--sweep", "budget=1M:2M:200", "--sweep", "forecast=gri-2024,gri-2025"], "at most 200"),
        (["--sweep", "budget=1M:2M:3", "--budget", "1M"], "cannot be combined"),
        (["--sweep", "forecast=gri-2024", "--forecast", "gri-2025"], "cannot be combined"),
        (["--sweep", "forecast=gri-2024", "--method", "greedy"], "leave out --method"),
        (["--forecast", "nowhere.csv"], "unknown forecast"),
        (["--sweep", "budget=2M:1M:3"], "above the start"),
        (["--sweep", "budget=1M:2M:1"], "N must be"),
        (["--sweep", "budget=1M:2M:x"], "whole number"),
        (["--sweep", "budget=1M:2M:3", "--json"], "cannot be combined"),
        (["--scheduler", "tcp://127.0.0.1:1"], "--sweep only"),
        (["-o", "plan.png"], "ending in .html"),
        (["--costs", "/nonexistent/costs.yaml"], "no such file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["plan", *args], capsys)
    assert code == 2, (out, err)
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "content",
    [
        "[1, 2, 3]\n",
        "qkd_device_pair: -5\n",
        "qkd_device_pair: .nan\n",
        "warp_cost: 5\n",
        "a: &x 1\nb: *x\n",
        "\xff\xfe",
        "max_device_pairs_per_segment: 0\n",
    ],
)
def test_hostile_costs_files_are_refused(
    tmp_path: Path, content: str, capsys: pytest.CaptureFixture[str]
) -> None:
    costs = tmp_path / "costs.yaml"
    costs.write_bytes(content.encode("latin-1"))
    code, _, err = run(["plan", "--costs", str(costs)], capsys)
    assert code == 2, err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("when,how\n2030,0.5\n", "the header must be"),
        ("year,probability\n2030,lots\n", "malformed row"),
        ("year,probability\n2030,0.6\n2040,0.2\n", "must not fall with time"),
        ("year,probability\n2030,1.5\n", "must lie in 0..1"),
    ],
)
def test_bad_forecast_files_in_a_sweep_are_refused(
    tmp_path: Path, content: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "crqc.csv"
    table.write_text(content, encoding="utf-8")
    code, _, err = run(["plan", "--sweep", f"forecast=gri-2024,{table}"], capsys)
    assert code == 2, err
    assert message in err
    assert "Traceback" not in err


def test_unreachable_scheduler_is_an_input_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        ["plan", "--sweep", "budget=200M:1bn:2", "--scheduler", "tcp://127.0.0.1:9"], capsys
    )
    assert code == 2
    assert "cannot reach the Dask scheduler" in err


def test_broken_manifest_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    city = tmp_path / "city.yaml"
    city.write_text("format: 1\ncity: {name: X}\n")
    code, _, err = run(["plan", str(city)], capsys)
    assert code == 2
    assert "problem" in err


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("150000000", 150e6),
        ("150M", 150e6),
        ("1.5bn", 1.5e9),
        ("300k", 3e5),
        ("1_000", 1e3),
        ("1.5e8", 1.5e8),
        ("0", 0.0),
    ],
)
def test_amounts(text: str, value: float) -> None:
    assert parse_amount(text) == value


def test_sweep_options_combine() -> None:
    spec = parse_sweeps(["forecast=gri-2024, gri-2025", "budget=100M:300M:3"])
    assert spec.forecasts == ["gri-2024", "gri-2025"]
    assert spec.budgets == [100e6, 200e6, 300e6]
    assert parse_sweeps(["forecast=manifest"]).budgets is None


def test_sweep_spacing() -> None:
    assert parse_sweep("budget=100M:300M:3") == [100e6, 200e6, 300e6]
    with pytest.raises(InputError):
        parse_sweep("budget=100M:300M:1000")


def test_json_on_a_real_stdout_has_no_solver_banner() -> None:
    # HiGHS prints a banner from C++ on the first solver of a process; in a fresh process the
    # JSON on stdout must still parse (capsys cannot see C-level writes, so run a subprocess).
    done = subprocess.run(
        [sys.executable, "-m", "qsafecity", "plan", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["format"] == 1


def test_cli_defaults_match_the_planner() -> None:
    from qsafecity import planning
    from qsafecity.cli import plan as cli_plan
    from qsafecity.planning import keyrates

    assert cli_plan.DEFAULT_GAP == planning.DEFAULT_GAP
    assert cli_plan.DEFAULT_HORIZON_YEARS == planning.DEFAULT_HORIZON_YEARS
    assert cli_plan.DEFAULT_TIME_LIMIT_S == planning.DEFAULT_TIME_LIMIT_S
    assert cli_plan.MAX_HORIZON_YEARS == planning.MAX_HORIZON_YEARS
    assert cli_plan.DEFAULT_PRESET == keyrates.DEFAULT_PRESET
