"""The ``KeyStore`` seam: where a KME keeps its link pools and the keys it has handed out.

A store is used through transactions only. Everything done inside one ``with store.transaction()``
block commits together or not at all; a transaction that raises leaves the store as it was. Two
implementations pass the same test suite (``tests/kms/test_store.py``): ``MemoryKeyStore`` here
(one lock, an undo log) and ``SQLKeyStore`` (``kms.sql``: SQLite or PostgreSQL, row locks).

Everything the store holds that is key material is sealed by the caller (``qsafecity.crypto.SecretBox``): the
store never sees a key in clear.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from typing import Protocol

from qsafecity.errors import KeyManagementError
from qsafecity.kms.model import Block, StoredKey, StoredRole


class MissingBlocks(KeyManagementError):
    """Blocks a peer named are not in this KME's copy of the pool (already used or never made)."""

    def __init__(self, link_id: str, indices: Sequence[int]) -> None:
        self.link_id = link_id
        self.indices = tuple(indices)
        super().__init__(f"{len(self.indices)} key blocks of link {link_id} are not in this pool")


class DuplicateKey(KeyManagementError):
    """A key id that this KME already holds."""


@dataclass(frozen=True, slots=True)
class LinkState:
    """How far a link's device has been read: the next block index, and the time up to which its
    production has been counted (``filled_s``; the device idles while the pool is full)."""

    next_index: int
    filled_s: float


class StoreTransaction(Protocol):
    def lock_link(self, link_id: str, now_s: float) -> LinkState:
        """The link's state, locked until the transaction ends (created at ``now_s`` if new)."""
        ...

    def add_blocks(
        self, link_id: str, start_index: int, sealed: Sequence[bytes], filled_s: float
    ) -> None:
        """Append blocks ``start_index..`` (which must equal ``next_index``); record ``filled_s``."""
        ...

    def available_count(self, link_id: str) -> int: ...

    def take_any_blocks(self, link_id: str, count: int) -> list[Block]:
        """Remove and return up to ``count`` blocks, lowest index first, skipping locked ones."""
        ...

    def take_blocks(self, link_id: str, indices: Sequence[int]) -> list[Block]:
        """Remove and return exactly these blocks, in the order given, or raise ``MissingBlocks``."""
        ...

    def add_hold(self, hold_id: str, link_id: str, sealed: bytes, created_s: float) -> None: ...

    def take_hold(self, hold_id: str, link_id: str) -> bytes | None: ...

    def take_old_holds(self, created_before_s: float) -> list[tuple[str, str, bytes]]:
        """Remove and return the holds made before ``created_before_s``: (hold, link, sealed)."""
        ...

    def take_old_keys(self, role: StoredRole, created_before_s: float) -> list[StoredKey]:
        """Remove and return the key records of ``role`` made before ``created_before_s``."""
        ...

    def add_key(self, key: StoredKey) -> None:
        """Store a key record; ``DuplicateKey`` if the id is taken."""
        ...

    def add_keys(self, new: Sequence[StoredKey]) -> None:
        """Store several key records at once (one round trip); ``DuplicateKey`` if an id is taken."""
        ...

    def lock_keys(self, key_ids: Sequence[str]) -> dict[str, StoredKey]:
        """The records of these ids that exist, locked until the transaction ends."""
        ...

    def set_pending(self, key_id: str, pending_saes: tuple[str, ...]) -> None: ...

    def take_last_deliveries(
        self, key_ids: Sequence[str], master_sae: str, slave_sae: str
    ) -> list[StoredKey]:
        """Remove and return (locked, in one round trip) the DELIVERY records among ``key_ids``
        that ``master_sae`` issued and that wait for ``slave_sae`` alone, i.e. the common case
        of ``dec_keys``. Records in any other state are left alone; the caller, finding fewer
        records than ids, rolls the transaction back and looks at each record in turn."""
        ...

    def delete_key(self, key_id: str) -> bool: ...

    def delete_keys(self, key_ids: Sequence[str]) -> int:
        """Delete these records (one round trip); how many there were."""
        ...

    def key_count(self) -> int: ...

    def issue_stock(
        self, master_sae: str, slave_sae: str, count: int, now_s: float
    ) -> list[StoredKey]:
        """Take up to ``count`` STOCK keys of the pair (skipping locked ones), turn each into an
        ORIGIN record without key material (``created_s`` = ``now_s``) and return them as they
        were (with their sealed material)."""
        ...

    def stock_count(self, master_sae: str, slave_sae: str) -> int: ...


class KeyStore(Protocol):
    def transaction(self) -> AbstractContextManager[StoreTransaction]: ...

    def issue_stock_at_once(
        self, master_sae: str, slave_sae: str, count: int, size_bits: int, now_s: float
    ) -> list[StoredKey]:
        """``issue_stock`` of exactly ``count`` keys of ``size_bits``, in a transaction of its
        own, or nothing (an empty list) when the pair's stock cannot give them all."""
        ...

    def deliver_at_once(
        self,
        key_ids: Sequence[str],
        master_sae: str,
        slave_sae: str,
        before_commit: Callable[[], None],
    ) -> list[StoredKey] | None:
        """``take_last_deliveries`` of all of ``key_ids``, in a transaction of its own, or
        nothing (``None``) when any of them is in another state. ``before_commit`` is called
        before the transaction may commit (it may then still do nothing)."""
        ...

    def close(self) -> None: ...


class _NotAll(Exception):
    """Rolls back a transaction that could not do all it was asked (``*_at_once``)."""


def issue_stock_in_transaction(
    store: KeyStore, master_sae: str, slave_sae: str, count: int, size_bits: int, now_s: float
) -> list[StoredKey]:
    """``KeyStore.issue_stock_at_once`` with the transaction's own methods (all stores can)."""
    try:
        with store.transaction() as tx:
            taken = tx.issue_stock(master_sae, slave_sae, count, now_s)
            if len(taken) < count or any(k.size_bits != size_bits for k in taken):
                raise _NotAll
    except _NotAll:
        return []
    return taken


def deliver_in_transaction(
    store: KeyStore,
    key_ids: Sequence[str],
    master_sae: str,
    slave_sae: str,
    before_commit: Callable[[], None],
) -> list[StoredKey] | None:
    """``KeyStore.deliver_at_once`` with the transaction's own methods (all stores can)."""
    try:
        with store.transaction() as tx:
            taken = tx.take_last_deliveries(key_ids, master_sae, slave_sae)
            if len(taken) != len(key_ids):
                raise _NotAll
            before_commit()
    except _NotAll:
        return None
    return taken


@dataclass
class _Pool:
    filled_s: float
    next_index: int = 0
    blocks: dict[int, bytes] = field(default_factory=dict)


class _MemoryTransaction:
    def __init__(self, store: MemoryKeyStore) -> None:
        self._store = store
        self.undo: list[Callable[[], object]] = []

    def _pool(self, link_id: str, now_s: float = 0.0) -> _Pool:
        pools = self._store.pools
        if link_id not in pools:
            pools[link_id] = _Pool(filled_s=now_s)
            self.undo.append(lambda: pools.pop(link_id, None))
        return pools[link_id]

    def lock_link(self, link_id: str, now_s: float) -> LinkState:
        pool = self._pool(link_id, now_s)
        return LinkState(pool.next_index, pool.filled_s)

    def add_blocks(
        self, link_id: str, start_index: int, sealed: Sequence[bytes], filled_s: float
    ) -> None:
        pool = self._pool(link_id, filled_s)
        if start_index != pool.next_index:
            raise ValueError(f"blocks must be added at {pool.next_index}, not {start_index}")
        old_next, old_filled = pool.next_index, pool.filled_s
        indices = range(start_index, start_index + len(sealed))
        pool.blocks.update(zip(indices, sealed, strict=True))
        pool.next_index = start_index + len(sealed)
        pool.filled_s = filled_s

        def undo() -> None:
            for index in indices:
                pool.blocks.pop(index, None)
            pool.next_index, pool.filled_s = old_next, old_filled

        self.undo.append(undo)

    def available_count(self, link_id: str) -> int:
        return len(self._pool(link_id).blocks)

    def _remove(self, pool: _Pool, indices: Sequence[int]) -> list[Block]:
        taken = [Block(index, pool.blocks.pop(index)) for index in indices]

        def undo() -> None:
            pool.blocks.update((block.index, block.sealed) for block in taken)

        self.undo.append(undo)
        return taken

    def take_any_blocks(self, link_id: str, count: int) -> list[Block]:
        pool = self._pool(link_id)
        return self._remove(pool, sorted(pool.blocks)[: max(count, 0)])

    def take_blocks(self, link_id: str, indices: Sequence[int]) -> list[Block]:
        pool = self._pool(link_id)
        missing = [i for i in indices if i not in pool.blocks]
        if missing or len(set(indices)) != len(indices):
            raise MissingBlocks(link_id, missing or list(indices))
        return self._remove(pool, indices)

    def add_hold(self, hold_id: str, link_id: str, sealed: bytes, created_s: float) -> None:
        holds = self._store.holds
        if (hold_id, link_id) in holds:
            raise DuplicateKey(f"hold {hold_id} exists")
        holds[hold_id, link_id] = (sealed, created_s)
        self.undo.append(lambda: holds.pop((hold_id, link_id), None))

    def take_hold(self, hold_id: str, link_id: str) -> bytes | None:
        holds = self._store.holds
        held = holds.pop((hold_id, link_id), None)
        if held is None:
            return None
        self.undo.append(lambda: holds.__setitem__((hold_id, link_id), held))
        return held[0]

    def take_old_holds(self, created_before_s: float) -> list[tuple[str, str, bytes]]:
        holds = self._store.holds
        old = {k: v for k, v in holds.items() if v[1] < created_before_s}
        for k in old:
            del holds[k]
        self.undo.append(lambda: holds.update(old))
        return [(hold_id, link_id, sealed) for (hold_id, link_id), (sealed, _) in old.items()]

    def take_old_keys(self, role: StoredRole, created_before_s: float) -> list[StoredKey]:
        old = [
            k
            for k in self._store.keys.values()
            if k.role is role and k.created_s < created_before_s
        ]
        for key in old:
            self.delete_key(key.key_id)
        return old

    def add_key(self, key: StoredKey) -> None:
        keys = self._store.keys
        if key.key_id in keys:
            raise DuplicateKey(f"key {key.key_id} exists")
        keys[key.key_id] = key
        self.undo.append(lambda: keys.pop(key.key_id, None))

    def add_keys(self, new: Sequence[StoredKey]) -> None:
        if len({k.key_id for k in new}) != len(new):
            raise DuplicateKey("a key id is named twice")
        for key in new:
            self.add_key(key)

    def lock_keys(self, key_ids: Sequence[str]) -> dict[str, StoredKey]:
        keys = self._store.keys
        return {key_id: keys[key_id] for key_id in key_ids if key_id in keys}

    def set_pending(self, key_id: str, pending_saes: tuple[str, ...]) -> None:
        keys = self._store.keys
        old = keys[key_id]
        keys[key_id] = replace(old, pending_saes=pending_saes)
        self.undo.append(lambda: keys.__setitem__(key_id, old))

    def take_last_deliveries(
        self, key_ids: Sequence[str], master_sae: str, slave_sae: str
    ) -> list[StoredKey]:
        keys = self._store.keys
        taken: list[StoredKey] = []
        for key_id in key_ids:
            record = keys.get(key_id)
            if (
                record is not None
                and record.role is StoredRole.DELIVERY
                and record.master_sae == master_sae
                and record.pending_saes == (slave_sae,)
            ):
                self.delete_key(key_id)
                taken.append(record)
        return taken

    def delete_key(self, key_id: str) -> bool:
        keys = self._store.keys
        old = keys.pop(key_id, None)
        if old is None:
            return False
        self.undo.append(lambda: keys.__setitem__(key_id, old))
        return True

    def delete_keys(self, key_ids: Sequence[str]) -> int:
        return sum(self.delete_key(key_id) for key_id in key_ids)

    def key_count(self) -> int:
        return len(self._store.keys)

    def _stock_of(self, master_sae: str, slave_sae: str) -> list[StoredKey]:
        return [
            k
            for k in self._store.keys.values()
            if k.role is StoredRole.STOCK
            and k.master_sae == master_sae
            and k.slave_saes == (slave_sae,)
        ]

    def issue_stock(
        self, master_sae: str, slave_sae: str, count: int, now_s: float
    ) -> list[StoredKey]:
        keys = self._store.keys
        taken = self._stock_of(master_sae, slave_sae)[: max(count, 0)]
        for key in taken:
            keys[key.key_id] = replace(key, role=StoredRole.ORIGIN, sealed=b"", created_s=now_s)
        self.undo.append(lambda: keys.update((k.key_id, k) for k in taken))
        return taken

    def stock_count(self, master_sae: str, slave_sae: str) -> int:
        return len(self._stock_of(master_sae, slave_sae))


class MemoryKeyStore:
    """An in-process store (tests, and the baseline of the benchmarks). One lock serialises all."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.pools: dict[str, _Pool] = {}
        #: (hold id, link id) -> (sealed material, created_s)
        self.holds: dict[tuple[str, str], tuple[bytes, float]] = {}
        self.keys: dict[str, StoredKey] = {}

    @contextmanager
    def _transaction(self) -> Iterator[StoreTransaction]:
        with self._lock:
            transaction = _MemoryTransaction(self)
            try:
                yield transaction
            except BaseException:
                for undo in reversed(transaction.undo):
                    undo()
                raise

    def transaction(self) -> AbstractContextManager[StoreTransaction]:
        return self._transaction()

    def issue_stock_at_once(
        self, master_sae: str, slave_sae: str, count: int, size_bits: int, now_s: float
    ) -> list[StoredKey]:
        return issue_stock_in_transaction(self, master_sae, slave_sae, count, size_bits, now_s)

    def deliver_at_once(
        self,
        key_ids: Sequence[str],
        master_sae: str,
        slave_sae: str,
        before_commit: Callable[[], None],
    ) -> list[StoredKey] | None:
        return deliver_in_transaction(self, key_ids, master_sae, slave_sae, before_commit)

    def close(self) -> None:
        """Nothing to release."""
