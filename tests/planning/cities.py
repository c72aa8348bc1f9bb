"""Small hand-solvable cities for the planner's tests."""

from __future__ import annotations

from typing import Any

from qsafecity.city import CityManifest
from qsafecity.network import StepKeyRateModel
from qsafecity.planning import CostInputs

#: Round numbers make the optimum easy to write down: no operation cost, no discounting.
COSTS = CostInputs(
    qkd_device_pair=100.0,
    trusted_node=50.0,
    new_fibre_per_km=1_000.0,
    leased_fibre_per_km_year=0.0,
    operation_percent_per_year=0.0,
    pqc_migration_per_service=10.0,
    trunk_access_per_link_year=0.0,
)
#: Every link up to 120 km carries 1,000 bit/s of key; longer ones need a trusted node.
MODEL = StepKeyRateModel(rate_bps=1_000.0, reach_km=120.0)


def city(
    sites: list[tuple[str, str, float, float]],
    links: list[dict[str, Any]],
    services: list[tuple[str, str, list[str]]],
    *,
    discount_rate_percent: float = 0.0,
) -> CityManifest:
    """A manifest: sites (id, kind, lat, lon), links, services (id, function, endpoints)."""
    return CityManifest.model_validate(
        {
            "format": 1,
            "city": {"name": "Testville", "currency": "EUR"},
            "assumptions": {"discount_rate_percent": discount_rate_percent},
            "sites": [
                {"id": s, "name": s, "kind": kind, "location": {"lat": lat, "lon": lon}}
                for s, kind, lat, lon in sites
            ],
            "links": links,
            "operators": [{"id": "city-it", "name": "City IT", "type": "municipal"}],
            "services": [
                {
                    "id": sid,
                    "name": sid,
                    "operator": "city-it",
                    "function": function,
                    "data": {
                        "categories": ["telemetry"],
                        "shelf_life_years": 1,
                        "volume_gb_per_day": 1,
                    },
                    "endpoints": endpoints,
                    "crypto": {
                        "key_exchange": "X25519",
                        "signature": "Ed25519",
                        "cipher": "AES-256-GCM",
                    },
                }
                for sid, function, endpoints in services
            ],
        }
    )


def chain() -> CityManifest:
    """A - B - C in a line, 100 km of dark fibre per hop; A-C is 200 km, beyond any reach.

    One critical service joins A and C, so the plan needs exactly one trusted node (at B) and two
    QKD links.
    """
    return city(
        [
            ("a", "data-centre", 0.0, 0.0),
            ("b", "trusted-node", 0.0, 0.9),
            ("c", "government", 0.0, 1.8),
        ],
        [
            {"a": "a", "b": "b", "length_km": 100.0, "fibre": "dark"},
            {"a": "b", "b": "c", "length_km": 100.0, "fibre": "dark"},
        ],
        [("dispatch", "emergency-dispatch", ["a", "c"])],
    )


def star(spokes: int = 3) -> CityManifest:
    """A hub with ``spokes`` sites on dark fibre of 10 km each, one critical service per spoke."""
    sites = [("hub", "data-centre", 50.0, 10.0)]
    links = []
    services = []
    for i in range(spokes):
        sites.append((f"s{i}", "government", 50.0 + 0.05 * (i + 1), 10.0 + 0.05 * (i + 1)))
        links.append({"a": "hub", "b": f"s{i}", "length_km": 10.0, "fibre": "dark"})
        services.append((f"svc{i}", "traffic-control", [f"s{i}", "hub"]))
    # An especially important service (PQC only) and an important one (free to choose).
    services.append(("meters", "utility-metering", ["s0", "hub"]))
    services.append(("library", "library", ["s0", "hub"]))
    return city(sites, links, services)
