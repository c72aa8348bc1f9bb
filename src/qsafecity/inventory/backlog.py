"""The migration backlog: for each service, what to change, by when, and in which order.

Built on the assessment (``qsafecity.assessment.assess``), so it judges each service by what the
inventory observed where known (observed beats declared) and by the tier's protection profile.

**What to change.** For each role (key exchange, signature, cipher) whose algorithm the tier's
profile does not accept, the profile's preferred algorithm. For the *important* tier, whose
profile accepts anything not weak, a change is still due for every algorithm that is quantum
vulnerable (NIST IR 8547 disallows all RSA, ECC and DH after 2035), deprecated or not an AEAD.

**By when** (the year the migration must be *finished*), the earliest of:

* Mosca (``REFERENCE.md`` §3): the assessment's slack is ``(year_q − now) − (x + y)``, so the
  migration must start by ``now + slack`` and is finished by ``now + slack + y = year_q − x``, the
  last year in which data sent stays secret for its shelf life ``x`` before a CRQC (conservative
  bound of the forecast);
* NIST IR 8547 (initial draft): the ``deprecated_after`` (112-bit RSA/DH: 2030) or
  ``disallowed_after`` (all RSA/ECC/DH: 2035) year of each algorithm being replaced;
* the tier: the EU coordinated roadmap (NIS Cooperation Group, June 2025) has high-risk use cases
  migrated by the end of 2030 and medium-risk ones by the end of 2035; critical and especially
  important services are the high-risk ones, important services the medium-risk ones.

**Order.** By the year the work must start (``due − y``, rounded down), then stricter tier first,
then smaller Mosca slack first, then service id: a service that must start earlier comes first
even if its deadline is later, because its migration takes longer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final

from qsafecity.algorithms import Algorithm, Role, lookup
from qsafecity.assessment import CityAssessment, ServiceAssessment
from qsafecity.city.vocabulary import Tier
from qsafecity.policy import ProtectionProfile

#: EU coordinated roadmap for the transition to PQC (NIS Cooperation Group, June 2025).
ROADMAP_DEADLINE_BY_TIER: Final[dict[Tier, int]] = {
    Tier.CRITICAL: 2030,
    Tier.ESPECIALLY_IMPORTANT: 2030,
    Tier.IMPORTANT: 2035,
}


class DeadlineSource(StrEnum):
    """Which rule set a backlog item's deadline."""

    MOSCA = "mosca"
    NIST_IR_8547 = "nist-ir-8547"
    ROADMAP = "eu-roadmap"


@dataclass(frozen=True, slots=True)
class ChangeStep:
    """Replace ``current`` by ``target`` in ``role``; ``reason`` says why in words."""

    role: Role
    current: str
    target: str
    reason: str


@dataclass(frozen=True, slots=True)
class BacklogInput:
    """What the backlog needs to know about one service (built from its assessment).

    ``current`` holds the algorithms the service is judged by (observed where known).
    ``slack_years`` is Mosca's slack under the conservative bound, ``None`` when undefined (the
    data is not harvestable or the forecast never reaches the tolerance).
    """

    service_id: str
    service_name: str
    tier: Tier
    profile: ProtectionProfile
    current: Mapping[Role, str]
    migration_years: float
    slack_years: float | None
    observed: bool = False


@dataclass(frozen=True, slots=True)
class BacklogItem:
    """One line of the backlog. ``rank`` starts at 1; ``late`` when ``start_by`` is past."""

    rank: int
    service_id: str
    service_name: str
    tier: Tier
    changes: tuple[ChangeStep, ...]
    due_year: int
    start_by_year: int
    deadline_source: DeadlineSource
    deadline_reason: str
    slack_years: float | None
    migration_years: float
    late: bool
    observed: bool


@dataclass(frozen=True, slots=True)
class MigrationBacklog:
    """The ordered backlog of a city, and the services that need no change."""

    now_year: int
    items: tuple[BacklogItem, ...]
    compliant_services: tuple[str, ...]

    def as_data(self) -> dict[str, object]:
        """A JSON-ready document (stable keys), for the JSON output and the HTML report."""
        return {
            "now_year": self.now_year,
            "items": [
                {
                    "rank": item.rank,
                    "service": item.service_id,
                    "name": item.service_name,
                    "tier": item.tier.value,
                    "changes": [
                        {
                            "component": step.role.value,
                            "from": step.current,
                            "to": step.target,
                            "reason": step.reason,
                        }
                        for step in item.changes
                    ],
                    "start_by": item.start_by_year,
                    "due": item.due_year,
                    "deadline_source": item.deadline_source.value,
                    "deadline_reason": item.deadline_reason,
                    "slack_years": None if item.slack_years is None else round(item.slack_years, 2),
                    "migration_years": item.migration_years,
                    "late": item.late,
                    "observed": item.observed,
                }
                for item in self.items
            ],
            "compliant_services": list(self.compliant_services),
        }


def changes_for(entry: BacklogInput) -> tuple[ChangeStep, ...]:
    """The changes a service needs to meet (or, if important, to follow) its profile."""
    profile = entry.profile
    accepted = {
        Role.KEY_EXCHANGE: profile.accepted_key_exchange,
        Role.SIGNATURE: profile.accepted_signature,
        Role.CIPHER: profile.accepted_cipher,
    }
    preferred = {
        Role.KEY_EXCHANGE: profile.preferred_key_exchange,
        Role.SIGNATURE: profile.preferred_signature,
        Role.CIPHER: profile.preferred_cipher,
    }
    steps = []
    for role in (Role.KEY_EXCHANGE, Role.SIGNATURE, Role.CIPHER):
        name = entry.current[role]
        algorithm = lookup(role, name)
        reason = _reason_to_change(algorithm, accepted[role], profile)
        if reason is not None and preferred[role] != algorithm.name:
            steps.append(ChangeStep(role, algorithm.name, preferred[role], reason))
    return tuple(steps)


def _reason_to_change(
    algorithm: Algorithm, accepted: frozenset[str], profile: ProtectionProfile
) -> str | None:
    if accepted:
        if algorithm.name in accepted:
            return None
        return f"profile '{profile.name}' does not accept {algorithm.name}"
    if algorithm.role is not Role.CIPHER and algorithm.quantum_vulnerable:
        if algorithm.disallowed_after is not None:
            return (
                f"quantum-vulnerable; NIST IR 8547 disallows it after {algorithm.disallowed_after}"
            )
        return "quantum-vulnerable (or absent)"
    if algorithm.role is Role.CIPHER and (
        not algorithm.authenticated_encryption or algorithm.nist_quantum_level == 0
    ):
        return f"{algorithm.name} is not a strong authenticated cipher"
    if algorithm.deprecated_after is not None:
        return f"deprecated after {algorithm.deprecated_after}"
    return None


def _deadline(
    entry: BacklogInput, steps: tuple[ChangeStep, ...], now_year: int
) -> tuple[int, DeadlineSource, str]:
    candidates: list[tuple[int, int, DeadlineSource, str]] = []
    roadmap = ROADMAP_DEADLINE_BY_TIER[entry.tier]
    candidates.append(
        (
            roadmap,
            2,
            DeadlineSource.ROADMAP,
            f"EU roadmap: {entry.tier.value} services migrated by the end of {roadmap}",
        )
    )
    for step in steps:
        algorithm = lookup(step.role, step.current)
        for year, what in (
            (algorithm.deprecated_after, "deprecates"),
            (algorithm.disallowed_after, "disallows"),
        ):
            if year is not None:
                candidates.append(
                    (
                        year,
                        1,
                        DeadlineSource.NIST_IR_8547,
                        f"NIST IR 8547 {what} {algorithm.name} after {year}",
                    )
                )
    if entry.slack_years is not None:
        finish = math.floor(now_year + entry.slack_years + entry.migration_years)
        candidates.append(
            (
                finish,
                0,
                DeadlineSource.MOSCA,
                f"Mosca: data sent after {finish} would still be secret when a CRQC is likely "
                f"(slack {entry.slack_years:+.1f} years)",
            )
        )
    year, _priority, source, reason = min(candidates, key=lambda c: (c[0], c[1]))
    return year, source, reason


def build_backlog(entries: Iterable[BacklogInput], *, now_year: int) -> MigrationBacklog:
    """Order the services that need a change; list the others as compliant."""
    unranked: list[BacklogItem] = []
    compliant: list[str] = []
    for entry in entries:
        steps = changes_for(entry)
        if not steps:
            compliant.append(entry.service_id)
            continue
        due, source, reason = _deadline(entry, steps, now_year)
        start_by = math.floor(due - entry.migration_years)
        unranked.append(
            BacklogItem(
                rank=0,
                service_id=entry.service_id,
                service_name=entry.service_name,
                tier=entry.tier,
                changes=steps,
                due_year=due,
                start_by_year=start_by,
                deadline_source=source,
                deadline_reason=reason,
                slack_years=entry.slack_years,
                migration_years=entry.migration_years,
                late=start_by < now_year,
                observed=entry.observed,
            )
        )
    unranked.sort(
        key=lambda item: (
            item.start_by_year,
            -item.tier.rank,
            math.inf if item.slack_years is None else item.slack_years,
            item.service_id,
        )
    )
    items = tuple(replace(item, rank=position) for position, item in enumerate(unranked, start=1))
    return MigrationBacklog(now_year=now_year, items=items, compliant_services=tuple(compliant))


def backlog_input(assessed: ServiceAssessment) -> BacklogInput:
    """The backlog's view of one assessed service."""
    effective = assessed.judgement.effective
    return BacklogInput(
        service_id=assessed.service.id,
        service_name=assessed.service.name,
        tier=assessed.classification.tier,
        profile=assessed.profile,
        current={
            Role.KEY_EXCHANGE: effective.key_exchange.name,
            Role.SIGNATURE: effective.signature.name,
            Role.CIPHER: effective.cipher.name,
        },
        migration_years=assessed.service.migration_years,
        slack_years=assessed.risk.high.slack_years,
        observed=bool(effective.observed_components),
    )


def migration_backlog(assessment: CityAssessment) -> MigrationBacklog:
    """The migration backlog of an assessed city (the function the reports call)."""
    return build_backlog(
        (backlog_input(s) for s in assessment.services), now_year=assessment.now_year
    )
