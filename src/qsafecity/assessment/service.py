"""The assessment of a whole city: every service classified, judged and risk-rated, every operator
checked, with city totals. It composes the pure core and adds nothing of its own but bookkeeping."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from qsafecity.algorithms import Family
from qsafecity.city.model import CityManifest, Operator, Service
from qsafecity.city.vocabulary import Tier
from qsafecity.errors import ForecastError
from qsafecity.policy import (
    Classification,
    CryptoJudgement,
    Finding,
    ObservedCrypto,
    ProtectionProfile,
    Severity,
    SupportEntry,
    check_contract,
    classify,
    effective_crypto,
    judge_effective,
    profile_for,
    support_for,
)
from qsafecity.risk import (
    SHIPPED_FORECASTS,
    CRQCForecast,
    Exposure,
    exposure,
    exposure_over_time,
    forecast_from_table,
    shipped_forecast,
)
from qsafecity.risk.mosca import BoolArray, FloatArray

#: Years ahead shown in the risk-over-time view.
RISK_VIEW_YEARS = 30


@dataclass(frozen=True, slots=True)
class RiskBound:
    """Mosca exposure of one service under one bound of the forecast."""

    probability_shelf_life: float
    probability_exposed: float
    slack_years: float | None
    at_risk: bool


@dataclass(frozen=True, slots=True)
class QuantumRisk:
    """Mosca exposure of one service: ``high`` is the conservative bound decisions use."""

    harvestable: bool
    in_clear: bool
    shelf_life_years: float
    migration_years: float
    low: RiskBound
    high: RiskBound


@dataclass(frozen=True, slots=True)
class ServiceAssessment:
    service: Service
    classification: Classification
    profile: ProtectionProfile
    judgement: CryptoJudgement
    risk: QuantumRisk

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.judgement.findings

    @property
    def worst_severity(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)


@dataclass(frozen=True, slots=True)
class OperatorAssessment:
    operator: Operator
    service_ids: tuple[str, ...]
    findings: tuple[Finding, ...]
    support: SupportEntry


@dataclass(frozen=True, slots=True)
class RiskOverTime:
    """Mean P(data sent in a year is exposed) per tier, if services migrate as planned."""

    years: tuple[int, ...]
    crqc_low: tuple[float, ...]
    crqc_high: tuple[float, ...]
    by_tier_low: dict[Tier, tuple[float, ...]]
    by_tier_high: dict[Tier, tuple[float, ...]]


@dataclass(frozen=True, slots=True)
class CityAssessment:
    city: CityManifest
    now_year: int
    forecast: CRQCForecast
    tolerance: float
    services: tuple[ServiceAssessment, ...]
    operators: tuple[OperatorAssessment, ...]
    risk_over_time: RiskOverTime
    observed_services: tuple[str, ...] = field(default=())

    def all_findings(self) -> list[Finding]:
        findings = [f for s in self.services for f in s.findings]
        findings += [f for o in self.operators for f in o.findings]
        return findings

    def findings_by_severity(self) -> dict[Severity, int]:
        counts = Counter(f.severity for f in self.all_findings())
        return {severity: counts.get(severity, 0) for severity in Severity}

    def services_by_tier(self) -> dict[Tier, int]:
        counts = Counter(s.classification.tier for s in self.services)
        return {tier: counts.get(tier, 0) for tier in Tier}

    def compliant_by_tier(self) -> dict[Tier, int]:
        counts = Counter(s.classification.tier for s in self.services if s.judgement.compliant)
        return {tier: counts.get(tier, 0) for tier in Tier}

    def at_risk_count(self) -> int:
        return sum(s.risk.high.at_risk for s in self.services)

    def worst_severity(self) -> Severity | None:
        return max((f.severity for f in self.all_findings()), key=lambda s: s.rank, default=None)


def resolve_forecast(city: CityManifest, override: CRQCForecast | None = None) -> CRQCForecast:
    """The forecast to use: an explicit one, else the manifest's named forecast or table."""
    if override is not None:
        return override
    chosen = city.assumptions.crqc_forecast
    if isinstance(chosen, str):
        try:
            return shipped_forecast(chosen)
        except KeyError:
            raise ForecastError(
                f"assumptions.crqc_forecast: unknown forecast {chosen!r}; use "
                f"{', '.join(SHIPPED_FORECASTS)}, a table {{year: probability}} or --forecast FILE"
            ) from None
    return forecast_from_table(chosen, "the manifest's crqc_forecast table")


def assess(
    city: CityManifest,
    *,
    now_year: int,
    forecast: CRQCForecast | None = None,
    observations: Mapping[str, ObservedCrypto] | None = None,
) -> CityAssessment:
    """Assess every service and operator of ``city``.

    ``now_year`` is used when the manifest sets no ``assumptions.start_year`` (the pure core reads
    no clock). ``observations`` maps service ids to cryptography seen by the inventory; observed
    beats declared.
    """
    year = city.assumptions.start_year or now_year
    chosen_forecast = resolve_forecast(city, forecast)
    tolerance = city.assumptions.risk_tolerance
    observed = dict(observations or {})
    services = city.services

    classifications = [classify(s) for s in services]
    # Observed beats declared: resolved once per service, for the risk and for the judgement.
    resolved = [effective_crypto(s, observed.get(s.id)) for s in services]
    shelf = np.array([s.data.shelf_life_years for s in services], dtype=np.float64)
    migration = np.array([s.migration_years for s in services], dtype=np.float64)
    # What can be harvested today is decided by the key exchange actually in use.
    vulnerable = np.array(
        [crypto.key_exchange.quantum_vulnerable for crypto, _ in resolved], dtype=np.bool_
    )
    bounds = {
        bound: exposure(
            chosen_forecast,
            now_year=year,
            shelf_life_years=shelf,
            migration_years=migration,
            vulnerable=vulnerable,
            tolerance=tolerance,
            bound=bound,
        )
        for bound in ("low", "high")
    }

    assessed = []
    for index, (service, classification) in enumerate(zip(services, classifications, strict=True)):
        crypto, mismatches = resolved[index]
        in_clear = crypto.key_exchange.family is Family.NONE or crypto.cipher.family is Family.NONE
        low, high = _bound_at(bounds["low"], index), _bound_at(bounds["high"], index)
        if in_clear:
            # Without a key exchange or a cipher, the data needs no quantum computer to be read:
            # Mosca does not apply, exposure is certain (a risk unless the data is public).
            sensitive = not set(service.data.categories) <= {"public"}
            low = high = RiskBound(1.0, 1.0, None, sensitive)
        risk = QuantumRisk(
            harvestable=bool(vulnerable[index]),
            in_clear=in_clear,
            shelf_life_years=service.data.shelf_life_years,
            migration_years=service.migration_years,
            low=low,
            high=high,
        )
        profile = profile_for(classification.tier)
        judgement = judge_effective(
            service,
            classification.tier,
            profile,
            crypto,
            mismatches,
            now_year=year,
            at_risk=risk.high.at_risk,
        )
        assessed.append(ServiceAssessment(service, classification, profile, judgement, risk))

    operators = _assess_operators(city, assessed)
    return CityAssessment(
        city=city,
        now_year=year,
        forecast=chosen_forecast,
        tolerance=tolerance,
        services=tuple(assessed),
        operators=operators,
        risk_over_time=_risk_over_time(
            chosen_forecast, year, classifications, shelf, migration, vulnerable
        ),
        observed_services=tuple(sorted(sid for sid in observed if sid in city.services_by_id)),
    )


def _bound_at(values: Exposure, index: int) -> RiskBound:
    slack = float(values.slack_years[index])
    return RiskBound(
        probability_shelf_life=float(values.probability_shelf_life[index]),
        probability_exposed=float(values.probability_exposed[index]),
        slack_years=None if np.isnan(slack) else slack,
        at_risk=bool(values.at_risk[index]),
    )


def _assess_operators(
    city: CityManifest, services: list[ServiceAssessment]
) -> tuple[OperatorAssessment, ...]:
    by_operator: dict[str, list[ServiceAssessment]] = {o.id: [] for o in city.operators}
    for assessed in services:
        by_operator[assessed.service.operator].append(assessed)
    result = []
    for operator in city.operators:
        runs = by_operator[operator.id]
        tiers = [s.classification.tier for s in runs]
        findings = check_contract(operator, tiers)
        if not runs:
            findings.append(
                Finding(
                    "OPERATOR-UNUSED",
                    Severity.INFO,
                    operator.id,
                    "operator",
                    f"{operator.name} runs no service in this manifest",
                    "remove it or add its services",
                )
            )
        support = support_for(operator, [(s.service, s.classification.tier) for s in runs], city)
        result.append(
            OperatorAssessment(
                operator, tuple(s.service.id for s in runs), tuple(findings), support
            )
        )
    return tuple(result)


def _risk_over_time(
    forecast: CRQCForecast,
    now_year: int,
    classifications: list[Classification],
    shelf: FloatArray,
    migration: FloatArray,
    vulnerable: BoolArray,
) -> RiskOverTime:
    years = np.arange(now_year, now_year + RISK_VIEW_YEARS + 1, dtype=np.float64)
    tiers = np.array([c.tier.value for c in classifications])
    by_tier: dict[str, dict[Tier, tuple[float, ...]]] = {"low": {}, "high": {}}
    for bound in ("low", "high"):
        grid = exposure_over_time(
            forecast,
            now_year=now_year,
            years=years,
            shelf_life_years=shelf,
            migration_years=migration,
            vulnerable=vulnerable,
            bound=bound,
        )
        for tier in Tier:
            rows = grid[tiers == tier.value]
            mean = rows.mean(axis=0) if len(rows) else np.zeros(len(years))
            by_tier[bound][tier] = tuple(float(v) for v in mean)
    return RiskOverTime(
        years=tuple(int(y) for y in years),
        crqc_low=tuple(float(v) for v in forecast.probability_by(years, "low")),
        crqc_high=tuple(float(v) for v in forecast.probability_by(years, "high")),
        by_tier_low=by_tier["low"],
        by_tier_high=by_tier["high"],
    )
