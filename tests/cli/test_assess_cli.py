"""The assess and city commands: exit codes, formats, files, and bad input without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qsafecity.cli import main
from qsafecity.manifests import sample_city_text


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    out, err = capsys.readouterr()
    code = done.value.code
    return (code if isinstance(code, int) else 1), out, err


def test_assess_sample_city_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["assess"], capsys)
    assert code == 0, err
    assert "Voronezh" in out
    assert "critical: requires qkd+pqc" in out


def test_assess_json_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["assess", "--format", "json"], capsys)
    assert code == 0
    document = json.loads(out)
    assert document["totals"]["services"] == 44


@pytest.mark.parametrize(
    ("name", "marker"),
    [
        ("report.json", '"schema_version"'),
        ("report.html", "<!DOCTYPE html>"),
        ("report.txt", "qsafecity assessment"),
    ],
)
def test_assess_writes_files_by_extension(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, marker: str
) -> None:
    target = tmp_path / name
    code, out, _ = run(["assess", "-o", str(target)], capsys)
    assert code == 0
    assert marker in target.read_text()
    assert str(target) in out


def test_fail_on(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["assess", "--fail-on", "critical"], capsys)[0] == 1
    code, _, err = run(["assess", "--fail-on", "catastrophic"], capsys)
    assert code == 2
    assert "unknown severity" in err


def test_fail_on_passes_for_a_clean_city(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean = """
format: 1
city: {name: Clean}
assumptions: {start_year: 2026}
sites:
  - {id: a, name: A, location: {lat: 1, lon: 1}}
  - {id: b, name: B, location: {lat: 1.01, lon: 1}}
links: [{a: a, b: b, length_km: 2, qkd: true}]
operators: [{id: it, name: IT, type: municipal}]
services:
  - id: dispatch
    name: Dispatch
    operator: it
    function: emergency-dispatch
    data: {categories: [personal], shelf_life_years: 10}
    endpoints: [a, b]
    crypto: {key_exchange: QKD+ML-KEM-1024, signature: ML-DSA-87, cipher: AES-256-GCM}
"""
    path = tmp_path / "clean.yaml"
    path.write_text(clean)
    code, out, err = run(["assess", str(path), "--fail-on", "low"], capsys)
    assert code == 0, err
    assert "1 compliant" in out


def test_forecast_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["assess", "--forecast", "gri-2025", "-f", "json"], capsys)[0] == 0
    table = tmp_path / "mine.csv"
    table.write_text("year,probability\n2030,0.3\n2035,0.7\n")
    code, out, _ = run(["assess", "--forecast", str(table), "-f", "json"], capsys)
    assert code == 0
    assert json.loads(out)["forecast"]["name"] == str(table)
    bad = tmp_path / "bad.csv"
    bad.write_text("year,probability\n2030,7\n")
    code, _, err = run(["assess", "--forecast", str(bad)], capsys)
    assert code == 2
    assert "0..1" in err


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "must be a mapping"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"format: 1\n", "required field is missing"),
        (b"a: &x 1\nb: *x\n", "aliases"),
        (b"{{{{", "not valid YAML"),
    ],
)
def test_bad_manifests_exit_2_with_one_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, fragment: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    code, out, err = run(["assess", str(path)], capsys)
    assert code == 2
    assert fragment in err
    assert "Traceback" not in err + out


def test_missing_file_directory_and_unwritable_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["assess", str(tmp_path / "nope.yaml")], capsys)[0] == 2
    assert "is a directory" in run(["assess", str(tmp_path)], capsys)[2]
    code, _, err = run(["assess", "-o", str(tmp_path / "no" / "such" / "dir.json")], capsys)
    assert code == 2
    assert "does not exist" in err


def test_output_is_not_clobbered_on_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "report.json"
    target.write_text("previous report")
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: 2\n")
    assert run(["assess", str(bad), "-o", str(target)], capsys)[0] == 2
    assert target.read_text() == "previous report"


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["assess", "--format", "xml"], capsys)[0] == 2
    assert run(["assess", "--no-such-option"], capsys)[0] == 2
    assert run(["no-such-command"], capsys)[0] == 2


def test_city_validate_and_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["city", "validate"], capsys)
    assert code == 0
    assert "44 services" in out
    target = tmp_path / "city.yaml"
    assert run(["city", "sample", "-o", str(target)], capsys)[0] == 0
    assert target.read_text() == sample_city_text()
    code, out, _ = run(["city", "validate", str(target)], capsys)
    assert code == 0


def test_every_problem_is_listed_by_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = sample_city_text().replace(
        "shelf_life_years: 5, volume_gb_per_day: 210000",
        "shelf_life_years: -5, volume_gb_per_day: 210000",
    )
    text = text.replace(
        "operator: med-it\n    function: emergency-medical",
        "operator: nobody\n    function: emergency-medical",
    )
    path = tmp_path / "two.yaml"
    path.write_text(text)
    code, _, err = run(["city", "validate", str(path)], capsys)
    assert code == 2
    assert "2 problems" in err
    assert "services[0].data.shelf_life_years" in err
    assert "services[4].operator: no operator has this id (got 'nobody')" in err


def test_console_script_runs_as_a_process(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    done = subprocess.run(
        [sys.executable, "-m", "qsafecity", "assess", str(tmp_path / "missing.yaml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("qsafecity: error:")
    assert "Traceback" not in done.stderr


def test_observed_cryptography_beats_declared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from qsafecity.inventory.documents import observations_json
    from qsafecity.policy import ObservedCrypto

    observed = tmp_path / "observed.json"
    seen = ObservedCrypto("e-gov-portal", "TLS scan of 127.0.0.1:8443", key_exchange="ECDHE-P256")
    observed.write_text(observations_json({"e-gov-portal": seen}))
    code, out, err = run(["assess", "--observed", str(observed), "-f", "json"], capsys)
    assert code == 0, err
    portal = next(s for s in json.loads(out)["services"] if s["id"] == "e-gov-portal")
    assert portal["effective_crypto"]["key_exchange"] == "ECDHE-P256"
    assert portal["effective_crypto"]["observed"] == ["key_exchange"]
    assert "DECLARED-OBSERVED-MISMATCH" in {f["code"] for f in portal["findings"]}


def test_observations_must_name_services_of_the_city(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from qsafecity.inventory.documents import observations_json
    from qsafecity.policy import ObservedCrypto

    observed = tmp_path / "observed.json"
    observed.write_text(
        observations_json({"ghost": ObservedCrypto("ghost", "scan", key_exchange="X25519")})
    )
    code, _, err = run(["assess", "--observed", str(observed)], capsys)
    assert code == 2
    assert "ghost" in err
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    assert run(["assess", "--observed", str(garbage)], capsys)[0] == 2
    assert run(["assess", "--scan", str(tmp_path / "missing.json")], capsys)[0] == 2
