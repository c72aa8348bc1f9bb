"""Scenario sweeps: the same city planned under many budgets and CRQC forecasts, through Dask.

A scenario is a budget (or none) and a forecast's exposure (or none, ``qsafecity.planning.
forecast``); a sweep is usually the cartesian product of a list of budgets and a list of
forecasts.

Locally a ``distributed.LocalCluster`` of threads runs the plans (HiGHS releases the GIL while it
solves); given a scheduler address, the plans run on that cluster instead. ``on_done`` is called
once per finished scenario so that the caller can show progress.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qsafecity.errors import InputError, PlanningError
from qsafecity.planning.forecast import ForecastRisk
from qsafecity.planning.problem import PlanningProblem


@dataclass(frozen=True, slots=True)
class Scenario:
    budget: float | None
    risk: ForecastRisk | None = None


@dataclass(frozen=True, slots=True)
class SweepPoint:
    budget: float | None
    feasible: bool
    covered: int
    critical_services: int
    total_present_value: float | None
    interest_subsidy_present_value: float | None
    gap: float | None
    note: str
    #: With a forecast: its name, the share of critical exposure covered with QKD and the
    #: critical services left without QKD although at risk.
    forecast: str | None = None
    risk_covered: float | None = None
    uncovered_at_risk: int | None = None


def plan_point(
    problem: PlanningProblem, scenario: Scenario, gap: float, time_limit_s: float
) -> SweepPoint:
    """One scenario, summarised (a budget below the mandatory PQC is a result too)."""
    from qsafecity.planning import plan_city  # noqa: PLC0415 - avoid a cycle with the facade

    name = None if scenario.risk is None else scenario.risk.forecast
    try:
        plan = plan_city(
            problem, scenario.budget, gap=gap, time_limit_s=time_limit_s, risk=scenario.risk
        )
    except (InputError, PlanningError) as error:
        return SweepPoint(
            scenario.budget,
            False,
            0,
            len(problem.critical),
            None,
            None,
            None,
            str(error),
            forecast=name,
        )
    summary = plan.forecast
    return SweepPoint(
        budget=scenario.budget,
        feasible=True,
        covered=plan.coverage.covered,
        critical_services=plan.coverage.critical_services,
        total_present_value=plan.cost.total_present_value,
        interest_subsidy_present_value=plan.cost.interest_subsidy_present_value,
        gap=plan.solver.gap,
        note=plan.solver.status,
        forecast=name,
        risk_covered=None if summary is None else summary.risk_covered,
        uncovered_at_risk=None if summary is None else len(summary.uncovered_at_risk),
    )


def scenarios_of(
    budgets: Sequence[float | None], risks: Sequence[ForecastRisk | None]
) -> list[Scenario]:
    """The cartesian product, forecast by forecast, each over the budgets in order."""
    return [Scenario(budget, risk) for risk in risks for budget in budgets]


def sweep_budgets(
    problem: PlanningProblem,
    budgets: Sequence[float],
    *,
    scheduler: str | None = None,
    gap: float = 0.01,
    time_limit_s: float = 60.0,
    workers: int = 2,
    on_done: Callable[[SweepPoint], None] | None = None,
) -> list[SweepPoint]:
    """Plan ``problem`` under each budget; results in the order of ``budgets``."""
    return sweep(
        problem,
        [Scenario(budget) for budget in budgets],
        scheduler=scheduler,
        gap=gap,
        time_limit_s=time_limit_s,
        workers=workers,
        on_done=on_done,
    )


def sweep(
    problem: PlanningProblem,
    scenarios: Sequence[Scenario],
    *,
    scheduler: str | None = None,
    gap: float = 0.01,
    time_limit_s: float = 60.0,
    workers: int = 2,
    on_done: Callable[[SweepPoint], None] | None = None,
) -> list[SweepPoint]:
    """Plan ``problem`` in each scenario; results in the order of ``scenarios``."""
    from distributed import Client, LocalCluster, as_completed  # noqa: PLC0415 - heavy import

    if scheduler is None:
        cluster = LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=1,
            threads_per_worker=max(1, workers),
            processes=False,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)  # type: ignore[no-untyped-call]
    else:
        cluster = None
        try:
            client = Client(scheduler, timeout="10s")  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError, ValueError) as error:
            raise InputError(f"cannot reach the Dask scheduler {scheduler!r}: {error}") from None
    try:
        shared = client.scatter(problem, broadcast=True)  # type: ignore[no-untyped-call]
        futures = [
            client.submit(plan_point, shared, scenario, gap, time_limit_s, pure=False)
            for scenario in scenarios
        ]
        index = {future.key: i for i, future in enumerate(futures)}
        results: list[SweepPoint | None] = [None] * len(futures)
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            point: SweepPoint = future.result()
            results[index[future.key]] = point
            if on_done is not None:
                on_done(point)
        return [point for point in results if point is not None]
    finally:
        client.close()  # type: ignore[no-untyped-call]
        if cluster is not None:
            cluster.close()
