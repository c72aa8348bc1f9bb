"""``qsafecity assess``: classify, judge, risk-rate and report on a whole city."""

from __future__ import annotations

import datetime as dt
import io
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from qsafecity.assessment import assess as assess_city
from qsafecity.cli._app import stdout
from qsafecity.cli.city import CityArgument
from qsafecity.cli.inventory import load_observation_files
from qsafecity.errors import InputError, QSafeCityError
from qsafecity.manifests import load_city, load_forecast, write_output
from qsafecity.policy import Severity
from qsafecity.reports import json_schema, render_html, render_json, render_terminal


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    HTML = "html"


class FailOnError(QSafeCityError):
    """``--fail-on`` matched: the assessment ran and found something at least that severe."""

    exit_code = 1


def _format_for(output: Path | None, chosen: OutputFormat | None) -> OutputFormat:
    if chosen is not None:
        return chosen
    if output is not None:
        suffix = output.suffix.lower()
        if suffix == ".json":
            return OutputFormat.JSON
        if suffix in (".html", ".htm"):
            return OutputFormat.HTML
    return OutputFormat.TABLE


def _severity(value: str | None) -> Severity | None:
    if value is None:
        return None
    try:
        return Severity.parse(value)
    except ValueError:
        raise InputError(
            f"--fail-on: unknown severity {value!r}; use {', '.join(s.value for s in Severity)}"
        ) from None


def assess(
    city: CityArgument = None,
    output_format: Annotated[
        OutputFormat | None,
        typer.Option(
            "--format", "-f", help="table (default), json or html; -o FILE.json/.html implies it."
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the report to FILE.")
    ] = None,
    forecast: Annotated[
        str | None,
        typer.Option(
            help="CRQC forecast: gri-2024, gri-2025 or a CSV file; default: the manifest's."
        ),
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on", help="Exit 1 when a finding is at least this severe (info..critical)."
        ),
    ] = None,
    scan_results: Annotated[
        Path | None,
        typer.Option(
            "--scan", help="Scan results of `qsafecity scan -o`: observed beats declared."
        ),
    ] = None,
    observed: Annotated[
        Path | None,
        typer.Option("--observed", help="Observations file of `qsafecity cbom import -o`."),
    ] = None,
    schema: Annotated[
        bool,
        typer.Option(
            "--schema", help="Print the JSON Schema of the --format json document and exit."
        ),
    ] = False,
) -> None:
    """Assess a city: tiers, protection, compliance, quantum risk, contracts, support programme.

    Exit code 0 when the assessment ran (findings are results), 2 for bad input, 1 when --fail-on
    matched.
    """
    if schema:
        typer.echo(json_schema(), nl=False)
        return
    threshold = _severity(fail_on)
    manifest = load_city(city)
    chosen_forecast = load_forecast(forecast) if forecast is not None else None
    observations = load_observation_files(scan_results, observed, set(manifest.services_by_id))
    result = assess_city(
        manifest,
        now_year=dt.date.today().year,
        forecast=chosen_forecast,
        observations=observations,
    )
    kind = _format_for(output, output_format)
    if kind is OutputFormat.JSON:
        text = render_json(result)
    elif kind is OutputFormat.HTML:
        text = render_html(result)
    elif output is None:
        render_terminal(result, stdout)
        text = ""
    else:
        buffer = io.StringIO()
        render_terminal(result, Console(file=buffer, width=140, color_system=None))
        text = buffer.getvalue()
    if output is not None:
        write_output(output, text)
        stdout.print(f"wrote {kind.value} report of {manifest.city.name} to {output}", markup=False)
    elif text:
        typer.echo(text, nl=False)
    worst = result.worst_severity()
    if threshold is not None and worst is not None and worst.rank >= threshold.rank:
        raise FailOnError(f"--fail-on {threshold.value}: the worst finding is {worst.value}")


def register(app: typer.Typer) -> None:
    app.command("assess")(assess)
