"""Budget sweeps through Dask, locally and on a given scheduler."""

from __future__ import annotations

import logging

import pytest
from distributed import LocalCluster

from qsafecity.planning import prepare
from qsafecity.planning.sweep import SweepPoint, sweep_budgets
from tests.planning.cities import COSTS, MODEL, star


def test_local_sweep_covers_more_with_more_budget() -> None:
    problem = prepare(star(3), MODEL, COSTS, horizon_years=1)
    seen: list[SweepPoint] = []
    points = sweep_budgets(problem, [30.0, 140.0, 240.0, 340.0], on_done=seen.append)
    assert [p.budget for p in points] == [30.0, 140.0, 240.0, 340.0]
    assert len(seen) == 4
    assert not points[0].feasible  # below the mandatory PQC migration of 40
    assert [p.covered for p in points[1:]] == [1, 2, 3]


def test_sweep_on_a_given_scheduler() -> None:
    problem = prepare(star(2), MODEL, COSTS, horizon_years=1)
    with LocalCluster(
        n_workers=1, processes=False, dashboard_address=None, silence_logs=logging.ERROR
    ) as cluster:
        points = sweep_budgets(problem, [130.0, 230.0], scheduler=cluster.scheduler_address)
    assert [p.covered for p in points] == [1, 2]
    assert all(p.total_present_value is not None for p in points)
    assert points[1].total_present_value == pytest.approx(2 * 100 + 30)


def test_sweep_plot_of_forecasts_without_a_budget_sweep() -> None:
    from qsafecity.reports.plan_html import sweep_html

    points = [
        SweepPoint(None, True, 3, 3, 340.0, 0.0, 0.0, "optimal", "gri-2024", 1.0, 0),
        SweepPoint(None, True, 3, 3, 340.0, 0.0, 0.0, "optimal", "early", 1.0, 0),
    ]
    page = sweep_html(points, "EUR", "Testville")
    assert "CRQC forecast (no budget limit)" in page
    assert "critical exposure covered (%), early" in page
