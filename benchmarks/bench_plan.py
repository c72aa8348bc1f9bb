"""Planner benchmark: a generated city of 1,000 sites and 10,000 services planned to a proven gap
of at most 1 % within 60 s, how time grows with 100 / 1,000 / 10,000 services, and the greedy
baseline (cheapest incremental route per service, largest demand first) in the same run.

Two families of generated cities of 1,000 sites (``qsafecity.city.synthetic``):

* ``random``: the project's synthetic city unchanged: every service joins two random sites, so
  the plan is a Steiner-forest-like design over almost every site of the city;
* ``hub``: shaped like the sample city: every service's data flows from a site to one of the
  city's ten main data centres (in the sample city, 40 of 44 services end at a data centre).

Each family is planned at 100, 1,000 and 10,000 services without a budget, and at 1,000 services
with half the money the full plan needs beyond the mandatory PQC migration.

Run: ``.venv/bin/python -m benchmarks.bench_plan`` (``--quick``: without the 10,000 rows;
``--family random`` or ``--family hub``: one family only).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np

from qsafecity.city import CityManifest
from qsafecity.city.synthetic import synthetic_city
from qsafecity.planning import Plan, default_costs, plan_city, prepare
from qsafecity.planning.keyrates import PhysicsKeyRateModel

MAIN_DATA_CENTRES = 10
GOAL_GAP = 0.01
GOAL_SECONDS = 60.0


def hub_city(services: int, sites: int, seed: int = 2026) -> CityManifest:
    """The synthetic city with each service ending at one of the main data centres."""
    rng = np.random.default_rng(seed)
    document: dict[str, Any] = synthetic_city(rng, services=services, sites=sites)
    hubs = [site["id"] for site in document["sites"][:MAIN_DATA_CENTRES]]
    for site in document["sites"][:MAIN_DATA_CENTRES]:
        site["kind"] = "data-centre"
    for service in document["services"]:
        source = service["endpoints"][0]
        if source in hubs:
            source = document["sites"][
                MAIN_DATA_CENTRES + int(rng.integers(sites - MAIN_DATA_CENTRES))
            ]["id"]
        service["endpoints"] = [source, hubs[int(rng.integers(len(hubs)))]]
    return CityManifest.model_validate(document)


def random_city(services: int, sites: int, seed: int = 2026) -> CityManifest:
    """The project's synthetic city as it is: services between random pairs of sites."""
    document = synthetic_city(np.random.default_rng(seed), services=services, sites=sites)
    return CityManifest.model_validate(document)


FAMILIES = {"random": random_city, "hub": hub_city}


def run(
    family: str, services: int, sites: int, budget_fraction: float | None = None
) -> dict[str, Any]:
    """One row; with ``budget_fraction`` the budget is that share of the unconstrained plan."""
    city = FAMILIES[family](services, sites)
    started = time.perf_counter()
    problem = prepare(city, PhysicsKeyRateModel.from_preset(), default_costs(city))
    prepared = time.perf_counter()
    budget = None
    if budget_fraction is not None:
        full = plan_city(problem, method="greedy").cost.total_present_value
        pqc = problem.mandatory_pqc_cost()
        budget = pqc + budget_fraction * (full - pqc)
        prepared = time.perf_counter()
    greedy: Plan = plan_city(problem, budget, method="greedy")
    greedy_done = time.perf_counter()
    best: Plan = plan_city(problem, budget, gap=GOAL_GAP, time_limit_s=GOAL_SECONDS)
    best_done = time.perf_counter()
    return {
        "family": family,
        "services": services,
        "sites": sites,
        "critical": len(problem.critical),
        "prepare_s": prepared - started,
        "greedy_s": greedy_done - prepared,
        "milp_s": best_done - greedy_done,
        "greedy_cost": greedy.cost.total_present_value,
        "milp_cost": best.cost.total_present_value,
        "gap": best.solver.gap if best.solver.gap is not None else float("nan"),
        "covered": best.coverage.covered,
        "greedy_covered": greedy.coverage.covered,
        "status": best.solver.status
        + ("" if budget is None else f", budget {budget_fraction:.0%}")
        + (
            ""
            if best.solver.covered_bound is None
            else f", proven: at most {best.solver.covered_bound} coverable"
        ),
    }


def main() -> None:
    families = list(FAMILIES)
    if "--family" in sys.argv:
        chosen = sys.argv[sys.argv.index("--family") + 1]
        if chosen not in FAMILIES:
            raise SystemExit(f"--family must be one of {', '.join(FAMILIES)}")
        families = [chosen]
    print(
        "family  services  sites critical  prepare_s  greedy_s  milp_s  total_s  gap      "
        "milp/greedy cost  covered milp/greedy  status"
    )
    goal_rows = []
    for family in families:
        sizes: list[tuple[int, float | None]] = [(100, None), (1_000, None), (1_000, 0.5)]
        if "--quick" not in sys.argv:
            sizes.append((10_000, None))
        for services, fraction in sizes:
            row = run(family, services, 1_000, fraction)
            total = row["prepare_s"] + row["milp_s"]
            print(
                f"{row['family']:<7} {row['services']:>8} {row['sites']:>6} {row['critical']:>8} "
                f"{row['prepare_s']:>10.1f} {row['greedy_s']:>9.1f} {row['milp_s']:>7.1f} "
                f"{total:>8.1f}  {row['gap']:<8.4f} "
                f"{row['milp_cost'] / row['greedy_cost']:>16.4f}  "
                f"{row['covered']}/{row['greedy_covered']}  {row['status']}",
                flush=True,
            )
            if services == 10_000:
                goal_rows.append((family, total, row["gap"]))
    for family, total, gap in goal_rows:
        met = total < GOAL_SECONDS and gap <= GOAL_GAP
        print(
            f"goal ({family}): 1,000 sites, 10,000 services: {total:.1f} s (prepare + optimise, "
            f"limit {GOAL_SECONDS:.0f} s), proven gap {gap:.2%} (limit {GOAL_GAP:.0%}): "
            f"{'met' if met else 'missed'}"
        )


if __name__ == "__main__":
    main()
