"""Reading manifests and forecasts from files, writing outputs (an edge: the pure core never
touches the disk).

Every command that works on a city calls ``load_city``; with no path it loads the bundled sample
city, so each command runs out of the box.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Final

from qsafecity.city import CityManifest, load_manifest_text
from qsafecity.city.loader import MAX_MANIFEST_BYTES
from qsafecity.errors import ForecastError, InputError, ManifestError, Problem
from qsafecity.risk import SHIPPED_FORECASTS, CRQCForecast, parse_forecast_csv, shipped_forecast

SAMPLE_CITY_NAME: Final = "voronezh.yaml"


def sample_city_text() -> str:
    """The YAML text of the bundled sample city (a city of about one million people)."""
    return (
        resources.files("qsafecity.city").joinpath("samples", SAMPLE_CITY_NAME).read_text("utf-8")
    )


def load_city(path: Path | str | None = None) -> CityManifest:
    """Load and validate the manifest at ``path`` (``-`` is not accepted), or the sample city."""
    if path is None:
        return load_manifest_text(sample_city_text(), f"sample city ({SAMPLE_CITY_NAME})")
    file = Path(path)
    source = str(file)
    try:
        if file.is_dir():
            raise ManifestError(source, [Problem("(file)", "is a directory, not a manifest file")])
        size = file.stat().st_size
        if size > MAX_MANIFEST_BYTES:
            raise ManifestError(
                source, [Problem("(file)", f"is larger than {MAX_MANIFEST_BYTES} bytes")]
            )
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ManifestError(source, [Problem("(file)", "no such file")]) from None
    except PermissionError:
        raise ManifestError(source, [Problem("(file)", "permission denied")]) from None
    except OSError as error:
        raise ManifestError(
            source, [Problem("(file)", f"cannot be read: {error.strerror}")]
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ManifestError(source, [Problem("(file)", "is not UTF-8 text")]) from None
    return load_manifest_text(text, source)


def load_forecast(name_or_path: str) -> CRQCForecast:
    """A shipped forecast by name (``gri-2024``, ``gri-2025``), or a CSV file of one."""
    try:
        return shipped_forecast(name_or_path)
    except KeyError:
        pass
    file = Path(name_or_path)
    if not file.is_file():
        raise ForecastError(
            f"unknown forecast {name_or_path!r}: use {', '.join(SHIPPED_FORECASTS)} or the path of "
            "a CSV file (year,probability | year,low,high | the GRI format)"
        )
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ForecastError(f"{file}: cannot be read: {error}") from None
    return parse_forecast_csv(text, str(file))


def write_output(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: a failure never leaves a half-written file."""
    target = Path(path)
    if target.is_dir():
        raise InputError(f"{target}: is a directory")
    if not target.parent.exists():
        raise InputError(f"{target}: the directory {target.parent} does not exist")
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, target)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise InputError(f"{target}: cannot be written: {error.strerror}") from None
