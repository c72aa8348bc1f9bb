"""The self-contained HTML report of an assessment (opens offline: plotly's JavaScript is inlined).

Charts: mean exposure of data sent each year per tier if services migrate as planned, with the
CRQC forecast; services per tier, compliant or not; findings by severity. Then every service with
its findings, every operator with its contract findings and subsidy, and the migration backlog
(``qsafecity.inventory.backlog``: what to change, start by, due, in order).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import plotly.graph_objects as go
from jinja2 import Environment, PackageLoader, select_autoescape
from plotly.offline import get_plotlyjs

from qsafecity.assessment import CityAssessment
from qsafecity.city.vocabulary import Tier
from qsafecity.inventory.backlog import migration_backlog
from qsafecity.policy import Severity
from qsafecity.reports.json_document import build_document

_TIER_COLOURS = {
    Tier.CRITICAL: "#c0392b",
    Tier.ESPECIALLY_IMPORTANT: "#e67e22",
    Tier.IMPORTANT: "#2980b9",
}
_SEVERITY_COLOURS = {
    Severity.CRITICAL: "#8e0000",
    Severity.HIGH: "#d32f2f",
    Severity.MEDIUM: "#f9a825",
    Severity.LOW: "#4fc3f7",
    Severity.INFO: "#9e9e9e",
}


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("qsafecity.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _figure_html(figure: go.Figure, div_id: str) -> str:
    figure.update_layout(
        margin={"l": 50, "r": 20, "t": 50, "b": 40}, height=380, template="plotly_white"
    )
    html: str = figure.to_html(
        full_html=False, include_plotlyjs=False, div_id=div_id, config={"displaylogo": False}
    )
    return html


def risk_over_time_figure(result: CityAssessment) -> go.Figure:
    timeline = result.risk_over_time
    figure = go.Figure()
    for tier in Tier:
        colour = _TIER_COLOURS[tier]
        figure.add_scatter(
            x=timeline.years,
            y=timeline.by_tier_high[tier],
            name=f"{tier.value} (high bound)",
            line={"color": colour, "width": 3},
        )
        figure.add_scatter(
            x=timeline.years,
            y=timeline.by_tier_low[tier],
            name=f"{tier.value} (low bound)",
            line={"color": colour, "dash": "dot"},
        )
    figure.add_scatter(
        x=timeline.years,
        y=timeline.crqc_high,
        name="P(CRQC by year), high",
        line={"color": "#555", "dash": "dash"},
    )
    figure.add_scatter(
        x=timeline.years,
        y=timeline.crqc_low,
        name="P(CRQC by year), low",
        line={"color": "#aaa", "dash": "dash"},
    )
    figure.update_layout(
        title="Risk over time: mean P(data sent that year is decrypted within its shelf life)",
        xaxis_title="year data is sent",
        yaxis_title="probability",
        yaxis_range=[0, 1],
    )
    return figure


def tiers_figure(result: CityAssessment) -> go.Figure:
    by_tier, compliant = result.services_by_tier(), result.compliant_by_tier()
    names = [t.value for t in Tier]
    figure = go.Figure()
    figure.add_bar(
        x=names, y=[compliant[t] for t in Tier], name="compliant", marker_color="#43a047"
    )
    figure.add_bar(
        x=names,
        y=[by_tier[t] - compliant[t] for t in Tier],
        name="not compliant",
        marker_color="#e53935",
    )
    figure.update_layout(barmode="stack", title="Services per tier", yaxis_title="services")
    return figure


def findings_figure(result: CityAssessment) -> go.Figure:
    counts = result.findings_by_severity()
    order = list(reversed(Severity))
    figure = go.Figure()
    figure.add_bar(
        x=[s.value for s in order],
        y=[counts[s] for s in order],
        marker_color=[_SEVERITY_COLOURS[s] for s in order],
    )
    figure.update_layout(title="Findings by severity", yaxis_title="findings", showlegend=False)
    return figure


def render_html(result: CityAssessment) -> str:
    """The whole report as one HTML page with inlined JavaScript (no network needed)."""
    document = build_document(result)
    context: dict[str, Any] = {
        "doc": document,
        "plotly_js": get_plotlyjs(),
        "charts": [
            _figure_html(risk_over_time_figure(result), "risk-over-time"),
            _figure_html(tiers_figure(result), "tiers"),
            _figure_html(findings_figure(result), "findings"),
        ],
        "tiers": [t.value for t in Tier],
        "backlog": migration_backlog(result).as_data(),
        "severity_colours": {s.value: c for s, c in _SEVERITY_COLOURS.items()},
    }
    return _environment().get_template("assessment.html.j2").render(**context)
