"""Quantum risk (pure): CRQC forecasts as distributions and Mosca exposure, vectorised with numpy."""

from qsafecity.risk.forecasts import (
    CRQCForecast,
    forecast_from_table,
    parse_forecast_csv,
    parse_gri_csv,
)
from qsafecity.risk.gri import SHIPPED_FORECASTS, shipped_forecast
from qsafecity.risk.mosca import BOUNDS, Exposure, exposure, exposure_over_time

__all__ = [
    "BOUNDS",
    "SHIPPED_FORECASTS",
    "CRQCForecast",
    "Exposure",
    "exposure",
    "exposure_over_time",
    "forecast_from_table",
    "parse_forecast_csv",
    "parse_gri_csv",
    "shipped_forecast",
]
