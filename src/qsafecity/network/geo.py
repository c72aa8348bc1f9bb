"""Distances on the Earth's surface and the route factor that turns them into fibre lengths."""

from __future__ import annotations

import math
from typing import Final

from qsafecity.city import Location

#: Mean Earth radius (IUGG), km. The haversine formula with a spherical Earth errs by at most
#: about 0.5 % against the ellipsoid, far below the uncertainty of the route factor.
EARTH_RADIUS_KM: Final = 6371.0088

#: Fibre does not run in straight lines: it follows streets, ducts and rights of way. The ratio of
#: route length to straight-line distance is 1.3-1.6 in dense cities; 1.4 is the value the bundled
#: sample city uses for its own fibre plan (see its header), so candidate fibre is measured alike.
DEFAULT_ROUTE_FACTOR: Final = 1.4


def great_circle_km(a: Location, b: Location) -> float:
    """Great-circle (haversine) distance between two points, in km."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    half_chord = (
        math.sin((lat2 - lat1) / 2.0) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2.0) ** 2
    )
    return 2.0 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(half_chord)))


def fibre_route_km(a: Location, b: Location, route_factor: float = DEFAULT_ROUTE_FACTOR) -> float:
    """Expected length of a new fibre between two points: great-circle distance x route factor."""
    if not route_factor >= 1.0 or not math.isfinite(route_factor):
        raise ValueError(f"route factor must be a finite number >= 1, got {route_factor}")
    return great_circle_km(a, b) * route_factor
