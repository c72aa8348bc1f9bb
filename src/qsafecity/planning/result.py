"""What a plan says: the decisions of a solver and the explained plan built from them.

``Plan.to_dict`` is the stable JSON document of ``qsafecity plan --json`` (format 1): keys never
change meaning, lists are sorted by id, money is in the city's currency, rates in bit/s.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final

from qsafecity.network import Route, SitePair

PLAN_FORMAT: Final = 1


@dataclass(frozen=True, slots=True)
class SolverReport:
    """How a plan was found and how good it is proven to be."""

    method: str  # "milp-highs" or "greedy"
    status: str  # "optimal", "gap-reached", "time-limit", "heuristic"
    objective: float
    #: Best proven lower bound of the objective (equal to it when optimal; none for a heuristic).
    bound: float | None
    #: Relative gap (objective - bound) / objective, as HiGHS reports it.
    gap: float | None
    seconds: float
    columns: int = 0
    rows: int = 0
    integer_columns: int = 0
    #: Under a budget (without a forecast): the most critical services any plan over the
    #: candidate routes could cover, as the bound proves (the gap in services, not money).
    covered_bound: int | None = None


@dataclass(frozen=True)
class Decisions:
    """What a solver chose: the raw output the plan is assembled from."""

    #: Segments carrying QKD in the plan (new links and existing trunks drawn on).
    active_segments: frozenset[str]
    #: Device pairs added to a segment beyond its first (or beyond the existing trunk's own pair).
    extra_pairs: dict[str, int]
    trusted_nodes: frozenset[str]
    #: Key rate (bit/s) on each route of each critical site pair.
    flows: dict[SitePair, dict[Route, float]]
    #: Critical services left without QKD keys.
    uncovered: frozenset[str]
    solver: SolverReport


@dataclass(frozen=True, slots=True)
class PlannedLink:
    segment_id: str
    a: str
    b: str
    length_km: float
    fibre: str
    #: "existing-qkd" (a trunk already running), "new-qkd" (built by the plan), "candidate" (not built).
    status: str
    device_pairs: int
    new_device_pairs: int
    capacity_bps: float
    used_bps: float
    spare_bps: float
    capex: float
    opex_per_year: float
    present_value: float


@dataclass(frozen=True, slots=True)
class PlannedNode:
    site_id: str
    capex: float
    opex_per_year: float
    present_value: float
    relayed_bps: float


@dataclass(frozen=True, slots=True)
class RouteFlow:
    sites: tuple[str, ...]
    rate_bps: float
    #: The smallest spare key rate along the route once the plan runs (its headroom).
    spare_bps: float


@dataclass(frozen=True, slots=True)
class ServicePlan:
    service_id: str
    operator_id: str
    tier: str
    required_protection: str
    #: What the plan gives: "qkd+pqc", "pqc", "pqc-fallback" (critical, QKD infeasible) or
    #: "classical-allowed".
    protection: str
    key_rate_bps: float
    routes: tuple[RouteFlow, ...]
    #: With a forecast (critical services only): Mosca's P(exposed), the year QKD must protect
    #: the traffic by, the year the migration must start by, and whether it is at risk.
    probability_exposed: float | None = None
    deadline_year: float | None = None
    start_by_year: float | None = None
    at_risk: bool | None = None


@dataclass(frozen=True, slots=True)
class Infeasibility:
    service_id: str
    #: "physics" (no chain of QKD links can reach), "capacity" (no route can carry the demand),
    #: "budget" (a route exists but the budget does not stretch to it).
    reason: str
    explanation: str
    fix: str
    #: Estimated extra present-value cost of the fix (none when it is not a matter of money).
    fix_cost: float | None


@dataclass(frozen=True, slots=True)
class OperatorSubsidy:
    operator_id: str
    financed_capex: float
    loan_rate_percent: float | None
    loan_years: int | None
    interest_total: float
    subsidy_present_value: float
    note: str


@dataclass(frozen=True, slots=True)
class CostSummary:
    qkd_links_capex: float
    trusted_nodes_capex: float
    capex: float
    opex_per_year: float
    opex_present_value: float
    pqc_migration: float
    total_present_value: float
    budget: float | None
    budget_remaining: float | None
    interest_subsidy_present_value: float
    trunk_access_saving_present_value: float


@dataclass(frozen=True, slots=True)
class ForecastSummary:
    """What the plan leaves exposed under a CRQC forecast (``qsafecity.planning.forecast``)."""

    forecast: str
    now_year: int
    tolerance: float
    #: The year the forecast's (high) curve reaches the tolerance; None: never within it.
    tolerance_year: float | None
    #: Sum of P(exposed) over the critical services, and over those the plan covers with QKD.
    exposure_critical: float
    exposure_covered: float
    #: Critical services left without QKD whose exposure exceeds the tolerance.
    uncovered_at_risk: tuple[str, ...]

    @property
    def risk_covered(self) -> float:
        """Share of the critical services' exposure that the plan covers with QKD."""
        if self.exposure_critical <= 0.0:
            return 1.0
        return self.exposure_covered / self.exposure_critical


@dataclass(frozen=True, slots=True)
class Coverage:
    critical_services: int
    covered: int
    critical_key_demand_bps: float
    covered_key_demand_bps: float

    @property
    def fraction(self) -> float:
        return 1.0 if self.critical_services == 0 else self.covered / self.critical_services


@dataclass(frozen=True)
class Plan:
    city: str
    currency: str
    horizon_years: int
    discount_rate_percent: float
    key_rate_model: str
    max_distance_km: float
    rekey_bits: int
    rekey_bytes: float
    rekey_seconds: float
    costs_used: dict[str, float]
    links: tuple[PlannedLink, ...]
    nodes: tuple[PlannedNode, ...]
    services: tuple[ServicePlan, ...]
    infeasibilities: tuple[Infeasibility, ...]
    cost: CostSummary
    subsidies: tuple[OperatorSubsidy, ...]
    coverage: Coverage
    solver: SolverReport
    forecast: ForecastSummary | None = None

    @property
    def built_links(self) -> tuple[PlannedLink, ...]:
        return tuple(link for link in self.links if link.status == "new-qkd")

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON document (see the module docstring)."""
        document = asdict(self)
        document["format"] = PLAN_FORMAT
        document["coverage"]["fraction"] = self.coverage.fraction
        if self.forecast is not None:
            document["forecast"]["risk_covered"] = self.forecast.risk_covered
        rounded: dict[str, Any] = _rounded(document)
        return rounded


def _rounded(value: Any) -> Any:
    """Floats to 6 significant digits, so that the document is stable across platforms."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(item) for item in value]
    return value
