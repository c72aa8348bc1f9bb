"""Reading manifests from files (an edge: the pure ``city`` package never touches the disk).

Every command that works on a city calls ``load_city``; with no path it loads the bundled sample
city, so each command runs out of the box.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Final

from qsafecity.city import CityManifest, load_manifest_text
from qsafecity.city.loader import MAX_MANIFEST_BYTES
from qsafecity.errors import ManifestError, Problem

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
