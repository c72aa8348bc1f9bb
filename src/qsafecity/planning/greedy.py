"""Incremental cheapest routes: the greedy baseline, and the cheapest fix for an uncovered service.

Given what a plan has built, the cheapest way to carry one more demand between two sites is a
shortest path whose edge weights are the *incremental* present-value cost of the capacity needed
(nothing where spare key rate suffices, more device pairs or a new link otherwise) and whose node
weights are the trusted nodes still to build. The greedy baseline adds critical services one by one
(largest key demand first) along such paths while the budget lasts; it is what a planner without an
optimiser would do, and the benchmark's baseline.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from qsafecity.errors import InputError
from qsafecity.network import Route, SitePair, route_segments, site_pair
from qsafecity.planning.forecast import ForecastRisk
from qsafecity.planning.problem import PlanningProblem
from qsafecity.planning.result import Decisions, SolverReport


@dataclass
class PlanState:
    """What is built and how much of each link's key rate is used (mutable working state).

    ``arrays`` mirrors it as numpy arrays over the problem's QKD-feasible segments and sites, kept
    up to date by ``apply`` so that each search costs no Python loop over the whole plan.
    """

    active: set[str] = field(default_factory=set)
    extra: dict[str, int] = field(default_factory=dict)
    nodes: set[str] = field(default_factory=set)
    used_bps: dict[str, float] = field(default_factory=dict)
    _arrays: _StateArrays | None = None

    def copy(self) -> PlanState:
        arrays = None if self._arrays is None else self._arrays.copy()
        return PlanState(
            set(self.active), dict(self.extra), set(self.nodes), dict(self.used_bps), arrays
        )

    def arrays(self, problem: PlanningProblem) -> _StateArrays:
        if self._arrays is None:
            position = problem.segment_positions
            index = problem.relay_graph.index
            count = len(position)
            arrays = _StateArrays(
                np.zeros(count, dtype=bool),
                np.zeros(count),
                np.zeros(count),
                np.zeros(len(index), dtype=bool),
            )
            for key in self.active:
                if key in position:
                    arrays.active[position[key]] = True
            for key, more in self.extra.items():
                if key in position:
                    arrays.extra[position[key]] = more
            for key, rate in self.used_bps.items():
                if key in position:
                    arrays.used[position[key]] = rate
            for site in self.nodes:
                if site in index:
                    arrays.nodes[index[site]] = True
            self._arrays = arrays
        return self._arrays


@dataclass(frozen=True, slots=True)
class _StateArrays:
    active: npt.NDArray[np.bool_]
    extra: npt.NDArray[np.float64]
    used: npt.NDArray[np.float64]
    nodes: npt.NDArray[np.bool_]

    def copy(self) -> _StateArrays:
        return _StateArrays(
            self.active.copy(), self.extra.copy(), self.used.copy(), self.nodes.copy()
        )


def state_from_decisions(problem: PlanningProblem, decisions: Decisions) -> PlanState:
    state = PlanState(
        set(decisions.active_segments), dict(decisions.extra_pairs), set(decisions.trusted_nodes)
    )
    for routes in decisions.flows.values():
        for route, rate in routes.items():
            for segment in route_segments(problem.network, route):
                state.used_bps[segment.id] = state.used_bps.get(segment.id, 0.0) + rate
    return state


@dataclass(frozen=True, slots=True)
class Addition:
    """The cheapest way to carry ``demand_bps`` more between two sites, given a state."""

    route: Route
    cost: float
    new_links: tuple[str, ...]
    new_pairs: dict[str, int]
    new_nodes: tuple[str, ...]


def cheapest_addition(
    problem: PlanningProblem, state: PlanState, source: str, target: str, demand_bps: float
) -> Addition | None:
    """The least-cost route for ``demand_bps`` more between two sites, or None if none exists.

    One Dijkstra search on the split relay graph (``qsafecity.network.paths``) whose arc weights
    are the incremental costs, computed for every segment at once with numpy.
    """
    network = problem.network
    fast = problem.relay_graph
    if source not in fast.index or target not in fast.index or source == target:
        return None
    factor = problem.pv_factor
    node_cost = problem.trusted_node().present_value(factor)
    extra_cost = problem.extra_pair().present_value(factor)
    position = problem.segment_positions
    rate = problem.segment_rates
    arrays = state.arrays(problem)
    active, extra, used = arrays.active, arrays.extra, arrays.used
    pairs_now = np.where(active, 1.0 + extra, 0.0)
    spare = pairs_now * rate - used
    enough = spare >= demand_bps * (1.0 - 1e-12)
    more = np.where(enough, 0.0, np.ceil((demand_bps - spare) / rate - 1e-12))
    usable = pairs_now + more <= problem.max_pairs()
    new = ~active & ~enough
    cost = np.where(new, problem.activation_present_values + extra_cost * (more - 1.0), 0.0)
    cost = np.where(new, cost, extra_cost * more)
    relay_cost = np.where(arrays.nodes, 0.0, node_cost)
    # A tiny cost per hop breaks ties towards fewer hops (and keeps zero-cost arcs distinct).
    tie = 1e-9 * max(1.0, extra_cost)
    matrix = fast.matrix(cost + tie, relay_cost + tie, usable)
    trees = fast.trees(matrix, [source])
    route = fast.route(trees[source], source, target)
    if route is None:
        return None
    new_links: list[str] = []
    new_pairs: dict[str, int] = {}
    total = 0.0
    for segment in route_segments(network, route):
        i = position[segment.id]
        added = int(more[i])
        total += float(cost[i])
        if new[i]:
            new_links.append(segment.id)
            added -= 1
        if added:
            new_pairs[segment.id] = added
    new_nodes = tuple(site for site in route[1:-1] if site not in state.nodes)
    total += node_cost * len(new_nodes)
    return Addition(route, total, tuple(new_links), new_pairs, new_nodes)


def apply(
    problem: PlanningProblem, state: PlanState, addition: Addition, demand_bps: float
) -> None:
    arrays = state.arrays(problem)
    position = problem.segment_positions
    index = problem.relay_graph.index
    state.active.update(addition.new_links)
    for key in addition.new_links:
        arrays.active[position[key]] = True
    for key, more in addition.new_pairs.items():
        state.extra[key] = state.extra.get(key, 0) + more
        arrays.extra[position[key]] += more
    state.nodes.update(addition.new_nodes)
    for site in addition.new_nodes:
        arrays.nodes[index[site]] = True
    for segment in route_segments(problem.network, addition.route):
        state.used_bps[segment.id] = state.used_bps.get(segment.id, 0.0) + demand_bps
        arrays.used[position[segment.id]] += demand_bps


def solve_greedy(
    problem: PlanningProblem, budget: float | None, *, risk: ForecastRisk | None = None
) -> Decisions:
    """The baseline: critical services one by one, cheapest route each: largest key demand first
    or, with a forecast, the most exposed first (``qsafecity.planning.forecast``)."""
    started = time.perf_counter()
    remaining = math.inf if budget is None else budget - problem.mandatory_pqc_cost()
    if remaining < 0.0:
        raise InputError(
            f"the budget {budget:,.0f} {problem.currency} is below the mandatory PQC migration "
            f"({problem.mandatory_pqc_cost():,.0f}); raise it by at least {-remaining:,.0f}"
        )
    state = PlanState()
    flows: dict[SitePair, dict[Route, float]] = {}
    uncovered: set[str] = set()
    spent = 0.0
    order = sorted(
        problem.critical,
        key=lambda d: (
            0.0 if risk is None else -risk.weight(d.service_id),
            -d.key_rate_bps,
            d.service_id,
        ),
    )
    for demand in order:
        if not demand.site_pairs:
            uncovered.add(demand.service_id)
            continue
        trial = state.copy()
        cost = 0.0
        chosen: list[tuple[SitePair, Route]] = []
        for a, b in demand.site_pairs:
            addition = cheapest_addition(problem, trial, a, b, demand.key_rate_bps)
            if addition is None:
                break
            apply(problem, trial, addition, demand.key_rate_bps)
            cost += addition.cost
            pair = site_pair(a, b)
            route = addition.route if addition.route[0] == pair[0] else addition.route[::-1]
            chosen.append((pair, route))
        else:
            if cost <= remaining + 1e-9 * max(1.0, abs(remaining)):
                state = trial
                remaining -= cost
                spent += cost
                for pair, route in chosen:
                    routes = flows.setdefault(pair, {})
                    routes[route] = routes.get(route, 0.0) + demand.key_rate_bps
                continue
        uncovered.add(demand.service_id)
    report = SolverReport(
        method="greedy",
        status="heuristic",
        objective=spent,
        bound=None,
        gap=None,
        seconds=time.perf_counter() - started,
    )
    return Decisions(
        active_segments=frozenset(state.active),
        extra_pairs={k: v for k, v in state.extra.items() if v > 0},
        trusted_nodes=frozenset(state.nodes),
        flows=flows,
        uncovered=frozenset(uncovered),
        solver=report,
    )
