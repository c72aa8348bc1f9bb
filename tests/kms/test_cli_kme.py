"""The ``qsafecity kme`` and ``qsafecity pki`` commands: clear one-line errors, never a traceback."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from tests.kms_testbed import MINI_CITY

from qsafecity.cli import main


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out, err = capsys.readouterr()
    code = done.value.code
    assert isinstance(code, int)
    assert "Traceback" not in err
    return code, out, err


@pytest.fixture
def city(tmp_path: Path) -> Path:
    path = tmp_path / "city.yaml"
    path.write_text(MINI_CITY, encoding="utf-8")
    return path


def test_pki_init_and_issue_write_private_files_0600_and_never_overwrite(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, city: Path
) -> None:
    pki = tmp_path / "pki"
    assert _run(capsys, "pki", "init", "--dir", str(pki), "--city", str(city))[0] == 0
    assert _run(capsys, "pki", "issue", "kme", "a", "--dir", str(pki), "--city", str(city))[0] == 0
    assert (
        _run(capsys, "pki", "issue", "sae", "video@a", "--dir", str(pki), "--city", str(city))[0]
        == 0
    )
    for secret in (
        "ca-key.pem",
        "qkd-simulation.secret",
        "kme-a-key.pem",
        "kme-a.kek",
        "sae-video@a-key.pem",
    ):
        assert stat.S_IMODE((pki / secret).stat().st_mode) == 0o600, secret
    code, _, err = _run(capsys, "pki", "init", "--dir", str(pki), "--city", str(city))
    assert (code, "already has a CA" in err) == (2, True)
    code, _, err = _run(capsys, "pki", "issue", "kme", "a", "--dir", str(pki), "--city", str(city))
    assert (code, "exists" in err) == (2, True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["pki", "issue", "kme", "zz"], "no site 'zz'"),
        (["pki", "issue", "sae", "nobody"], "no SAE 'nobody'"),
        (["pki", "issue", "root", "a"], "unknown role"),
        (["pki", "issue", "kme", "a", "--dir", "/nonexistent/pki"], "no CA in"),
    ],
)
def test_pki_issue_refuses_bad_input(
    capsys: pytest.CaptureFixture[str], city: Path, args: list[str], message: str
) -> None:
    code, _, err = _run(capsys, *args, "--city", str(city))
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--insecure-dev", "--host", "0.0.0.0"], "refuses to listen on 0.0.0.0"),
        (["--insecure-dev", "--host", "192.168.1.10"], "only a loopback address"),
        (["--port", "70000"], "outside 1..65535"),
        (["--workers", "4"], "need PostgreSQL"),
        (["--peer", "b"], "SITE=URL"),
        (["--rate-bps", "-1"], "must not be negative"),
        ([], "missing PKI files"),
    ],
)
def test_kme_serve_refuses_unsafe_or_broken_setups_before_starting(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, city: Path, extra: list[str], message: str
) -> None:
    args = ["kme", "serve", str(city), "--site", "a", "--pki", str(tmp_path / "none"), *extra]
    code, _, err = _run(capsys, *args)
    assert code == 2
    assert message in err


def test_kme_serve_needs_a_site_of_the_city(capsys: pytest.CaptureFixture[str], city: Path) -> None:
    assert "--site is required" in _run(capsys, "kme", "serve", str(city))[2]


def test_kme_client_commands_report_an_unreachable_kme_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = _run(
        capsys, "kme", "status", "video@b", "--kme", "http://127.0.0.1:9", "--sae-id", "video@a"
    )
    assert code == 1
    assert "cannot be reached" in err
    code, _, err = _run(capsys, "kme", "get-key", "video@b", "--kme", "ftp://nowhere")
    assert code == 2
