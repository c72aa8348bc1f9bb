"""The planning optimisation: a mixed-integer programme solved with HiGHS.

Variables (per element that appears on some candidate route)::

    b_e in {0,1}    a QKD link on segment e (first device pair and fibre, or trunk access)
    m_e in 0..U-1   further device pairs on e
    y_v in {0,1}    a trusted node at site v
    u_s in {0,1}    critical service s left without QKD (falls back to PQC only)
    x_gr >= 0       key rate (bit/s) of site pair g relayed over route r

Constraints::

    sum_r x_gr + sum_{s in g} d_s u_s = sum_{s in g} d_s          every pair's demand met or dropped
    sum_{(g,r) over e} x_gr <= K_e (b_e + m_e)                     key rate of the link (all hops)
    m_e <= (U-1) b_e
    sum_{r through e} x_gr <= min(D_g, U K_e) b_e                strong linking (tight LP bound)
    sum_{r through v} x_gr <= D_g y_v                            relays need a trusted node
    sum cost <= budget - mandatory PQC migration

Objective: the present value of what is built plus a penalty P per critical service left
uncovered. With a budget B, P > B: covering one more service always beats any saving, so the
plan covers as many critical services as the budget allows and, among those plans, is the
cheapest. Without a budget, P_s exceeds the cost of building any of s's routes from nothing, so
every service that can be covered is.

A service with a site pair that has no route is not in the model (physics); its pairs' other
services still are.
"""

from __future__ import annotations

import ctypes
import math
import os
import sys
import time
from collections import defaultdict
from dataclasses import replace
from typing import Final

import highspy
import numpy as np

from qsafecity.errors import InputError, PlanningError
from qsafecity.network import (
    Route,
    RouteMetric,
    Segment,
    SitePair,
    candidate_routes,
    route_segments,
    site_pair,
)
from qsafecity.planning.forecast import ForecastRisk
from qsafecity.planning.greedy import solve_greedy
from qsafecity.planning.problem import PlanningProblem, groups_of
from qsafecity.planning.result import Decisions, SolverReport

DEFAULT_GAP: Final = 0.01
DEFAULT_TIME_LIMIT_S: Final = 60.0
#: Rounds of route pricing after the first solve (see ``solve_milp``).
DEFAULT_PRICING_ROUNDS: Final = 3
#: Flows below this (bit/s) are solver noise, not routing decisions.
_FLOW_EPSILON_BPS: Final = 1e-6


class _Columns:
    def __init__(self) -> None:
        self.cost: list[float] = []
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.integer: list[bool] = []

    def add(self, cost: float, lower: float, upper: float, *, integer: bool) -> int:
        self.cost.append(cost)
        self.lower.append(lower)
        self.upper.append(upper)
        self.integer.append(integer)
        return len(self.cost) - 1


class _Rows:
    def __init__(self) -> None:
        self.start: list[int] = [0]
        self.index: list[int] = []
        self.value: list[float] = []
        self.lower: list[float] = []
        self.upper: list[float] = []

    def add(self, terms: list[tuple[int, float]], lower: float, upper: float) -> None:
        for column, coefficient in terms:
            self.index.append(column)
            self.value.append(coefficient)
        self.start.append(len(self.index))
        self.lower.append(lower)
        self.upper.append(upper)


def _new_highs() -> highspy.Highs:
    """A silent HiGHS instance. Its C++ constructor prints a banner on stdout once per process,
    which would corrupt ``--json`` output, so stdout is pointed at /dev/null meanwhile."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            highs = highspy.Highs()  # type: ignore[no-untyped-call]
            ctypes.CDLL(None).fflush(None)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    highs.setOptionValue("output_flag", False)
    return highs


def solve_milp(
    problem: PlanningProblem,
    budget: float | None,
    *,
    gap: float = DEFAULT_GAP,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    pricing_rounds: int = DEFAULT_PRICING_ROUNDS,
    warm_start: bool = True,
    risk: ForecastRisk | None = None,
) -> Decisions:
    """Solve the planning MILP; ``budget`` is the whole plan's, mandatory PQC included.

    Candidate routes are priced in: after each solve, the cheapest route of every pair *given
    what the plan already builds* (built links and nodes free) joins the candidates, and the
    model is solved again from the previous plan. Routes that share new infrastructure are
    found this way, which fixed metrics (length, hops, cost from nothing) miss.
    """
    started = time.perf_counter()
    routes = {pair: list(found) for pair, found in problem.routes.items()}
    # The greedy plan's routes join the candidates and the greedy plan is the starting solution,
    # so the optimum is never worse than the baseline.
    baseline = solve_greedy(problem, budget, risk=risk) if warm_start else None
    if baseline is not None:
        for pair, flows in baseline.flows.items():
            for route in flows:
                if route not in routes[pair]:
                    routes[pair].append(route)
    # The time limit covers the whole optimisation, warm start included (at least a second is
    # left to the solver, which then reports how far from proven optimal it got).
    first_limit_s = max(1.0, time_limit_s - (time.perf_counter() - started))
    decisions = _solve_once(
        problem, routes, budget, gap=gap, time_limit_s=first_limit_s, start=baseline, risk=risk
    )
    for _ in range(pricing_rounds):
        remaining_s = time_limit_s - (time.perf_counter() - started)
        if remaining_s <= 0.0:
            break
        added = 0
        priced = candidate_routes(
            problem.network,
            [p for p, r in routes.items() if r],
            [_given(problem, decisions)],
            exhaustive_k=0,
        )
        for pair, found in priced.items():
            for route in found:
                if route not in routes[pair]:
                    routes[pair].append(route)
                    added += 1
        if not added:
            break
        decisions = _solve_once(
            problem, routes, budget, gap=gap, time_limit_s=remaining_s, start=decisions, risk=risk
        )
    report = replace(decisions.solver, seconds=time.perf_counter() - started)
    return replace(decisions, solver=report)


def _given(problem: PlanningProblem, decisions: Decisions) -> RouteMetric:
    """Route cost when what ``decisions`` builds is free (the pricing metric)."""
    factor = problem.pv_factor
    node_cost = problem.trusted_node().present_value(factor)
    relay = problem.network.relay_sites
    active = decisions.active_segments
    nodes = decisions.trusted_nodes
    return RouteMetric(
        "given-plan",
        lambda segment: (
            0.0 if segment.id in active else problem.activation(segment).present_value(factor)
        ),
        lambda site: 0.0 if site in nodes or site not in relay else node_cost,
    )


def _solve_once(
    problem: PlanningProblem,
    candidate: dict[SitePair, list[Route]],
    budget: float | None,
    *,
    gap: float,
    time_limit_s: float,
    start: Decisions | None,
    risk: ForecastRisk | None = None,
) -> Decisions:
    started = time.perf_counter()
    factor = problem.pv_factor
    network = problem.network
    segments_of: dict[Route, tuple[Segment, ...]] = {}

    def along(route: Route) -> tuple[Segment, ...]:
        found = segments_of.get(route)
        if found is None:
            found = segments_of[route] = route_segments(network, route)
        return found

    max_pairs = problem.max_pairs()
    available = None if budget is None else budget - problem.mandatory_pqc_cost()
    if available is not None and available < 0.0:
        raise InputError(
            f"the budget {budget:,.0f} {problem.currency} is below the mandatory PQC migration "
            f"({problem.mandatory_pqc_cost():,.0f} for {len(problem.mandatory_pqc_services())} "
            f"services); raise it by at least {-available:,.0f}"
        )

    groups = groups_of(problem)
    routable = {pair for pair, routes in candidate.items() if routes}
    coverable = [
        d
        for d in problem.critical
        if d.site_pairs and all(site_pair(*p) in routable for p in d.site_pairs)
    ]
    coverable_ids = {d.service_id for d in coverable}

    # Money is scaled so that a device pair costs about 1: HiGHS tolerances are absolute.
    money_scale = 1.0 / max(problem.costs.qkd_device_pair, 1.0)
    columns = _Columns()
    rows = _Rows()

    segment_cost = {}
    node_cost = problem.trusted_node().present_value(factor) * money_scale
    extra_cost = problem.extra_pair().present_value(factor) * money_scale
    b_col: dict[str, int] = {}
    m_col: dict[str, int] = {}
    y_col: dict[str, int] = {}
    route_cols: dict[SitePair, list[tuple[Route, int]]] = {}
    pair_total: dict[SitePair, float] = {}
    max_route_cost: dict[SitePair, float] = {}

    for pair in sorted(routable & set(groups)):
        group_max = 0.0
        for route in candidate[pair]:
            route_cost = 0.0
            for segment in along(route):
                key = segment.id
                if key not in b_col:
                    segment_cost[key] = (
                        problem.activation(segment).present_value(factor) * money_scale
                    )
                    b_col[key] = columns.add(segment_cost[key], 0.0, 1.0, integer=True)
                    m_col[key] = columns.add(extra_cost, 0.0, max_pairs - 1.0, integer=True)
                route_cost += segment_cost[key] + extra_cost * (max_pairs - 1)
            for site in route[1:-1]:
                if site not in y_col:
                    y_col[site] = columns.add(node_cost, 0.0, 1.0, integer=True)
                route_cost += node_cost
            group_max = max(group_max, route_cost)
        max_route_cost[pair] = group_max

    if available is not None:
        # Without a forecast every service weighs 1; with one, its Mosca exposure plus a floor
        # (``qsafecity.planning.forecast``). The lightest service's penalty still exceeds the
        # budget, so money is never saved by leaving a coverable service out.
        weight = {
            d.service_id: 1.0 if risk is None else risk.weight(d.service_id) for d in coverable
        }
        unit = (available * money_scale * 1.01 + 1.0) / min(weight.values(), default=1.0)
        penalty_of = {sid: unit * w for sid, w in weight.items()}
    else:
        unit = math.inf
        penalty_of = {}
        for demand in coverable:
            pairs = {site_pair(*p) for p in demand.site_pairs}
            penalty_of[demand.service_id] = 1.0 + sum(max_route_cost[p] for p in pairs)
    u_col = {
        demand.service_id: columns.add(penalty_of[demand.service_id], 0.0, 1.0, integer=True)
        for demand in coverable
    }

    # Key on each segment from every pair that has a candidate route over it: where even all of
    # it fits in one device pair, the capacity row and further pairs can never matter.
    offered: dict[str, float] = defaultdict(float)
    for pair in sorted(routable & set(groups)):
        total = sum(d.key_rate_bps for d in groups[pair] if d.service_id in coverable_ids)
        crossed = {s.id for route in candidate[pair] for s in along(route)}
        for key in crossed:
            offered[key] += total
    capacity_binds = {
        key for key in b_col if offered[key] > network.segment_by_id(key).key_rate_bps * (1 - 1e-9)
    }
    for key in sorted(set(b_col) - capacity_binds):
        columns.upper[m_col[key]] = 0.0

    # Pair flows are fractions of the pair's demand (lambda in [0, 1]), which keeps the matrix's
    # coefficients near 1 whatever the key rates and demands are.
    for pair in sorted(routable & set(groups)):
        members = [d for d in groups[pair] if d.service_id in coverable_ids]
        if not members:
            continue
        total = sum(d.key_rate_bps for d in members)
        cols = []
        for route in candidate[pair]:
            cols.append((route, columns.add(0.0, 0.0, 1.0, integer=False)))
        route_cols[pair] = cols
        pair_total[pair] = total
        rows.add(
            [(c, 1.0) for _, c in cols]
            + [(u_col[d.service_id], d.key_rate_bps / total) for d in members],
            1.0,
            1.0,
        )
        # Strong linking, per pair and element: the pair's share crossing a segment (or relayed
        # at a site) is at most the element's build variable. Summed over the pair's routes, as
        # one row per pair and element, it is the tightest such row (the LP cannot spread one
        # pair's key thinly over many routes to pay a fraction of each).
        through_segment: dict[str, list[int]] = defaultdict(list)
        through_site: dict[str, list[int]] = defaultdict(list)
        for route, column in cols:
            for segment in along(route):
                through_segment[segment.id].append(column)
            for site in route[1:-1]:
                through_site[site].append(column)
        for key, used_by in sorted(through_segment.items()):
            share = min(1.0, max_pairs * network.segment_by_id(key).key_rate_bps / total)
            rows.add([(c, 1.0) for c in used_by] + [(b_col[key], -share)], -math.inf, 0.0)
        for site, used_by in sorted(through_site.items()):
            rows.add([(c, 1.0) for c in used_by] + [(y_col[site], -1.0)], -math.inf, 0.0)

    on_segment: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for pair, cols in route_cols.items():
        for route, column in cols:
            for segment in along(route):
                if segment.id in capacity_binds:
                    on_segment[segment.id].append((column, pair_total[pair]))
    for key in sorted(capacity_binds):
        # Key carried (bit/s) over the key rate of one device pair, so coefficients stay near 1.
        rate = network.segment_by_id(key).key_rate_bps
        rows.add(
            [(c, total / rate) for c, total in on_segment.get(key, [])]
            + [(b_col[key], -1.0), (m_col[key], -1.0)],
            -math.inf,
            0.0,
        )
        rows.add([(m_col[key], 1.0), (b_col[key], -(max_pairs - 1.0))], -math.inf, 0.0)
    if available is not None:
        money = [(c, columns.cost[c]) for c in [*b_col.values(), *m_col.values(), *y_col.values()]]
        rows.add(money, -math.inf, available * money_scale)

    highs = _new_highs()
    decisions_empty = not columns.cost
    if not decisions_empty:
        _pass_model(highs, columns, rows)
        if start is not None:
            _set_start(
                highs, len(columns.cost), start, b_col, m_col, y_col, u_col, route_cols, pair_total
            )
        highs.setOptionValue("mip_rel_gap", float(gap))
        highs.setOptionValue("time_limit", float(time_limit_s))
        highs.setOptionValue("random_seed", 0)
        highs.setOptionValue("threads", 1)
        highs.run()
        status = highs.getModelStatus()
        info = highs.getInfo()
        if info.primal_solution_status != 2:  # kSolutionStatusFeasible
            raise PlanningError(
                f"the solver found no plan ({highs.modelStatusToString(status)}) within "
                f"{time_limit_s:g} s; allow more time (--time-limit)"
            )
        values = np.asarray(highs.getSolution().col_value, dtype=np.float64)
        objective = info.objective_function_value / money_scale
        bound = info.mip_dual_bound / money_scale
        mip_gap = float(info.mip_gap)
        status_name = {
            highspy.HighsModelStatus.kOptimal: "optimal",
            highspy.HighsModelStatus.kTimeLimit: "time-limit",
        }.get(status, highs.modelStatusToString(status))
        if status_name == "optimal" and mip_gap > 1e-9:
            status_name = "gap-reached"
        scaled_bound = float(info.mip_dual_bound)
    else:
        values = np.zeros(0)
        objective = bound = mip_gap = scaled_bound = 0.0
        status_name = "optimal"
    # Under a budget and without a forecast, the bound is also a proof about coverage: any plan
    # costs at most the budget, so one that leaves U services out has an objective of at most
    # budget + U x penalty, which cannot be below the bound. Hence U >= (bound - budget) / penalty.
    covered_bound = None
    if available is not None and risk is None and math.isfinite(unit):
        fewest_out = 0
        if math.isfinite(scaled_bound):
            fewest_out = max(0, math.ceil((scaled_bound - available * money_scale) / unit - 1e-6))
        covered_bound = len(coverable) - fewest_out

    def integer(column: int) -> int:
        return round(float(values[column]))

    active = frozenset(key for key, c in b_col.items() if integer(c) == 1)
    extra = {key: integer(c) for key, c in m_col.items() if integer(c) > 0 and key in active}
    nodes = frozenset(site for site, c in y_col.items() if integer(c) == 1)
    uncovered = {d.service_id for d in problem.critical if d.service_id not in coverable_ids}
    uncovered |= {sid for sid, c in u_col.items() if integer(c) == 1}
    flows: dict[SitePair, dict[Route, float]] = {}
    for pair, cols in route_cols.items():
        members = [d for d in groups[pair] if d.service_id in coverable_ids]
        pair_demand = sum(d.key_rate_bps for d in members if d.service_id not in uncovered)
        raw = {route: max(0.0, float(values[c])) * pair_total[pair] for route, c in cols}
        carried = sum(raw.values())
        if pair_demand <= 0.0 or carried <= 0.0:
            continue
        # Rescale to the exact demand so that solver tolerances do not leak into the plan.
        flows[pair] = {
            route: rate * pair_demand / carried
            for route, rate in raw.items()
            if rate * pair_demand / carried > _FLOW_EPSILON_BPS
        }
    report = SolverReport(
        method="milp-highs",
        status=status_name,
        objective=objective,
        bound=bound,
        gap=mip_gap,
        seconds=time.perf_counter() - started,
        columns=len(columns.cost),
        rows=len(rows.lower),
        integer_columns=sum(columns.integer),
        covered_bound=covered_bound,
    )
    return Decisions(
        active_segments=active,
        extra_pairs=extra,
        trusted_nodes=nodes,
        flows=flows,
        uncovered=frozenset(uncovered),
        solver=report,
    )


def _set_start(
    highs: highspy.Highs,
    count: int,
    start: Decisions,
    b_col: dict[str, int],
    m_col: dict[str, int],
    y_col: dict[str, int],
    u_col: dict[str, int],
    route_cols: dict[SitePair, list[tuple[Route, int]]],
    pair_total: dict[SitePair, float],
) -> None:
    """Offer a previous plan as the starting solution (it stays feasible: only routes were added)."""
    values = np.zeros(count, dtype=np.float64)
    for key, column in b_col.items():
        values[column] = 1.0 if key in start.active_segments else 0.0
    for key, column in m_col.items():
        values[column] = float(start.extra_pairs.get(key, 0))
    for site, column in y_col.items():
        values[column] = 1.0 if site in start.trusted_nodes else 0.0
    for service, column in u_col.items():
        values[column] = 1.0 if service in start.uncovered else 0.0
    for pair, cols in route_cols.items():
        flows = start.flows.get(pair, {})
        for route, column in cols:
            values[column] = min(1.0, flows.get(route, 0.0) / pair_total[pair])
    solution = highspy.HighsSolution()
    solution.col_value = values.tolist()
    solution.value_valid = True
    highs.setSolution(solution)


def _pass_model(highs: highspy.Highs, columns: _Columns, rows: _Rows) -> None:
    lp = highspy.HighsLp()
    lp.num_col_ = len(columns.cost)
    lp.num_row_ = len(rows.lower)
    lp.col_cost_ = np.asarray(columns.cost, dtype=np.float64)
    lp.col_lower_ = np.asarray(columns.lower, dtype=np.float64)
    lp.col_upper_ = np.asarray(columns.upper, dtype=np.float64)
    lp.row_lower_ = np.asarray(rows.lower, dtype=np.float64)
    lp.row_upper_ = np.asarray(rows.upper, dtype=np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = lp.num_col_
    lp.a_matrix_.num_row_ = lp.num_row_
    lp.a_matrix_.start_ = np.asarray(rows.start, dtype=np.int32)
    lp.a_matrix_.index_ = np.asarray(rows.index, dtype=np.int32)
    lp.a_matrix_.value_ = np.asarray(rows.value, dtype=np.float64)
    lp.integrality_ = [
        highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
        for flag in columns.integer
    ]
    status = highs.passModel(lp)
    if status != highspy.HighsStatus.kOk:
        raise PlanningError(f"the solver rejected the model ({status})")
