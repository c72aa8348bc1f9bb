"""Renderings of an assessment for people and machines: terminal tables, JSON, HTML with charts."""

from qsafecity.reports.html import render_html
from qsafecity.reports.json_document import (
    AssessmentDocument,
    build_document,
    json_schema,
    render_json,
)
from qsafecity.reports.terminal import render_terminal

__all__ = [
    "AssessmentDocument",
    "build_document",
    "json_schema",
    "render_html",
    "render_json",
    "render_terminal",
]
