"""The assessment as a stable JSON document, defined by pydantic models.

The models *are* the schema: ``docs/assessment.schema.json`` is generated from
``AssessmentDocument.model_json_schema()`` (a test keeps it current). Fields are only ever added;
``schema_version`` changes if one is removed or changes meaning. Probabilities and years are
rounded to 6 decimals so that equal inputs give byte-equal documents.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from qsafecity.assessment import CityAssessment, OperatorAssessment, RiskBound, ServiceAssessment
from qsafecity.policy import Finding

SCHEMA_VERSION: Final = 1
_DIGITS: Final = 6


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FindingDoc(_Doc):
    code: str = Field(description="stable identifier of the rule, e.g. KEX-QUANTUM-VULNERABLE")
    severity: Literal["info", "low", "medium", "high", "critical"]
    component: str = Field(description="key_exchange, signature, cipher, contract, operator, ...")
    reason: str
    remedy: str


class CryptoDoc(_Doc):
    key_exchange: str
    signature: str
    cipher: str


class EffectiveCryptoDoc(CryptoDoc):
    observed: list[str] = Field(description="components taken from the inventory, not the manifest")


class RiskBoundDoc(_Doc):
    probability_shelf_life: float = Field(description="P(CRQC before data sent today expires)")
    probability_exposed: float = Field(
        description="P(CRQC before data sent until migration ends expires)"
    )
    slack_years: float | None = Field(
        description="years left before the risk passes the tolerance; negative = late; null = no risk or beyond the forecast"
    )
    at_risk: bool


class QuantumRiskDoc(_Doc):
    harvestable: bool = Field(description="false when the key exchange is already quantum-safe")
    in_clear: bool = Field(
        description="no key exchange or no cipher: exposed without any quantum computer"
    )
    shelf_life_years: float
    migration_years: float
    probability_exposed: float = Field(description="conservative (high) bound")
    probability_shelf_life: float = Field(description="conservative (high) bound")
    slack_years: float | None = Field(description="conservative (high) bound")
    at_risk: bool = Field(description="conservative (high) bound: probability_exposed > tolerance")
    bounds: dict[Literal["low", "high"], RiskBoundDoc]


class ServiceDoc(_Doc):
    id: str
    name: str
    operator: str
    function: str
    tier: Literal["critical", "especially-important", "important"]
    tier_reason: str
    overridden: bool
    computed_tier: str | None
    required_protection: Literal["qkd+pqc", "pqc", "classical-allowed"]
    profile: str
    declared_crypto: CryptoDoc
    effective_crypto: EffectiveCryptoDoc
    already_hybrid: bool
    uses_qkd: bool
    compliant: bool
    findings: list[FindingDoc]
    quantum_risk: QuantumRiskDoc


class LoanDoc(_Doc):
    principal: float
    annual_rate_percent: float
    years: int
    payments_per_year: int
    payment: float
    total_interest: float
    interest_present_value: float


class SupportDoc(_Doc):
    qualifies: bool
    basis: str
    qkd_lines: list[tuple[str, str]]
    loan: LoanDoc | None
    subsidy: float = Field(description="interest paid by the state (all of it)")
    subsidy_present_value: float
    terms_assumed: bool
    note: str


class ContractDoc(_Doc):
    id: str
    signed: dt.date | None
    clauses: list[str]


class OperatorDoc(_Doc):
    id: str
    name: str
    type: Literal["municipal", "contractor"]
    contract: ContractDoc | None
    services: list[str]
    findings: list[FindingDoc]
    support: SupportDoc


class ForecastDoc(_Doc):
    name: str
    description: str
    risk_tolerance: float
    interpolation: str


class TotalsDoc(_Doc):
    services: int
    services_by_tier: dict[str, int]
    compliant_by_tier: dict[str, int]
    at_risk: int
    findings_by_severity: dict[str, int]
    qualifying_operators: int
    subsidy_total: float
    subsidy_present_value_total: float
    currency: str


class RiskOverTimeDoc(_Doc):
    years: list[int]
    crqc_probability: dict[Literal["low", "high"], list[float]]
    mean_exposure_by_tier: dict[Literal["low", "high"], dict[str, list[float]]]


class AssessmentDocument(_Doc):
    schema_version: int
    city: str
    population: int | None
    now_year: int
    forecast: ForecastDoc
    totals: TotalsDoc
    services: list[ServiceDoc]
    operators: list[OperatorDoc]
    risk_over_time: RiskOverTimeDoc


def _r(value: float) -> float:
    return round(value, _DIGITS)


def _finding(f: Finding) -> FindingDoc:
    return FindingDoc(
        code=f.code,
        severity=f.severity.value,
        component=f.component,
        reason=f.reason,
        remedy=f.remedy,
    )


def _bound(b: RiskBound) -> RiskBoundDoc:
    return RiskBoundDoc(
        probability_shelf_life=_r(b.probability_shelf_life),
        probability_exposed=_r(b.probability_exposed),
        slack_years=None if b.slack_years is None else _r(b.slack_years),
        at_risk=b.at_risk,
    )


def _service(s: ServiceAssessment) -> ServiceDoc:
    crypto = s.service.crypto
    effective = s.judgement.effective
    risk = s.risk
    high = _bound(risk.high)
    return ServiceDoc(
        id=s.service.id,
        name=s.service.name,
        operator=s.service.operator,
        function=s.service.function,
        tier=s.classification.tier.value,
        tier_reason=s.classification.reason,
        overridden=s.classification.overridden,
        computed_tier=None
        if s.classification.computed_tier is None
        else s.classification.computed_tier.value,
        required_protection=s.profile.required_protection.value,
        profile=s.profile.name,
        declared_crypto=CryptoDoc(
            key_exchange=crypto.key_exchange, signature=crypto.signature, cipher=crypto.cipher
        ),
        effective_crypto=EffectiveCryptoDoc(
            key_exchange=effective.key_exchange.name,
            signature=effective.signature.name,
            cipher=effective.cipher.name,
            observed=list(effective.observed_components),
        ),
        already_hybrid=s.judgement.already_hybrid,
        uses_qkd=s.judgement.uses_qkd,
        compliant=s.judgement.compliant,
        findings=[_finding(f) for f in s.findings],
        quantum_risk=QuantumRiskDoc(
            harvestable=risk.harvestable,
            in_clear=risk.in_clear,
            shelf_life_years=risk.shelf_life_years,
            migration_years=risk.migration_years,
            probability_exposed=high.probability_exposed,
            probability_shelf_life=high.probability_shelf_life,
            slack_years=high.slack_years,
            at_risk=high.at_risk,
            bounds={"low": _bound(risk.low), "high": high},
        ),
    )


def _operator(o: OperatorAssessment) -> OperatorDoc:
    support = o.support
    loan = support.loan
    contract = o.operator.contract
    return OperatorDoc(
        id=o.operator.id,
        name=o.operator.name,
        type=o.operator.type.value,
        contract=None
        if contract is None
        else ContractDoc(
            id=contract.id, signed=contract.signed, clauses=[c.value for c in contract.clauses]
        ),
        services=list(o.service_ids),
        findings=[_finding(f) for f in o.findings],
        support=SupportDoc(
            qualifies=support.qualifies,
            basis=support.basis,
            qkd_lines=[(a, b) for a, b in support.qkd_lines],
            loan=None
            if loan is None
            else LoanDoc(
                principal=_r(loan.principal),
                annual_rate_percent=loan.annual_rate_percent,
                years=loan.years,
                payments_per_year=loan.periods_per_year,
                payment=_r(loan.payment),
                total_interest=_r(loan.total_interest),
                interest_present_value=_r(loan.interest_present_value),
            ),
            subsidy=_r(support.subsidy),
            subsidy_present_value=_r(support.subsidy_present_value),
            terms_assumed=support.terms_assumed,
            note=support.note,
        ),
    )


def build_document(result: CityAssessment) -> AssessmentDocument:
    """The JSON document of ``result`` as a validated model."""
    operators = [_operator(o) for o in result.operators]
    timeline = result.risk_over_time
    return AssessmentDocument(
        schema_version=SCHEMA_VERSION,
        city=result.city.city.name,
        population=result.city.city.population,
        now_year=result.now_year,
        forecast=ForecastDoc(
            name=result.forecast.name,
            description=result.forecast.description,
            risk_tolerance=result.tolerance,
            interpolation=(
                "cumulative probability linear in the year between horizons, from 0 in the "
                "report's year, constant after the last horizon"
            ),
        ),
        totals=TotalsDoc(
            services=len(result.services),
            services_by_tier={t.value: n for t, n in result.services_by_tier().items()},
            compliant_by_tier={t.value: n for t, n in result.compliant_by_tier().items()},
            at_risk=result.at_risk_count(),
            findings_by_severity={s.value: n for s, n in result.findings_by_severity().items()},
            qualifying_operators=sum(o.support.qualifies for o in operators),
            subsidy_total=_r(sum(o.support.subsidy for o in operators)),
            subsidy_present_value_total=_r(sum(o.support.subsidy_present_value for o in operators)),
            currency=result.city.city.currency,
        ),
        services=[_service(s) for s in result.services],
        operators=operators,
        risk_over_time=RiskOverTimeDoc(
            years=list(timeline.years),
            crqc_probability={
                "low": [_r(v) for v in timeline.crqc_low],
                "high": [_r(v) for v in timeline.crqc_high],
            },
            mean_exposure_by_tier={
                "low": {
                    t.value: [_r(v) for v in values] for t, values in timeline.by_tier_low.items()
                },
                "high": {
                    t.value: [_r(v) for v in values] for t, values in timeline.by_tier_high.items()
                },
            },
        ),
    )


def render_json(result: CityAssessment) -> str:
    """The JSON text of the assessment (UTF-8, indented, stable)."""
    return build_document(result).model_dump_json(indent=2) + "\n"


def json_schema() -> str:
    """The JSON Schema of the document, as shipped in ``docs/assessment.schema.json``."""
    return json.dumps(AssessmentDocument.model_json_schema(), indent=2, sort_keys=True) + "\n"
