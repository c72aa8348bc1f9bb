"""Candidate key-relay routes between the sites a service joins.

A route is a chain of QKD-feasible segments whose every interior site can host a trusted node
(ITU-T Y.3803 key relay: each node decrypts and re-encrypts the key with the next hop's QKD key,
so every hop consumes the relayed key rate). The planner chooses among these routes, so the set
must contain the good ones without being so large that the optimisation drowns:

* for every metric given (fibre length, number of hops, an estimated cost...) the best route under
  it, found with one Dijkstra tree per *root* site (the endpoint that most pairs share, typically a
  data centre), computed in scipy (``paths.RelayGraph``);
* for small networks, in addition, the ``exhaustive_k`` shortest simple routes of every pair
  (Yen's algorithm), which makes the planner exact on hand-solvable cities.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import islice, pairwise
from typing import Final

import networkx as nx
import numpy as np

from qsafecity.network.graph import CityNetwork, Segment
from qsafecity.network.paths import RelayGraph

#: A route: the sites it passes through, from one endpoint to the other.
Route = tuple[str, ...]
#: An unordered site pair, stored sorted.
SitePair = tuple[str, str]

#: Networks up to this many sites also get Yen's k shortest routes for every pair.
EXHAUSTIVE_MAX_SITES: Final = 60
DEFAULT_EXHAUSTIVE_K: Final = 6


def site_pair(a: str, b: str) -> SitePair:
    first, second = sorted((a, b))
    return (first, second)


@dataclass(frozen=True, slots=True)
class RouteMetric:
    """What a route costs under one way of looking at it: per segment, plus per relay site."""

    name: str
    segment_weight: Callable[[Segment], float]
    relay_weight: Callable[[str], float] = lambda _site: 0.0


BY_LENGTH: Final = RouteMetric("length", lambda segment: segment.length_km)
# Fewest hops = fewest trusted nodes; the length term breaks ties towards shorter fibre.
BY_HOPS: Final = RouteMetric("hops", lambda segment: 1.0 + 1e-6 * segment.length_km)


def _choose_roots(pairs: Iterable[SitePair]) -> dict[str, list[SitePair]]:
    """Assign each pair to one of its endpoints so that few roots cover all pairs (greedy: the
    site in most remaining pairs first, ties by id), with counts kept up to date incrementally."""
    remaining = set(pairs)
    at_site: dict[str, set[SitePair]] = defaultdict(set)
    for pair in remaining:
        for site in pair:
            at_site[site].add(pair)
    counts = Counter({site: len(found) for site, found in at_site.items()})
    by_root: dict[str, list[SitePair]] = defaultdict(list)
    while remaining:
        root = min(counts, key=lambda site: (-counts[site], site))
        for pair in sorted(at_site[root]):
            by_root[root].append(pair)
            remaining.discard(pair)
            for site in pair:
                if site != root:
                    at_site[site].discard(pair)
                    counts[site] -= 1
                    if not counts[site]:
                        del counts[site]
        del counts[root]
        at_site[root] = set()
    return by_root


def candidate_routes(
    network: CityNetwork,
    pairs: Iterable[SitePair],
    metrics: Sequence[RouteMetric] = (BY_LENGTH, BY_HOPS),
    *,
    exhaustive_k: int = DEFAULT_EXHAUSTIVE_K,
) -> dict[SitePair, tuple[Route, ...]]:
    """Candidate routes for each pair, each route oriented from ``pair[0]`` to ``pair[1]``.

    A pair with no route (no chain of QKD-feasible segments through relay-capable sites) maps to
    an empty tuple. Routes are deduplicated and listed in a deterministic order.
    """
    wanted = sorted({site_pair(*pair) for pair in pairs})
    graph = network.qkd_graph
    relay = network.relay_sites
    found: dict[SitePair, list[Route]] = {pair: [] for pair in wanted}

    def add(pair: SitePair, path: Sequence[str]) -> None:
        route = tuple(path) if path[0] == pair[0] else tuple(reversed(path))
        if route not in found[pair]:
            found[pair].append(route)

    fast = RelayGraph(network)
    by_root = sorted(_choose_roots(wanted).items())
    roots = [root for root, _ in by_root]
    for metric in metrics:
        segment_weight = np.array([metric.segment_weight(s) for s in fast.segments], dtype=float)
        relay_weight = np.array([metric.relay_weight(site) for site in fast.site_ids], dtype=float)
        trees = fast.trees(fast.matrix(segment_weight, relay_weight), roots)
        for root, root_pairs in by_root:
            for pair in root_pairs:
                target = pair[1] if pair[0] == root else pair[0]
                path = fast.route(trees[root], root, target)
                if path is not None and len(path) > 1:
                    add(pair, path)

    if exhaustive_k > 0 and graph.number_of_nodes() <= EXHAUSTIVE_MAX_SITES:
        for pair in wanted:
            if not found[pair]:
                continue  # no route at all: Yen's algorithm would find none either
            allowed = relay | set(pair)
            subgraph = graph.subgraph(n for n in graph.nodes if n in allowed)
            paths_iter = nx.shortest_simple_paths(subgraph, pair[0], pair[1], weight="length_km")
            for simple in islice(paths_iter, exhaustive_k):
                add(pair, simple)

    return {pair: tuple(routes) for pair, routes in found.items()}


def route_segments(network: CityNetwork, route: Route) -> tuple[Segment, ...]:
    """The segments a route runs over, in order."""
    return tuple(network.segment(a, b) for a, b in pairwise(route))
