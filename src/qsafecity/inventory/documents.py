"""Reading and writing the inventory's files: scan reports and observation files (an edge).

* A **scan report** (``qsafecity scan -o results.json``) is a ``ScanReport`` as JSON.
* An **observations file** (``qsafecity cbom import ... -o observed.json``) lists what each service
  was observed to use, for ``qsafecity backlog --observed`` and any other consumer of
  ``ObservedCrypto``::

      {"format": 1, "observations": [{"service_id": "...", "evidence": "...",
        "key_exchange": "X25519", "signature": "RSA-2048", "cipher": null}]}

Every problem with a file is an ``InputError`` that names the file; nothing here prints.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from qsafecity.algorithms import Role, canonical
from qsafecity.errors import InputError
from qsafecity.inventory.results import ScanReport
from qsafecity.policy.observed import ObservedCrypto

#: A scan report of 100,000 endpoints is about 300 MB; we cap well below what fits in memory.
MAX_DOCUMENT_BYTES: Final = 256 * 1024 * 1024
OBSERVATIONS_FORMAT: Final = 1


def read_text(path: Path, what: str, limit: int = MAX_DOCUMENT_BYTES) -> str:
    """The UTF-8 text of ``path``, or an ``InputError`` that says what is wrong with it."""
    try:
        if path.is_dir():
            raise InputError(f"{path}: is a directory, not a {what}")
        if path.stat().st_size > limit:
            raise InputError(f"{path}: larger than {limit} bytes, not a {what}")
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text, not a {what}") from None
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror})") from None


def _validation_summary(error: ValidationError, limit: int = 5) -> str:
    lines = []
    for detail in error.errors()[:limit]:
        location = ".".join(str(part) for part in detail["loc"]) or "(document)"
        lines.append(f"{location}: {detail['msg']}")
    more = len(error.errors()) - limit
    if more > 0:
        lines.append(f"... and {more} more")
    return "\n  ".join(lines)


def parse_scan_report(text: str, source: str) -> ScanReport:
    try:
        return ScanReport.model_validate_json(text)
    except ValidationError as error:
        raise InputError(
            f"{source}: not a qsafecity scan report:\n  {_validation_summary(error)}"
        ) from None


def read_scan_report(path: Path) -> ScanReport:
    return parse_scan_report(read_text(path, "scan report"), str(path))


class _Observation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    service_id: str = Field(min_length=1, max_length=64)
    evidence: str = Field(min_length=1, max_length=2000)
    key_exchange: str | None = None
    signature: str | None = None
    cipher: str | None = None

    @field_validator("key_exchange")
    @classmethod
    def _known_kex(cls, value: str | None) -> str | None:
        return _known(Role.KEY_EXCHANGE, value)

    @field_validator("signature")
    @classmethod
    def _known_signature(cls, value: str | None) -> str | None:
        return _known(Role.SIGNATURE, value)

    @field_validator("cipher")
    @classmethod
    def _known_cipher(cls, value: str | None) -> str | None:
        return _known(Role.CIPHER, value)


def _known(role: Role, value: str | None) -> str | None:
    if value is None:
        return None
    name = canonical(role, value)
    if name is None:
        raise ValueError(f"unknown {role.value} {value!r}")
    return name


class _ObservationsFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: int
    observations: list[_Observation]

    @field_validator("format")
    @classmethod
    def _format_one(cls, value: int) -> int:
        if value != OBSERVATIONS_FORMAT:
            raise ValueError(f"must be {OBSERVATIONS_FORMAT}")
        return value


def observations_json(observations: Mapping[str, ObservedCrypto]) -> str:
    """The observations file for ``observations`` (sorted by service id)."""
    return json.dumps(
        {
            "format": OBSERVATIONS_FORMAT,
            "observations": [
                {
                    "service_id": o.service_id,
                    "evidence": o.evidence,
                    "key_exchange": o.key_exchange,
                    "signature": o.signature,
                    "cipher": o.cipher,
                }
                for _, o in sorted(observations.items())
            ],
        },
        indent=2,
    )


def parse_observations(text: str, source: str) -> dict[str, ObservedCrypto]:
    try:
        document = _ObservationsFile.model_validate_json(text)
    except ValidationError as error:
        raise InputError(
            f"{source}: not a qsafecity observations file:\n  {_validation_summary(error)}"
        ) from None
    found: dict[str, ObservedCrypto] = {}
    for entry in document.observations:
        if entry.service_id in found:
            raise InputError(f"{source}: service {entry.service_id!r} is listed twice")
        found[entry.service_id] = ObservedCrypto(
            service_id=entry.service_id,
            evidence=entry.evidence,
            key_exchange=entry.key_exchange,
            signature=entry.signature,
            cipher=entry.cipher,
        )
    return found


def read_observations(path: Path) -> dict[str, ObservedCrypto]:
    return parse_observations(read_text(path, "observations file"), str(path))
