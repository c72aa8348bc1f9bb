"""The scan, cbom and backlog commands: outputs, files, and bad input without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from inventory_servers import free_port, hybrid_server, python_tls_server, scripted_server

from qsafecity.cli import main
from qsafecity.inventory.cbom import validate_cbom_text


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    out, err = capsys.readouterr()
    code = done.value.code
    return (code if isinstance(code, int) else 1), out, err


def test_scan_then_cbom_then_import_then_backlog(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    certificates: dict[str, tuple[Path, Path]],
) -> None:
    cert, key = certificates["rsa"]
    with python_tls_server(cert, key) as port, scripted_server(hybrid_server) as hybrid_port:
        targets = tmp_path / "targets.yaml"
        targets.write_text(
            "format: 1\ntargets:\n"
            f"  video-surveillance: ['127.0.0.1:{port}']\n"
            f"  e-gov-portal: ['127.0.0.1:{hybrid_port}', '127.0.0.1:{free_port()}']\n"
        )
        results = tmp_path / "results.json"
        code, out, err = run(
            ["scan", "--targets", str(targets), "--timeout", "2", "-o", str(results)], capsys
        )
    assert code == 0, err
    assert "TLS endpoints" in out
    report = json.loads(results.read_text())
    assert [s["status"] for s in report["scans"]] == ["tls", "tls", "refused"]
    assert report["scans"][1]["preferred_group"] == "X25519MLKEM768"

    cbom = tmp_path / "city.cbom.json"
    code, out, err = run(["cbom", "--scan", str(results), "-o", str(cbom)], capsys)
    assert code == 0, err
    assert validate_cbom_text(cbom.read_text()) is None

    observed = tmp_path / "observed.json"
    code, out, err = run(["cbom", "import", str(cbom), "-o", str(observed)], capsys)
    assert code == 0, err
    observations = {o["service_id"]: o for o in json.loads(observed.read_text())["observations"]}
    assert observations["video-surveillance"]["key_exchange"] == "X25519"
    assert observations["e-gov-portal"]["key_exchange"] == "X25519MLKEM768"

    code, out, err = run(["backlog", "--observed", str(observed), "--format", "json"], capsys)
    assert code == 0, err
    items = {i["service"]: i for i in json.loads(out)["items"]}
    assert items["video-surveillance"]["observed"] is True

    code, out, err = run(["backlog", "--scan", str(results)], capsys)
    assert code == 0, err
    assert "Migration backlog" in out


def test_scan_json_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["scan", f"127.0.0.1:{free_port()}", "--format", "json"], capsys)
    assert code == 0
    assert json.loads(out)["scans"][0]["findings"][0]["code"] == "connection-refused"


def test_cbom_to_stdout_and_backlog_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["cbom"], capsys)
    assert code == 0
    assert validate_cbom_text(out) is None
    code, out, _ = run(["backlog"], capsys)
    assert code == 0
    assert "Voronezh" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan"], "no targets"),
        (["scan", "host:0"], "port must be"),
        (["scan", "a:1", "--city", "x.yaml"], "not both"),
        (["scan", "--city", "x.yaml"], "--targets"),
        (["scan", "--targets", "/nonexistent/t.yaml"], "no such file"),
        (["cbom", "import", "/nonexistent.json"], "no such file"),
        (["cbom", "--scan", "/nonexistent.json"], "no such file"),
        (["backlog", "--observed", "/nonexistent.json"], "no such file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(args, capsys)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"{}", "not a CycloneDX"),
        (b'{"bomFormat": "CycloneDX", "specVersion": "1.6"}', "--service"),
    ],
)
def test_bad_cbom_files(
    tmp_path: Path, content: bytes, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "in.json"
    file.write_bytes(content)
    code, _, err = run(["cbom", "import", str(file)], capsys)
    assert code == 2
    assert message in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{}", "not a qsafecity scan report"),
        ('{"scans": [{"target": 1}]}', "not a qsafecity scan report"),
        ("not json", "not a qsafecity scan report"),
    ],
)
def test_bad_scan_reports(
    tmp_path: Path, content: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "results.json"
    file.write_text(content)
    code, _, err = run(["cbom", "--scan", str(file)], capsys)
    assert code == 2
    assert message in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"format": 1, "observations": [{"service_id": "x", "evidence": "e", "cipher": "ROT13"}]}',
            "unknown cipher",
        ),
        ('{"format": 2, "observations": []}', "must be 1"),
        (
            '{"format": 1, "observations": [{"service_id": "nope", "evidence": "e"}]}',
            "not in the city",
        ),
        (
            '{"format": 1, "observations": [{"service_id": "city-sso", "evidence": "e"},'
            ' {"service_id": "city-sso", "evidence": "f"}]}',
            "listed twice",
        ),
    ],
)
def test_bad_observation_files(
    tmp_path: Path, content: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "observed.json"
    file.write_text(content)
    code, _, err = run(["backlog", "--observed", str(file)], capsys)
    assert code == 2
    assert message in err


def test_scan_report_for_a_service_not_in_the_city(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results.json"
    code, _, _ = run(["scan", f"127.0.0.1:{free_port()}", "-o", str(results)], capsys)
    assert code == 0
    document = json.loads(results.read_text())
    document["scans"][0]["service_id"] = "not-a-service"
    results.write_text(json.dumps(document))
    code, _, err = run(["cbom", "--scan", str(results)], capsys)
    assert code == 2
    assert "not-a-service" in err
