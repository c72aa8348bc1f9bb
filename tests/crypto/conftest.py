"""Prints how many official vectors the crypto tests checked, per source."""

from __future__ import annotations

import pytest

from .vectors import TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY:
        return
    total = sum(TALLY.values())
    terminalreporter.write_sep("-", f"crypto: {total} official test vectors checked")
    for source, count in sorted(TALLY.items()):
        terminalreporter.write_line(f"  {count:5d}  {source}")
