"""The terminal summary of a plan: what to build, cost, coverage, subsidies and gaps."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from qsafecity.planning import Plan
from qsafecity.planning.sweep import SweepPoint


def _money(value: float | None, currency: str) -> str:
    return "-" if value is None else f"{value:,.0f} {currency}"


def _rate(bps: float) -> str:
    if bps >= 1e6:
        return f"{bps / 1e6:,.2f} Mbit/s"
    if bps >= 1e3:
        return f"{bps / 1e3:,.1f} kbit/s"
    return f"{bps:,.1f} bit/s"


def render_plan(plan: Plan) -> Group:
    """Rich renderables summarising ``plan``."""
    c = plan.currency
    cover = plan.coverage
    header = Text(
        f"{plan.city}: QKD for {cover.covered} of {cover.critical_services} critical services, "
        f"{_money(plan.cost.total_present_value, c)} present value over {plan.horizon_years} years"
        + (f" (budget {_money(plan.cost.budget, c)})" if plan.cost.budget is not None else "")
        + f"; links: {plan.key_rate_model} preset, reach {plan.max_distance_km:.0f} km; solver "
        f"{plan.solver.method} {plan.solver.status}"
        + (f", gap {plan.solver.gap:.2%}" if plan.solver.gap is not None else "")
        + (
            f" (proven: no plan covers more than {plan.solver.covered_bound})"
            if plan.solver.covered_bound is not None and plan.solver.covered_bound > cover.covered
            else ""
        )
    )
    links = Table(title="QKD links in the plan", title_justify="left")
    for column in ("link", "km", "fibre", "status", "pairs", "capacity", "used", "capex"):
        links.add_column(column, justify="right" if column in {"km", "pairs", "capex"} else "left")
    for link in plan.links:
        if link.status == "candidate" or (link.status == "existing-qkd" and link.used_bps == 0):
            continue
        links.add_row(
            link.segment_id,
            f"{link.length_km:.1f}",
            link.fibre,
            link.status,
            str(link.device_pairs),
            _rate(link.capacity_bps),
            _rate(link.used_bps),
            _money(link.capex, c),
        )
    nodes = Table(title="Trusted nodes", title_justify="left")
    for column in ("site", "relays", "capex"):
        nodes.add_column(column)
    for node in plan.nodes:
        nodes.add_row(node.site_id, _rate(node.relayed_bps), _money(node.capex, c))
    costs = Table(title="Costs (present values)", title_justify="left", show_header=False)
    costs.add_column("item")
    costs.add_column("amount", justify="right")
    cost = plan.cost
    for label, value in (
        ("QKD links, capital", cost.qkd_links_capex),
        ("trusted nodes, capital", cost.trusted_nodes_capex),
        ("PQC migration (mandatory tiers)", cost.pqc_migration),
        (f"operation over {plan.horizon_years} years", cost.opex_present_value),
        ("total", cost.total_present_value),
        ("budget left", cost.budget_remaining),
        ("state: loan interest subsidy", cost.interest_subsidy_present_value),
        ("state: preferential trunk access", cost.trunk_access_saving_present_value),
    ):
        costs.add_row(label, _money(value, c))
    subsidies = Table(title="Support programme by operator", title_justify="left")
    for column in ("operator", "financed capex", "loan", "interest subsidy (PV)", "note"):
        subsidies.add_column(column)
    for entry in plan.subsidies:
        loan = (
            "-"
            if entry.loan_rate_percent is None
            else f"{entry.loan_rate_percent:g} % / {entry.loan_years} y"
        )
        subsidies.add_row(
            entry.operator_id,
            _money(entry.financed_capex, c),
            loan,
            _money(entry.subsidy_present_value, c),
            entry.note,
        )
    parts: list[Text | Table] = [header]
    if plan.forecast is not None:
        parts.append(_forecast_text(plan))
    parts.append(links)
    if plan.nodes:
        parts.append(nodes)
    parts += [costs, subsidies]
    if plan.infeasibilities:
        gaps = Table(
            title="Critical services without QKD (PQC-only fallback)", title_justify="left"
        )
        with_risk = plan.forecast is not None
        columns = ["service", "reason", "why", "cheapest fix"]
        if with_risk:
            columns[1:1] = ["P(exposed)", "QKD by"]
        for column in columns:
            gaps.add_column(column, overflow="fold")
        by_id = {s.service_id: s for s in plan.services}
        for gap in plan.infeasibilities:
            row = [gap.service_id, gap.reason, gap.explanation, gap.fix]
            if with_risk:
                service = by_id[gap.service_id]
                row[1:1] = [_probability(service.probability_exposed), _year(service.deadline_year)]
            gaps.add_row(*row)
        parts.append(gaps)
    else:
        parts.append(Text("Every critical service gets QKD keys."))
    return Group(*parts)


def _probability(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _year(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _forecast_text(plan: Plan) -> Text:
    risk = plan.forecast
    assert risk is not None
    reach = (
        f"reaches the risk tolerance {risk.tolerance:.0%} in {risk.tolerance_year:.0f}"
        if risk.tolerance_year is not None
        else f"never reaches the risk tolerance {risk.tolerance:.0%}"
    )
    at_risk = (
        f"{len(risk.uncovered_at_risk)} critical services left without QKD are at risk: "
        + ", ".join(risk.uncovered_at_risk)
        if risk.uncovered_at_risk
        else "no critical service left without QKD is at risk"
    )
    return Text(
        f"CRQC forecast {risk.forecast} (high curve, from {risk.now_year}) {reach}; the plan "
        f"covers {risk.risk_covered:.0%} of the critical services' exposure (Mosca); {at_risk}"
    )


def _short_money(value: float | None, currency: str) -> str:
    """Amounts of a sweep table in millions or billions, so that the table fits a terminal."""
    if value is None:
        return "-"
    if abs(value) >= 1e9:
        return f"{value / 1e9:,.2f} bn {currency}"
    if abs(value) >= 1e6:
        return f"{value / 1e6:,.1f} M {currency}"
    return _money(value, currency)


def render_sweep(points: Sequence[SweepPoint], currency: str) -> Table:
    with_forecast = any(point.forecast is not None for point in points)
    title = "Scenario sweep (forecasts x budgets)" if with_forecast else "Budget sweep"
    table = Table(title=title, title_justify="left")
    columns = ["budget", "critical covered", "plan cost (PV)", "interest subsidy (PV)", "note"]
    if with_forecast:
        columns = ["forecast", "budget", "critical covered", "exposure covered"]
        columns += ["at risk without QKD", "plan cost (PV)", "note"]
    for column in columns:
        table.add_column(column, justify="left" if column in {"note", "forecast"} else "right")
    for point in points:
        budget = "no limit" if point.budget is None else _short_money(point.budget, currency)
        covered = f"{point.covered}/{point.critical_services}" if point.feasible else "-"
        cost = _short_money(point.total_present_value, currency)
        if with_forecast:
            at_risk = "-" if point.uncovered_at_risk is None else str(point.uncovered_at_risk)
            table.add_row(
                point.forecast or "-",
                budget,
                covered,
                _probability(point.risk_covered),
                at_risk,
                cost,
                point.note,
            )
        else:
            table.add_row(
                budget,
                covered,
                cost,
                _short_money(point.interest_subsidy_present_value, currency),
                point.note,
            )
    return table


def print_plan(console: Console, plan: Plan) -> None:
    console.print(render_plan(plan))
