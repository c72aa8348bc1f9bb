"""The city's fibre graph: existing fibre, existing QKD links and candidate new fibre.

Every segment carries the secret key rate one QKD device pair would give over it
(``KeyRateModel``); a segment longer than the model's reach gives none, so a route across it must
relay through a trusted node. Relaying happens only at sites that can host a trusted node
(``relay_sites``): by default data centres, government and operator sites and dedicated
trusted-node sites, not field cabinets or other premises.

Candidate new fibre joins each site to its ``candidate_neighbours`` nearest sites, and the
relay-capable sites along their minimum spanning tree (so the cheapest-reach relay chain is always a
candidate); its length is the great-circle distance times the route factor.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Final

import networkx as nx
import numpy as np
import numpy.typing as npt

from qsafecity.city import CityManifest, FibreKind, Site, SiteKind
from qsafecity.network.geo import DEFAULT_ROUTE_FACTOR, EARTH_RADIUS_KM
from qsafecity.network.keyrate import KeyRateModel

DEFAULT_RELAY_KINDS: Final = frozenset(
    {SiteKind.TRUSTED_NODE, SiteKind.DATA_CENTRE, SiteKind.GOVERNMENT, SiteKind.OPERATOR}
)
DEFAULT_CANDIDATE_NEIGHBOURS: Final = 4


class SegmentKind(StrEnum):
    """Who owns the fibre under a segment, which decides what a QKD link on it costs."""

    DARK = "dark"  # the city's own fibre: a spare core is free
    LEASED = "leased"  # someone else's: a dark core is leased by the year
    PLANNED = "planned"  # in the city's fibre plan, not yet laid: built when the plan uses it
    NEW = "new"  # not planned at all: a candidate the planner may build


_KIND_OF_FIBRE: Final = {
    FibreKind.DARK: SegmentKind.DARK,
    FibreKind.LEASED: SegmentKind.LEASED,
    FibreKind.PLANNED: SegmentKind.PLANNED,
}


@dataclass(frozen=True, slots=True)
class Segment:
    """A fibre between two sites over which a QKD link runs or could run."""

    a: str
    b: str
    length_km: float
    kind: SegmentKind
    existing_qkd: bool
    #: Secret key rate of one device pair over this length; 0 when beyond the reach.
    key_rate_bps: float

    @property
    def id(self) -> str:
        return segment_id(self.a, self.b)

    @property
    def qkd_feasible(self) -> bool:
        return self.key_rate_bps > 0.0


def segment_id(a: str, b: str) -> str:
    """The order-independent id of the segment between two sites (``a~b``, sorted)."""
    first, second = sorted((a, b))
    return f"{first}~{second}"


@dataclass(frozen=True)
class CityNetwork:
    """Sites, segments and relay-capable sites of one city, with the key rate model used."""

    sites: tuple[Site, ...]
    segments: tuple[Segment, ...]
    relay_sites: frozenset[str]
    key_rate_model_name: str
    max_distance_km: float
    route_factor: float
    _index: dict[str, Segment] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {s.id: s for s in self.segments})

    def segment(self, a: str, b: str) -> Segment:
        return self._index[segment_id(a, b)]

    def segment_by_id(self, key: str) -> Segment:
        return self._index[key]

    @cached_property
    def sites_by_id(self) -> dict[str, Site]:
        return {s.id: s for s in self.sites}

    @cached_property
    def qkd_graph(self) -> nx.Graph:  # type: ignore[type-arg]
        """Sites joined by every segment that can carry a QKD link (attribute ``segment``)."""
        graph: nx.Graph = nx.Graph()  # type: ignore[type-arg]
        graph.add_nodes_from(s.id for s in self.sites)
        for segment in self.segments:
            if segment.qkd_feasible:
                graph.add_edge(segment.a, segment.b, segment=segment, length_km=segment.length_km)
        return graph


def _coordinates(
    sites: tuple[Site, ...],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    lat = np.radians(np.array([s.location.lat for s in sites], dtype=np.float64))
    lon = np.radians(np.array([s.location.lon for s in sites], dtype=np.float64))
    return lat, lon


def pairwise_great_circle_km(sites: tuple[Site, ...]) -> npt.NDArray[np.float64]:
    """The matrix of haversine distances between all sites, km (vectorised)."""
    lat, lon = _coordinates(sites)
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    half_chord = (
        np.sin(dlat / 2.0) ** 2
        + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2.0) ** 2
    )
    result: npt.NDArray[np.float64] = (
        2.0 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(half_chord)))
    )
    return result


def minimum_spanning_edges(distance: npt.NDArray[np.float64]) -> list[tuple[int, int]]:
    """Edges of a minimum spanning tree of the complete graph with this distance matrix (Prim).

    O(n^2) with numpy, which beats building the n^2/2 edges of a complete networkx graph.
    """
    count = distance.shape[0]
    if count < 2:
        return []
    in_tree = np.zeros(count, dtype=bool)
    in_tree[0] = True
    best = distance[0].copy()
    parent = np.zeros(count, dtype=np.int64)
    edges = []
    for _ in range(count - 1):
        candidates = np.where(in_tree, np.inf, best)
        nearest = int(np.argmin(candidates))
        edges.append((int(parent[nearest]), nearest))
        in_tree[nearest] = True
        closer = distance[nearest] < best
        best = np.where(closer, distance[nearest], best)
        parent = np.where(closer, nearest, parent)
    return edges


def build_network(
    city: CityManifest,
    key_rate_model: KeyRateModel,
    *,
    route_factor: float = DEFAULT_ROUTE_FACTOR,
    candidate_neighbours: int = DEFAULT_CANDIDATE_NEIGHBOURS,
    relay_kinds: Iterable[SiteKind] = DEFAULT_RELAY_KINDS,
) -> CityNetwork:
    """The network of ``city``: its fibre, its QKD links and the candidate new fibre."""
    if not (math.isfinite(route_factor) and route_factor >= 1.0):
        raise ValueError(f"route factor must be a finite number >= 1, got {route_factor}")
    if candidate_neighbours < 0:
        raise ValueError(f"candidate_neighbours must be >= 0, got {candidate_neighbours}")
    kinds = frozenset(relay_kinds)
    sites = city.sites
    relay_sites = frozenset(s.id for s in sites if s.kind in kinds)
    reach_km = key_rate_model.max_distance_km

    found: dict[str, tuple[str, str, float, SegmentKind, bool]] = {}
    for link in city.links:
        key = segment_id(link.a, link.b)
        previous = found.get(key)
        # Two records of the same pair: keep the one with a QKD link, else the shorter fibre.
        if previous is not None and (previous[4] or previous[2] <= link.length_km) and not link.qkd:
            continue
        found[key] = (link.a, link.b, link.length_km, _KIND_OF_FIBRE[link.fibre], link.qkd)

    distance = pairwise_great_circle_km(sites) * route_factor
    ids = [s.id for s in sites]
    candidate_pairs: set[tuple[int, int]] = set()
    if candidate_neighbours and len(sites) > 1:
        neighbours = min(candidate_neighbours, len(sites) - 1)
        with_self_excluded = distance + np.diag(np.full(len(sites), np.inf))
        nearest = np.argpartition(with_self_excluded, neighbours - 1, axis=1)[:, :neighbours]
        for i, row in enumerate(nearest):
            for j in row:
                candidate_pairs.add((min(i, int(j)), max(i, int(j))))
    relay_index = [i for i, site_id in enumerate(ids) if site_id in relay_sites]
    if len(relay_index) > 1:
        sub = distance[np.ix_(relay_index, relay_index)]
        for i, j in minimum_spanning_edges(sub):
            first, second = relay_index[i], relay_index[j]
            candidate_pairs.add((min(first, second), max(first, second)))
    for i, j in sorted(candidate_pairs):
        key = segment_id(ids[i], ids[j])
        length_km = float(distance[i, j])
        if key in found or length_km > reach_km or length_km <= 0.0:
            continue
        found[key] = (ids[i], ids[j], length_km, SegmentKind.NEW, False)

    ordered = [found[key] for key in sorted(found)]
    rates = key_rate_model.secret_key_rates_bps([entry[2] for entry in ordered])
    segments = tuple(
        Segment(a=a, b=b, length_km=length_km, kind=kind, existing_qkd=qkd, key_rate_bps=rate)
        for (a, b, length_km, kind, qkd), rate in zip(ordered, rates, strict=True)
    )
    return CityNetwork(
        sites=sites,
        segments=segments,
        relay_sites=relay_sites,
        key_rate_model_name=key_rate_model.name,
        max_distance_km=reach_km,
        route_factor=route_factor,
    )
