"""The planning problem of one city: its network, its demands, candidate routes and element costs.

Everything the optimiser and the baseline need except the budget, so that a sweep over budgets
prepares it once. Costs are present values over the horizon: capital in year 0, yearly costs from
year 1 to ``horizon_years`` discounted at the city's rate.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Final

import numpy as np
import numpy.typing as npt

from qsafecity.city import CityManifest, OperatorType
from qsafecity.network import (
    BY_HOPS,
    BY_LENGTH,
    DEFAULT_CANDIDATE_NEIGHBOURS,
    DEFAULT_ROUTE_FACTOR,
    CityNetwork,
    KeyRateModel,
    RekeyPolicy,
    Route,
    RouteMetric,
    Segment,
    SegmentKind,
    ServiceDemand,
    SitePair,
    build_network,
    candidate_routes,
    service_demands,
    site_pair,
)
from qsafecity.network.paths import RelayGraph
from qsafecity.planning.costs import CostInputs
from qsafecity.planning.finance import present_value_factor
from qsafecity.policy.support import DEFAULT_FINANCE

DEFAULT_HORIZON_YEARS: Final = 10
MAX_HORIZON_YEARS: Final = 50


@dataclass(frozen=True, slots=True)
class Money:
    """A cost split into what is paid now and what is paid every year."""

    capex: float
    opex_per_year: float

    def present_value(self, factor: float) -> float:
        return self.capex + self.opex_per_year * factor


@dataclass(frozen=True, slots=True)
class LoanTerms:
    loan_rate_percent: float
    loan_years: int
    assumed: bool = False


@dataclass(frozen=True)
class PlanningProblem:
    """A city ready to plan: build it with ``prepare``."""

    city_name: str
    currency: str
    network: CityNetwork
    demands: tuple[ServiceDemand, ...]
    routes: dict[SitePair, tuple[Route, ...]]
    costs: CostInputs
    horizon_years: int
    discount_rate_percent: float
    rekey: RekeyPolicy
    #: Operators' loan terms for the support programme (contractors with ``finance`` only).
    loans: dict[str, LoanTerms]
    _pv_factor: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_pv_factor", present_value_factor(self.discount_rate_percent, self.horizon_years)
        )

    @property
    def pv_factor(self) -> float:
        """Present value of 1 a year over the horizon."""
        return self._pv_factor

    @property
    def critical(self) -> tuple[ServiceDemand, ...]:
        return tuple(d for d in self.demands if d.needs_qkd)

    @cached_property
    def relay_graph(self) -> RelayGraph:
        """The network indexed for fast shortest routes (QKD-feasible segments only)."""
        return RelayGraph(self.network)

    @cached_property
    def segment_positions(self) -> dict[str, int]:
        """Segment id -> position in the arrays over ``relay_graph.segments``."""
        return {segment.id: i for i, segment in enumerate(self.relay_graph.segments)}

    @cached_property
    def segment_rates(self) -> npt.NDArray[np.float64]:
        """Key rate of one device pair on each of ``relay_graph.segments``."""
        return np.array([s.key_rate_bps for s in self.relay_graph.segments], dtype=np.float64)

    @cached_property
    def activation_present_values(self) -> npt.NDArray[np.float64]:
        """Present value of putting a QKD link on each of ``relay_graph.segments``."""
        factor = self.pv_factor
        return np.array(
            [self.activation(s).present_value(factor) for s in self.relay_graph.segments],
            dtype=np.float64,
        )

    def activation(self, segment: Segment) -> Money:
        """Putting a QKD link on a segment: the first device pair and the fibre, or trunk access."""
        costs = self.costs
        if segment.existing_qkd:
            fee = costs.trunk_access_per_link_year * (1.0 - costs.trunk_discount_fraction)
            return Money(0.0, fee)
        capex = costs.qkd_device_pair
        opex = costs.qkd_device_pair * costs.operation_fraction_per_year
        if segment.kind in (SegmentKind.PLANNED, SegmentKind.NEW):
            capex += costs.new_fibre_per_km * segment.length_km
        elif segment.kind is SegmentKind.LEASED:
            opex += costs.leased_fibre_per_km_year * segment.length_km
        return Money(capex, opex)

    def trunk_saving_per_year(self, segment: Segment) -> float:
        """What preferential access saves an operator (and costs the state) on an existing trunk."""
        if not segment.existing_qkd:
            return 0.0
        return self.costs.trunk_access_per_link_year * self.costs.trunk_discount_fraction

    def extra_pair(self) -> Money:
        """One more device pair on a segment that already has one."""
        costs = self.costs
        return Money(
            costs.qkd_device_pair, costs.qkd_device_pair * costs.operation_fraction_per_year
        )

    def trusted_node(self) -> Money:
        costs = self.costs
        return Money(costs.trusted_node, costs.trusted_node * costs.operation_fraction_per_year)

    def pqc_migration(self) -> Money:
        return Money(self.costs.pqc_migration_per_service, 0.0)

    def mandatory_pqc_services(self) -> tuple[ServiceDemand, ...]:
        """Services whose profile requires PQC (critical: QKD+PQC; especially important: PQC)."""
        return tuple(d for d in self.demands if d.protection != "classical-allowed")

    def mandatory_pqc_cost(self) -> float:
        return len(self.mandatory_pqc_services()) * self.pqc_migration().capex

    def max_pairs(self) -> int:
        return self.costs.max_device_pairs_per_segment


def cost_metric(problem: PlanningProblem) -> RouteMetric:
    """Routes ranked by the present value of building them from nothing (a route candidate)."""
    factor = problem.pv_factor
    node_cost = problem.trusted_node().present_value(factor)
    relay = problem.network.relay_sites
    return RouteMetric(
        "cost",
        lambda segment: problem.activation(segment).present_value(factor),
        lambda site: node_cost if site in relay else 0.0,
    )


def prepare(
    city: CityManifest,
    key_rate_model: KeyRateModel,
    costs: CostInputs,
    *,
    horizon_years: int = DEFAULT_HORIZON_YEARS,
    rekey: RekeyPolicy | None = None,
    route_factor: float = DEFAULT_ROUTE_FACTOR,
    candidate_neighbours: int = DEFAULT_CANDIDATE_NEIGHBOURS,
) -> PlanningProblem:
    """Build the network, the demands and the candidate routes of ``city``."""
    if not 1 <= horizon_years <= MAX_HORIZON_YEARS:
        raise ValueError(f"horizon must be 1..{MAX_HORIZON_YEARS} years, got {horizon_years}")
    policy = rekey or RekeyPolicy()
    network = build_network(
        city, key_rate_model, route_factor=route_factor, candidate_neighbours=candidate_neighbours
    )
    demands = service_demands(city, policy)
    # Contractors borrow to build their lines; without terms in the manifest the support
    # programme's documented default terms apply (as in ``qsafecity.policy.support_for``).
    loans = {
        operator.id: LoanTerms(
            (operator.finance or DEFAULT_FINANCE).loan_rate_percent,
            (operator.finance or DEFAULT_FINANCE).loan_years,
            assumed=operator.finance is None,
        )
        for operator in city.operators
        if operator.finance is not None or operator.type is OperatorType.CONTRACTOR
    }
    problem = PlanningProblem(
        city_name=city.city.name,
        currency=city.city.currency,
        network=network,
        demands=demands,
        routes={},
        costs=costs,
        horizon_years=horizon_years,
        discount_rate_percent=city.assumptions.discount_rate_percent,
        rekey=policy,
        loans=loans,
    )
    pairs = _critical_pairs(demands)
    metrics = (BY_LENGTH, BY_HOPS, cost_metric(problem))
    routes = candidate_routes(network, pairs, metrics)
    object.__setattr__(problem, "routes", routes)
    return problem


def _critical_pairs(demands: Iterable[ServiceDemand]) -> list[SitePair]:
    return sorted({site_pair(*pair) for d in demands if d.needs_qkd for pair in d.site_pairs})


def groups_of(problem: PlanningProblem) -> dict[SitePair, list[ServiceDemand]]:
    """Critical services by the site pairs they need keys between (a service may be in several)."""
    groups: dict[SitePair, list[ServiceDemand]] = defaultdict(list)
    for demand in problem.critical:
        for pair in demand.site_pairs:
            groups[site_pair(*pair)].append(demand)
    return dict(sorted(groups.items()))


def bottleneck_capacity_bps(problem: PlanningProblem, route: Route) -> float:
    """The most key a route can carry with every segment at its maximum number of device pairs."""
    rates = [problem.network.segment(a, b).key_rate_bps for a, b in itertools.pairwise(route)]
    return min(rates, default=math.inf) * problem.max_pairs()
