"""``qsafecity crypto``: round trips, and malformed, hostile and boundary input at every entry.

Rejected messages exit with 1 and one line on stderr; bad input exits with 2; never a traceback.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from qsafecity.cli import crypto as crypto_cli
from qsafecity.cli import main

Result = tuple[int, bytes, str]


@pytest.fixture
def run(capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run ``qsafecity`` in-process with ``stdin`` bytes; return (exit code, stdout, stderr)."""

    def runner(*argv: str | Path, stdin: bytes = b"") -> Result:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        with pytest.raises(SystemExit) as done:
            main([str(a) for a in argv])
        captured = capsysbinary.readouterr()
        stderr = captured.err.decode("utf-8", errors="replace")
        assert "Traceback" not in stderr
        code = done.value.code
        return (code if isinstance(code, int) else 1), captured.out, stderr

    return runner


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Key directories made once by the CLI itself (in-process): two pqc and two critical."""
    root = tmp_path_factory.mktemp("keys")
    made = {}
    for name, profile in (
        ("alice", "pqc"),
        ("bob", "pqc"),
        ("hq", "critical"),
        ("unit", "critical"),
    ):
        with pytest.raises(SystemExit) as done:
            main(["crypto", "keygen", "--profile", profile, "-o", str(root / name)])
        assert done.value.code == 0
        made[name] = root / name
    return made


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def test_keygen_writes_four_files_and_refuses_to_overwrite(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("crypto", "keygen", "--profile", "pqc", "-o", tmp_path / "k")
    assert code == 0
    assert b"X-Wing" in out
    files = sorted(p.name for p in (tmp_path / "k").iterdir())
    assert files == ["private.pem", "public.pem", "signing-private.pem", "signing-public.pem"]
    assert (tmp_path / "k" / "private.pem").stat().st_mode & 0o777 == 0o600
    before = (tmp_path / "k" / "private.pem").read_bytes()
    code, _, err = run("crypto", "keygen", "-o", tmp_path / "k")
    assert code == 2
    assert "refusing to overwrite" in one_line(err)
    assert (tmp_path / "k" / "private.pem").read_bytes() == before


def test_keygen_bad_profile_and_bad_directory(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("crypto", "keygen", "--profile", "rsa", "-o", tmp_path / "x")
    assert code == 2
    assert "unknown profile" in one_line(err)
    (tmp_path / "file").write_text("x")
    code, _, err = run("crypto", "keygen", "-o", tmp_path / "file")
    assert code == 2
    assert "not a directory" in one_line(err)


def test_seal_open_round_trip_through_files_and_pipes(run, keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    payload = bytes(range(256)) * 40
    code, sealed, _ = run(
        "crypto",
        "seal",
        "--to",
        keys["hq"],
        "--service",
        "fire-7",
        "--tier",
        "critical",
        "--sign-with",
        keys["unit"],
        "--sender",
        "unit",
        "--seq",
        "5",
        stdin=payload,
    )
    assert code == 0
    (tmp_path / "m").write_bytes(sealed)
    code, opened, _ = run(
        "crypto",
        "open",
        "--key",
        keys["hq"],
        "--service",
        "fire-7",
        "--tier",
        "critical",
        "--verify-with",
        keys["unit"],
        "--sender",
        "unit",
        "-i",
        tmp_path / "m",
        "-o",
        tmp_path / "out",
    )
    assert code == 0
    assert opened == b""
    assert (tmp_path / "out").read_bytes() == payload


def test_rejections_exit_1_with_one_line(run, keys) -> None:  # type: ignore[no-untyped-def]
    _, sealed, _ = run(
        "crypto",
        "seal",
        "--to",
        keys["alice"],
        "--service",
        "bus",
        "--tier",
        "important",
        "--sign-with",
        keys["bob"],
        stdin=b"arrives 12:05",
    )
    base = [
        "crypto",
        "open",
        "--key",
        keys["alice"],
        "--service",
        "bus",
        "--tier",
        "important",
        "--verify-with",
        keys["bob"],
    ]
    assert run(*base, stdin=sealed)[:2] == (0, b"arrives 12:05")
    damaged = bytearray(sealed)
    damaged[len(damaged) // 2] ^= 4
    wrong = [
        (base, bytes(damaged)),
        (base, sealed[:-1]),
        (base, b""),
        (base, b"\x00" * 5000),
        (
            ["crypto", "open", "--key", keys["alice"], "--service", "tram", "--tier", "important"],
            sealed,
        ),
        (
            [
                "crypto",
                "open",
                "--key",
                keys["alice"],
                "--service",
                "bus",
                "--tier",
                "especially-important",
            ],
            sealed,
        ),
        (
            ["crypto", "open", "--key", keys["bob"], "--service", "bus", "--tier", "important"],
            sealed,
        ),
        ([*base[:-1], keys["alice"]], sealed),  # signed by bob, verified against alice
    ]
    for argv, data in wrong:
        code, out, err = run(*argv, stdin=data)
        assert (code, out) == (1, b"")
        assert one_line(err) == "qsafecity: error: message rejected"


def test_downgrade_is_refused_at_both_ends(run, keys) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run(
        "crypto",
        "seal",
        "--to",
        keys["alice"],
        "--service",
        "fire",
        "--tier",
        "critical",
        "--sign-with",
        keys["bob"],
        stdin=b"x",
    )
    assert code == 1
    assert "needs the critical profile" in one_line(err)
    _, sealed, _ = run(
        "crypto",
        "seal",
        "--to",
        keys["alice"],
        "--service",
        "fire",
        "--tier",
        "important",
        stdin=b"x",
    )
    code, _, err = run(
        "crypto",
        "open",
        "--key",
        keys["hq"],
        "--service",
        "fire",
        "--tier",
        "critical",
        stdin=sealed,
    )
    assert code == 1


def test_replay_state_file_rejects_a_second_opening(run, keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    state = tmp_path / "state.json"
    first = run(
        "crypto",
        "seal",
        "--to",
        keys["alice"],
        "--service",
        "s",
        "--tier",
        "important",
        "--seq",
        "10",
        stdin=b"one",
    )[1]
    older = run(
        "crypto",
        "seal",
        "--to",
        keys["alice"],
        "--service",
        "s",
        "--tier",
        "important",
        "--seq",
        "9",
        stdin=b"zero",
    )[1]
    opener = [
        "crypto",
        "open",
        "--key",
        keys["alice"],
        "--service",
        "s",
        "--tier",
        "important",
        "--replay-state",
        state,
    ]
    assert run(*opener, stdin=first)[:2] == (0, b"one")
    assert json.loads(state.read_text()) == {"highest_sequence": 10}
    assert run(*opener, stdin=first)[0] == 1
    assert run(*opener, stdin=older)[0] == 1
    state.write_text("{not json")
    code, _, err = run(*opener, stdin=first)
    assert code == 2
    assert "damaged" in one_line(err)


def test_bad_input_exits_2(run, keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"-----BEGIN QSAFECITY KEM PUBLIC KEY-----\n@@@@\n-----END x-----\n")
    binary = tmp_path / "binary"
    binary.write_bytes(bytes(range(256)))
    huge_key = tmp_path / "huge.pem"
    with huge_key.open("wb") as stream:  # sparse: costs no disk
        stream.truncate(crypto_cli.MAX_SMALL_FILE_BYTES + 1)
    cases = [
        ["crypto", "seal", "--to", tmp_path / "missing", "--service", "s", "--tier", "important"],
        ["crypto", "seal", "--to", garbage, "--service", "s", "--tier", "important"],
        ["crypto", "seal", "--to", binary, "--service", "s", "--tier", "important"],
        [
            "crypto",
            "seal",
            "--to",
            keys["alice"] / "signing-public.pem",
            "--service",
            "s",
            "--tier",
            "important",
        ],  # a signing key where a KEM key is expected
        ["crypto", "seal", "--to", huge_key, "--service", "s", "--tier", "important"],
        ["crypto", "seal", "--to", keys["alice"], "--service", "", "--tier", "important"],
        ["crypto", "seal", "--to", keys["alice"], "--service", "s" * 300, "--tier", "important"],
        ["crypto", "seal", "--to", keys["alice"], "--service", "s", "--tier", "nope"],
        [
            "crypto",
            "seal",
            "--to",
            keys["alice"],
            "--service",
            "s",
            "--tier",
            "important",
            "-i",
            tmp_path / "missing",
        ],
        [
            "crypto",
            "seal",
            "--to",
            keys["alice"],
            "--service",
            "s",
            "--tier",
            "important",
            "-i",
            tmp_path,
        ],
        [
            "crypto",
            "seal",
            "--to",
            keys["alice"],
            "--service",
            "s",
            "--tier",
            "important",
            "--seq",
            "-1",
        ],
        [
            "crypto",
            "seal",
            "--to",
            keys["alice"],
            "--service",
            "s",
            "--tier",
            "important",
            "--seq",
            str(2**64),
        ],
        [
            "crypto",
            "seal",
            "--to",
            keys["alice"],
            "--service",
            "s",
            "--tier",
            "important",
            "--sign-with",
            keys["hq"],
        ],  # ML-DSA-87 signer for a pqc message: policy, see below
        [
            "crypto",
            "open",
            "--key",
            keys["alice"] / "public.pem",
            "--service",
            "s",
            "--tier",
            "important",
        ],
        [
            "crypto",
            "open",
            "--key",
            keys["alice"],
            "--service",
            "s",
            "--tier",
            "important",
            "--verify-with",
            keys["hq"],
        ],
        ["crypto", "seal", "--bogus-flag"],
        ["crypto", "verify", "--key", keys["alice"], "--signature", tmp_path / "missing"],
        ["crypto", "info", tmp_path / "missing"],
        ["crypto", "info", garbage],
        ["crypto", "info", binary],
        ["crypto", "info"],  # stdin that is neither a key nor a sealed message
    ]
    for argv in cases:
        code, _, err = run(*argv, stdin=b"data")
        expected = 1 if "--sign-with" in argv else 2
        assert code == expected, (argv, err)
        assert err.strip(), argv


def test_encrypted_keys_need_their_password(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    password = tmp_path / "pw"
    password.write_text("s3cret phrase\n")
    assert run("crypto", "keygen", "-o", tmp_path / "k", "--password-file", password)[0] == 0
    assert b"ENCRYPTED" in (tmp_path / "k" / "private.pem").read_bytes()
    sealed = run(
        "crypto",
        "seal",
        "--to",
        tmp_path / "k",
        "--service",
        "s",
        "--tier",
        "important",
        stdin=b"m",
    )[1]
    opener = ["crypto", "open", "--key", tmp_path / "k", "--service", "s", "--tier", "important"]
    code, _, err = run(*opener, stdin=sealed)
    assert code == 2
    assert "password" in one_line(err)
    assert run(*opener, "--password-file", password, stdin=sealed)[:2] == (0, b"m")
    wrong = tmp_path / "wrong"
    wrong.write_text("guess\n")
    assert run(*opener, "--password-file", wrong, stdin=sealed)[0] == 2
    empty = tmp_path / "empty"
    empty.write_text("")
    assert run(*opener, "--password-file", empty, stdin=sealed)[0] == 2


def test_sign_and_verify(run, keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    document = tmp_path / "contract.txt"
    document.write_bytes(b"operator shall use quantum-secure cryptography")
    signature = tmp_path / "contract.sig"
    assert run("crypto", "sign", "--key", keys["unit"], "-i", document, "-o", signature)[0] == 0
    code, out, _ = run(
        "crypto", "verify", "--key", keys["unit"], "--signature", signature, "-i", document
    )
    assert code == 0
    assert b"signature valid" in out
    assert b"ML-DSA-87" in out
    document.write_bytes(b"operator may use anything")
    code, _, err = run(
        "crypto", "verify", "--key", keys["unit"], "--signature", signature, "-i", document
    )
    assert code == 1
    assert one_line(err) == "qsafecity: error: signature rejected"
    code, _, _ = run(
        "crypto",
        "verify",
        "--key",
        keys["hq"],
        "--signature",
        signature,
        stdin=b"operator shall use quantum-secure cryptography",
    )
    assert code == 1


def test_info_describes_keys_and_messages_without_secrets(run, keys) -> None:  # type: ignore[no-untyped-def]
    private_pem = (keys["hq"] / "private.pem").read_bytes()
    code, out, _ = run("crypto", "info", keys["hq"] / "private.pem")
    assert code == 0
    assert b"MLKEM1024-P384" in out
    assert private_pem.splitlines()[1][:20] not in out
    code, out, _ = run("crypto", "info", "--json", keys["alice"] / "signing-private.pem")
    assert json.loads(out)["algorithm"] == "ML-DSA-65"
    sealed = run(
        "crypto",
        "seal",
        "--to",
        keys["alice"],
        "--service",
        "park",
        "--tier",
        "important",
        "--sender",
        "gate",
        stdin=b"secret plaintext",
    )[1]
    code, out, _ = run("crypto", "info", "--json", stdin=sealed)
    facts = json.loads(out)
    assert (facts["service"], facts["sender"], facts["kem"]) == ("park", "gate", "X-Wing")
    assert b"secret plaintext" not in out


def test_huge_input_is_refused_before_reading_it_all(
    run,
    keys,
    tmp_path: Path,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(crypto_cli, "MAX_INPUT_BYTES", 1024)
    big = tmp_path / "big"
    big.write_bytes(b"\x00" * 1025)
    code, _, err = run(
        "crypto", "seal", "--to", keys["alice"], "--service", "s", "--tier", "important", "-i", big
    )
    assert code == 2
    assert "larger than" in one_line(err)
    code, _, _ = run(
        "crypto",
        "open",
        "--key",
        keys["alice"],
        "--service",
        "s",
        "--tier",
        "important",
        stdin=b"\x00" * 1025,
    )
    assert code == 2
    edge = tmp_path / "edge"
    edge.write_bytes(b"\x01" * 1024)
    assert (
        run(
            "crypto",
            "seal",
            "--to",
            keys["alice"],
            "--service",
            "s",
            "--tier",
            "important",
            "-i",
            edge,
        )[0]
        == 0
    )


def test_the_installed_command_never_prints_a_traceback(keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "qsafecity",
            "crypto",
            "open",
            "--key",
            str(keys["alice"]),
            "--service",
            "s",
            "--tier",
            "important",
        ],
        input=b"\xff" * 100,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.decode().strip() == "qsafecity: error: message rejected"


def test_random_and_mutated_input_never_crashes(run, keys) -> None:  # type: ignore[no-untyped-def]
    """Fuzz ``open`` and ``info`` with random bytes and with mutations of a valid message."""
    import random

    generator = random.Random(20261125)
    valid = run(
        "crypto",
        "seal",
        "--to",
        keys["alice"],
        "--service",
        "s",
        "--tier",
        "important",
        stdin=b"payload",
    )[1]
    samples = [generator.randbytes(generator.randrange(0, 3000)) for _ in range(8)]
    for _ in range(8):
        mutated = bytearray(valid)
        for _ in range(generator.randrange(1, 4)):
            mutated[generator.randrange(len(mutated))] = generator.randrange(256)
        cut = generator.randrange(len(mutated) + 1)
        samples.append(bytes(mutated[:cut]) if generator.random() < 0.3 else bytes(mutated))
    opener = ["crypto", "open", "--key", keys["alice"], "--service", "s", "--tier", "important"]
    for sample in samples:
        if sample == valid:
            continue
        code, out, err = run(*opener, stdin=sample)
        assert (code, out) == (1, b"")
        assert one_line(err) == "qsafecity: error: message rejected"
        code, _, err = run("crypto", "info", stdin=sample)
        assert code in (0, 2)
        assert len(err.strip().splitlines()) <= 1
