"""Assessing a generated city of 10,000 services and 1,000 sites (issue: well under 10 s).

Baseline in the same run: the same Mosca risk computed the naive way, a Python loop over services
and over the years of the risk view, as a reader of the paper would first write it. Reports the
time of each stage, the time per service, and the ratio of the vectorised risk to the naive loop.

Run: ``.venv/bin/python -m benchmarks.bench_assess [--services N --sites M]``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from qsafecity.algorithms import Role, lookup
from qsafecity.assessment import assess
from qsafecity.city import validate_document
from qsafecity.city.loader import load_manifest_text
from qsafecity.city.synthetic import synthetic_city
from qsafecity.reports import render_json
from qsafecity.risk import exposure, exposure_over_time, shipped_forecast


def naive_risk(forecast, now, shelf, migration, vulnerable, years):  # type: ignore[no-untyped-def]
    """Per service, per year, with Python floats: the loop the vectorised code replaces."""
    out = []
    xs, hs = list(forecast.years), list(forecast.high)

    def cdf(year: float) -> float:
        if year <= xs[0]:
            return 0.0
        for i in range(1, len(xs)):
            if year <= xs[i]:
                return hs[i - 1] + (hs[i] - hs[i - 1]) * (year - xs[i - 1]) / (xs[i] - xs[i - 1])
        return hs[-1]

    for x, y, v in zip(shelf, migration, vulnerable, strict=True):
        exposed = cdf(now + x + y) if v else 0.0
        row = [cdf(t + x) if v and t < now + y else 0.0 for t in years]
        out.append((exposed, row))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--sites", type=int, default=1_000)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(2026)
    document = synthetic_city(rng, services=args.services, sites=args.sites)
    text = json.dumps(document)

    started = time.perf_counter()
    city = load_manifest_text(text, "synthetic.json")
    loaded = time.perf_counter()
    result = assess(city, now_year=2026)
    assessed = time.perf_counter()
    render_json(result)
    rendered = time.perf_counter()

    forecast = shipped_forecast("gri-2024")
    shelf = np.array([s.data.shelf_life_years for s in city.services])
    migration = np.array([s.migration_years for s in city.services])
    vulnerable = np.array(
        [lookup(Role.KEY_EXCHANGE, s.crypto.key_exchange).quantum_vulnerable for s in city.services]
    )
    years = np.arange(2026, 2057, dtype=np.float64)
    t0 = time.perf_counter()
    exposure(
        forecast,
        now_year=2026,
        shelf_life_years=shelf,
        migration_years=migration,
        vulnerable=vulnerable,
        tolerance=0.1,
        bound="high",
    )
    exposure_over_time(
        forecast,
        now_year=2026,
        years=years,
        shelf_life_years=shelf,
        migration_years=migration,
        vulnerable=vulnerable,
        bound="high",
    )
    t1 = time.perf_counter()
    naive_risk(
        forecast, 2026, shelf.tolist(), migration.tolist(), vulnerable.tolist(), years.tolist()
    )
    t2 = time.perf_counter()

    validate_document(document)  # validation alone, without JSON parsing
    n = len(city.services)
    total = rendered - started
    print(f"city: {n} services, {len(city.sites)} sites, {len(city.links)} links")
    print(
        f"load+validate {loaded - started:.3f} s | assess {assessed - loaded:.3f} s | JSON {rendered - assessed:.3f} s"
    )
    print(f"total {total:.3f} s = {total / n * 1e6:.1f} µs per service (goal: well under 10 s)")
    print(
        f"risk, vectorised {t1 - t0:.4f} s vs naive loop {t2 - t1:.4f} s: {(t2 - t1) / (t1 - t0):.0f}x faster"
    )


if __name__ == "__main__":
    main()
