"""Mosca exposure: vectorised results equal a plain loop, and behave as the inequality says."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qsafecity.risk import exposure, exposure_over_time, shipped_forecast

FORECAST = shipped_forecast("gri-2024")


def test_vectorised_equals_a_naive_loop() -> None:
    rng = np.random.default_rng(7)
    shelf = rng.uniform(0, 60, 500)
    migration = rng.uniform(0, 10, 500)
    vulnerable = rng.random(500) < 0.8
    result = exposure(
        FORECAST,
        now_year=2026,
        shelf_life_years=shelf,
        migration_years=migration,
        vulnerable=vulnerable,
        tolerance=0.1,
        bound="high",
    )
    year_q = FORECAST.year_reaching(0.1, "high")
    assert year_q is not None
    for i in range(500):
        if not vulnerable[i]:
            assert result.probability_exposed[i] == 0.0
            assert np.isnan(result.slack_years[i])
            continue
        expected = float(np.interp(2026 + shelf[i] + migration[i], FORECAST.years, FORECAST.high))
        assert result.probability_exposed[i] == pytest.approx(expected)
        assert result.slack_years[i] == pytest.approx(year_q - 2026 - shelf[i] - migration[i])
        assert result.at_risk[i] == (expected > 0.1)


def test_at_risk_is_negative_slack() -> None:
    shelf = np.linspace(0, 40, 81)
    result = exposure(
        FORECAST,
        now_year=2026,
        shelf_life_years=shelf,
        migration_years=np.full(81, 2.0),
        vulnerable=np.ones(81, bool),
        tolerance=0.25,
        bound="low",
    )
    assert np.array_equal(result.at_risk, result.slack_years < 0)


@given(st.floats(0, 100), st.floats(0, 30), st.floats(0, 30))
def test_exposure_grows_with_shelf_life_and_migration(
    shelf: float, migration: float, more: float
) -> None:
    def p(x: float, y: float) -> float:
        return float(
            exposure(
                FORECAST,
                now_year=2026,
                shelf_life_years=[x],
                migration_years=[y],
                vulnerable=[True],
                tolerance=0.1,
                bound="high",
            ).probability_exposed[0]
        )

    assert p(shelf + more, migration) >= p(shelf, migration)
    assert p(shelf, migration + more) >= p(shelf, migration)
    assert p(shelf, migration) >= float(FORECAST.probability_by(2026 + shelf, "high")) - 1e-12


def test_exposure_over_time_ends_when_migration_ends() -> None:
    grid = exposure_over_time(
        FORECAST,
        now_year=2026,
        years=np.arange(2026, 2040),
        shelf_life_years=[10.0],
        migration_years=[3.0],
        vulnerable=[True],
        bound="high",
    )
    assert grid.shape == (1, 14)
    assert np.all(grid[0, :3] > 0)
    assert np.all(grid[0, 3:] == 0)
    assert grid[0, 0] == pytest.approx(float(FORECAST.probability_by(2036, "high")))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="tolerance"):
        exposure(
            FORECAST,
            now_year=2026,
            shelf_life_years=[1],
            migration_years=[1],
            vulnerable=[True],
            tolerance=1.0,
            bound="high",
        )
    with pytest.raises(ValueError, match="one shape"):
        exposure(
            FORECAST,
            now_year=2026,
            shelf_life_years=[1, 2],
            migration_years=[1],
            vulnerable=[True],
            tolerance=0.1,
            bound="high",
        )
    with pytest.raises(ValueError, match="bound"):
        FORECAST.probability_by(2030, "middle")
