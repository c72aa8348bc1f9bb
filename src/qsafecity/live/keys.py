"""The city's key management layer as the live city runs it: a KME per site, pools per QKD link,
key delivery by key id and trusted-node relay (ITU-T Y.3803 style, REFERENCE.md §7).

Each QKD link fills a pool shared by the KMEs at its two ends, at the link's secret key rate, up
to a capacity. A key for two SAEs at sites joined by no direct link travels hop by hop through
trusted nodes and consumes one key's worth of bits from the pool of every hop (the one-time pad of
each hop); the route is the shortest path, by hop count, over links that are running and hold
enough key. A master's KME hands out a key with a fresh key id (``enc_keys`` of ETSI GS QKD 014);
the slave's KME delivers it once by that id (``dec_keys``) and forgets it.

The key material stands for what the QKD devices would distil: it is drawn from the injected
random source (the OS CSPRNG in production use) when the key is delivered; the pools account for
the bits the devices produced and the relay consumed. When ``qsafecity.kms`` (the ETSI 014 KMEs
of issue 5) lands, :class:`KeyDelivery` is the seam through which the live city uses it instead.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, Protocol

import networkx as nx

from qsafecity.errors import KeyManagementError
from qsafecity.live.links import LinkState, QKDLinkRuntime

#: ETSI GS QKD 014 keys are usually 256 bits.
KEY_BITS: Final = 256
#: A pool holds at most this many keys per link (the KME's ``max_key_count``).
POOL_CAPACITY_KEYS: Final = 4_096


@dataclass(frozen=True, slots=True)
class DeliveredKey:
    """A key handed to an SAE: its id (public), its material (secret) and the route it took."""

    key_id: str
    material: bytes
    route: tuple[str, ...]

    def __repr__(self) -> str:
        return f"DeliveredKey(key_id={self.key_id!r}, route={self.route!r}, material=<redacted>)"


class KeyDelivery(Protocol):
    """What a sender and a gateway need from the key management layer (ETSI 014 in spirit)."""

    def enc_key(self, master_site: str, slave_site: str, slave_sae: str) -> DeliveredKey: ...

    def dec_key(self, slave_site: str, slave_sae: str, key_id: str) -> bytes: ...

    def has_route(self, a: str, b: str) -> bool: ...


@dataclass(slots=True)
class _Reserved:
    slave_site: str
    slave_sae: str
    material: bytes


class KeyNetwork:
    """All the KMEs of the city and the pools of their QKD links (thread-safe)."""

    def __init__(
        self,
        links: Iterable[QKDLinkRuntime],
        *,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
        capacity_keys: int = POOL_CAPACITY_KEYS,
    ) -> None:
        self.links: dict[str, QKDLinkRuntime] = {link.id: link for link in links}
        self.capacity_bits = capacity_keys * KEY_BITS
        self.pool_bits: dict[str, int] = dict.fromkeys(self.links, 0)
        self.consumed_bits: dict[str, int] = dict.fromkeys(self.links, 0)
        self.relayed_keys = 0
        self._random_bytes = random_bytes
        self._reserved: dict[str, _Reserved] = {}
        self._lock = threading.Lock()

    @property
    def sites(self) -> set[str]:
        """Sites that run a KME: every end of a QKD link."""
        return {site for link in self.links.values() for site in (link.a, link.b)}

    def add_bits(self, link_id: str, bits: int) -> None:
        """The devices of ``link_id`` distilled ``bits`` more secret bits (capped by the pool)."""
        with self._lock:
            self.pool_bits[link_id] = min(self.capacity_bits, self.pool_bits[link_id] + bits)

    def fill_level(self, link_id: str) -> float:
        return self.pool_bits[link_id] / self.capacity_bits

    def _graph(self, needed_bits: int) -> nx.Graph[str]:
        graph: nx.Graph[str] = nx.Graph()
        for link in self.links.values():
            usable = link.state is LinkState.RUNNING and not link.cut
            if usable and self.pool_bits[link.id] >= needed_bits:
                graph.add_edge(link.a, link.b, link=link.id)
        return graph

    def route(self, a: str, b: str, needed_bits: int = KEY_BITS) -> list[str] | None:
        """Sites from ``a`` to ``b`` over running links with key to spare, or ``None``."""
        if a == b:
            return [a]
        graph = self._graph(needed_bits)
        if a not in graph or b not in graph:
            return None
        try:
            return list(nx.shortest_path(graph, a, b))
        except nx.NetworkXNoPath:
            return None

    def has_route(self, a: str, b: str) -> bool:
        with self._lock:
            return self.route(a, b) is not None

    def enc_key(self, master_site: str, slave_site: str, slave_sae: str) -> DeliveredKey:
        """A new key shared with ``slave_sae`` at ``slave_site``, reserved for it by key id."""
        with self._lock:
            path = self.route(master_site, slave_site)
            if path is None or len(path) < 2:
                raise KeyManagementError(
                    f"no QKD route with key from {master_site} to {slave_site}"
                )
            graph = self._graph(KEY_BITS)
            for hop_a, hop_b in itertools.pairwise(path):
                hop = graph.edges[hop_a, hop_b]["link"]
                self.pool_bits[hop] -= KEY_BITS
                self.consumed_bits[hop] += KEY_BITS
            if len(path) > 2:
                self.relayed_keys += 1
            key_id = str(uuid.uuid4())
            material = self._random_bytes(KEY_BITS // 8)
            self._reserved[key_id] = _Reserved(slave_site, slave_sae, material)
            return DeliveredKey(key_id, material, tuple(path))

    def dec_key(self, slave_site: str, slave_sae: str, key_id: str) -> bytes:
        """The key reserved for ``slave_sae`` under ``key_id``, delivered once, then forgotten."""
        with self._lock:
            reserved = self._reserved.get(key_id)
            if (
                reserved is None
                or reserved.slave_site != slave_site
                or reserved.slave_sae != slave_sae
            ):
                raise KeyManagementError(f"no key {key_id} for {slave_sae} at {slave_site}")
            del self._reserved[key_id]
            return reserved.material
