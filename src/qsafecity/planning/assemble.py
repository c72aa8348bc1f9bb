"""From a solver's decisions to an explained plan: links, nodes, routes, costs, subsidies, gaps."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from qsafecity.network import (
    CLASSICAL_ALLOWED,
    PQC,
    QKD_AND_PQC,
    Route,
    SitePair,
    route_segments,
    site_pair,
)
from qsafecity.network.graph import minimum_spanning_edges, pairwise_great_circle_km
from qsafecity.planning.forecast import ForecastRisk
from qsafecity.planning.greedy import apply, cheapest_addition, state_from_decisions
from qsafecity.planning.problem import PlanningProblem, bottleneck_capacity_bps, groups_of
from qsafecity.planning.result import (
    CostSummary,
    Coverage,
    Decisions,
    ForecastSummary,
    Infeasibility,
    OperatorSubsidy,
    Plan,
    PlannedLink,
    PlannedNode,
    RouteFlow,
    ServicePlan,
)
from qsafecity.policy.support import annuity

PQC_FALLBACK = "pqc-fallback"


def assemble(
    problem: PlanningProblem,
    decisions: Decisions,
    budget: float | None,
    risk: ForecastRisk | None = None,
) -> Plan:
    """The plan that ``decisions`` describe, with every number a reader needs to check it."""
    network = problem.network
    factor = problem.pv_factor
    used: dict[str, float] = defaultdict(float)
    relayed: dict[str, float] = defaultdict(float)
    for routes in decisions.flows.values():
        for route, rate in routes.items():
            for segment in route_segments(network, route):
                used[segment.id] += rate
            for site in route[1:-1]:
                relayed[site] += rate

    links = []
    link_capex: dict[str, float] = {}
    for segment in network.segments:
        key = segment.id
        active = key in decisions.active_segments
        extra = decisions.extra_pairs.get(key, 0) if active else 0
        if segment.existing_qkd:
            status = "existing-qkd"
            pairs = 1 + extra
            new_pairs = extra
        elif active:
            status = "new-qkd"
            pairs = 1 + extra
            new_pairs = pairs
        else:
            status = "candidate"
            pairs = new_pairs = 0
        activation = problem.activation(segment) if active else None
        capex = (activation.capex if activation else 0.0) + extra * problem.extra_pair().capex
        opex = (
            activation.opex_per_year if activation else 0.0
        ) + extra * problem.extra_pair().opex_per_year
        link_capex[key] = capex
        capacity = pairs * segment.key_rate_bps
        links.append(
            PlannedLink(
                segment_id=key,
                a=segment.a,
                b=segment.b,
                length_km=segment.length_km,
                fibre=segment.kind.value,
                status=status,
                device_pairs=pairs,
                new_device_pairs=new_pairs,
                capacity_bps=capacity,
                used_bps=used.get(key, 0.0),
                spare_bps=max(0.0, capacity - used.get(key, 0.0)),
                capex=capex,
                opex_per_year=opex,
                present_value=capex + opex * factor,
            )
        )

    node_money = problem.trusted_node()
    nodes = tuple(
        PlannedNode(
            site_id=site,
            capex=node_money.capex,
            opex_per_year=node_money.opex_per_year,
            present_value=node_money.present_value(factor),
            relayed_bps=relayed.get(site, 0.0),
        )
        for site in sorted(decisions.trusted_nodes)
    )

    spare = {link.segment_id: link.spare_bps for link in links}
    services, service_routes = _services(problem, decisions, spare, risk)
    infeasibilities = _infeasibilities(problem, decisions)
    subsidies = _subsidies(problem, decisions, link_capex, service_routes)

    links_capex = sum(link.capex for link in links)
    nodes_capex = sum(node.capex for node in nodes)
    opex = sum(link.opex_per_year for link in links) + sum(n.opex_per_year for n in nodes)
    pqc = problem.mandatory_pqc_cost()
    total = links_capex + nodes_capex + opex * factor + pqc
    trunk_saving = sum(
        problem.trunk_saving_per_year(network.segment_by_id(key)) * factor
        for key in decisions.active_segments
        if network.segment_by_id(key).existing_qkd
    )
    cost = CostSummary(
        qkd_links_capex=links_capex,
        trusted_nodes_capex=nodes_capex,
        capex=links_capex + nodes_capex + pqc,
        opex_per_year=opex,
        opex_present_value=opex * factor,
        pqc_migration=pqc,
        total_present_value=total,
        budget=budget,
        budget_remaining=None if budget is None else budget - total,
        interest_subsidy_present_value=sum(s.subsidy_present_value for s in subsidies),
        trunk_access_saving_present_value=trunk_saving,
    )
    critical = problem.critical
    covered = [d for d in critical if d.service_id not in decisions.uncovered]
    coverage = Coverage(
        critical_services=len(critical),
        covered=len(covered),
        critical_key_demand_bps=sum(d.key_rate_bps for d in critical),
        covered_key_demand_bps=sum(d.key_rate_bps for d in covered),
    )
    return Plan(
        city=problem.city_name,
        currency=problem.currency,
        horizon_years=problem.horizon_years,
        discount_rate_percent=problem.discount_rate_percent,
        key_rate_model=network.key_rate_model_name,
        max_distance_km=network.max_distance_km,
        rekey_bits=problem.rekey.key_bits,
        rekey_bytes=problem.rekey.bytes_per_key,
        rekey_seconds=problem.rekey.seconds_per_key,
        costs_used={k: float(v) for k, v in problem.costs.model_dump().items()},
        links=tuple(sorted(links, key=lambda link: link.segment_id)),
        nodes=nodes,
        services=services,
        infeasibilities=infeasibilities,
        cost=cost,
        subsidies=subsidies,
        coverage=coverage,
        solver=decisions.solver,
        forecast=None if risk is None else _forecast_summary(problem, decisions, risk),
    )


def _forecast_summary(
    problem: PlanningProblem, decisions: Decisions, risk: ForecastRisk
) -> ForecastSummary:
    critical = [
        risk.services[d.service_id] for d in problem.critical if d.service_id in risk.services
    ]
    covered = [r for r in critical if r.service_id not in decisions.uncovered]
    return ForecastSummary(
        forecast=risk.forecast,
        now_year=risk.now_year,
        tolerance=risk.tolerance,
        tolerance_year=risk.tolerance_year,
        exposure_critical=sum(r.probability_exposed for r in critical),
        exposure_covered=sum(r.probability_exposed for r in covered),
        uncovered_at_risk=tuple(
            sorted(
                r.service_id for r in critical if r.at_risk and r.service_id in decisions.uncovered
            )
        ),
    )


def _services(
    problem: PlanningProblem,
    decisions: Decisions,
    spare: dict[str, float],
    risk: ForecastRisk | None,
) -> tuple[tuple[ServicePlan, ...], dict[str, list[tuple[Route, float]]]]:
    """Each service's protection and, for covered critical ones, its share of each pair's routes."""
    groups = groups_of(problem)
    service_routes: dict[str, list[tuple[Route, float]]] = defaultdict(list)
    for pair, routes in decisions.flows.items():
        members = [d for d in groups.get(pair, []) if d.service_id not in decisions.uncovered]
        total = sum(d.key_rate_bps for d in members)
        for demand in members:
            share = demand.key_rate_bps / total if total > 0 else 0.0
            for route, rate in sorted(routes.items()):
                service_routes[demand.service_id].append((route, rate * share))
    plans = []
    for demand in problem.demands:
        if demand.protection == QKD_AND_PQC:
            given = PQC_FALLBACK if demand.service_id in decisions.uncovered else QKD_AND_PQC
        else:
            given = PQC if demand.protection == PQC else CLASSICAL_ALLOWED
        plans.append(
            ServicePlan(
                service_id=demand.service_id,
                operator_id=demand.operator_id,
                tier=demand.tier.value,
                required_protection=demand.protection,
                protection=given,
                key_rate_bps=demand.key_rate_bps,
                routes=tuple(
                    RouteFlow(
                        sites=route,
                        rate_bps=rate,
                        spare_bps=min(
                            spare[segment.id] for segment in route_segments(problem.network, route)
                        ),
                    )
                    for route, rate in service_routes.get(demand.service_id, [])
                ),
                **_risk_fields(risk, demand.service_id),
            )
        )
    return tuple(sorted(plans, key=lambda p: p.service_id)), service_routes


def _risk_fields(risk: ForecastRisk | None, service_id: str) -> dict[str, Any]:
    found = None if risk is None else risk.services.get(service_id)
    if found is None:
        return {}
    return {
        "probability_exposed": found.probability_exposed,
        "deadline_year": found.deadline_year,
        "start_by_year": found.start_by_year,
        "at_risk": found.at_risk,
    }


def _infeasibilities(problem: PlanningProblem, decisions: Decisions) -> tuple[Infeasibility, ...]:
    found = []
    state = state_from_decisions(problem, decisions)
    for demand in sorted(problem.critical, key=lambda d: d.service_id):
        if demand.service_id not in decisions.uncovered:
            continue
        sid = demand.service_id
        if not demand.site_pairs:
            found.append(
                Infeasibility(
                    sid,
                    "physics",
                    "all its endpoints are one site, so there is no link to put QKD on",
                    "protect it with PQC; QKD protects links between sites",
                    None,
                )
            )
            continue
        unroutable = [p for p in demand.site_pairs if not problem.routes.get(site_pair(*p))]
        if unroutable:
            a, b = unroutable[0]
            found.append(_physics(problem, sid, a, b))
            continue
        short = [
            p
            for p in demand.site_pairs
            if sum(bottleneck_capacity_bps(problem, r) for r in problem.routes[site_pair(*p)])
            < demand.key_rate_bps
        ]
        if short:
            a, b = short[0]
            best = max(bottleneck_capacity_bps(problem, r) for r in problem.routes[site_pair(a, b)])
            found.append(
                Infeasibility(
                    sid,
                    "capacity",
                    f"it needs {demand.key_rate_bps:,.0f} bit/s of key between {a} and {b}, but "
                    f"its routes together carry at most the rate of "
                    f"{problem.max_pairs()} device pairs per segment (best route "
                    f"{best:,.0f} bit/s)",
                    "rekey less often (a larger --rekey-mb), allow more device pairs per segment, "
                    "or shorten the links with trusted nodes",
                    None,
                )
            )
            continue
        trial = state.copy()
        total = 0.0
        parts: list[str] = []
        for a, b in demand.site_pairs:
            addition = cheapest_addition(problem, trial, a, b, demand.key_rate_bps)
            if addition is None:
                total = math.inf
                break
            apply(problem, trial, addition, demand.key_rate_bps)
            total += addition.cost
            if addition.new_links:
                parts.append(f"QKD links {', '.join(addition.new_links)}")
            if addition.new_pairs:
                parts.append(
                    "more device pairs on "
                    + ", ".join(f"{k} (+{n})" for k, n in sorted(addition.new_pairs.items()))
                )
            if addition.new_nodes:
                parts.append(f"trusted nodes at {', '.join(addition.new_nodes)}")
        what = "; ".join(parts) if parts else "spare key rate on links already planned"
        found.append(
            Infeasibility(
                sid,
                "budget",
                "a route exists but the budget does not cover it; the service falls back to "
                "PQC only, so its traffic lacks the QKD layer its tier requires",
                f"raise the budget by about {total:,.0f} {problem.currency} (present value over "
                f"{problem.horizon_years} years) to build: {what}",
                None if math.isinf(total) else total,
            )
        )
    return tuple(found)


def _physics(problem: PlanningProblem, service_id: str, a: str, b: str) -> Infeasibility:
    """Explain a pair no chain of QKD links can join: the smallest possible longest hop."""
    network = problem.network
    by_id = network.sites_by_id
    members = sorted(network.relay_sites | {a, b})
    sites = tuple(by_id[s] for s in members)
    distance = pairwise_great_circle_km(sites) * network.route_factor
    tree = minimum_spanning_edges(distance)
    adjacency: dict[int, list[int]] = defaultdict(list)
    for i, j in tree:
        adjacency[i].append(j)
        adjacency[j].append(i)
    start, goal = members.index(a), members.index(b)
    parent = {start: start}
    frontier = [start]
    while frontier:
        node = frontier.pop()
        for nxt in adjacency[node]:
            if nxt not in parent:
                parent[nxt] = node
                frontier.append(nxt)
    hops = []
    node = goal
    while node != start:
        hops.append((parent[node], node))
        node = parent[node]
    i, j = max(hops, key=lambda hop: float(distance[hop]))
    hop_km = float(distance[i, j])
    reach = network.max_distance_km
    p, q = sites[i], sites[j]
    if hop_km > reach:
        middle_lat = float(np.mean([p.location.lat, q.location.lat]))
        middle_lon = float(np.mean([p.location.lon, q.location.lon]))
        relays_needed = int(hop_km // reach)
        fix = (
            f"add {relays_needed} trusted-node site(s) between {p.id} and {q.id} (the first near "
            f"lat {middle_lat:.4f}, lon {middle_lon:.4f}) so that no hop exceeds {reach:.0f} km, "
            f"or use a QKD system with a longer reach"
        )
        cost = relays_needed * problem.trusted_node().present_value(problem.pv_factor)
        explanation = (
            f"no chain of QKD links joins {a} and {b}: even through every site that can host a "
            f"trusted node, one hop ({p.id}-{q.id}, about {hop_km:.0f} km of fibre) exceeds the "
            f"{reach:.0f} km reach of the {network.key_rate_model_name} link model"
        )
    else:
        fix = (
            f"lay fibre between {p.id} and {q.id} (about {hop_km:.1f} km), which the candidate "
            f"set did not include, or make the sites on the way able to host trusted nodes"
        )
        cost = problem.costs.new_fibre_per_km * hop_km
        explanation = (
            f"no route of existing or candidate fibre joins {a} and {b} through sites that can "
            f"host a trusted node"
        )
    return Infeasibility(service_id, "physics", explanation, fix, cost)


def _subsidies(
    problem: PlanningProblem,
    decisions: Decisions,
    link_capex: dict[str, float],
    service_routes: dict[str, list[tuple[Route, float]]],
) -> tuple[OperatorSubsidy, ...]:
    """Attribute new capital cost to operators by their share of the key each element carries;
    contractors with loan terms get the interest subsidy of the support programme."""
    network = problem.network
    operator_of = {d.service_id: d.operator_id for d in problem.demands}
    share_on: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for service_id, routes in service_routes.items():
        operator = operator_of[service_id]
        for route, rate in routes:
            for segment in route_segments(network, route):
                share_on[segment.id][operator] += rate
            for site in route[1:-1]:
                share_on["node:" + site][operator] += rate
    financed: dict[str, float] = defaultdict(float)
    node_capex = problem.trusted_node().capex
    elements = [(key, capex) for key, capex in link_capex.items() if capex > 0.0]
    elements += [("node:" + site, node_capex) for site in decisions.trusted_nodes]
    for key, capex in elements:
        shares = share_on.get(key, {})
        carried = sum(shares.values())
        for operator, rate in shares.items():
            financed[operator] += capex * rate / carried if carried > 0 else 0.0
    result = []
    for operator in sorted(financed):
        principal = financed[operator]
        loan = problem.loans.get(operator)
        if loan is None:
            note = "municipal: paid from the city budget, no loan"
            result.append(OperatorSubsidy(operator, principal, None, None, 0.0, 0.0, note))
            continue
        loan_schedule = annuity(
            principal,
            loan.loan_rate_percent,
            loan.loan_years,
            discount_rate_percent=problem.discount_rate_percent,
        )
        note = "interest fully subsidised"
        if loan.assumed:
            note += " (no finance in the manifest: the programme's default terms assumed)"
        result.append(
            OperatorSubsidy(
                operator,
                principal,
                loan.loan_rate_percent,
                loan.loan_years,
                loan_schedule.total_interest,
                loan_schedule.interest_present_value,
                note,
            )
        )
    return tuple(result)


__all__ = ["PQC_FALLBACK", "SitePair", "assemble"]
