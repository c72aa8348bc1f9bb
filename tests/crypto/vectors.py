"""The one loader of official test vectors for the crypto tests, and the tally of vectors checked.

Two sources:

* ``shared/vectors/`` beside the repository (each folder's ``SOURCE.txt`` names the upstream
  repository and commit): X-Wing, HPKE-PQ, concrete hybrid KEMs, LAMPS composite, NIST ACVP.
  Quirk (REFERENCE.md §4): in the HPKE-PQ file ``info`` and ``pt`` are hex of ASCII-hex text;
  decoding the hex once gives the bytes the vectors were made with (the ASCII-hex text itself).
* the ``cryptography-vectors`` package (same release line as pyca/cryptography): NIST ML-KEM and
  ML-DSA KATs and the RFC 9180 HPKE vectors.

Every test that checks vectors calls :func:`checked`; the session prints the totals at the end
(``tests/crypto/conftest.py``).
"""

from __future__ import annotations

import base64
import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TALLY: Counter[str] = Counter()


def checked(source: str, count: int = 1) -> None:
    """Record that ``count`` vectors of ``source`` were checked."""
    TALLY[source] += count


def shared_vectors() -> Path:
    """``shared/vectors``: $QSAFECITY_SHARED, or the first ``shared/`` found above the repository."""
    override = os.environ.get("QSAFECITY_SHARED")
    candidates = [Path(override)] if override else []
    candidates += [parent / "shared" for parent in Path(__file__).resolve().parents[2].parents]
    for candidate in candidates:
        if (candidate / "vectors").is_dir():
            return candidate / "vectors"
    pytest.skip("shared/vectors not found beside the repository (set QSAFECITY_SHARED)")


def pyca_vectors() -> Path:
    """The root of the installed ``cryptography-vectors`` package."""
    import cryptography_vectors

    return Path(cryptography_vectors.__file__).parent


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def shared_json(relative: str) -> Any:
    return load_json(shared_vectors() / relative)


def unhex(text: str) -> bytes:
    return bytes.fromhex(text)


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def read_rsp(path: Path) -> Iterator[dict[str, str]]:
    """Records of a NIST ``.rsp`` KAT file: ``key = value`` lines, a blank line between records."""
    record: dict[str, str] = {}
    for raw_line in path.read_text(encoding="ascii").splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#") or line.startswith("["):
            if record:
                yield record
                record = {}
            continue
        key, _, value = line.partition("=")
        if key.strip() == "count" and record:
            yield record
            record = {}
        record[key.strip()] = value.strip()
    if record:
        yield record
