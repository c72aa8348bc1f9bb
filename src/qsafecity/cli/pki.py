"""``qsafecity pki``: the city's CA, and certificates for KMEs and SAEs (mutual TLS).

``pki init`` makes the CA and the secret of the simulated QKD device pairs; ``pki issue kme SITE``
a KME's certificate, key and key-encryption key; ``pki issue sae SAE_ID`` an SAE's certificate.
Private keys and secrets are written with mode 0600 and never overwritten.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Annotated

import typer

from qsafecity.cli._app import stdout
from qsafecity.errors import InputError
from qsafecity.kms._at_rest import KEK_BYTES
from qsafecity.kms.directory import Directory
from qsafecity.kms.pki import Issued, Role, create_ca, issue
from qsafecity.manifests import load_city

pki_app = typer.Typer(help="The city's PKI for key delivery (mutual TLS).", no_args_is_help=True)

PKIDir = Annotated[Path, typer.Option("--dir", help="Folder of the PKI files.")]
CityOption = Annotated[
    Path | None, typer.Option("--city", help="City manifest (default: the bundled sample city).")
]


def _write(path: Path, data: bytes, *, secret: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        descriptor = os.open(path, flags, 0o600 if secret else 0o644)
    except FileExistsError:
        raise InputError(f"{path} exists; remove it first to replace it") from None
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror}") from None
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def _ca(folder: Path) -> Issued:
    try:
        return Issued((folder / "ca.pem").read_bytes(), (folder / "ca-key.pem").read_bytes())
    except OSError:
        raise InputError(f"no CA in {folder}: run `qsafecity pki init --dir {folder}`") from None


@pki_app.command("init")
def init(
    folder: PKIDir = Path("pki"),
    city: CityOption = None,
    days: Annotated[int, typer.Option(help="Validity of the CA in days.", min=1, max=36500)] = 3650,
) -> None:
    """Create the city's CA and the secret of the simulated QKD device pairs."""
    manifest = load_city(city)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot create {folder}: {error.strerror}") from None
    if (folder / "ca.pem").exists():
        raise InputError(f"{folder} already has a CA")
    ca = create_ca(manifest.city.name, dt.datetime.now(dt.UTC), days)
    _write(folder / "ca-key.pem", ca.key_pem, secret=True)
    _write(folder / "ca.pem", ca.certificate_pem, secret=False)
    _write(folder / "qkd-simulation.secret", secrets.token_bytes(32), secret=True)
    stdout.print(f"CA for {manifest.city.name} written to {folder}", markup=False)


@pki_app.command("issue")
def issue_command(
    role: Annotated[str, typer.Argument(help="kme or sae")],
    identity: Annotated[str, typer.Argument(help="Site id (kme) or SAE id (sae).")],
    *,
    folder: PKIDir = Path("pki"),
    city: CityOption = None,
    host: Annotated[
        list[str] | None,
        typer.Option(help="Host name or IP of a KME (repeat). Default: localhost, 127.0.0.1."),
    ] = None,
    days: Annotated[int, typer.Option(help="Validity in days.", min=1, max=3650)] = 825,
) -> None:
    """Issue a KME's certificate, key and KEK, or an SAE's certificate and key."""
    role = role.lower()
    if role not in ("kme", "sae"):
        raise InputError(f"unknown role {role!r}: use kme or sae")
    directory = Directory.from_city(load_city(city))
    if role == "kme" and identity not in directory.sites:
        raise InputError(f"the city has no site {identity!r}")
    if role == "sae" and identity not in directory.saes:
        known = ", ".join(sorted(directory.saes)[:8])
        raise InputError(f"the city has no SAE {identity!r} (SAE ids look like: {known}, …)")
    hosts = tuple(host) if host else ("localhost", "127.0.0.1")
    kind: Role = "kme" if role == "kme" else "sae"
    issued = issue(
        _ca(folder), kind, identity, dt.datetime.now(dt.UTC), hosts=hosts, valid_days=days
    )
    stem = f"{role}-{identity}"
    _write(folder / f"{stem}-key.pem", issued.key_pem, secret=True)
    _write(folder / f"{stem}.pem", issued.certificate_pem, secret=False)
    if role == "kme":
        _write(folder / f"{stem}.kek", secrets.token_bytes(KEK_BYTES), secret=True)
    stdout.print(f"{role.upper()} {identity}: {folder / stem}.pem", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(pki_app, name="pki")
