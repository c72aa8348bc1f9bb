"""The planner against cities whose optimum is known by hand."""

from __future__ import annotations

import pytest

from qsafecity.errors import InputError
from qsafecity.network import StepKeyRateModel
from qsafecity.planning import plan_city, prepare
from tests.planning.cities import COSTS, MODEL, chain, city, star


def test_chain_needs_one_trusted_node() -> None:
    problem = prepare(chain(), MODEL, COSTS, horizon_years=1)
    plan = plan_city(problem)
    assert [node.site_id for node in plan.nodes] == ["b"]
    assert sorted(link.segment_id for link in plan.built_links) == ["a~b", "b~c"]
    # Two device pairs, one trusted node, one service's PQC migration.
    assert plan.cost.total_present_value == pytest.approx(2 * 100 + 50 + 10)
    (service,) = [s for s in plan.services if s.service_id == "dispatch"]
    assert service.protection == "qkd+pqc"
    assert [r.sites for r in service.routes] == [("a", "b", "c")]
    assert plan.coverage.covered == 1
    assert plan.solver.status == "optimal"
    assert plan.solver.covered_bound is None  # no budget: every coverable service is covered


def test_chain_beyond_reach_everywhere_is_reported_with_a_fix() -> None:
    short = StepKeyRateModel(rate_bps=1_000.0, reach_km=80.0)
    plan = plan_city(prepare(chain(), short, COSTS, horizon_years=1))
    (gap,) = plan.infeasibilities
    assert gap.service_id == "dispatch"
    assert gap.reason == "physics"
    assert "80 km" in gap.explanation
    assert "trusted-node site" in gap.fix
    (service,) = [s for s in plan.services if s.service_id == "dispatch"]
    assert service.protection == "pqc-fallback"
    assert plan.coverage.covered == 0


def test_star_with_full_budget_covers_every_spoke() -> None:
    plan = plan_city(prepare(star(3), MODEL, COSTS, horizon_years=1), budget=1_000.0)
    assert plan.coverage.covered == 3
    # Three links, no relays; PQC for three critical and one especially important service.
    assert plan.cost.total_present_value == pytest.approx(3 * 100 + 4 * 10)
    protections = {s.service_id: s.protection for s in plan.services}
    assert protections["meters"] == "pqc"
    assert protections["library"] == "classical-allowed"


def test_star_with_one_budget_cut_drops_exactly_one_spoke() -> None:
    # 40 for PQC, then 250 buys two links, not three.
    plan = plan_city(prepare(star(3), MODEL, COSTS, horizon_years=1), budget=290.0)
    assert plan.coverage.covered == 2
    assert plan.solver.covered_bound == 2  # proven: no plan within 290 covers three
    assert plan.cost.total_present_value == pytest.approx(2 * 100 + 40)
    (gap,) = plan.infeasibilities
    assert gap.reason == "budget"
    assert gap.fix_cost == pytest.approx(100.0)
    assert "raise the budget by about 100" in gap.fix


def test_budget_below_mandatory_pqc_is_refused_with_the_shortfall() -> None:
    with pytest.raises(InputError, match="raise it by at least 10"):
        plan_city(prepare(star(3), MODEL, COSTS, horizon_years=1), budget=30.0)


def test_demand_above_link_capacity_is_a_capacity_gap() -> None:
    tiny = StepKeyRateModel(rate_bps=0.5, reach_km=120.0)  # below the 4.3 bit/s minimum rekeying
    plan = plan_city(prepare(star(1), tiny, COSTS, horizon_years=1))
    (gap,) = plan.infeasibilities
    assert gap.reason == "capacity"


def test_greedy_baseline_is_never_cheaper_than_the_optimum() -> None:
    problem = prepare(star(3), MODEL, COSTS, horizon_years=1)
    for budget in (None, 290.0, 1_000.0):
        best = plan_city(problem, budget)
        greedy = plan_city(problem, budget, method="greedy")
        assert best.coverage.covered >= greedy.coverage.covered
        if best.coverage.covered == greedy.coverage.covered:
            assert best.cost.total_present_value <= greedy.cost.total_present_value + 1e-6


def test_route_spare_is_the_bottleneck_headroom() -> None:
    plan = plan_city(prepare(chain(), MODEL, COSTS, horizon_years=1))
    (service,) = [s for s in plan.services if s.service_id == "dispatch"]
    (route,) = service.routes
    assert route.spare_bps == pytest.approx(1_000.0 - service.key_rate_bps)


def test_a_demand_above_one_device_pair_buys_a_second_pair() -> None:
    # One device pair gives 3 bit/s; the spoke's service needs 4.27 bit/s (a key a minute), so the
    # link needs two pairs: the capacity row binds and the extra-pair variable is used.
    slow = StepKeyRateModel(rate_bps=3.0, reach_km=120.0)
    problem = prepare(star(1), slow, COSTS, horizon_years=1)
    for method in ("milp", "greedy"):
        plan = plan_city(problem, method=method)
        assert plan.coverage.covered == 1, method
        (link,) = plan.built_links
        assert link.device_pairs == 2
        assert link.used_bps == pytest.approx(256 / 60)
        assert link.used_bps <= link.capacity_bps
        # Two device pairs, PQC for the critical and the especially important service.
        assert plan.cost.total_present_value == pytest.approx(2 * 100 + 2 * 10)
    # With a budget for one pair only, the service falls back to PQC with a capacity-priced fix.
    short = plan_city(problem, budget=20 + 150)
    assert short.coverage.covered == 0
    (gap,) = short.infeasibilities
    assert gap.reason == "budget"
    assert gap.fix_cost == pytest.approx(200.0)


def test_two_services_sharing_a_relay_route_need_two_pairs_per_hop() -> None:
    # The chain a - b - c with two critical services between a and c: 2 x 4.27 bit/s over links
    # of 5 bit/s per device pair. Each hop needs two pairs; b relays both (one trusted node).
    two = city(
        [
            ("a", "data-centre", 0.0, 0.0),
            ("b", "trusted-node", 0.0, 0.9),
            ("c", "government", 0.0, 1.8),
        ],
        [
            {"a": "a", "b": "b", "length_km": 100.0, "fibre": "dark"},
            {"a": "b", "b": "c", "length_km": 100.0, "fibre": "dark"},
        ],
        [("one", "emergency-dispatch", ["a", "c"]), ("two", "traffic-control", ["a", "c"])],
    )
    plan = plan_city(prepare(two, StepKeyRateModel(5.0, 120.0), COSTS, horizon_years=1))
    assert plan.coverage.covered == 2
    assert sorted((link.segment_id, link.device_pairs) for link in plan.built_links) == [
        ("a~b", 2),
        ("b~c", 2),
    ]
    assert plan.cost.total_present_value == pytest.approx(4 * 100 + 50 + 2 * 10)
