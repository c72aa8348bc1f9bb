"""Incremental cheapest routes: the greedy baseline, and the cheapest fix for an uncovered service.

Given what a plan has built, the cheapest way to carry one more demand between two sites is a
shortest path whose edge weights are the *incremental* present-value cost of the capacity needed
(nothing where spare key rate suffices, more device pairs or a new link otherwise) and whose node
weights are the trusted nodes still to build. The greedy baseline adds critical services one by one
(largest key demand first) along such paths while the budget lasts; it is what a planner without an
optimiser would do, and the benchmark's baseline.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from qsafecity.errors import InputError
from qsafecity.network import Route, SitePair, route_segments, site_pair
from qsafecity.planning.problem import PlanningProblem
from qsafecity.planning.result import Decisions, SolverReport


@dataclass
class PlanState:
    """What is built and how much of each link's key rate is used (mutable working state)."""

    active: set[str] = field(default_factory=set)
    extra: dict[str, int] = field(default_factory=dict)
    nodes: set[str] = field(default_factory=set)
    used_bps: dict[str, float] = field(default_factory=dict)

    def copy(self) -> PlanState:
        return PlanState(set(self.active), dict(self.extra), set(self.nodes), dict(self.used_bps))


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


def _pairs_needed(
    problem: PlanningProblem, state: PlanState, key: str, rate_bps: float, demand_bps: float
) -> tuple[int, bool] | None:
    """(device pairs to add, whether the link itself is new) or None when it cannot carry it."""
    active = key in state.active
    pairs_now = (1 + state.extra.get(key, 0)) if active else 0
    spare = pairs_now * rate_bps - state.used_bps.get(key, 0.0)
    if spare >= demand_bps * (1.0 - 1e-12):
        return (0, False)
    more = math.ceil((demand_bps - spare) / rate_bps - 1e-12)
    if pairs_now + more > problem.max_pairs():
        return None
    return (more, not active)


def cheapest_addition(
    problem: PlanningProblem, state: PlanState, source: str, target: str, demand_bps: float
) -> Addition | None:
    """The least-cost route for ``demand_bps`` more between two sites, or None if none exists."""
    network = problem.network
    factor = problem.pv_factor
    node_cost = problem.trusted_node().present_value(factor)
    extra_cost = problem.extra_pair().present_value(factor)
    relay = network.relay_sites

    def weight(u: str, v: str, data: dict[str, Any]) -> float | None:
        if u != source and u not in relay:
            return None
        if v != target and v not in relay:
            return None
        segment = data["segment"]
        need = _pairs_needed(problem, state, segment.id, segment.key_rate_bps, demand_bps)
        if need is None:
            return None
        more, new = need
        cost = 0.0
        if new:
            cost += problem.activation(segment).present_value(factor) + extra_cost * (more - 1)
        else:
            cost += extra_cost * more
        if v != target and v not in state.nodes:
            cost += node_cost
        return cost

    try:
        path = nx.dijkstra_path(network.qkd_graph, source, target, weight=weight)
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        return None
    route = tuple(path)
    new_links: list[str] = []
    new_pairs: dict[str, int] = {}
    for segment in route_segments(network, route):
        need = _pairs_needed(problem, state, segment.id, segment.key_rate_bps, demand_bps)
        assert need is not None  # the path only uses segments that can carry it
        more, new = need
        if new:
            new_links.append(segment.id)
            more -= 1
        if more:
            new_pairs[segment.id] = more
    new_nodes = tuple(site for site in route[1:-1] if site not in state.nodes)
    cost = sum(
        weight(u, v, network.qkd_graph.edges[u, v]) or 0.0 for u, v in itertools.pairwise(route)
    )
    return Addition(route, cost, tuple(new_links), new_pairs, new_nodes)


def apply(
    problem: PlanningProblem, state: PlanState, addition: Addition, demand_bps: float
) -> None:
    state.active.update(addition.new_links)
    for key, more in addition.new_pairs.items():
        state.extra[key] = state.extra.get(key, 0) + more
    state.nodes.update(addition.new_nodes)
    for segment in route_segments(problem.network, addition.route):
        state.used_bps[segment.id] = state.used_bps.get(segment.id, 0.0) + demand_bps


def solve_greedy(problem: PlanningProblem, budget: float | None) -> Decisions:
    """The baseline: critical services one by one, largest key demand first, cheapest route each."""
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
    order = sorted(problem.critical, key=lambda d: (-d.key_rate_bps, d.service_id))
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
