"""The plan as a self-contained HTML map (plotly, its JavaScript inlined: works offline).

Sites and links are drawn on plain longitude/latitude axes with the aspect ratio of the city's
latitude, so no tile server or map download is needed. Links are coloured by utilisation (key used
over key rate); candidate links the plan does not build are thin and grey.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import plotly.graph_objects as go
import plotly.io as pio

from qsafecity.network import CityNetwork
from qsafecity.planning import Plan
from qsafecity.planning.sweep import SweepPoint

#: Candidate links by the key rate one device pair would give on them (darker = more key).
_RATE_BANDS = (
    (0.0, 1e5, "#e0e0e0", "key rate < 100 kbit/s"),
    (1e5, 1e6, "#b0b0b0", "key rate 0.1-1 Mbit/s"),
    (1e6, math.inf, "#707070", "key rate > 1 Mbit/s"),
)
#: Links in use by utilisation (key used over key rate).
_BANDS = (
    (0.0, 0.25, "#2b83ba", "used < 25 %"),
    (0.25, 0.5, "#abdda4", "25-50 %"),
    (0.5, 0.75, "#fdae61", "50-75 %"),
    (0.75, math.inf, "#d7191c", "75-100 %"),
)


def plan_figure(plan: Plan, network: CityNetwork) -> go.Figure:
    sites = network.sites_by_id
    figure = go.Figure()

    def line_trace(
        links: list[tuple[str, str]], name: str, color: str, width: float, dash: str
    ) -> None:
        xs: list[float | None] = []
        ys: list[float | None] = []
        for a, b in links:
            xs += [sites[a].location.lon, sites[b].location.lon, None]
            ys += [sites[a].location.lat, sites[b].location.lat, None]
        figure.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name=name,
                hoverinfo="skip",
                line={"color": color, "width": width, "dash": dash},
            )
        )

    candidates = [link for link in plan.links if link.status == "candidate"]
    for low, high, color, label in _RATE_BANDS:
        rate_band = [
            (link.a, link.b)
            for link in candidates
            if low <= network.segment_by_id(link.segment_id).key_rate_bps < high
        ]
        if rate_band:
            line_trace(rate_band, f"candidate, not built: {label}", color, 1.0, "dot")
    unused = [
        (link.a, link.b)
        for link in plan.links
        if link.status == "existing-qkd" and link.used_bps == 0.0
    ]
    if unused:
        line_trace(unused, "existing QKD, unused", "#7b3294", 2.0, "dash")
    in_use = [link for link in plan.links if link.status != "candidate" and link.used_bps > 0.0]
    for low, high, color, label in _BANDS:
        band = [
            link for link in in_use if low <= link.used_bps / max(link.capacity_bps, 1e-12) < high
        ]
        if band:
            line_trace(
                [(link.a, link.b) for link in band], f"QKD link, {label}", color, 4.0, "solid"
            )
    figure.add_trace(
        go.Scatter(
            x=[(sites[link.a].location.lon + sites[link.b].location.lon) / 2 for link in in_use],
            y=[(sites[link.a].location.lat + sites[link.b].location.lat) / 2 for link in in_use],
            mode="markers",
            marker={"size": 6, "color": "rgba(0,0,0,0.3)"},
            name="link details",
            text=[
                f"{link.segment_id}<br>{link.length_km:.1f} km {link.fibre}, {link.status}<br>"
                f"{link.device_pairs} device pair(s), key rate {link.capacity_bps:,.0f} bit/s<br>"
                f"used {link.used_bps:,.1f} bit/s, spare {link.spare_bps:,.0f} bit/s"
                for link in in_use
            ],
            hoverinfo="text",
        )
    )
    nodes = {n.site_id for n in plan.nodes}
    ordinary = [s for s in network.sites if s.id not in nodes]
    figure.add_trace(
        go.Scatter(
            x=[s.location.lon for s in ordinary],
            y=[s.location.lat for s in ordinary],
            mode="markers",
            marker={"size": 7, "color": "#404040"},
            name="sites",
            text=[f"{s.id} ({s.kind.value})<br>{html.escape(s.name)}" for s in ordinary],
            hoverinfo="text",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=[sites[n].location.lon for n in sorted(nodes)],
            y=[sites[n].location.lat for n in sorted(nodes)],
            mode="markers",
            marker={"size": 14, "symbol": "star", "color": "#e66101"},
            name="trusted node (built)",
            text=[f"trusted node {n}" for n in sorted(nodes)],
            hoverinfo="text",
        )
    )
    mean_lat = sum(s.location.lat for s in network.sites) / max(1, len(network.sites))
    figure.update_layout(
        title=f"{plan.city}: QKD network plan",
        xaxis={"title": "longitude", "showgrid": False},
        yaxis={
            "title": "latitude",
            "showgrid": False,
            "scaleanchor": "x",
            "scaleratio": 1.0 / max(0.05, math.cos(math.radians(mean_lat))),
        },
        template="plotly_white",
        height=750,
    )
    return figure


def sweep_figure(points: Sequence[SweepPoint], currency: str) -> go.Figure:
    """Coverage (and, with forecasts, exposure covered) and cost against the budget, one line
    per forecast; without a budget sweep, the forecasts side by side."""
    feasible = [p for p in points if p.feasible]
    names = list(dict.fromkeys(p.forecast for p in feasible))
    budgets = {p.budget for p in feasible}
    by_budget = len(budgets) > 1 or None not in budgets
    figure = go.Figure()
    for name in names:
        mine = [p for p in feasible if p.forecast == name]
        suffix = "" if name is None else f", {name}"
        x: list[object] = [p.budget if by_budget else (p.forecast or "-") for p in mine]
        figure.add_trace(
            go.Scatter(
                x=x,
                y=[p.covered / max(1, p.critical_services) * 100 for p in mine],
                mode="lines+markers",
                name=f"critical services with QKD (%){suffix}",
            )
        )
        if name is not None:
            figure.add_trace(
                go.Scatter(
                    x=x,
                    y=[100 * (p.risk_covered or 0.0) for p in mine],
                    mode="lines+markers",
                    line={"dash": "dot"},
                    name=f"critical exposure covered (%){suffix}",
                )
            )
        figure.add_trace(
            go.Scatter(
                x=x,
                y=[p.total_present_value for p in mine],
                mode="lines+markers",
                line={"dash": "dash"},
                name=f"plan cost ({currency}, PV){suffix}",
                yaxis="y2",
            )
        )
    title = "Coverage and cost across budgets"
    if any(name is not None for name in names):
        title += " and CRQC forecasts"
    figure.update_layout(
        title=title,
        xaxis={"title": f"budget ({currency})" if by_budget else "CRQC forecast (no budget limit)"},
        yaxis={"title": "covered (%)", "range": [0, 105]},
        yaxis2={"title": f"cost ({currency})", "overlaying": "y", "side": "right"},
        template="plotly_white",
    )
    return figure


def _page(title: str, summary: str, figure: go.Figure) -> str:
    body = pio.to_html(figure, include_plotlyjs=True, full_html=False)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<title>{html.escape(title)}</title></head><body style="font-family:sans-serif">'
        f"<h1>{html.escape(title)}</h1>{summary}{body}</body></html>\n"
    )


def plan_html(plan: Plan, network: CityNetwork) -> str:
    """A self-contained HTML page: summary, gaps and the map."""
    c = plan.currency
    items = [
        f"QKD for {plan.coverage.covered} of {plan.coverage.critical_services} critical services",
        f"total {plan.cost.total_present_value:,.0f} {c} (present value, {plan.horizon_years} years)",
        f"state support: interest subsidy {plan.cost.interest_subsidy_present_value:,.0f} {c}, "
        f"trunk access {plan.cost.trunk_access_saving_present_value:,.0f} {c}",
    ]
    if plan.forecast is not None:
        risk = plan.forecast
        items.append(
            f"CRQC forecast {risk.forecast}: {risk.risk_covered:.0%} of the critical services' "
            f"exposure covered; left without QKD and at risk: "
            + (", ".join(risk.uncovered_at_risk) or "none")
        )
    gaps = "".join(
        f"<li><b>{html.escape(g.service_id)}</b> ({html.escape(g.reason)}): "
        f"{html.escape(g.explanation)}. Fix: {html.escape(g.fix)}</li>"
        for g in plan.infeasibilities
    )
    summary = "<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"
    if gaps:
        summary += f"<h2>Critical services without QKD</h2><ul>{gaps}</ul>"
    return _page(f"{plan.city}: QKD network plan", summary, plan_figure(plan, network))


def sweep_html(points: Sequence[SweepPoint], currency: str, city: str) -> str:
    return _page(f"{city}: scenario sweep", "", sweep_figure(points, currency))
