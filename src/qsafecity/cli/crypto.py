"""``qsafecity crypto``: keys, sealed messages and signatures for operators, from files or pipes.

Key directories hold the four files ``keygen`` writes: ``public.pem`` and ``private.pem`` (the
hybrid KEM key of the profile), ``signing-public.pem`` and ``signing-private.pem`` (ML-DSA).
Wherever a directory is expected, the path of the one needed file is accepted too.

Exit codes (``qsafecity.cli``): 0 done; 1 a message or signature was rejected, or the policy
forbids the action (one line on stderr); 2 bad input (missing or unreadable files, wrong key
types, bad flags).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, BinaryIO, Final, TypeVar

import typer

from qsafecity.city.vocabulary import Tier
from qsafecity.crypto import (
    KEMPrivateKey,
    KEMPublicKey,
    KeyPair,
    Profile,
    ReplayWindow,
    SigningKey,
    VerifyingKey,
    inspect_sealed,
    open_sealed,
    seal,
)
from qsafecity.errors import CryptoError, InputError, KeyFormatError

#: Largest input the CLI reads (a sealed message or a file to sign); larger input is refused.
MAX_INPUT_BYTES: Final = 64 * 1024 * 1024
#: Largest key, password, signature or replay-state file read (real ones are a few KiB).
MAX_SMALL_FILE_BYTES: Final = 1024 * 1024
#: FIPS 204 context of detached signatures made by ``qsafecity crypto sign``.
SIGN_CONTEXT: Final = b"qsafecity/cli-sign/v1"

_Key = TypeVar("_Key")

PUBLIC, PRIVATE = "public.pem", "private.pem"
SIGNING_PUBLIC, SIGNING_PRIVATE = "signing-public.pem", "signing-private.pem"

crypto_app = typer.Typer(
    help="Quantum-safe keys, sealed messages and signatures (HPKE with X-Wing or ML-KEM-1024+P-384, "
    "ML-DSA).",
    no_args_is_help=True,
)

InputOption = Annotated[
    Path | None, typer.Option("-i", "--input", help="Read from this file, not stdin.")
]
OutputOption = Annotated[
    Path | None, typer.Option("-o", "--output", help="Write to this file, not stdout.")
]
ServiceOption = Annotated[str, typer.Option("--service", help="Service id the message is for.")]
TierOption = Annotated[
    str,
    typer.Option("--tier", help="Service tier: critical, especially-important or important."),
]
PasswordFileOption = Annotated[
    Path | None,
    typer.Option(
        "--password-file",
        help="File whose first line is the password of encrypted private keys.",
    ),
]


# --- helpers -----------------------------------------------------------------------------------


def _parse_tier(text: str) -> Tier:
    try:
        return Tier.parse(text)
    except (ValueError, KeyError) as error:
        raise InputError(
            f"unknown tier {text!r} (choose critical, especially-important or important)"
        ) from error


def _read_limited(stream: BinaryIO, what: str, limit: int | None = None) -> bytes:
    most = MAX_INPUT_BYTES if limit is None else limit
    data = stream.read(most + 1)
    if len(data) > most:
        raise InputError(f"{what} is larger than {most} bytes")
    return data


def _read_file(path: Path, what: str, limit: int | None = MAX_SMALL_FILE_BYTES) -> bytes:
    """Read a file of at most ``limit`` bytes (``None``: the input limit, read at call time)."""
    try:
        if path.is_dir():
            raise InputError(f"{what} {path} is a directory, not a file")
        with path.open("rb") as stream:
            return _read_limited(stream, f"{what} {path}", limit)
    except FileNotFoundError as error:
        raise InputError(f"{what} {path} does not exist") from error
    except PermissionError as error:
        raise InputError(f"{what} {path} cannot be read (permission denied)") from error
    except OSError as error:
        raise InputError(f"{what} {path} cannot be read: {error.strerror}") from error


def _read_input(path: Path | None, what: str) -> bytes:
    if path is None:
        return _read_limited(sys.stdin.buffer, what)
    return _read_file(path, what, limit=None)


def _write_output(path: Path | None, data: bytes | bytearray) -> None:
    if path is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        path.write_bytes(data)
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror}") from error


def _key_file(location: Path, name: str) -> Path:
    """``location/name`` for a key directory, or ``location`` itself when it is a file."""
    if location.is_dir():
        return location / name
    if location.exists():
        return location
    raise InputError(f"key location {location} does not exist")


def _password(path: Path | None) -> bytes | None:
    if path is None:
        return None
    lines = _read_file(path, "password file").splitlines()
    if not lines or not lines[0]:
        raise InputError(f"password file {path} is empty")
    return lines[0]


def _load_kem_public(location: Path) -> KEMPublicKey:
    path = _key_file(location, PUBLIC)
    return _with_path(path, KEMPublicKey.from_pem)


def _load_kem_private(location: Path, password: bytes | None) -> KEMPrivateKey:
    path = _key_file(location, PRIVATE)
    return _with_path(path, lambda data: KEMPrivateKey.from_pem(data, password))


def _load_signing(location: Path, password: bytes | None) -> SigningKey:
    path = _key_file(location, SIGNING_PRIVATE)
    return _with_path(path, lambda data: SigningKey.from_pem(data, password))


def _load_verifying(location: Path) -> VerifyingKey:
    path = _key_file(location, SIGNING_PUBLIC)
    return _with_path(path, VerifyingKey.from_pem)


def _with_path(path: Path, parse: Callable[[bytes], _Key]) -> _Key:
    data = _read_file(path, "key file")
    try:
        return parse(data)
    except KeyFormatError as error:
        raise KeyFormatError(f"{path}: {error}") from error


def _write_new(path: Path, data: bytes, *, private: bool) -> None:
    """Write a key file that must not exist yet; private keys get mode 0600."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        descriptor = os.open(path, flags, 0o600 if private else 0o644)
    except FileExistsError as error:
        raise InputError(f"{path} exists already; refusing to overwrite a key") from error
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror}") from error
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)


# --- commands ----------------------------------------------------------------------------------


@crypto_app.command("keygen")
def keygen(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Directory for the four key files.")
    ],
    profile: Annotated[
        str,
        typer.Option(
            "--profile", help="pqc (X-Wing, ML-DSA-65) or critical (ML-KEM-1024+P-384, ML-DSA-87)."
        ),
    ] = "pqc",
    password_file: PasswordFileOption = None,
) -> None:
    """Generate a KEM key pair and a signing key pair of a profile into a new directory."""
    try:
        chosen = Profile.parse(profile)
    except ValueError as error:
        raise InputError(str(error)) from error
    password = _password(password_file)
    if output.exists() and not output.is_dir():
        raise InputError(f"{output} exists and is not a directory")
    targets = [output / name for name in (PUBLIC, PRIVATE, SIGNING_PUBLIC, SIGNING_PRIVATE)]
    existing = [str(path) for path in targets if path.exists()]
    if existing:
        raise InputError(f"refusing to overwrite existing key files: {', '.join(existing)}")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot create {output}: {error.strerror}") from error
    pair = KeyPair.generate(chosen)
    _write_new(targets[0], pair.kem.public_key.to_pem(), private=False)
    _write_new(targets[1], pair.kem.to_pem(password), private=True)
    _write_new(targets[2], pair.signing.verifying_key.to_pem(), private=False)
    _write_new(targets[3], pair.signing.to_pem(password), private=True)
    typer.echo(
        f"wrote {chosen.value} keys to {output}: KEM {pair.kem.fingerprint} "
        f"({chosen.spec.kem_name}), signing {pair.signing.fingerprint} "
        f"({chosen.spec.signature_name})" + (", private keys encrypted" if password else "")
    )


@crypto_app.command("seal")
def seal_command(
    *,
    to: Annotated[Path, typer.Option("--to", help="Recipient key directory (or its public.pem).")],
    service: ServiceOption,
    tier: TierOption,
    sign_with: Annotated[
        Path | None,
        typer.Option("--sign-with", help="Sender key directory (or signing-private.pem)."),
    ] = None,
    sender: Annotated[str, typer.Option("--sender", help="Sender id bound into the message.")] = "",
    sequence: Annotated[
        int | None,
        typer.Option(
            "--seq", help="Sequence number (default: microseconds since the epoch).", min=0
        ),
    ] = None,
    password_file: PasswordFileOption = None,
    input_path: InputOption = None,
    output: OutputOption = None,
) -> None:
    """Seal a message (stdin or -i) for the holder of a key, bound to service, tier and sender."""
    chosen_tier = _parse_tier(tier)
    recipient = _load_kem_public(to)
    signer = None if sign_with is None else _load_signing(sign_with, _password(password_file))
    plaintext = _read_input(input_path, "input")
    number = time.time_ns() // 1000 if sequence is None else sequence
    try:
        message = seal(
            plaintext,
            recipient,
            service=service,
            tier=chosen_tier,
            sequence=number,
            sender=sender,
            sign_with=signer,
        )
    except ValueError as error:
        raise InputError(str(error)) from error
    _write_output(output, message)


@crypto_app.command("open")
def open_command(
    *,
    key: Annotated[Path, typer.Option("--key", help="Recipient key directory (or private.pem).")],
    service: ServiceOption,
    tier: TierOption,
    verify_with: Annotated[
        Path | None,
        typer.Option("--verify-with", help="Sender key directory (or signing-public.pem)."),
    ] = None,
    sender: Annotated[
        str | None, typer.Option("--sender", help="Reject unless the message names this sender.")
    ] = None,
    replay_state: Annotated[
        Path | None,
        typer.Option(
            "--replay-state",
            help="JSON file remembering the highest sequence accepted; older ones are rejected.",
        ),
    ] = None,
    password_file: PasswordFileOption = None,
    input_path: InputOption = None,
    output: OutputOption = None,
) -> None:
    """Open a sealed message; exit code 1 and one line on stderr when it is rejected."""
    chosen_tier = _parse_tier(tier)
    private = _load_kem_private(key, _password(password_file))
    verifier = None if verify_with is None else _load_verifying(verify_with)
    if verifier is not None and verifier.profile is not private.profile:
        raise KeyFormatError(
            f"the verifying key is {verifier.algorithm}, but a {private.profile.value} message "
            f"is signed with {private.profile.spec.signature_name}"
        )
    window = _load_replay_state(replay_state)
    message = _read_input(input_path, "sealed message")
    opened = open_sealed(
        message,
        private,
        service=service,
        tier=chosen_tier,
        replay=window,
        sender=sender,
        verify_with=verifier,
    )
    if replay_state is not None and window.highest is not None:
        _save_replay_state(replay_state, window.highest)
    _write_output(output, opened.plaintext)


def _load_replay_state(path: Path | None) -> ReplayWindow:
    window = ReplayWindow()
    if path is None or not path.exists():
        return window
    try:
        state = json.loads(_read_file(path, "replay state"))
        highest = state["highest_sequence"]
        if not isinstance(highest, int) or isinstance(highest, bool):
            raise TypeError("not an integer")
        window.record(highest)
    except (ValueError, KeyError, TypeError, CryptoError) as error:
        raise InputError(f"replay state {path} is damaged: {error}") from error
    return window


def _save_replay_state(path: Path, highest: int) -> None:
    temporary = path.with_name(path.name + ".tmp")
    try:
        temporary.write_text(json.dumps({"highest_sequence": highest}) + "\n", encoding="utf-8")
        temporary.replace(path)
    except OSError as error:
        raise InputError(f"cannot write replay state {path}: {error.strerror}") from error


@crypto_app.command("sign")
def sign_command(
    key: Annotated[Path, typer.Option("--key", help="Key directory (or signing-private.pem).")],
    password_file: PasswordFileOption = None,
    input_path: InputOption = None,
    output: OutputOption = None,
) -> None:
    """Write a detached ML-DSA signature of the input."""
    signer = _load_signing(key, _password(password_file))
    _write_output(output, signer.sign(_read_input(input_path, "input"), SIGN_CONTEXT))


@crypto_app.command("verify")
def verify_command(
    key: Annotated[Path, typer.Option("--key", help="Key directory (or signing-public.pem).")],
    signature: Annotated[Path, typer.Option("--signature", help="Detached signature file.")],
    input_path: InputOption = None,
) -> None:
    """Check a detached signature; exit code 1 when it is not valid."""
    verifier = _load_verifying(key)
    signature_bytes = _read_file(signature, "signature")
    data = _read_input(input_path, "input")
    try:
        verifier.verify(signature_bytes, data, SIGN_CONTEXT)
    except CryptoError:
        raise CryptoError("signature rejected") from None
    typer.echo(f"signature valid ({verifier.algorithm}, key {verifier.fingerprint})")


@crypto_app.command("info")
def info_command(
    path: Annotated[
        Path | None, typer.Argument(help="Key file or sealed message (default: stdin).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Say what a key file or sealed message is, without showing any secret."""
    data = _read_input(path, "input")
    facts = describe(data)
    if as_json:
        typer.echo(json.dumps(facts, indent=2))
        return
    for name, value in facts.items():
        typer.echo(f"{name}: {value}")


def describe(data: bytes) -> dict[str, str | int | bool]:
    """Facts about a key file or sealed message; :class:`InputError` if it is neither."""
    if data.lstrip().startswith(b"-----BEGIN "):
        return _describe_key(data)
    try:
        return inspect_sealed(data).describe()
    except CryptoError as error:
        raise InputError("neither a qsafecity key file nor a sealed message") from error


def _describe_key(data: bytes) -> dict[str, str | int | bool]:
    if b"ENCRYPTED" in data:
        kind = "KEM private key" if b"QSAFECITY" in data else "signing private key"
        return {"kind": kind, "encrypted": True}
    label = data.lstrip().split(b"\n", 1)[0]
    if b"QSAFECITY KEM PUBLIC KEY" in label:
        public = KEMPublicKey.from_pem(data)
        return _kem_facts("KEM public key", public.profile, public.fingerprint)
    if b"QSAFECITY KEM PRIVATE KEY" in label:
        private = KEMPrivateKey.from_pem(data)
        return _kem_facts("KEM private key", private.profile, private.fingerprint)
    if b"PUBLIC KEY" in label:
        return _signing_facts("signing public key", VerifyingKey.from_pem(data))
    if b"PRIVATE KEY" in label:
        return _signing_facts("signing private key", SigningKey.from_pem(data).verifying_key)
    raise KeyFormatError("a PEM file, but not a qsafecity key (X-Wing, ML-KEM-1024+P-384, ML-DSA)")


def _kem_facts(kind: str, profile: Profile, fingerprint: str) -> dict[str, str | int | bool]:
    return {
        "kind": kind,
        "profile": profile.value,
        "algorithm": profile.spec.kem_name,
        "nist_quantum_level": profile.spec.kem.nist_quantum_level,
        "fingerprint": fingerprint,
    }


def _signing_facts(kind: str, key: VerifyingKey) -> dict[str, str | int | bool]:
    return {
        "kind": kind,
        "profile": key.profile.value,
        "algorithm": key.algorithm,
        "nist_quantum_level": key.profile.spec.signature.nist_quantum_level,
        "fingerprint": key.fingerprint,
    }


def register(app: typer.Typer) -> None:
    app.add_typer(crypto_app, name="crypto")
