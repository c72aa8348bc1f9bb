"""Scenario sweeps: the same city planned under many budgets, in parallel through Dask.

Locally a ``distributed.LocalCluster`` of threads runs the plans (HiGHS releases the GIL while it
solves); given a scheduler address, the plans run on that cluster instead. ``on_done`` is called
once per finished scenario so that the caller can show progress.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qsafecity.errors import InputError, PlanningError
from qsafecity.planning.problem import PlanningProblem


@dataclass(frozen=True, slots=True)
class SweepPoint:
    budget: float
    feasible: bool
    covered: int
    critical_services: int
    total_present_value: float | None
    interest_subsidy_present_value: float | None
    gap: float | None
    note: str


def plan_point(
    problem: PlanningProblem, budget: float, gap: float, time_limit_s: float
) -> SweepPoint:
    """One scenario: a plan under ``budget``, summarised (a budget below PQC is a result too)."""
    from qsafecity.planning import plan_city  # noqa: PLC0415 - avoid a cycle with the facade

    try:
        plan = plan_city(problem, budget, gap=gap, time_limit_s=time_limit_s)
    except (InputError, PlanningError) as error:
        return SweepPoint(budget, False, 0, len(problem.critical), None, None, None, str(error))
    return SweepPoint(
        budget=budget,
        feasible=True,
        covered=plan.coverage.covered,
        critical_services=plan.coverage.critical_services,
        total_present_value=plan.cost.total_present_value,
        interest_subsidy_present_value=plan.cost.interest_subsidy_present_value,
        gap=plan.solver.gap,
        note=plan.solver.status,
    )


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
            client.submit(plan_point, shared, budget, gap, time_limit_s, pure=False)
            for budget in budgets
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
