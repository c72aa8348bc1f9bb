"""Cryptography observed on the wire or in an imported inventory, as opposed to declared.

The inventory (``qsafecity.inventory``: TLS scans, CBOM imports) produces ``ObservedCrypto`` per
service; the assessment judges a service by what was observed where it is known ("observed beats
declared") and reports a disagreement with the manifest as a finding of its own.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ObservedCrypto:
    """What a service was seen to use. ``None`` means "not observed" for that component.

    Names are canonical registry names (``qsafecity.algorithms.canonical``). ``evidence`` says
    where the observation comes from, e.g. ``"TLS scan of 10.0.0.5:443 on 2026-11-25"`` or
    ``"CBOM import city.cbom.json"``.
    """

    service_id: str
    evidence: str
    key_exchange: str | None = None
    signature: str | None = None
    cipher: str | None = None
