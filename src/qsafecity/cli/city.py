"""``qsafecity city``: validate a manifest, write out the bundled sample city."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qsafecity.cli._app import stdout
from qsafecity.manifests import load_city, sample_city_text

city_app = typer.Typer(help="Work with city manifests.", no_args_is_help=True)

CityArgument = Annotated[
    Path | None,
    typer.Argument(
        help="City manifest (YAML or JSON). Default: the bundled sample city.", show_default=False
    ),
]


@city_app.command("validate")
def validate(city: CityArgument = None) -> None:
    """Check a manifest; print a summary, or every problem with its field path (exit code 2)."""
    manifest = load_city(city)
    stdout.print(
        f"{manifest.city.name}: valid manifest with {len(manifest.sites)} sites, "
        f"{len(manifest.links)} links, {len(manifest.operators)} operators and "
        f"{len(manifest.services)} services",
        markup=False,
    )


@city_app.command("sample")
def sample(
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here, not stdout.")
    ] = None,
) -> None:
    """Print (or write) the bundled sample city, a starting point for a real manifest."""
    text = sample_city_text()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


def register(app: typer.Typer) -> None:
    app.add_typer(city_app, name="city")
