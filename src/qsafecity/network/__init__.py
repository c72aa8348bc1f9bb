"""The city's key network (pure): fibre graph, QKD link capacities, key demand and relay routes.

* ``graph``: sites, existing fibre and QKD links, candidate new fibre (``build_network``);
* ``keyrate``: the ``KeyRateModel`` seam to QKD physics and its fake;
* ``demand``: each service's tier, protection and key demand (``service_demands``);
* ``routes``: candidate key-relay routes through trusted nodes (``candidate_routes``);
* ``geo``: great-circle distances and the fibre route factor.
"""

from qsafecity.network.demand import (
    CLASSICAL_ALLOWED,
    PQC,
    QKD_AND_PQC,
    RekeyPolicy,
    ServiceDemand,
    required_protection,
    service_demands,
    tier_of,
)
from qsafecity.network.geo import DEFAULT_ROUTE_FACTOR, fibre_route_km, great_circle_km
from qsafecity.network.graph import (
    DEFAULT_CANDIDATE_NEIGHBOURS,
    DEFAULT_RELAY_KINDS,
    CityNetwork,
    Segment,
    SegmentKind,
    build_network,
    segment_id,
)
from qsafecity.network.keyrate import KeyRateModel, StepKeyRateModel
from qsafecity.network.routes import (
    BY_HOPS,
    BY_LENGTH,
    Route,
    RouteMetric,
    SitePair,
    candidate_routes,
    route_segments,
    site_pair,
)

__all__ = [
    "BY_HOPS",
    "BY_LENGTH",
    "CLASSICAL_ALLOWED",
    "DEFAULT_CANDIDATE_NEIGHBOURS",
    "DEFAULT_RELAY_KINDS",
    "DEFAULT_ROUTE_FACTOR",
    "PQC",
    "QKD_AND_PQC",
    "CityNetwork",
    "KeyRateModel",
    "RekeyPolicy",
    "Route",
    "RouteMetric",
    "Segment",
    "SegmentKind",
    "ServiceDemand",
    "SitePair",
    "StepKeyRateModel",
    "build_network",
    "candidate_routes",
    "fibre_route_km",
    "great_circle_km",
    "required_protection",
    "route_segments",
    "segment_id",
    "service_demands",
    "site_pair",
    "tier_of",
]
