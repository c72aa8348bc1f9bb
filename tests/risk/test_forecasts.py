"""CRQC forecasts: the GRI table reproduced exactly at its horizons, interpolation as documented."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qsafecity.errors import ForecastError
from qsafecity.risk import (
    SHIPPED_FORECASTS,
    forecast_from_table,
    parse_forecast_csv,
    shipped_forecast,
)
from qsafecity.risk.gri import GRI_CSV

# REFERENCE.md §3: (horizon years, pessimistic, optimistic) per report.
GRI = {
    "gri-2024": (
        2024,
        [(5, 0.05, 0.14), (10, 0.19, 0.34), (15, 0.39, 0.62), (20, 0.60, 0.82), (30, 0.77, 0.92)],
    ),
    "gri-2025": (
        2025,
        [(5, 0.05, 0.15), (10, 0.28, 0.49), (15, 0.51, 0.70), (20, 0.69, 0.86), (30, 0.81, 0.93)],
    ),
}


@pytest.mark.parametrize("name", sorted(GRI))
def test_gri_values_at_their_horizons_exactly(name: str) -> None:
    forecast = shipped_forecast(name)
    base, rows = GRI[name]
    for horizon, low, high in rows:
        assert forecast.probability_by(base + horizon, "low") == low
        assert forecast.probability_by(base + horizon, "high") == high


def test_shipped_copy_equals_the_shared_data(shared_dir: Path) -> None:
    shared = (shared_dir / "data" / "crqc_forecast_gri.csv").read_text()
    assert list(csv.DictReader(io.StringIO(shared))) == list(csv.DictReader(io.StringIO(GRI_CSV)))
    assert set(SHIPPED_FORECASTS) == {"gri-2024", "gri-2025"}


def test_interpolation_is_linear_between_horizons_and_flat_after() -> None:
    forecast = shipped_forecast("gri-2024")
    assert forecast.probability_by(2024) == 0.0
    assert forecast.probability_by(2020) == 0.0
    assert forecast.probability_by(2031.5, "high") == pytest.approx((0.14 + 0.34) / 2)
    assert forecast.probability_by(2026, "low") == pytest.approx(0.05 * 2 / 5)
    assert forecast.probability_by(2100, "high") == 0.92


def test_year_reaching_inverts_the_curve() -> None:
    forecast = shipped_forecast("gri-2024")
    for p in (0.05, 0.1, 0.34, 0.5, 0.9):
        year = forecast.year_reaching(p, "high")
        assert year is not None
        assert forecast.probability_by(year, "high") == pytest.approx(p)
    assert forecast.year_reaching(0.95, "high") is None


@given(st.floats(min_value=1990, max_value=2150), st.floats(min_value=0, max_value=50))
def test_cumulative_and_bounded(year: float, later: float) -> None:
    for name in SHIPPED_FORECASTS:
        forecast = shipped_forecast(name)
        low, high = forecast.probability_by(year, "low"), forecast.probability_by(year, "high")
        assert 0.0 <= low <= high <= 1.0
        assert forecast.probability_by(year + later, "high") >= high


def test_user_tables() -> None:
    forecast = forecast_from_table({2031: 0.1, 2036: 0.3, 2041: 0.55})
    assert forecast.probability_by(2036) == 0.3
    assert forecast.probability_by(2030) == 0.0
    two = parse_forecast_csv("year,low,high\n2030,0.1,0.2\n2040,0.4,0.6\n", "two.csv")
    assert two.probability_by(2040, "low") == 0.4
    one = parse_forecast_csv("year,probability\n2030,0.2\n", "one.csv")
    assert np.isclose(one.probability_by(2030), 0.2)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("year,probability\n2030,0.5\n2040,0.2\n", "must not fall"),
        ("year,probability\n2030,1.5\n", "0..1"),
        ("year,probability\n2030,abc\n", "malformed"),
        ("when,what\n1,2\n", "header"),
        ("year,low,high\n2030,0.5,0.2\n", "low bound exceeds"),
        ("year,probability\n", "empty"),
        (
            "report,experts,horizon_years,probability_pessimistic,probability_optimistic\nx,1,5,0.1,0.2\n",
            "year",
        ),
    ],
)
def test_malformed_forecasts_are_clear_errors(text: str, fragment: str) -> None:
    with pytest.raises(ForecastError, match=fragment):
        parse_forecast_csv(text, "bad.csv")
