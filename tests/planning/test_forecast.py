"""CRQC forecasts in the plan: Mosca exposure per service, and which services a budget covers."""

from __future__ import annotations

from typing import Any

import pytest

from qsafecity.city import CityManifest
from qsafecity.planning import PlanningProblem, forecast_risk, plan_city, prepare
from qsafecity.planning.sweep import Scenario, scenarios_of, sweep
from qsafecity.risk import forecast_from_table
from tests.planning.cities import COSTS, MODEL

#: A CRQC is unlikely before 2040 and likely (90 %) from 2050: only long-lived data is exposed.
LATE = forecast_from_table({2040: 0.0, 2050: 0.9}, "late")
#: A CRQC is likely (90 %) from 2027: every harvestable service is exposed.
EARLY = forecast_from_table({2027: 0.9}, "early")


def _service(sid: str, endpoints: list[str], shelf: float, kex: str = "X25519") -> dict[str, Any]:
    return {
        "id": sid,
        "name": sid,
        "operator": "city-it",
        "function": "traffic-control",
        "data": {"categories": ["telemetry"], "shelf_life_years": shelf, "volume_gb_per_day": 1},
        "endpoints": endpoints,
        "crypto": {"key_exchange": kex, "signature": "Ed25519", "cipher": "AES-256-GCM"},
        "migration_years": 1,
    }


def competing_city() -> CityManifest:
    """Archive ``far`` is two 100 km hops from the hub (two links and a trusted node: 250); the
    short-lived services ``near-b`` and ``near-c`` are 10 km spokes (100 each). After the PQC
    migration (3 x 10), a budget of 280 buys either ``far`` or both near services, not more."""
    sites = [
        ("far", "government", 0.0, 0.0),
        ("relay", "trusted-node", 0.0, 0.9),
        ("hub", "data-centre", 0.0, 1.8),
        ("b", "government", 0.05, 1.85),
        ("c", "government", -0.05, 1.85),
    ]
    return CityManifest.model_validate(
        {
            "format": 1,
            "city": {"name": "Forecastville", "currency": "EUR"},
            "assumptions": {"start_year": 2026, "discount_rate_percent": 0.0},
            "sites": [
                {"id": s, "name": s, "kind": kind, "location": {"lat": lat, "lon": lon}}
                for s, kind, lat, lon in sites
            ],
            "links": [
                {"a": "far", "b": "relay", "length_km": 100.0, "fibre": "dark"},
                {"a": "relay", "b": "hub", "length_km": 100.0, "fibre": "dark"},
                {"a": "b", "b": "hub", "length_km": 10.0, "fibre": "dark"},
                {"a": "c", "b": "hub", "length_km": 10.0, "fibre": "dark"},
            ],
            "operators": [{"id": "city-it", "name": "City IT", "type": "municipal"}],
            "services": [
                _service("far-archive", ["far", "hub"], shelf=30),
                _service("near-b", ["b", "hub"], shelf=1),
                _service("near-c", ["c", "hub"], shelf=1),
            ],
        }
    )


@pytest.fixture(scope="module")
def problem() -> PlanningProblem:
    return prepare(competing_city(), MODEL, COSTS, horizon_years=1)


def covered(plan: Any) -> set[str]:
    return {s.service_id for s in plan.services if s.protection == "qkd+pqc"}


def test_mosca_exposure_and_deadline_by_hand() -> None:
    city = competing_city()
    forecast = forecast_from_table({2030: 0.2, 2040: 0.6}, "table")
    risk = forecast_risk(city, forecast, now_year=1999)  # the manifest's start_year wins
    assert risk.now_year == 2026
    far = risk.services["far-archive"]
    # F(2026 + 30 + 1) = F(2057): after the last year the curve stays at 0.6.
    assert far.probability_exposed == pytest.approx(0.6)
    near = risk.services["near-b"]
    # F(2026 + 1 + 1) = F(2028): from 0 in 2029 (the year before the table) it is still 0.
    assert near.probability_exposed == 0.0
    assert not near.at_risk
    assert far.at_risk  # 0.6 > the default tolerance 0.10
    # The curve reaches 0.10 halfway between 2029 (0) and 2030 (0.2): 2029.5. QKD must protect
    # the archive's traffic 30 years before that, and its 1-year migration start a year earlier.
    assert risk.tolerance_year == pytest.approx(2029.5)
    assert far.deadline_year == pytest.approx(1999.5)
    assert far.start_by_year == pytest.approx(1998.5)


def test_quantum_safe_key_exchange_has_nothing_to_harvest() -> None:
    document = competing_city().model_dump(mode="json", exclude_none=True)
    document["services"][0]["crypto"]["key_exchange"] = "X25519MLKEM768"
    risk = forecast_risk(CityManifest.model_validate(document), EARLY, now_year=2026)
    archive = risk.services["far-archive"]
    assert archive.probability_exposed == 0.0
    assert archive.deadline_year is None
    assert archive.weight == pytest.approx(0.01)  # the floor: still worth covering with money


def test_without_a_forecast_the_budget_covers_the_most_services(problem: PlanningProblem) -> None:
    plan = plan_city(problem, 280.0)
    assert covered(plan) == {"near-b", "near-c"}
    assert plan.forecast is None


def test_a_late_crqc_moves_the_budget_to_long_lived_data(problem: PlanningProblem) -> None:
    risk = forecast_risk(competing_city(), LATE, now_year=2026)
    for method in ("milp", "greedy"):
        plan = plan_city(problem, 280.0, method=method, risk=risk)
        assert covered(plan) == {"far-archive"}, method
        assert plan.cost.total_present_value == pytest.approx(30 + 250)
        assert plan.forecast is not None
        assert plan.forecast.risk_covered == pytest.approx(1.0)  # the near services: P = 0
        assert plan.forecast.uncovered_at_risk == ()


def test_an_early_crqc_covers_the_most_exposure(problem: PlanningProblem) -> None:
    risk = forecast_risk(competing_city(), EARLY, now_year=2026)
    plan = plan_city(problem, 280.0, risk=risk)
    assert covered(plan) == {"near-b", "near-c"}  # 0.91 + 0.91 beats 0.91
    assert plan.forecast is not None
    assert plan.forecast.risk_covered == pytest.approx(2 / 3)
    assert plan.forecast.uncovered_at_risk == ("far-archive",)
    archive = next(s for s in plan.services if s.service_id == "far-archive")
    assert archive.probability_exposed == pytest.approx(0.9)
    assert archive.at_risk is True


def test_without_a_budget_the_forecast_does_not_change_the_plan(problem: PlanningProblem) -> None:
    plans = [
        plan_city(problem, None, risk=forecast_risk(competing_city(), f, now_year=2026))
        for f in (LATE, EARLY)
    ]
    assert [covered(p) for p in plans] == [{"far-archive", "near-b", "near-c"}] * 2
    assert plans[0].cost.total_present_value == plans[1].cost.total_present_value


def test_scenarios_are_the_cartesian_product_forecast_by_forecast() -> None:
    late = forecast_risk(competing_city(), LATE, now_year=2026)
    early = forecast_risk(competing_city(), EARLY, now_year=2026)
    scenarios = scenarios_of([100.0, 280.0], [late, early])
    assert [(s.risk.forecast if s.risk else None, s.budget) for s in scenarios] == [
        ("late", 100.0),
        ("late", 280.0),
        ("early", 100.0),
        ("early", 280.0),
    ]


def test_forecast_sweep_through_dask(problem: PlanningProblem) -> None:
    late = forecast_risk(competing_city(), LATE, now_year=2026)
    early = forecast_risk(competing_city(), EARLY, now_year=2026)
    points = sweep(problem, [Scenario(280.0, late), Scenario(280.0, early), Scenario(20.0, late)])
    assert [p.forecast for p in points] == ["late", "early", "late"]
    assert [p.covered for p in points[:2]] == [1, 2]
    assert points[0].risk_covered == pytest.approx(1.0)
    assert points[1].uncovered_at_risk == 1
    assert not points[2].feasible  # below the mandatory PQC migration of 30
