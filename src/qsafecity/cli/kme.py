"""``qsafecity kme``: run a KME for a site of a city, and an ETSI GS QKD 014 client for SAEs.

``kme serve [CITY] --site SITE`` serves the 014 API over mutual TLS (``--insecure-dev``: plain
HTTP on loopback, caller named by the ``X-SAE-ID`` header). ``kme status|get-key|get-key-with-ids``
talk to any conformant KME and print the spec's JSON.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from qsafecity.errors import InputError

if TYPE_CHECKING:
    from qsafecity.api.client import ETSI014Client

# The web stack (FastAPI, uvicorn, SQLAlchemy, Alembic) takes seconds to import: it is imported
# inside the commands that use it, so that every other `qsafecity` command starts fast.

kme_app = typer.Typer(help="Key management entities (ETSI GS QKD 014).", no_args_is_help=True)

KMEUrl = Annotated[
    str, typer.Option("--kme", help="Base URL of the KME, e.g. https://127.0.0.1:8014.")
]
Cert = Annotated[Path | None, typer.Option("--cert", help="The SAE's certificate (PEM).")]
Key = Annotated[Path | None, typer.Option("--key", help="The SAE's private key (PEM).")]
CA = Annotated[Path | None, typer.Option("--ca", help="The city CA certificate (PEM).")]
SAEHeader = Annotated[
    str | None,
    typer.Option("--sae-id", help="Insecure-dev KMEs only: the SAE id to send in X-SAE-ID."),
]


def _peers(values: list[str] | None) -> dict[str, str]:
    peers: dict[str, str] = {}
    for value in values or []:
        site, sep, url = value.partition("=")
        if not sep or not site or not url:
            raise InputError(f"--peer {value!r}: use SITE=URL")
        peers[site.strip()] = url.strip()
    return peers


@kme_app.command("serve")
def serve_command(
    city: Annotated[
        Path | None, typer.Argument(help="City manifest (default: the sample city).")
    ] = None,
    *,
    site: Annotated[str, typer.Option("--site", help="The site whose KME this is.")] = "",
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8014,
    db: Annotated[
        str | None, typer.Option(help="sqlite:///PATH (default kme-SITE.db) or postgresql://…")
    ] = None,
    pki: Annotated[
        Path, typer.Option("--pki", help="Folder of the PKI files (pki init/issue).")
    ] = Path("pki"),
    peer: Annotated[
        list[str] | None, typer.Option("--peer", help="SITE=URL of a neighbouring KME (repeat).")
    ] = None,
    insecure_dev: Annotated[
        bool,
        typer.Option(
            "--insecure-dev",
            help="INSECURE, development only: plain HTTP on loopback, callers named by header.",
        ),
    ] = False,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only).")] = 1,
    rate_bps: Annotated[
        float | None,
        typer.Option(help="Key rate of every link in bit/s (default: decoy BB84 by length)."),
    ] = None,
    max_key_count: Annotated[
        int, typer.Option(help="Blocks each link pool holds at most.", min=1)
    ] = 100_000,
    audit_file: Annotated[
        Path | None, typer.Option("--audit-log", help="Append the audit log here (default stderr).")
    ] = None,
) -> None:
    """Run the KME of SITE until interrupted (Ctrl-C or SIGTERM shut it down gracefully)."""
    from qsafecity.api.server import ServeConfig, audit_log, serve

    if not site:
        raise InputError("--site is required")
    if rate_bps is not None and rate_bps < 0:
        raise InputError("--rate-bps must not be negative")
    config = ServeConfig(
        site=site,
        pki_dir=str(pki),
        city=str(city) if city else None,
        host=host,
        port=port,
        db=db,
        insecure_dev=insecure_dev,
        peers=_peers(peer),
        rate_bps=rate_bps,
        max_key_count=max_key_count,
        workers=workers,
    )
    handler: logging.Handler = (
        logging.FileHandler(audit_file) if audit_file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(message)s"))
    audit_log.addHandler(handler)
    audit_log.setLevel(logging.INFO)
    audit_log.propagate = False
    if insecure_dev:
        typer.echo(
            f"WARNING: KME {site} in INSECURE development mode (no TLS, callers named by header)",
            err=True,
        )
    serve(config)


def _client(
    kme: str, cert: Path | None, key: Path | None, ca: Path | None, sae_id: str | None
) -> ETSI014Client:
    from qsafecity.api.client import ETSI014Client

    return ETSI014Client(kme, certificate=cert, key=key, ca=ca, sae_id=sae_id)


def _print(model: object) -> None:
    dump = getattr(model, "model_dump")  # noqa: B009
    typer.echo(json.dumps(dump(exclude_none=True), indent=2))


@kme_app.command("status")
def status(
    slave: Annotated[str, typer.Argument(help="The slave SAE id.")],
    *,
    kme: KMEUrl,
    cert: Cert = None,
    key: Key = None,
    ca: CA = None,
    sae_id: SAEHeader = None,
) -> None:
    """Get status: the key stock and limits for this SAE and SLAVE."""
    with _client(kme, cert, key, ca, sae_id) as client:
        _print(client.status(slave))


@kme_app.command("get-key")
def get_key(
    slave: Annotated[str, typer.Argument(help="The slave SAE id.")],
    *,
    kme: KMEUrl,
    number: Annotated[int | None, typer.Option(help="How many keys.")] = None,
    size: Annotated[int | None, typer.Option(help="Key size in bits.")] = None,
    also: Annotated[
        list[str] | None,
        typer.Option("--also", help="An additional slave SAE (multicast; repeat)."),
    ] = None,
    cert: Cert = None,
    key: Key = None,
    ca: CA = None,
    sae_id: SAEHeader = None,
) -> None:
    """Get key (enc_keys): keys for this SAE as master, reserved for SLAVE."""
    with _client(kme, cert, key, ca, sae_id) as client:
        _print(client.get_key(slave, number=number, size=size, additional_slave_sae_ids=also))


@kme_app.command("get-key-with-ids")
def get_key_with_ids(
    master: Annotated[str, typer.Argument(help="The master SAE id.")],
    key_ids: Annotated[list[str], typer.Argument(help="Key IDs the master sent.")],
    *,
    kme: KMEUrl,
    cert: Cert = None,
    key: Key = None,
    ca: CA = None,
    sae_id: SAEHeader = None,
) -> None:
    """Get key with key IDs (dec_keys): this SAE as slave fetches the keys MASTER named."""
    with _client(kme, cert, key, ca, sae_id) as client:
        _print(client.get_key_with_ids(master, key_ids))


def register(app: typer.Typer) -> None:
    app.add_typer(kme_app, name="kme")
