"""Synthetic cities of any size, for benchmarks and scaling tests (pure: the caller passes the RNG).

A synthetic city is a valid manifest document shaped like the sample city: sites scattered around a
centre, a fibre ring plus spokes to the nearest sites, a dozen operators (some without contracts or
clauses), and services drawn from the whole function vocabulary with realistic crypto mixes. It is
returned as a plain document so that benchmarks can also time parsing and validation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from qsafecity.algorithms import Role, names
from qsafecity.city.vocabulary import DATA_CATEGORIES, TIER_OF_FUNCTION

_KINDS = ("data-centre", "government", "operator", "trusted-node", "field", "other")
_CLAUSES = ("quantum-secure-crypto", "liability", "cost-recovery", "incident-reporting")
#: Route factor of fibre over the straight line (as in the sample city, an assumption).
ROUTE_FACTOR = 1.4


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def synthetic_city(
    rng: np.random.Generator,
    *,
    services: int,
    sites: int,
    operators: int = 12,
    centre: tuple[float, float] = (51.67, 39.21),
    radius_km: float = 25.0,
) -> dict[str, Any]:
    """A valid manifest document with the given numbers of services, sites and operators."""
    if services < 1 or sites < 2 or operators < 1:
        raise ValueError("a city needs at least 1 service, 2 sites and 1 operator")
    lat0, lon0 = centre
    radius = radius_km * np.sqrt(rng.random(sites))
    angle = rng.random(sites) * 2 * np.pi
    lats = lat0 + radius * np.cos(angle) / 111.0
    lons = lon0 + radius * np.sin(angle) / (111.0 * math.cos(math.radians(lat0)))
    site_ids = [f"site-{i:05d}" for i in range(sites)]
    site_docs = [
        {
            "id": site_ids[i],
            "name": f"Site {i}",
            "kind": _KINDS[0] if i < 2 else _KINDS[int(rng.integers(len(_KINDS)))],
            "location": {"lat": round(float(lats[i]), 5), "lon": round(float(lons[i]), 5)},
        }
        for i in range(sites)
    ]
    order = np.argsort(angle)
    pairs: set[tuple[int, int]] = set()
    for k in range(sites):  # a ring by angle, then a spoke from each site to a data centre
        a, b = int(order[k]), int(order[(k + 1) % sites])
        if a != b:
            pairs.add((min(a, b), max(a, b)))
        hub = k % 2
        if k != hub:
            pairs.add((min(k, hub), max(k, hub)))
    links = []
    for a, b in sorted(pairs):
        length = max(0.1, ROUTE_FACTOR * _distance_km(lats[a], lons[a], lats[b], lons[b]))
        links.append(
            {
                "a": site_ids[a],
                "b": site_ids[b],
                "length_km": round(min(length, 1999.0), 2),
                "fibre": ("dark", "leased", "planned")[int(rng.integers(3))],
                "qkd": bool(rng.random() < 0.02),
            }
        )
    operator_docs: list[dict[str, Any]] = [{"id": "op-000", "name": "City IT", "type": "municipal"}]
    for j in range(1, operators):
        doc: dict[str, Any] = {"id": f"op-{j:03d}", "name": f"Contractor {j}", "type": "contractor"}
        if rng.random() < 0.85:
            kept = [c for c in _CLAUSES if rng.random() < 0.8]
            doc["contract"] = {"id": f"C-{j}", "clauses": kept}
        if rng.random() < 0.6:
            doc["finance"] = {
                "loan_rate_percent": float(rng.integers(8, 20)),
                "loan_years": int(rng.integers(3, 12)),
            }
        operator_docs.append(doc)
    functions = sorted(TIER_OF_FUNCTION)
    kex, sig, cipher = names(Role.KEY_EXCHANGE), names(Role.SIGNATURE), names(Role.CIPHER)
    classical_kex = ("ECDHE-P256", "ECDHE-P384", "RSA-2048", "X25519", "DH-2048")
    service_docs = []
    for s in range(services):
        ends = rng.choice(sites, size=2, replace=False)
        modern = rng.random() < 0.2
        service_docs.append(
            {
                "id": f"svc-{s:06d}",
                "name": f"Service {s}",
                "operator": operator_docs[int(rng.integers(operators))]["id"],
                "function": functions[int(rng.integers(len(functions)))],
                "data": {
                    "categories": sorted(
                        {
                            DATA_CATEGORIES[int(i)]
                            for i in rng.integers(len(DATA_CATEGORIES), size=2)
                        }
                    ),
                    "shelf_life_years": float(rng.choice([0, 1, 2, 5, 10, 25, 50])),
                    "volume_gb_per_day": round(float(rng.lognormal(0, 2)), 3),
                },
                "endpoints": [site_ids[int(ends[0])], site_ids[int(ends[1])]],
                "crypto": {
                    "key_exchange": kex[int(rng.integers(len(kex)))]
                    if modern
                    else classical_kex[int(rng.integers(len(classical_kex)))],
                    "signature": sig[int(rng.integers(len(sig)))],
                    "cipher": cipher[int(rng.integers(len(cipher)))],
                },
                "migration_years": float(rng.integers(1, 7)),
            }
        )
    return {
        "format": 1,
        "city": {"name": f"Synthetic city ({services} services)", "currency": "EUR"},
        "assumptions": {"start_year": 2026},
        "sites": site_docs,
        "links": links,
        "operators": operator_docs,
        "services": service_docs,
    }
