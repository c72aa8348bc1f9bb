"""Invariants of every plan: budget, link key rates, coverage or a reason, determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qsafecity.city import CityManifest
from qsafecity.city.synthetic import synthetic_city
from qsafecity.manifests import load_city
from qsafecity.network import StepKeyRateModel
from qsafecity.planning import Plan, PlanningProblem, default_costs, plan_city, prepare
from qsafecity.planning.keyrates import PhysicsKeyRateModel


@pytest.fixture(scope="module")
def sample_problem() -> PlanningProblem:
    city = load_city(None)
    return prepare(city, PhysicsKeyRateModel.from_preset(), default_costs(city))


@pytest.fixture(scope="module")
def synthetic_problem() -> PlanningProblem:
    city = CityManifest.model_validate(
        synthetic_city(np.random.default_rng(7), services=50, sites=20)
    )
    return prepare(city, StepKeyRateModel(rate_bps=5_000.0, reach_km=25.0), default_costs(city))


def check(plan: Plan) -> None:
    # Within the budget (HiGHS' feasibility tolerance is far below a currency unit).
    if plan.cost.budget is not None:
        assert plan.cost.total_present_value <= plan.cost.budget * (1 + 1e-9) + 1e-6
    # No link carries more key than its device pairs make.
    for link in plan.links:
        assert link.used_bps <= link.capacity_bps * (1 + 1e-9) + 1e-9
        if link.status == "candidate":
            assert link.used_bps == 0.0
    # Every critical service is covered (its routes carry its whole demand) or reported.
    reported = {gap.service_id for gap in plan.infeasibilities}
    for service in plan.services:
        if service.required_protection != "qkd+pqc":
            assert not service.routes
            continue
        if service.protection == "qkd+pqc":
            assert service.service_id not in reported
            carried = sum(route.rate_bps for route in service.routes)
            assert carried == pytest.approx(service.key_rate_bps * _pairs(plan, service.service_id))
        else:
            assert service.protection == "pqc-fallback"
            assert service.service_id in reported
    # Relays happen only at trusted nodes the plan builds.
    nodes = {node.site_id for node in plan.nodes}
    for service in plan.services:
        for route in service.routes:
            assert set(route.sites[1:-1]) <= nodes


def _pairs(plan: Plan, service_id: str) -> int:
    sites = {
        route.sites[-1] for s in plan.services if s.service_id == service_id for route in s.routes
    }
    return max(1, len(sites))


@pytest.mark.parametrize("budget", [None, 600e6, 750e6, 900e6])
def test_sample_city_plans_keep_every_invariant(
    sample_problem: PlanningProblem, budget: float | None
) -> None:
    check(plan_city(sample_problem, budget))


def test_sample_city_unlimited_budget_covers_every_critical_service(
    sample_problem: PlanningProblem,
) -> None:
    plan = plan_city(sample_problem)
    assert plan.coverage.covered == plan.coverage.critical_services == 15
    assert plan.solver.gap is not None
    assert plan.solver.gap <= 0.01


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fraction=st.floats(min_value=0.0, max_value=1.5))
def test_synthetic_city_plans_keep_every_invariant(
    synthetic_problem: PlanningProblem, fraction: float
) -> None:
    full = plan_city(synthetic_problem).cost.total_present_value
    pqc = synthetic_problem.mandatory_pqc_cost()
    budget = pqc + fraction * (full - pqc)
    plan = plan_city(synthetic_problem, budget, time_limit_s=5.0)
    check(plan)
    check(plan_city(synthetic_problem, budget, method="greedy"))


def test_plans_are_deterministic(sample_problem: PlanningProblem) -> None:
    first = json.dumps(plan_city(sample_problem, 750e6).to_dict(), sort_keys=True)
    again = plan_city(sample_problem, 750e6).to_dict()
    again["solver"]["seconds"] = json.loads(first)["solver"]["seconds"]
    assert json.dumps(again, sort_keys=True) == first


def test_more_budget_never_covers_less(sample_problem: PlanningProblem) -> None:
    covered = [plan_city(sample_problem, b).coverage.covered for b in (500e6, 650e6, 800e6, 1e9)]
    assert covered == sorted(covered)
