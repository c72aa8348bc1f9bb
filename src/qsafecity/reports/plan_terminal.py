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
    parts: list[Text | Table] = [header, links]
    if plan.nodes:
        parts.append(nodes)
    parts += [costs, subsidies]
    if plan.infeasibilities:
        gaps = Table(
            title="Critical services without QKD (PQC-only fallback)", title_justify="left"
        )
        for column in ("service", "reason", "why", "cheapest fix"):
            gaps.add_column(column, overflow="fold")
        for gap in plan.infeasibilities:
            gaps.add_row(gap.service_id, gap.reason, gap.explanation, gap.fix)
        parts.append(gaps)
    else:
        parts.append(Text("Every critical service gets QKD keys."))
    return Group(*parts)


def render_sweep(points: Sequence[SweepPoint], currency: str) -> Table:
    table = Table(title="Budget sweep", title_justify="left")
    for column in ("budget", "critical covered", "plan cost (PV)", "interest subsidy (PV)", "note"):
        table.add_column(column, justify="left" if column == "note" else "right")
    for point in points:
        table.add_row(
            _money(point.budget, currency),
            f"{point.covered}/{point.critical_services}" if point.feasible else "-",
            _money(point.total_present_value, currency),
            _money(point.interest_subsidy_present_value, currency),
            point.note,
        )
    return table


def print_plan(console: Console, plan: Plan) -> None:
    console.print(render_plan(plan))
