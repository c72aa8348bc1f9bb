"""The key management entity (KME) of one site: ETSI GS QKD 014 key delivery and key relay.

A KME serves the SAEs of its site. Keys come from the pools of the QKD links that join it to
neighbouring KMEs; each end of a link keeps its own copy of the link's pool in its own store, and
the two ends agree over the KME-to-KME channel (``PeerChannel``) on which blocks make which key:

* **Allocation.** Only a link's *leader* (the end with the lexically smaller site id) takes blocks
  from the pool, lowest index first (``SKIP LOCKED`` in SQL, so several workers share a pool). A
  leader names the blocks it took by index; the other end takes the same indices from its copy.
  When the other end needs blocks, it asks the leader to reserve them under a *hold*: the leader
  takes them into the hold and answers with their indices, and the hop that follows names the
  hold. Either way both ends use the same blocks once, with no shared database.
* **Delivery.** ``enc_keys`` at the master's KME sends the key to each slave's KME, hop by hop
  along the best route (``routing.best_route``). On the first hop of the first route the key *is*
  the link's key blocks; every other hop (further hops, and first hops of multicast routes to other
  sites) carries the key one-time-pad encrypted with fresh key blocks of its link (ITU-T Y.3803
  trusted-node relay: every trusted node on the way sees the key). The slave's KME stores the key,
  sealed, for its slaves; the master's KME keeps only a record without key material. ``dec_keys``
  delivers a key to each named slave exactly once, erases it when all have it, and tells the
  master's KME, which erases its record.
* **Failures.** A KME never keeps a transaction open across a network call. Blocks taken for a hop
  that then fails are lost, never reused: a failure can waste key, never hand a key out twice. A
  link whose peer cannot be reached is avoided for ``LINK_DOWN_S`` seconds and the key rerouted.

Keys and key blocks are sealed at rest under the KME's key-encryption key (``qsafecity.crypto.SecretBox``). Nothing
here logs or returns key material except to the SAE that is entitled to it.
"""

from __future__ import annotations

import itertools
import math
import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, Protocol

from qsafecity.crypto.secretbox import SecretBox
from qsafecity.errors import AccessDenied, CryptoError, KeyManagementError, KeyRequestError
from qsafecity.kms.directory import SAE, Directory, QKDLink, link_id
from qsafecity.kms.failures import LinkDown, PeerRejected, PoolExhausted
from qsafecity.kms.messages import (
    BlockRef,
    Delivered,
    Hop,
    HopKey,
    HopResult,
    ReserveBlocks,
    ReservedBlocks,
    StockedKeys,
    StockKeys,
)
from qsafecity.kms.model import BLOCK_BITS, BLOCK_BYTES, KMELimits, Secret, StoredKey, StoredRole
from qsafecity.kms.rate import KeyRateModel, KeySource
from qsafecity.kms.routing import best_route
from qsafecity.kms.store import KeyStore, MissingBlocks, StoreTransaction

#: How long a link whose peer did not answer is left out of routes.
LINK_DOWN_S: Final = 2.0
#: Most blocks one refill transaction adds to one link: the refill holds the link's row lock,
#: which a follower's hop may wait for, so it is done in short transactions.
MAX_REFILL_BLOCKS: Final = 2_000
#: Most blocks one refill adds to one link in all (bounds the work of one refill).
MAX_REFILL_TOTAL: Final = 20_000
#: A hold the follower did not claim within this time is erased (its hop failed; a hop times out
#: after 5 s, so no hop in flight can still claim it) and its blocks counted as wasted.
HOLD_TTL_S: Final = 60.0
#: Keys agreed in advance ("stock") per master/slave pair on a direct link: topped up in batches
#: of ``STOCK_BATCH`` to ``STOCK_TARGET`` while the pair asked for keys in the last
#: ``STOCK_IDLE_S`` seconds, and only from a pool holding more than ``STOCK_POOL_FLOOR`` blocks
#: (the rest is left for other pairs and relays).
STOCK_BATCH: Final = 128
STOCK_TARGET: Final = 512
STOCK_IDLE_S: Final = 60.0
STOCK_POOL_FLOOR: Final = 1_024
#: A key that waited for its slave longer than this is erased at the slave's KME, and so is its
#: master's record (ETSI GS QKD 014 sets no lifetime; vendors' KMEs do). This is also what clears
#: keys no SAE can ever name: those a slave's KME stored for a stock agreement whose master's KME
#: died before storing its side, and those an SAE fetched ahead and then dropped.
KEY_TTL_S: Final = 24 * 3600.0
#: Keys agreed in advance and not issued within this are erased at the master's KME: half of
#: ``KEY_TTL_S``, so that a key issued from stock leaves its slave at least as long to fetch it
#: (the slave's KME stored it before the master's did).
STOCK_TTL_S: Final = KEY_TTL_S / 2
#: Most keys one delivery notice names (``messages.Delivered``).
MAX_NOTICE_KEYS: Final = 1_024
_UUID: Final = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


class PeerChannel(Protocol):
    """The authenticated KME-to-KME channel. Implementations raise ``LinkDown`` when the peer
    cannot be reached and re-raise the peer's ``PoolExhausted``, ``LinkDown`` (for a link further
    on), ``MissingBlocks`` and ``PeerRejected``."""

    def reserve(self, peer_kme: str, request: ReserveBlocks) -> ReservedBlocks: ...

    def hop(self, peer_kme: str, hop: Hop) -> HopResult: ...

    def delivered(self, peer_kme: str, notice: Delivered) -> None: ...

    def stock(self, peer_kme: str, request: StockKeys) -> StockedKeys: ...


AuditSink = Callable[[str, Mapping[str, object]], None]


def _no_audit(event: str, fields: Mapping[str, object]) -> None:
    """Drop audit events (tests that do not look at them)."""


@dataclass(frozen=True, slots=True)
class DeliveredKey:
    key_id: str
    key: Secret


@dataclass(frozen=True, slots=True)
class StockPlan:
    """Keys of an ``enc_keys`` request to take from those agreed in advance for a pair."""

    master: str
    slave: str
    slave_site: str
    number: int
    size_bits: int


@dataclass(frozen=True, slots=True)
class KeyRequest:
    """An ``enc_keys`` request, before validation (``None`` = the status default)."""

    number: int | None = None
    size_bits: int | None = None
    additional_slave_sae_ids: tuple[str, ...] = ()
    extension_mandatory: tuple[Mapping[str, object], ...] = ()


@dataclass(frozen=True, slots=True)
class PairStatus:
    """The ETSI 014 status of a master/slave pair (field names in ``api.etsi014``)."""

    source_kme_id: str
    target_kme_id: str
    master_sae_id: str
    slave_sae_id: str
    key_size: int
    stored_key_count: int
    max_key_count: int
    max_key_per_request: int
    max_key_size: int
    min_key_size: int
    max_sae_id_count: int


@dataclass(frozen=True, slots=True)
class _Delivery:
    """What every hop of one ``enc_keys`` request shares."""

    key_ids: list[str]
    size_bits: int
    master: str
    slaves: list[str]


def _xor(first: bytes, second: bytes) -> bytes:
    return (int.from_bytes(first, "big") ^ int.from_bytes(second, "big")).to_bytes(
        len(first), "big"
    )


def _block_context(link_id: str, index: int) -> bytes:
    return f"block|{link_id}|{index}".encode()


def _hold_context(link_id: str, hold_id: str) -> bytes:
    return f"hold|{link_id}|{hold_id}".encode()


def _key_context(key_id: str) -> bytes:
    return f"key|{key_id}".encode()


@dataclass
class KME:
    """The KME of ``site_id`` (see the module docstring). Safe to share between threads."""

    site_id: str
    directory: Directory
    store: KeyStore
    wrapper: SecretBox
    source: KeySource
    rate_model: KeyRateModel
    channel: PeerChannel
    clock: Callable[[], float]
    limits: KMELimits = field(default_factory=KMELimits)
    audit: AuditSink = _no_audit
    new_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))
    #: Counters for metrics: keys_delivered, keys_issued, relay_hops, key_blocks_consumed, …
    stats: Counter[str] = field(default_factory=Counter)
    _levels: dict[str, int] = field(default_factory=dict)
    _down_until: dict[str, float] = field(default_factory=dict)
    #: Links taken out of routes until put back (``set_link_in_service``): their devices abort.
    _out_of_service: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: (master SAE, slave SAE) -> when the pair last asked for a key that stock could serve.
    _demand: dict[tuple[str, str], float] = field(default_factory=dict)
    #: Set when a pair's stock ran low or out: a stocker (``restock``) should run soon.
    stock_wanted: threading.Event = field(default_factory=threading.Event)
    #: 0: ``dec_keys`` tells the master's KME at once. Above 0: it queues the notice, and a
    #: sender (``send_delivery_notices``, woken by ``notices_wanted``) sends the notices of this
    #: many seconds in one request: one round trip and one transaction at the master's KME per
    #: batch instead of per key. The master's records hold no key material, so erasing them a
    #: little later exposes nothing (docs/kms.md).
    notice_delay_s: float = 0.0
    notices_wanted: threading.Event = field(default_factory=threading.Event)
    _notices: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.site_id not in self.directory.sites:
            raise KeyRequestError(f"the city has no site {self.site_id!r}")

    # ----------------------------------------------------------------- who may ask for what

    def _caller(self, caller_id: str) -> SAE:
        sae = self.directory.saes.get(caller_id)
        if sae is None or sae.site_id != self.site_id:
            raise AccessDenied(f"{caller_id!r} is not an SAE served by KME {self.site_id}")
        return sae

    def _partner(self, caller: SAE, other_id: str) -> SAE:
        other = self.directory.saes.get(other_id)
        if other is None:
            raise KeyRequestError(f"unknown SAE {other_id!r}")
        if not self.directory.may_share_keys(caller, other):
            raise AccessDenied(
                f"{caller.sae_id} may not share keys with {other_id}: only ends of the same "
                "service at different sites may"
            )
        return other

    @property
    def my_links(self) -> tuple[QKDLink, ...]:
        return self.directory.links_of(self.site_id)

    # ----------------------------------------------------------------- pools

    def refill(self) -> dict[str, int]:
        """Add the blocks each link's device produced since the last refill; blocks added."""
        added: dict[str, int] = {}
        for link in self.my_links:
            total = 0
            while total < MAX_REFILL_TOTAL:
                count = self._refill_link(link)
                total += count
                if count < MAX_REFILL_BLOCKS:
                    break
            added[link.link_id] = total
        return added

    def _refill_link(self, link: QKDLink) -> int:
        rate_bps = self.rate_model.secret_key_rate_bps(link.length_km)
        now = self.clock()
        with self.store.transaction() as tx:
            state = tx.lock_link(link.link_id, now)
            available = tx.available_count(link.link_id)
            room = self.limits.max_key_count - available
            produced = int((now - state.filled_s) * rate_bps / BLOCK_BITS) if rate_bps > 0 else 0
            count = max(0, min(produced, room, MAX_REFILL_BLOCKS))
            if count == produced and count > 0:
                filled_s = state.filled_s + count * BLOCK_BITS / rate_bps
            elif count > 0:
                filled_s = state.filled_s + count * BLOCK_BITS / rate_bps
                if room <= count:
                    # The pool is full: the device idles, so time up to now produced nothing more.
                    filled_s = now
            else:
                filled_s = now if room <= 0 or rate_bps <= 0 else state.filled_s
            self._append_from_device(tx, link.link_id, state.next_index, count, filled_s)
        self._levels[link.link_id] = available + count
        return count

    def _append_from_device(
        self, tx: StoreTransaction, link_id: str, start: int, count: int, filled_s: float
    ) -> None:
        material = self.source.blocks(link_id, start, count)
        sealed = [
            self.wrapper.seal(block, _block_context(link_id, start + offset))
            for offset, block in enumerate(material)
        ]
        tx.add_blocks(link_id, start, sealed, filled_s)

    def feed(self, link_id: str, count: int) -> int:
        """An external link engine says the devices of ``link_id`` distilled ``count`` more blocks:
        add them to this end's pool from the key source, up to ``max_key_count`` (beyond it the
        devices idle); return the blocks added. A KME fed this way is not also refilled by
        :meth:`refill` (its rate model gives nothing)."""
        link = self.directory.links_by_id.get(link_id)
        if link is None or self.site_id not in (link.site_a, link.site_b):
            raise KeyRequestError(f"KME {self.site_id} has no link {link_id!r}")
        if count < 0:
            raise ValueError("a device cannot distil a negative number of blocks")
        now = self.clock()
        with self.store.transaction() as tx:
            state = tx.lock_link(link_id, now)
            available = tx.available_count(link_id)
            added = max(0, min(count, self.limits.max_key_count - available, MAX_REFILL_BLOCKS))
            self._append_from_device(tx, link_id, state.next_index, added, now)
        self._levels[link_id] = available + added
        return added

    def set_link_in_service(self, link_id: str, in_service: bool) -> None:
        """Take a link out of routes (its devices aborted key generation, its fibre is cut) or
        put it back. Every KME of the network is told: the link-state announcement of the
        network's routing, which the KMEs at its ends learn from their devices."""
        if link_id not in self.directory.links_by_id:
            raise KeyRequestError(f"the KME network has no link {link_id!r}")
        with self._lock:
            if in_service:
                self._out_of_service.discard(link_id)
            else:
                self._out_of_service.add(link_id)

    def route_to(self, target_site: str, needed_blocks: int = 1) -> list[str] | None:
        """The route this KME would send a key to ``target_site`` along now, or ``None``."""
        return self._route(target_site, needed_blocks)

    def pool_levels(self) -> dict[str, int]:
        """Blocks in each of this KME's link pools, read from the store."""
        with self.store.transaction() as tx:
            levels = {link.link_id: tx.available_count(link.link_id) for link in self.my_links}
        self._levels.update(levels)
        return levels

    def _take_named(
        self, tx: StoreTransaction, link_id: str, indices: Sequence[int]
    ) -> list[bytes]:
        """Take blocks a leader named, first reading any that this end's device has not yet
        given us (the leader's device may be ahead of ours)."""
        if not indices:
            return []
        try:
            blocks = tx.take_blocks(link_id, indices)
        except MissingBlocks:
            # Usually all blocks are here; only when some are missing is the link locked to see
            # whether this end's device is behind (then read up to them) or they were used.
            highest = max(indices)
            state = tx.lock_link(link_id, self.clock())
            if highest >= state.next_index:
                count = highest + 1 - state.next_index
                if count > MAX_REFILL_TOTAL * 4:
                    raise
                self._append_from_device(tx, link_id, state.next_index, count, state.filled_s)
            blocks = tx.take_blocks(link_id, indices)
        return [self.wrapper.open(b.sealed, _block_context(link_id, b.index)) for b in blocks]

    def _allocate(
        self,
        link: QKDLink,
        count: int,
        also: Callable[[StoreTransaction], None] | None = None,
    ) -> tuple[list[bytes], BlockRef]:
        """Take ``count`` blocks of ``link`` for a hop from this KME; the ref tells the peer which.
        ``also`` runs in the same transaction (records that must commit with the allocation)."""
        peer = link.peer_of(self.site_id)
        if link.leader() == self.site_id:
            with self.store.transaction() as tx:
                taken = tx.take_any_blocks(link.link_id, count)
                if len(taken) < count:
                    available = tx.available_count(link.link_id) + len(taken)
                    self._levels[link.link_id] = available
                    raise PoolExhausted(link.link_id, count, available)
                if also is not None:
                    also(tx)
            material = [
                self.wrapper.open(b.sealed, _block_context(link.link_id, b.index)) for b in taken
            ]
            ref = BlockRef(indices=[b.index for b in taken])
        else:
            hold_id = self.new_id()
            reserved = self.channel.reserve(
                peer, ReserveBlocks(link_id=link.link_id, hold_id=hold_id, count=count)
            )
            if len(reserved.indices) != count:
                raise PeerRejected(f"link {link.link_id}: the leader reserved the wrong count")
            with self.store.transaction() as tx:
                material = self._take_named(tx, link.link_id, reserved.indices)
                if also is not None:
                    also(tx)
            ref = BlockRef(hold_id=hold_id)
        self.stats["key_blocks_consumed"] += count
        self._levels[link.link_id] = max(0, self._levels.get(link.link_id, count) - count)
        return material, ref

    def handle_reserve(self, caller_kme: str, request: ReserveBlocks) -> ReservedBlocks:
        """Peer call: the other end of a link asks this leader to hold blocks for its next hop."""
        link = self.directory.links_by_id.get(request.link_id)
        if link is None or {caller_kme, self.site_id} != {link.site_a, link.site_b}:
            raise PeerRejected(f"{caller_kme} has no link {request.link_id} with {self.site_id}")
        if link.leader() != self.site_id:
            raise PeerRejected(f"{self.site_id} does not lead link {request.link_id}")
        with self.store.transaction() as tx:
            taken = tx.take_any_blocks(link.link_id, request.count)
            if len(taken) < request.count:
                raise PoolExhausted(
                    link.link_id, request.count, len(taken) + tx.available_count(link.link_id)
                )
            material = b"".join(
                self.wrapper.open(b.sealed, _block_context(link.link_id, b.index)) for b in taken
            )
            sealed = self.wrapper.seal(material, _hold_context(link.link_id, request.hold_id))
            tx.add_hold(request.hold_id, link.link_id, sealed, self.clock())
        self.stats["key_blocks_consumed"] += request.count
        return ReservedBlocks(indices=[b.index for b in taken])

    def _hop_material(
        self, tx: StoreTransaction, link: QKDLink, ref: BlockRef, count: int
    ) -> list[bytes]:
        """The blocks an incoming hop names, taken from this end's copy of the pool."""
        if ref.indices is not None and ref.hold_id is None:
            if link.leader() == self.site_id:
                raise PeerRejected("only a link's leader names blocks by index")
            if len(ref.indices) != count:
                raise PeerRejected("the hop names the wrong number of blocks")
            return self._take_named(tx, link.link_id, ref.indices)
        if ref.hold_id is not None and ref.indices is None:
            if link.leader() != self.site_id:
                raise PeerRejected("a hold can only be kept by the link's leader")
            sealed = tx.take_hold(ref.hold_id, link.link_id)
            if sealed is None:
                raise PeerRejected(f"no hold {ref.hold_id} on link {link.link_id}")
            joined = self.wrapper.open(sealed, _hold_context(link.link_id, ref.hold_id))
            if len(joined) != count * BLOCK_BYTES:
                raise PeerRejected("the hold has the wrong size")
            return [joined[i * BLOCK_BYTES : (i + 1) * BLOCK_BYTES] for i in range(count)]
        raise PeerRejected("a hop names blocks either by index or by hold")

    # ----------------------------------------------------------------- routing

    def _route(self, target_site: str, needed_blocks: int) -> list[str] | None:
        now = self.clock()
        excluded = frozenset(k for k, until in self._down_until.items() if until > now)
        excluded |= self._out_of_service
        return best_route(
            self.directory.links,
            self._levels,
            self.site_id,
            target_site,
            needed_blocks=needed_blocks,
            excluded=excluded,
        )

    def _mark_down(self, link_id: str) -> None:
        self._down_until[link_id] = self.clock() + LINK_DOWN_S
        self.stats["link_down_events"] += 1

    # ----------------------------------------------------------------- ETSI GS QKD 014

    def status(self, caller_id: str, slave_id: str) -> PairStatus:
        caller = self._caller(caller_id)
        slave = self._partner(caller, slave_id)
        route = self._route(slave.site_id, 1)
        stored = 0
        if route is not None:
            first = self.directory.link_between(route[0], route[1])
            assert first is not None
            with self.store.transaction() as tx:
                self._levels[first.link_id] = tx.available_count(first.link_id)
            stored = min(self._levels.get(link_id(a, b), 0) for a, b in itertools.pairwise(route))
        blocks_per_key = math.ceil(self.limits.key_size_bits / BLOCK_BITS)
        stock = 0
        if self._stockable(slave) is not None:
            with self.store.transaction() as tx:
                stock = tx.stock_count(caller.sae_id, slave.sae_id)
        return PairStatus(
            source_kme_id=self.site_id,
            target_kme_id=slave.site_id,
            master_sae_id=caller.sae_id,
            slave_sae_id=slave.sae_id,
            key_size=self.limits.key_size_bits,
            stored_key_count=stored // blocks_per_key + stock,
            max_key_count=self.limits.max_key_count // blocks_per_key,
            max_key_per_request=self.limits.max_key_per_request,
            max_key_size=self.limits.max_key_size_bits,
            min_key_size=self.limits.min_key_size_bits,
            max_sae_id_count=self.limits.max_sae_id_count,
        )

    def _validate(self, request: KeyRequest) -> tuple[int, int]:
        limits = self.limits
        number = 1 if request.number is None else request.number
        size = limits.key_size_bits if request.size_bits is None else request.size_bits
        if not 1 <= number <= limits.max_key_per_request:
            raise KeyRequestError(
                f"number must be between 1 and max_key_per_request ({limits.max_key_per_request})"
            )
        if not limits.min_key_size_bits <= size <= limits.max_key_size_bits or size % 8:
            raise KeyRequestError(
                f"size must be a multiple of 8 between min_key_size ({limits.min_key_size_bits}) "
                f"and max_key_size ({limits.max_key_size_bits})"
            )
        if len(request.additional_slave_sae_ids) > limits.max_sae_id_count:
            raise KeyRequestError(
                f"at most max_SAE_ID_count ({limits.max_sae_id_count}) additional slave SAEs"
            )
        if request.extension_mandatory:
            names = sorted({str(name) for ext in request.extension_mandatory for name in ext})
            raise KeyRequestError(
                "unsupported mandatory extension(s): " + (", ".join(names) or "(empty)")
            )
        return number, size

    def enc_keys(self, caller_id: str, slave_id: str, request: KeyRequest) -> list[DeliveredKey]:
        """Keys for the master ``caller_id``, reserved for ``slave_id`` and any additional slaves."""
        caller = self._caller(caller_id)
        number, size = self._validate(request)
        slave_ids = [slave_id, *request.additional_slave_sae_ids]
        slaves = [self._partner(caller, s) for s in slave_ids]
        if len(set(slave_ids)) != len(slave_ids):
            raise KeyRequestError("a slave SAE is named twice")
        plan = self._stock_plan(caller.sae_id, slaves, number, size)
        if plan is not None:
            taken = self.store.issue_stock_at_once(
                plan.master, plan.slave, plan.number, plan.size_bits, self.clock()
            )
            from_stock = self.issued_from_stock(plan, taken)
            if from_stock is not None:
                return from_stock
        by_site: dict[str, list[str]] = {}
        for sae in slaves:
            by_site.setdefault(sae.site_id, []).append(sae.sae_id)
        key_ids = [self.new_id() for _ in range(number)]
        keys: list[bytes] | None = None
        routes: list[list[str]] = []
        delivery = _Delivery(key_ids, size, caller.sae_id, slave_ids)
        try:
            for site, site_slaves in by_site.items():
                keys, route = self._deliver_to_site(delivery, site, site_slaves, keys)
                routes.append(route)
        except KeyManagementError:
            if keys is not None:
                self._forget_origin(key_ids)
            raise
        assert keys is not None
        self.stats["keys_issued"] += number
        self.audit(
            "enc_keys",
            {
                "kme": self.site_id,
                "master_sae": caller.sae_id,
                "slave_saes": slave_ids,
                "key_ids": key_ids,
                "size_bits": size,
                "routes": routes,
            },
        )
        return [DeliveredKey(k, Secret(v)) for k, v in zip(key_ids, keys, strict=True)]

    # ----------------------------------------------------------------- keys agreed in advance

    def _stockable(self, slave: SAE) -> QKDLink | None:
        """The direct link over which keys for ``slave`` can be agreed in advance, if any."""
        if self.limits.key_size_bits > BLOCK_BITS:
            return None
        return self.directory.link_between(self.site_id, slave.site_id)

    def plan_from_stock(
        self, caller_id: str, slave_id: str, request: KeyRequest
    ) -> StockPlan | None:
        """Check an ``enc_keys`` request as :meth:`enc_keys` does (raising the same errors); if
        keys agreed in advance may serve it, what to take from the store (``issue_stock_at_once``,
        then :meth:`issued_from_stock`); ``None`` when only :meth:`enc_keys` can serve it. For
        callers that reach the store their own way (the API's asyncio path)."""
        caller = self._caller(caller_id)
        number, size = self._validate(request)
        if request.additional_slave_sae_ids:
            return None
        return self._stock_plan(caller.sae_id, [self._partner(caller, slave_id)], number, size)

    def _stock_plan(
        self, master: str, slaves: list[SAE], number: int, size: int
    ) -> StockPlan | None:
        if len(slaves) != 1 or size != self.limits.key_size_bits:
            return None
        slave = slaves[0]
        if self._stockable(slave) is None:
            return None
        self._demand[master, slave.sae_id] = self.clock()
        return StockPlan(master, slave.sae_id, slave.site_id, number, size)

    def issued_from_stock(
        self, plan: StockPlan, taken: Sequence[StoredKey]
    ) -> list[DeliveredKey] | None:
        """The keys ``issue_stock_at_once`` took for ``plan``, or ``None`` when it took none (not
        enough agreed in advance: :meth:`enc_keys` relays a key instead). No network call: the
        slave's KME already holds the same keys for the pair."""
        self.stock_wanted.set()
        if not taken:
            return None
        self.stats["keys_issued"] += plan.number
        self.stats["keys_issued_from_stock"] += plan.number
        self.stats["relay_hops"] += 1
        self.audit(
            "enc_keys",
            {
                "kme": self.site_id,
                "master_sae": plan.master,
                "slave_saes": [plan.slave],
                "key_ids": [k.key_id for k in taken],
                "size_bits": plan.size_bits,
                "routes": [[self.site_id, plan.slave_site]],
                "agreed_in_advance": True,
            },
        )
        return [
            DeliveredKey(k.key_id, Secret(self.wrapper.open(k.sealed, _key_context(k.key_id))))
            for k in taken
        ]

    def restock(self) -> int:
        """Top up the stock of keys agreed in advance for every pair that asked for keys lately
        (see ``STOCK_TARGET``); keys added. Failures leave the stock as it is (the next
        ``enc_keys`` takes the hop instead) and are counted in ``stats["stock_failures"]``."""
        self.stock_wanted.clear()
        now = self.clock()
        added = 0
        for pair, last in list(self._demand.items()):
            if now - last > STOCK_IDLE_S:
                self._demand.pop(pair, None)
                continue
            master, slave_id = pair
            slave = self.directory.saes[slave_id]
            link = self._stockable(slave)
            if link is None:
                continue
            try:
                with self.store.transaction() as tx:
                    have = tx.stock_count(master, slave_id)
                for _batch in range((STOCK_TARGET - have) // STOCK_BATCH):
                    if self._levels.get(link.link_id, 0) < STOCK_POOL_FLOOR + STOCK_BATCH:
                        break
                    added += self._stock_batch(link, master, slave, STOCK_BATCH)
            except KeyManagementError:
                self.stats["stock_failures"] += 1
        return added

    def _stock_batch(self, link: QKDLink, master: str, slave: SAE, count: int) -> int:
        """Agree ``count`` keys for the pair with the slave's KME: both ends take the same blocks;
        the slave's KME stores them for the slave (committed before this end may issue them),
        then this end stores them as stock."""
        peer = link.peer_of(self.site_id)
        size = self.limits.key_size_bits
        key_ids = [self.new_id() for _ in range(count)]
        request = StockKeys(
            link_id=link.link_id,
            master_sae=master,
            slave_sae=slave.sae_id,
            key_ids=key_ids,
            size_bits=size,
        )
        material: list[bytes] = []
        if link.leader() == self.site_id:
            with self.store.transaction() as tx:
                taken = tx.take_any_blocks(link.link_id, count)
                if len(taken) < count:
                    raise PoolExhausted(link.link_id, count, len(taken))
            material = [
                self.wrapper.open(b.sealed, _block_context(link.link_id, b.index)) for b in taken
            ]
            indices = [b.index for b in taken]
            request = request.model_copy(update={"blocks": BlockRef(indices=indices)})
        self.stats["key_blocks_consumed"] += count
        self._levels[link.link_id] = max(0, self._levels.get(link.link_id, count) - count)
        try:
            answer = self.channel.stock(peer, request)
        except KeyManagementError:
            # Blocks taken here are lost, never reused; the peer may hold keys no one can name.
            self.stats["stock_blocks_wasted"] += count
            raise
        if len(answer.indices) != count or (material and answer.indices != indices):
            self.stats["stock_blocks_wasted"] += count
            raise PeerRejected(f"link {link.link_id}: the peer agreed on other blocks")
        now = self.clock()
        with self.store.transaction() as tx:
            if not material:
                material = self._take_named(tx, link.link_id, answer.indices)
            tx.add_keys(
                [
                    StoredKey(
                        key_id=key_id,
                        role=StoredRole.STOCK,
                        master_sae=master,
                        slave_saes=(slave.sae_id,),
                        pending_saes=(slave.sae_id,),
                        size_bits=size,
                        origin_kme=peer,
                        created_s=now,
                        sealed=self.wrapper.seal(block[: size // 8], _key_context(key_id)),
                    )
                    for key_id, block in zip(key_ids, material, strict=True)
                ]
            )
        self.stats["keys_stocked"] += count
        return count

    def handle_stock(self, caller_kme: str, request: StockKeys) -> StockedKeys:
        """Peer call: the master's KME agrees keys in advance for one of its SAEs and a slave here.
        The keys are stored for the slave, sealed, in the transaction that takes their blocks."""
        link = self.directory.links_by_id.get(request.link_id)
        if link is None or {caller_kme, self.site_id} != {link.site_a, link.site_b}:
            raise PeerRejected(f"{caller_kme} has no link {request.link_id} with {self.site_id}")
        master = self.directory.saes.get(request.master_sae)
        slave = self.directory.saes.get(request.slave_sae)
        if (
            master is None
            or slave is None
            or master.site_id != caller_kme
            or slave.site_id != self.site_id
            or not self.directory.may_share_keys(master, slave)
        ):
            raise PeerRejected("the pair is not a master at the caller and a slave here")
        if request.size_bits % 8 or request.size_bits > BLOCK_BITS:
            raise PeerRejected("keys agreed in advance are one block, in whole bytes")
        if len(set(request.key_ids)) != len(request.key_ids) or not all(
            _UUID.match(k) for k in request.key_ids
        ):
            raise PeerRejected("key ids are distinct UUIDs")
        count = len(request.key_ids)
        now = self.clock()
        with self.store.transaction() as tx:
            if request.blocks is None:
                if link.leader() != self.site_id:
                    raise PeerRejected(f"{self.site_id} does not lead link {link.link_id}")
                taken = tx.take_any_blocks(link.link_id, count)
                if len(taken) < count:
                    raise PoolExhausted(link.link_id, count, len(taken))
                indices = [b.index for b in taken]
                material = [
                    self.wrapper.open(b.sealed, _block_context(link.link_id, b.index))
                    for b in taken
                ]
            else:
                named = request.blocks.indices
                if link.leader() == self.site_id or named is None or request.blocks.hold_id:
                    raise PeerRejected("only a link's leader names blocks, by index")
                if len(named) != count:
                    raise PeerRejected("the request names the wrong number of blocks")
                indices = list(named)
                material = self._take_named(tx, link.link_id, indices)
            tx.add_keys(
                [
                    StoredKey(
                        key_id=key_id,
                        role=StoredRole.DELIVERY,
                        master_sae=master.sae_id,
                        slave_saes=(slave.sae_id,),
                        pending_saes=(slave.sae_id,),
                        size_bits=request.size_bits,
                        origin_kme=caller_kme,
                        created_s=now,
                        sealed=self.wrapper.seal(
                            block[: request.size_bits // 8], _key_context(key_id)
                        ),
                    )
                    for key_id, block in zip(request.key_ids, material, strict=True)
                ]
            )
        self.stats["key_blocks_consumed"] += count
        self.stats["keys_reserved"] += count
        self._levels[link.link_id] = max(0, self._levels.get(link.link_id, count) - count)
        return StockedKeys(indices=indices)

    def expire_keys(self) -> dict[str, int]:
        """Erase the keys past their lifetime (``KEY_TTL_S``, ``STOCK_TTL_S``): keys waiting for
        a slave, keys agreed in advance and never issued, and the master's records of keys
        issued so long ago that their slaves can no longer fetch them. Returns how many of each
        role went; each is counted in ``stats`` and the audit log names them (never material)."""
        now = self.clock()
        with self.store.transaction() as tx:
            gone = {
                StoredRole.DELIVERY: tx.take_old_keys(StoredRole.DELIVERY, now - KEY_TTL_S),
                StoredRole.STOCK: tx.take_old_keys(StoredRole.STOCK, now - STOCK_TTL_S),
                StoredRole.ORIGIN: tx.take_old_keys(StoredRole.ORIGIN, now - KEY_TTL_S),
            }
        counts = {role.value: len(keys) for role, keys in gone.items()}
        for role, keys in gone.items():
            if keys:
                self.stats[f"keys_expired_{role.value}"] += len(keys)
                self.audit(
                    "keys-expired",
                    {"kme": self.site_id, "role": role.value, "key_ids": [k.key_id for k in keys]},
                )
        return counts

    def expire_holds(self) -> int:
        """Erase the holds kept longer than ``HOLD_TTL_S`` (the follower's hop never came);
        returns the blocks they held, which are wasted (``stats["hold_blocks_expired"]``)."""
        with self.store.transaction() as tx:
            old = tx.take_old_holds(self.clock() - HOLD_TTL_S)
        blocks = 0
        for hold_id, link, sealed in old:
            try:
                blocks += (
                    len(self.wrapper.open(sealed, _hold_context(link, hold_id))) // BLOCK_BYTES
                )
            except CryptoError:
                self.stats["holds_unreadable"] += 1
        self.stats["holds_expired"] += len(old)
        self.stats["hold_blocks_expired"] += blocks
        return blocks

    def _deliver_to_site(
        self, delivery: _Delivery, site: str, site_slaves: list[str], keys: list[bytes] | None
    ) -> tuple[list[bytes], list[str]]:
        blocks_per_key = math.ceil(delivery.size_bits / BLOCK_BITS)
        needed = blocks_per_key * len(delivery.key_ids)
        reasons: list[str] = []
        for _attempt in range(len(self.directory.links) + 1):
            route = self._route(site, needed)
            if route is None:
                break
            try:
                return self._first_hop(delivery, route, site_slaves, keys), route
            except (LinkDown, PoolExhausted) as error:
                reasons.append(str(error))
                if isinstance(error, LinkDown):
                    self._mark_down(error.link_id)
                else:
                    self._levels[error.link_id] = 0
        detail = f" ({'; '.join(reasons)})" if reasons else ""
        raise KeyManagementError(
            f"no route from KME {self.site_id} to KME {site} with {needed} key blocks on every "
            f"link{detail}"
        )

    def _origin_records(self, delivery: _Delivery) -> Callable[[StoreTransaction], None]:
        """The master's KME's records of a request's keys (no key material), written in the
        transaction of the first allocation so that they cost no transaction of their own."""
        now = self.clock()

        def write(tx: StoreTransaction) -> None:
            tx.add_keys(
                [
                    StoredKey(
                        key_id=key_id,
                        role=StoredRole.ORIGIN,
                        master_sae=delivery.master,
                        slave_saes=tuple(delivery.slaves),
                        pending_saes=tuple(delivery.slaves),
                        size_bits=delivery.size_bits,
                        origin_kme=self.site_id,
                        created_s=now,
                    )
                    for key_id in delivery.key_ids
                ]
            )

        return write

    def _forget_origin(self, key_ids: Sequence[str]) -> None:
        """Erase the records of keys whose delivery failed (the master never gets them)."""
        try:
            with self.store.transaction() as tx:
                for key_id in key_ids:
                    tx.delete_key(key_id)
        except KeyManagementError:
            self.stats["origin_records_left"] += len(key_ids)

    def _first_hop(
        self,
        delivery: _Delivery,
        route: list[str],
        site_slaves: list[str],
        keys: list[bytes] | None,
    ) -> list[bytes]:
        key_ids, size = delivery.key_ids, delivery.size_bits
        link = self.directory.link_between(route[0], route[1])
        assert link is not None
        blocks_per_key = math.ceil(size / BLOCK_BITS)
        first = keys is None
        material, ref = self._allocate(
            link, blocks_per_key * len(key_ids), self._origin_records(delivery) if first else None
        )
        size_bytes = size // 8
        pads = [
            b"".join(material[i * blocks_per_key : (i + 1) * blocks_per_key])[:size_bytes]
            for i in range(len(key_ids))
        ]
        if keys is None:
            keys = pads
            hop_keys = [HopKey(key_id=k) for k in key_ids]
            mode: Literal["key", "pad"] = "key"
        else:
            hop_keys = [
                HopKey(key_id=k, ciphertext_hex=_xor(key, pad).hex())
                for k, key, pad in zip(key_ids, keys, pads, strict=True)
            ]
            mode = "pad"
        hop = Hop(
            route=route,
            position=1,
            mode=mode,
            blocks=ref,
            keys=hop_keys,
            size_bits=size,
            master_sae=delivery.master,
            slave_saes=delivery.slaves,
            route_slaves=site_slaves,
            created_s=self.clock(),
        )
        try:
            result = self.channel.hop(route[1], hop)
        except KeyManagementError:
            if first:
                self._forget_origin(key_ids)
            raise
        self._levels.update(result.link_levels)
        self.stats["relay_hops"] += len(route) - 1
        return keys

    def handle_hop(self, caller_kme: str, hop: Hop) -> HopResult:
        """Peer call: a key arrives from the previous KME of its route."""
        route, position = hop.route, hop.position
        if (
            position >= len(route)
            or route[position] != self.site_id
            or route[position - 1] != caller_kme
            or len(set(route)) != len(route)
        ):
            raise PeerRejected("the hop's route does not pass from the caller to this KME")
        link = self.directory.link_between(caller_kme, self.site_id)
        if link is None:
            raise PeerRejected(f"no QKD link between {caller_kme} and {self.site_id}")
        master = self.directory.saes.get(hop.master_sae)
        if master is None or master.site_id != route[0]:
            raise PeerRejected("the master SAE is not served by the route's first KME")
        if hop.size_bits % 8:
            raise PeerRejected("key sizes are whole bytes")
        blocks_per_key = math.ceil(hop.size_bits / BLOCK_BITS)
        final = position == len(route) - 1
        if final:
            self._check_route_slaves(hop)
        with self.store.transaction() as tx:
            material = self._hop_material(tx, link, hop.blocks, blocks_per_key * len(hop.keys))
            keys = self._open_hop_keys(hop, material, blocks_per_key)
            if final:
                # The blocks and the keys they make change hands in one transaction.
                self._store_for_slaves(tx, hop, keys)
        self.stats["key_blocks_consumed"] += blocks_per_key * len(hop.keys)
        if final:
            self.stats["keys_reserved"] += len(keys)
            return HopResult(link_levels={link.link_id: self._levels.get(link.link_id, 0)})
        return self._forward(caller_kme, hop, keys, link, blocks_per_key)

    def _open_hop_keys(self, hop: Hop, material: list[bytes], blocks_per_key: int) -> list[bytes]:
        size_bytes = hop.size_bits // 8
        keys: list[bytes] = []
        for i, hop_key in enumerate(hop.keys):
            pad = b"".join(material[i * blocks_per_key : (i + 1) * blocks_per_key])[:size_bytes]
            if hop.mode == "key":
                if hop_key.ciphertext_hex is not None:
                    raise PeerRejected("a key-mode hop carries no ciphertext")
                keys.append(pad)
            else:
                try:
                    ciphertext = bytes.fromhex(hop_key.ciphertext_hex or "")
                except ValueError:
                    raise PeerRejected("the ciphertext is not hex") from None
                if len(ciphertext) != size_bytes:
                    raise PeerRejected("the ciphertext has the wrong length")
                keys.append(_xor(ciphertext, pad))
        return keys

    def _forward(
        self, caller_kme: str, hop: Hop, keys: list[bytes], link: QKDLink, blocks_per_key: int
    ) -> HopResult:
        """As a trusted node: send the keys on to the next KME of the route, under fresh pads."""
        route, position = hop.route, hop.position
        size_bytes = hop.size_bits // 8
        next_link = self.directory.link_between(self.site_id, route[position + 1])
        if next_link is None:
            raise PeerRejected(f"no QKD link from {self.site_id} to {route[position + 1]}")
        pad_material, ref = self._allocate(next_link, blocks_per_key * len(hop.keys))
        forward = hop.model_copy(
            update={
                "position": position + 1,
                "mode": "pad",
                "blocks": ref,
                "keys": [
                    HopKey(
                        key_id=hop_key.key_id,
                        ciphertext_hex=_xor(
                            key,
                            b"".join(pad_material[i * blocks_per_key : (i + 1) * blocks_per_key])[
                                :size_bytes
                            ],
                        ).hex(),
                    )
                    for i, (hop_key, key) in enumerate(zip(hop.keys, keys, strict=True))
                ],
            }
        )
        try:
            result = self.channel.hop(route[position + 1], forward)
        except LinkDown:
            self._mark_down(next_link.link_id)
            raise
        self.stats["relayed_hops"] += 1
        self.audit(
            "relay",
            {
                "kme": self.site_id,
                "key_ids": [k.key_id for k in hop.keys],
                "route": route,
                "from": caller_kme,
                "to": route[position + 1],
            },
        )
        levels = dict(result.link_levels)
        levels[link.link_id] = self._levels.get(link.link_id, 0)
        levels[next_link.link_id] = self._levels.get(next_link.link_id, 0)
        return HopResult(link_levels=levels)

    def _check_route_slaves(self, hop: Hop) -> None:
        for sae_id in hop.route_slaves:
            sae = self.directory.saes.get(sae_id)
            if sae is None or sae.site_id != self.site_id or sae_id not in hop.slave_saes:
                raise PeerRejected(f"{sae_id} is not a slave SAE served by {self.site_id}")
        for hop_key in hop.keys:
            if not _UUID.match(hop_key.key_id):
                raise PeerRejected("key ids are UUIDs")

    def _store_for_slaves(self, tx: StoreTransaction, hop: Hop, keys: list[bytes]) -> None:
        now = self.clock()
        tx.add_keys(
            [
                StoredKey(
                    key_id=hop_key.key_id,
                    role=StoredRole.DELIVERY,
                    master_sae=hop.master_sae,
                    slave_saes=tuple(hop.slave_saes),
                    pending_saes=tuple(hop.route_slaves),
                    size_bits=hop.size_bits,
                    origin_kme=hop.route[0],
                    created_s=now,
                    sealed=self.wrapper.seal(key, _key_context(hop_key.key_id)),
                )
                for hop_key, key in zip(hop.keys, keys, strict=True)
            ]
        )

    def dec_keys(
        self, caller_id: str, master_id: str, key_ids: Sequence[str]
    ) -> list[DeliveredKey]:
        """Deliver keys to the slave ``caller_id``, each exactly once, erasing them when done."""
        self.check_delivery(caller_id, master_id, key_ids)
        rows = self.store.deliver_at_once(
            key_ids, master_id, caller_id, self.committing(caller_id, key_ids)
        )
        if rows is not None:
            return self.delivered_at_once(caller_id, master_id, key_ids, rows)
        delivered, origins = self._deliver_each(caller_id, master_id, key_ids)
        self._finish_delivery(caller_id, master_id, key_ids, origins)
        return delivered

    def check_delivery(self, caller_id: str, master_id: str, key_ids: Sequence[str]) -> None:
        """The checks of a ``dec_keys`` request that need no store (raising its errors)."""
        caller = self._caller(caller_id)
        self._partner(caller, master_id)
        if not key_ids:
            raise KeyRequestError("no key_ID given")
        if len(key_ids) > self.limits.max_key_per_request:
            raise KeyRequestError(
                f"at most max_key_per_request ({self.limits.max_key_per_request}) key_IDs"
            )
        if len(set(key_ids)) != len(key_ids):
            raise KeyRequestError("a key_ID is named twice")
        for key_id in key_ids:
            if not _UUID.match(key_id):
                raise KeyRequestError("key_ID must be a UUID")

    def committing(self, caller_id: str, key_ids: Sequence[str]) -> Callable[[], None]:
        """What ``deliver_at_once`` calls before it may commit: the ``dec_keys-committing`` audit
        event. A process killed between the commit and the ``dec_keys`` event still leaves this
        one, so that the audit log never misses a delivery; an event without its ``dec_keys``
        twin means the commit may or may not have happened, and the store says which (a
        delivered key is gone)."""
        return lambda: self.audit(
            "dec_keys-committing",
            {"kme": self.site_id, "slave_sae": caller_id, "key_ids": list(key_ids)},
        )

    def delivered_at_once(
        self,
        caller_id: str,
        master_id: str,
        key_ids: Sequence[str],
        rows: Sequence[StoredKey],
    ) -> list[DeliveredKey]:
        """The keys ``deliver_at_once`` took (the common case: every key was issued by
        ``master_id`` and waited for ``caller_id`` alone), in the order asked for. For callers
        that reach the store their own way, after :meth:`check_delivery`; a ``None`` from the
        store means :meth:`dec_keys` must look at each key."""
        taken = {row.key_id: row for row in rows}
        delivered: list[DeliveredKey] = []
        origins: dict[str, list[str]] = {}
        for key_id in key_ids:
            row = taken[key_id]
            key = self.wrapper.open(row.sealed, _key_context(key_id))
            delivered.append(DeliveredKey(key_id, Secret(key)))
            origins.setdefault(row.origin_kme, []).append(key_id)
        self._finish_delivery(caller_id, master_id, key_ids, origins)
        return delivered

    def _finish_delivery(
        self,
        caller_id: str,
        master_id: str,
        key_ids: Sequence[str],
        origins: dict[str, list[str]],
    ) -> None:
        self.stats["keys_delivered"] += len(key_ids)
        self.audit(
            "dec_keys",
            {
                "kme": self.site_id,
                "slave_sae": caller_id,
                "master_sae": master_id,
                "key_ids": list(key_ids),
            },
        )
        for origin, ids in origins.items():
            self._notify_delivered(origin, caller_id, ids)

    def _deliver_each(
        self, caller_id: str, master_id: str, key_ids: Sequence[str]
    ) -> tuple[list[DeliveredKey], dict[str, list[str]]]:
        """Every other case: each record looked at in turn, with the precise refusal."""
        delivered: list[DeliveredKey] = []
        origins: dict[str, list[str]] = {}
        with self.store.transaction() as tx:
            rows = tx.lock_keys(key_ids)
            for key_id in key_ids:
                row = rows.get(key_id)
                if row is None:
                    raise KeyRequestError(f"key_ID {key_id} is unknown or was already delivered")
                if caller_id not in row.slave_saes or row.role is not StoredRole.DELIVERY:
                    raise AccessDenied(f"key_ID {key_id} is not meant for {caller_id}")
                if row.master_sae != master_id:
                    raise KeyRequestError(f"key_ID {key_id} was not issued by {master_id}")
                if caller_id not in row.pending_saes:
                    raise KeyRequestError(f"key_ID {key_id} was already delivered to {caller_id}")
                key = self.wrapper.open(row.sealed, _key_context(key_id))
                delivered.append(DeliveredKey(key_id, Secret(key)))
                pending = tuple(s for s in row.pending_saes if s != caller_id)
                if pending:
                    tx.set_pending(key_id, pending)
                else:
                    tx.delete_key(key_id)
                origins.setdefault(row.origin_kme, []).append(key_id)
            self.committing(caller_id, key_ids)()
        return delivered, origins

    # ----------------------------------------------------------------- delivery notices

    def _notify_delivered(self, origin: str, slave_id: str, key_ids: list[str]) -> None:
        """Tell the master's KME that ``slave_id`` has these keys, now or (``notice_delay_s``)
        in a batch that :meth:`send_delivery_notices` sends."""
        if self.notice_delay_s <= 0:
            self._send_notice(origin, slave_id, key_ids)
            return
        with self._lock:
            self._notices.setdefault((origin, slave_id), []).extend(key_ids)
        self.notices_wanted.set()

    def send_delivery_notices(self) -> int:
        """Send the notices gathered since the last call, one request per master KME and slave
        (of up to 1,024 keys); the keys they name."""
        with self._lock:
            notices, self._notices = self._notices, {}
            self.notices_wanted.clear()
        sent = 0
        for (origin, slave_id), key_ids in notices.items():
            for start in range(0, len(key_ids), MAX_NOTICE_KEYS):
                batch = key_ids[start : start + MAX_NOTICE_KEYS]
                self._send_notice(origin, slave_id, batch)
                sent += len(batch)
        return sent

    def _send_notice(self, origin: str, slave_id: str, key_ids: list[str]) -> None:
        try:
            self.channel.delivered(origin, Delivered(key_ids=key_ids, slave_sae=slave_id))
        except KeyManagementError as error:
            # The slave has its keys; the master's KME keeps a record without key material.
            self.audit(
                "delivery-notice-failed",
                {"kme": self.site_id, "to": origin, "key_ids": key_ids, "reason": str(error)},
            )

    def handle_delivered(self, caller_kme: str, notice: Delivered) -> int:
        """Peer call: a slave's KME delivered keys this KME issued; erase the records when done."""
        slave = self.directory.saes.get(notice.slave_sae)
        if slave is None or slave.site_id != caller_kme:
            raise PeerRejected(f"{notice.slave_sae} is not served by {caller_kme}")
        with self.store.transaction() as tx:
            rows = tx.lock_keys(notice.key_ids)
            done: list[str] = []
            for row in rows.values():
                if row.role is not StoredRole.ORIGIN or notice.slave_sae not in row.pending_saes:
                    continue
                pending = tuple(s for s in row.pending_saes if s != notice.slave_sae)
                if pending:
                    tx.set_pending(row.key_id, pending)
                else:
                    done.append(row.key_id)
            # One statement for the whole batch (a notice names up to 1,024 keys).
            return tx.delete_keys(done)
