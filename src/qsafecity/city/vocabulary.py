"""The closed vocabularies of the city manifest (``shared/spec/city-manifest.md``, format 1).

The grouping of functions by tier is the paper's criterion (Minbaleev and Evsikov, §5 item 3 and
§6): a service's ability to affect a resident. The classification itself lives in
``qsafecity.policy``; this module only names what a manifest may say.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Tier(StrEnum):
    """The paper's three groups of city services, from most to least able to affect a resident."""

    CRITICAL = "critical"
    ESPECIALLY_IMPORTANT = "especially-important"
    IMPORTANT = "important"

    @property
    def rank(self) -> int:
        """2 for critical, 1 for especially important, 0 for important (higher = stricter)."""
        return {"critical": 2, "especially-important": 1, "important": 0}[self.value]

    @classmethod
    def parse(cls, text: str) -> Tier:
        """Accept ``especially important``, ``especially_important`` and any case."""
        key = text.strip().lower().replace("_", "-").replace(" ", "-")
        return cls(key)


FUNCTIONS_BY_TIER: Final[dict[Tier, tuple[str, ...]]] = {
    Tier.CRITICAL: (
        "public-safety-video",
        "emergency-dispatch",
        "traffic-control",
        "utility-control",
        "disaster-warning",
        "law-enforcement",
        "emergency-medical",
        "identity-and-access",
        "security-operations",
    ),
    Tier.ESPECIALLY_IMPORTANT: (
        "environment-monitoring",
        "utility-metering",
        "street-lighting",
        "waste-management",
        "parking",
        "public-transport",
        "housing-services",
        "e-government",
        "citizen-feedback",
        "e-participation",
        "payments",
        "health-records",
    ),
    Tier.IMPORTANT: (
        "culture",
        "leisure",
        "tourism",
        "sports",
        "library",
        "events",
        "competence-assessment",
        "open-data",
        "education-portal",
    ),
}

TIER_OF_FUNCTION: Final[dict[str, Tier]] = {
    function: tier for tier, functions in FUNCTIONS_BY_TIER.items() for function in functions
}

DATA_CATEGORIES: Final[tuple[str, ...]] = (
    "public",
    "telemetry",
    "location",
    "personal",
    "biometric",
    "video",
    "credentials",
    "financial",
    "health",
    "operational-control",
)


class SiteKind(StrEnum):
    DATA_CENTRE = "data-centre"
    GOVERNMENT = "government"
    OPERATOR = "operator"
    TRUSTED_NODE = "trusted-node"
    FIELD = "field"
    OTHER = "other"


class FibreKind(StrEnum):
    DARK = "dark"
    LEASED = "leased"
    PLANNED = "planned"


class OperatorType(StrEnum):
    MUNICIPAL = "municipal"
    CONTRACTOR = "contractor"


class Clause(StrEnum):
    """Clauses a contract between the municipality and an operator may contain.

    The first three carry the paper's duties (§5 items 2 and 3): the obligation to use
    quantum-secure cryptography, the operator's liability for damage, and the municipality's right
    to recover its costs from an operator at fault.
    """

    QUANTUM_SECURE_CRYPTO = "quantum-secure-crypto"
    LIABILITY = "liability"
    COST_RECOVERY = "cost-recovery"
    INCIDENT_REPORTING = "incident-reporting"
    AUDIT_RIGHTS = "audit-rights"
    DATA_PROTECTION = "data-protection"
