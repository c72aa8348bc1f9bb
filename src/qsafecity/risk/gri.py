"""The Global Risk Institute's CRQC forecasts, shipped as data (REFERENCE.md §3).

A copy of ``shared/data/crqc_forecast_gri.csv`` (a test checks that the two agree), kept in code so
that the pure core needs no file access to know its default forecast.
"""

from __future__ import annotations

from typing import Final

from qsafecity.risk.forecasts import CRQCForecast, parse_gri_csv

GRI_CSV: Final = """\
report,experts,horizon_years,probability_pessimistic,probability_optimistic
gri-2024,32,5,0.05,0.14
gri-2024,32,10,0.19,0.34
gri-2024,32,15,0.39,0.62
gri-2024,32,20,0.60,0.82
gri-2024,32,30,0.77,0.92
gri-2025,26,5,0.05,0.15
gri-2025,26,10,0.28,0.49
gri-2025,26,15,0.51,0.70
gri-2025,26,20,0.69,0.86
gri-2025,26,30,0.81,0.93
"""

_SHIPPED: Final = parse_gri_csv(GRI_CSV)

#: Names of the forecasts shipped with qsafecity.
SHIPPED_FORECASTS: Final = tuple(sorted(_SHIPPED))


def shipped_forecast(name: str) -> CRQCForecast:
    """A shipped forecast by name (``gri-2024``, ``gri-2025``); ``KeyError`` if unknown."""
    return _SHIPPED[name.strip().lower()]
