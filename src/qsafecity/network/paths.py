"""Shortest key-relay routes in compiled code (scipy's Dijkstra), with the relay rule built in.

A key may pass *through* a site only where a trusted node can stand (a relay site); any site may
be an endpoint. The rule is built into a split graph: every site ``v`` has an entry copy
``v_in`` and an exit copy ``v_out``; a segment ``a-b`` gives the arcs ``a_out -> b_in`` and
``b_out -> a_in``; only a relay site has the arc ``v_in -> v_out``, weighted with what relaying
there costs. A route starts at ``source_out`` and ends at ``target_in``, so the endpoints pay no
relay cost and a site that cannot relay is a dead end unless it is the target.

The planner asks for thousands of shortest-path trees (one per root and metric) and, in its
greedy baseline, one search per critical service with weights that change as the plan grows;
networkx with Python weight callbacks took a minute for a 1,000-site city, this takes seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from qsafecity.network.graph import CityNetwork, Segment

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Shortest-path trees computed per scipy call (bounds the predecessor matrix's memory).
_ROOTS_PER_CALL = 256


@dataclass(frozen=True)
class RelayGraph:
    """The QKD-feasible segments of a network, indexed for fast shortest routes."""

    network: CityNetwork
    site_ids: tuple[str, ...] = field(init=False)
    index: dict[str, int] = field(init=False)
    #: The QKD-feasible segments, in the order of the weight arrays.
    segments: tuple[Segment, ...] = field(init=False)
    _a: IntArray = field(init=False, repr=False)
    _b: IntArray = field(init=False, repr=False)
    _relay: IntArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        ids = tuple(site.id for site in self.network.sites)
        index = {site: i for i, site in enumerate(ids)}
        segments = tuple(s for s in self.network.segments if s.qkd_feasible)
        set_ = object.__setattr__
        set_(self, "site_ids", ids)
        set_(self, "index", index)
        set_(self, "segments", segments)
        set_(self, "_a", np.array([index[s.a] for s in segments], dtype=np.int64))
        set_(self, "_b", np.array([index[s.b] for s in segments], dtype=np.int64))
        relay = sorted(index[s] for s in self.network.relay_sites if s in index)
        set_(self, "_relay", np.array(relay, dtype=np.int64))

    @property
    def relay_indices(self) -> IntArray:
        return self._relay

    def matrix(
        self,
        segment_weight: FloatArray,
        relay_weight: FloatArray,
        usable: npt.NDArray[np.bool_] | None = None,
    ) -> csr_matrix:
        """The split graph with these weights (per segment, per site); ``usable`` masks segments.

        The sparsity pattern is built once; each call only fills in the weights (an unusable
        segment gets an infinite weight, which no shortest route takes).
        """
        pattern, order = self._pattern
        w = segment_weight if usable is None else np.where(usable, segment_weight, np.inf)
        data = np.concatenate([w, w, relay_weight[self._relay]]).astype(np.float64)
        return csr_matrix(
            (data[order], pattern.indices, pattern.indptr), shape=pattern.shape, copy=False
        )

    @cached_property
    def _pattern(self) -> tuple[csr_matrix, IntArray]:
        n = len(self.site_ids)
        a, b, relay = self._a, self._b, self._relay
        rows = np.concatenate([a + n, b + n, relay])
        cols = np.concatenate([b, a, relay + n])
        # Positions + 1 as data: after conversion, data[k] - 1 is the arc behind entry k.
        positions = np.arange(1, len(rows) + 1, dtype=np.float64)
        pattern = csr_matrix((positions, (rows, cols)), shape=(2 * n, 2 * n))
        pattern.sort_indices()
        return pattern, (pattern.data - 1).astype(np.int64)

    def trees(self, matrix: csr_matrix, roots: Sequence[str]) -> dict[str, IntArray]:
        """Predecessor arrays of the shortest-path trees from each root (split-graph indices)."""
        n = len(self.site_ids)
        result: dict[str, IntArray] = {}
        for start in range(0, len(roots), _ROOTS_PER_CALL):
            chunk = list(roots[start : start + _ROOTS_PER_CALL])
            sources = [self.index[root] + n for root in chunk]
            _, predecessors = dijkstra(
                matrix, directed=True, indices=sources, return_predecessors=True
            )
            for root, row in zip(chunk, np.atleast_2d(predecessors), strict=True):
                result[root] = np.asarray(row, dtype=np.int64)
        return result

    def route(self, predecessors: IntArray, root: str, target: str) -> tuple[str, ...] | None:
        """The sites from ``root`` to ``target`` along a tree, or None when it does not reach."""
        n = len(self.site_ids)
        node = self.index[target]
        start = self.index[root] + n
        if node == start - n:
            return None
        path = [node]
        while node != start:
            node = int(predecessors[node])
            if node < 0:
                return None
            if node < n or node == start:
                path.append(node)
        sites = [self.site_ids[i if i < n else i - n] for i in reversed(path)]
        return tuple(sites)
