"""``qsafecity scan``, ``qsafecity cbom`` and ``qsafecity backlog``: the cryptographic inventory.

* ``scan HOST:PORT ... | --city CITY --targets FILE`` probes TLS endpoints (progress bar on stderr),
* ``cbom [CITY] [--scan RESULTS] -o FILE`` writes a CycloneDX 1.6 CBOM of the city,
* ``cbom import FILE [--city CITY] [--service ID] [-o OBSERVED]`` reads another tool's CBOM,
* ``backlog [CITY] [--scan RESULTS] [--observed FILE]`` prints the ordered migration backlog.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperGroup

from qsafecity.algorithms import Role
from qsafecity.assessment import assess
from qsafecity.cli._app import stdout
from qsafecity.cli.city import CityArgument
from qsafecity.errors import InputError
from qsafecity.inventory.backlog import MigrationBacklog, migration_backlog
from qsafecity.inventory.cbom import build_cbom, cbom_json, import_cbom, parse_cbom_text
from qsafecity.inventory.documents import (
    observations_json,
    read_observations,
    read_scan_report,
    read_text,
)
from qsafecity.inventory.observe import observations_by_service, observed_key_exchange
from qsafecity.inventory.probe import ProbeSettings, RateLimiter
from qsafecity.inventory.results import EndpointScan, EndpointStatus, ScanReport
from qsafecity.inventory.scanner import load_targets_text, parse_targets, scan_targets
from qsafecity.inventory.tls_wire import POST_QUANTUM_GROUPS
from qsafecity.manifests import load_city, write_output
from qsafecity.policy.observed import ObservedCrypto


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"


FormatOption = Annotated[
    Format, typer.Option("--format", "-f", help="table (default) or json.", case_sensitive=False)
]
OutputOption = Annotated[Path | None, typer.Option("-o", "--output", help="Write to FILE.")]
ScanOption = Annotated[
    Path | None,
    typer.Option("--scan", help="Scan results written by `qsafecity scan -o` (observed crypto)."),
]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- scan --------------------------------------------------------------------------------------


def scan(
    targets: Annotated[
        list[str] | None,
        typer.Argument(help="Endpoints HOST:PORT (port 443 when omitted), [IPv6]:PORT."),
    ] = None,
    city: Annotated[
        Path | None, typer.Option("--city", help="City manifest whose services to scan.")
    ] = None,
    targets_file: Annotated[
        Path | None,
        typer.Option("--targets", help="Service id -> host:port mapping (docs/inventory.md)."),
    ] = None,
    timeout_s: Annotated[
        float, typer.Option("--timeout", help="Seconds per connection and read.", min=0.05, max=120)
    ] = 3.0,
    concurrency: Annotated[
        int, typer.Option("--concurrency", help="Endpoints scanned at once.", min=1, max=256)
    ] = 8,
    rate: Annotated[
        float,
        typer.Option(
            "--rate", help="At most this many new connections per second.", min=0.01, max=10_000
        ),
    ] = 50.0,
    output_format: FormatOption = Format.TABLE,
    output: OutputOption = None,
) -> None:
    """Probe TLS endpoints: versions, key-exchange groups (with the hybrid ML-KEM ones),
    cipher suites and certificates. Unreachable and non-TLS endpoints are findings (exit 0)."""
    if targets and (city is not None or targets_file is not None):
        raise InputError("give HOST:PORT targets or --city with --targets, not both")
    if targets_file is not None:
        manifest = load_city(city)
        chosen = load_targets_text(
            read_text(targets_file, "targets file"), str(targets_file), manifest
        )
    elif city is not None:
        raise InputError(
            "--city needs --targets FILE: a manifest names sites, not addresses "
            "(see docs/inventory.md for the targets file)"
        )
    else:
        chosen = parse_targets(targets or [])
    settings = ProbeSettings(timeout_s=timeout_s, limiter=RateLimiter(rate))
    progress_console = Console(stderr=True)
    with Progress(
        TextColumn("scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=progress_console,
        transient=True,
        disable=not progress_console.is_terminal,
    ) as progress:
        task = progress.add_task("scan", total=len(chosen))
        results = scan_targets(
            chosen,
            settings,
            now=_now(),
            concurrency=concurrency,
            on_done=lambda _scan: progress.advance(task),
        )
    report = ScanReport(scans=tuple(results))
    text = report.model_dump_json(indent=2)
    if output is not None:
        write_output(output, text)
        stdout.print(f"wrote {len(results)} scan results to {output}", markup=False)
    if output_format is Format.JSON and output is None:
        typer.echo(text)
    elif output_format is Format.TABLE:
        stdout.print(scan_table(results))


def scan_table(scans: list[EndpointScan]) -> Table:
    table = Table(title="TLS endpoints", show_lines=False)
    for column in (
        "endpoint",
        "service",
        "status",
        "versions",
        "post-quantum",
        "key exchange",
        "certificate",
        "findings",
    ):
        table.add_column(column, overflow="fold")
    for result in scans:
        post_quantum = [g for g in result.accepted_groups if g in POST_QUANTUM_GROUPS]
        leaf = result.certificates[0] if result.certificates else None
        certificate = (
            f"{leaf.key_algorithm}-{leaf.key_bits} until {leaf.not_after.date().isoformat()}"
            if leaf is not None
            else ""
        )
        serious = [f.code for f in result.findings if f.severity.value in ("high", "medium")]
        table.add_row(
            result.target,
            result.service_id or "",
            result.status.value,
            " ".join(v.removeprefix("TLSv") for v in result.supported_versions),
            ", ".join(post_quantum) or ("none" if result.status is EndpointStatus.TLS else ""),
            result.preferred_group or observed_key_exchange(result) or "",
            certificate,
            ", ".join(serious),
        )
    return table


# --- cbom --------------------------------------------------------------------------------------


class _ExportByDefault(TyperGroup):
    """``qsafecity cbom [CITY] ...`` means ``qsafecity cbom export [CITY] ...``."""

    # ``ctx`` is typer's vendored click Context, which has no public name to annotate with.
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = ["export", *args]
        return super().parse_args(ctx, args)


cbom_app = typer.Typer(
    cls=_ExportByDefault,
    help="Write the city's CycloneDX 1.6 CBOM (default), or import another tool's CBOM.",
)


def _scans(path: Path | None) -> list[EndpointScan]:
    return list(read_scan_report(path).scans) if path is not None else []


@cbom_app.command("export")
def cbom_export(
    city: CityArgument = None,
    scan_results: ScanOption = None,
    output: OutputOption = None,
) -> None:
    """Write the CycloneDX 1.6 CBOM of a city (validated against the official 1.6 schema)."""
    manifest = load_city(city)
    scans = _scans(scan_results)
    unknown = sorted(
        {
            s.service_id
            for s in scans
            if s.service_id and s.service_id not in manifest.services_by_id
        }
    )
    if unknown:
        raise InputError(f"--scan: services not in {manifest.city.name}: {', '.join(unknown)}")
    text = cbom_json(build_cbom(manifest, scans, now=_now()))
    if output is None:
        typer.echo(text)
        return
    write_output(output, text)
    components = len(json.loads(text).get("components", []))
    stdout.print(
        f"wrote the CBOM of {manifest.city.name} ({components} components, CycloneDX 1.6, "
        f"schema-valid) to {output}",
        markup=False,
    )


@cbom_app.command("import")
def cbom_import(
    file: Annotated[Path, typer.Argument(help="A CycloneDX 1.6/1.7 CBOM (JSON).")],
    city: Annotated[
        Path | None, typer.Option("--city", help="City manifest. Default: the sample city.")
    ] = None,
    service: Annotated[
        str | None,
        typer.Option("--service", help="The service a single-code-base CBOM belongs to."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Write the observations file for `backlog --observed`."
        ),
    ] = None,
    output_format: FormatOption = Format.TABLE,
) -> None:
    """Attach the algorithms of a CBOM (e.g. CBOMkit's) to the city's services."""
    manifest = load_city(city)
    document = parse_cbom_text(read_text(file, "CBOM"), str(file))
    result = import_cbom(document, manifest, source=file.name, service=service)
    if output is not None:
        write_output(output, observations_json(result.observations))
        stdout.print(
            f"wrote observations of {len(result.observations)} services to {output}", markup=False
        )
    if output_format is Format.JSON:
        if output is None:
            typer.echo(observations_json(result.observations))
        return
    table = Table(title=f"{file.name}: {result.algorithms_found} algorithms recognised")
    for column in ("service", "key exchange", "signature", "cipher", "declared"):
        table.add_column(column, overflow="fold")
    for service_id, seen in result.observations.items():
        crypto = manifest.services_by_id[service_id].crypto
        table.add_row(
            service_id,
            seen.key_exchange or "-",
            seen.signature or "-",
            seen.cipher or "-",
            f"{crypto.key_exchange} / {crypto.signature} / {crypto.cipher}",
        )
    stdout.print(table)
    if result.unmapped:
        stdout.print(f"not in the registry: {', '.join(result.unmapped)}", markup=False)
    if result.unknown_services:
        stdout.print(
            f"services not in {manifest.city.name}: {', '.join(result.unknown_services)}",
            markup=False,
        )


# --- backlog -----------------------------------------------------------------------------------


def load_observation_files(
    scan_results: Path | None, observed: Path | None, city_services: set[str]
) -> dict[str, ObservedCrypto]:
    """Observed cryptography from a scan report and/or an observations file (scans win)."""
    found: dict[str, ObservedCrypto] = {}
    if observed is not None:
        found.update(read_observations(observed))
    if scan_results is not None:
        # Observations from a scan are fresher than an imported file's: they win.
        found.update(observations_by_service(_scans(scan_results)))
    unknown = sorted(set(found) - city_services)
    if unknown:
        raise InputError(f"observations for services not in the city: {', '.join(unknown)}")
    return found


def backlog(
    city: CityArgument = None,
    scan_results: ScanOption = None,
    observed: Annotated[
        Path | None,
        typer.Option("--observed", help="Observations file written by `cbom import -o`."),
    ] = None,
    output_format: FormatOption = Format.TABLE,
    output: OutputOption = None,
) -> None:
    """The migration backlog: each service, what to change, by when, in which order."""
    manifest = load_city(city)
    observations = load_observation_files(scan_results, observed, set(manifest.services_by_id))
    result = migration_backlog(
        assess(manifest, now_year=dt.date.today().year, observations=observations)
    )
    if output_format is Format.JSON:
        text = json.dumps(result.as_data(), indent=2)
        if output is None:
            typer.echo(text)
        else:
            write_output(output, text)
            stdout.print(f"wrote the backlog ({len(result.items)} items) to {output}", markup=False)
        return
    table = backlog_table(result, manifest.city.name)
    if output is None:
        stdout.print(table)
        return
    console = Console(record=True, width=160, color_system=None, file=io.StringIO())
    console.print(table)
    write_output(output, console.export_text())
    stdout.print(f"wrote the backlog ({len(result.items)} items) to {output}", markup=False)


_ROLE_SHORT = {Role.KEY_EXCHANGE: "kex", Role.SIGNATURE: "sig", Role.CIPHER: "cipher"}


def backlog_table(result: MigrationBacklog, city_name: str) -> Table:
    table = Table(title=f"Migration backlog of {city_name} ({result.now_year})")
    for column in ("#", "service", "tier", "change", "start by", "due", "set by"):
        table.add_column(column, overflow="fold")
    for item in result.items:
        changes = "\n".join(
            f"{_ROLE_SHORT[step.role]} {step.current} -> {step.target}" for step in item.changes
        )
        start = "now (late)" if item.late else str(item.start_by_year)
        due = str(item.due_year) + (" (overdue)" if item.due_year < result.now_year else "")
        table.add_row(
            str(item.rank),
            item.service_id + (" *" if item.observed else ""),
            item.tier.value,
            changes,
            start,
            due,
            item.deadline_source.value,
        )
    table.caption = (
        f"{len(result.items)} services to migrate, {len(result.compliant_services)} compliant; "
        "* = judged by observed cryptography; --format json gives each deadline's reason"
    )
    return table


def register(app: typer.Typer) -> None:
    app.command("scan")(scan)
    app.add_typer(cbom_app, name="cbom")
    app.command("backlog")(backlog)
