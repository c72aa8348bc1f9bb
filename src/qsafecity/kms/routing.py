"""Key relay routing: the best path through trusted nodes by available key (ITU-T Y.3803 style).

The KME network is a graph of sites joined by QKD links, each link weighted by the number of key
blocks its pool holds. The best route is the *widest* path: the one whose scarcest link holds the
most key, since a relay consumes key on every hop and the scarcest link runs out first; among routes
equally wide, the one with fewest hops (fewest trusted nodes see the key, least key consumed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import networkx as nx

from qsafecity.kms.directory import QKDLink


def best_route(
    links: Iterable[QKDLink],
    levels: Mapping[str, int],
    source: str,
    target: str,
    *,
    needed_blocks: int = 1,
    excluded: frozenset[str] = frozenset(),
) -> list[str] | None:
    """The widest, then shortest, route from ``source`` to ``target``, or ``None``.

    ``levels`` maps link ids to available blocks; a link without a level is assumed to have
    ``needed_blocks``. Links in ``excluded`` (known to be down) and links with fewer than
    ``needed_blocks`` are not used.

    >>> from qsafecity.kms.directory import QKDLink
    >>> links = [QKDLink("a", "b", 1), QKDLink("b", "c", 1), QKDLink("a", "c", 1)]
    >>> best_route(links, {"a~c": 5, "a~b": 90, "b~c": 80}, "a", "c")
    ['a', 'b', 'c']
    >>> best_route(links, {"a~c": 5, "a~b": 90, "b~c": 80}, "a", "c", excluded=frozenset({"b~c"}))
    ['a', 'c']
    """
    graph: nx.Graph[str] = nx.Graph()
    for link in links:
        if link.link_id in excluded:
            continue
        level = levels.get(link.link_id, needed_blocks)
        if level >= needed_blocks:
            graph.add_edge(link.site_a, link.site_b, level=level)
    if source not in graph or target not in graph or not nx.has_path(graph, source, target):
        return None
    # Try thresholds from the widest down: the first at which the target is reachable is the
    # bottleneck of the widest path; the shortest path in that subgraph breaks ties by hops.
    edge_levels: list[tuple[str, str, int]] = [
        (u, v, int(data["level"])) for u, v, data in graph.edges(data=True)
    ]
    for threshold in sorted({level for _, _, level in edge_levels}, reverse=True):
        wide = graph.edge_subgraph((u, v) for u, v, level in edge_levels if level >= threshold)
        if source in wide and target in wide and nx.has_path(wide, source, target):
            return list(nx.shortest_path(wide, source, target))
    return None
