"""Findings: what the assessment found wrong, how bad it is, why, and what to do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """Severity of a finding, from least to most urgent (compare with ``rank``)."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def raised(self, steps: int = 1) -> Severity:
        """This severity moved by ``steps`` levels (negative lowers it), kept within info..critical."""
        return _ORDER[max(0, min(self.rank + steps, len(_ORDER) - 1))]

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls(text.strip().lower())


_ORDER = (Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)
_RANKS = {severity: rank for rank, severity in enumerate(_ORDER)}


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding about a service or an operator.

    ``code`` is stable (for pipelines and filters), ``subject`` the service or operator id,
    ``component`` what it is about (``key_exchange``, ``signature``, ``cipher``, ``contract``, ...).
    """

    code: str
    severity: Severity
    subject: str
    component: str
    reason: str
    remedy: str
