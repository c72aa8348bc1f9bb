"""Reports: a stable, documented JSON document; an HTML page that opens offline; a terminal view."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from rich.console import Console

from qsafecity.assessment import assess
from qsafecity.manifests import load_city
from qsafecity.reports import (
    AssessmentDocument,
    json_schema,
    render_html,
    render_json,
    render_terminal,
)

ROOT = Path(__file__).resolve().parents[2]
RESULT = assess(load_city(), now_year=2026)


def test_json_is_stable_and_valid_against_its_models() -> None:
    first, second = render_json(RESULT), render_json(assess(load_city(), now_year=2026))
    assert first == second
    document = AssessmentDocument.model_validate_json(first)
    assert document.schema_version == 1
    service = document.services[0]
    for key in (
        "id",
        "tier",
        "tier_reason",
        "overridden",
        "required_protection",
        "compliant",
        "findings",
    ):
        assert key in service.model_dump()
    risk = json.loads(first)["services"][0]["quantum_risk"]
    assert {"probability_exposed", "slack_years", "at_risk"} <= set(risk)


def test_documented_schema_is_current() -> None:
    documented = (ROOT / "docs" / "assessment.schema.json").read_text()
    assert documented == json_schema(), (
        "regenerate with: qsafecity assess --schema > docs/assessment.schema.json"
    )


def test_html_is_self_contained() -> None:
    html = render_html(RESULT)
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script[^>]+src=", html), "no external scripts"
    assert not re.search(r"<link[^>]+href=\"https?:", html), "no external stylesheets"
    for div in ("risk-over-time", "tiers", "findings"):
        assert f'id="{div}"' in html
    assert "Voronezh" in html
    assert "emergency-dispatch-112" in html
    assert "Migration backlog" in html
    assert "start by" in html


def test_html_escapes_hostile_names() -> None:
    city = load_city()
    hostile = city.model_copy(
        update={"city": city.city.model_copy(update={"name": "<script>alert(1)</script>"})}
    )
    html = render_html(assess(hostile, now_year=2026))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_terminal_view() -> None:
    buffer = io.StringIO()
    render_terminal(RESULT, Console(file=buffer, width=200, color_system=None))
    text = buffer.getvalue()
    assert "qsafecity assessment" in text
    assert "critical: requires qkd+pqc" in text
    assert "medical-drones *" in text
    assert "CONTRACT-MISSING" in text
