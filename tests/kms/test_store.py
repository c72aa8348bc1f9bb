"""The ``KeyStore`` contract: the in-memory fake and the SQL store (SQLite, PostgreSQL) alike."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from qsafecity.kms.model import StoredKey, StoredRole
from qsafecity.kms.store import DuplicateKey, KeyStore, MissingBlocks

LINK = "a~b"


def _fill(store: KeyStore, count: int, now_s: float = 1.0) -> None:
    with store.transaction() as tx:
        state = tx.lock_link(LINK, now_s)
        tx.add_blocks(LINK, state.next_index, [bytes([i % 256]) * 4 for i in range(count)], now_s)


def _key(key_id: str, pending: tuple[str, ...] = ("s1", "s2")) -> StoredKey:
    return StoredKey(
        key_id=key_id,
        role=StoredRole.DELIVERY,
        master_sae="m",
        slave_saes=("s1", "s2"),
        pending_saes=pending,
        size_bits=256,
        origin_kme="a",
        created_s=5.0,
        sealed=b"sealed-bytes",
    )


def test_a_new_link_starts_empty_at_index_zero(store: KeyStore) -> None:
    with store.transaction() as tx:
        state = tx.lock_link(LINK, 7.5)
        assert (state.next_index, state.filled_s) == (0, 7.5)
        assert tx.available_count(LINK) == 0


def test_blocks_are_appended_in_order_and_taken_lowest_first(store: KeyStore) -> None:
    _fill(store, 5)
    _fill(store, 3, now_s=2.0)
    with store.transaction() as tx:
        assert tx.lock_link(LINK, 0.0).next_index == 8
        assert tx.lock_link(LINK, 0.0).filled_s == 2.0
        taken = tx.take_any_blocks(LINK, 3)
        assert [b.index for b in taken] == [0, 1, 2]
        assert taken[1].sealed == bytes([1]) * 4
        assert tx.available_count(LINK) == 5


def test_blocks_must_be_added_at_the_next_index(store: KeyStore) -> None:
    _fill(store, 2)
    with pytest.raises(ValueError, match="must be added at 2"), store.transaction() as tx:
        tx.add_blocks(LINK, 5, [b"x"], 1.0)


def test_taking_more_than_available_returns_what_there_is(store: KeyStore) -> None:
    _fill(store, 2)
    with store.transaction() as tx:
        assert len(tx.take_any_blocks(LINK, 10)) == 2
        assert tx.take_any_blocks(LINK, 10) == []


def test_named_blocks_are_taken_exactly_once(store: KeyStore) -> None:
    _fill(store, 6)
    with store.transaction() as tx:
        taken = tx.take_blocks(LINK, [4, 1])
        assert [b.index for b in taken] == [4, 1]
    with pytest.raises(MissingBlocks) as caught, store.transaction() as tx:
        tx.take_blocks(LINK, [0, 4])
    assert caught.value.indices == (4,)
    with store.transaction() as tx:
        # The failed transaction took nothing: block 0 is still there.
        assert tx.available_count(LINK) == 4
        with pytest.raises(MissingBlocks):
            tx.take_blocks(LINK, [2, 2])


def test_a_failed_transaction_leaves_everything_as_it_was(store: KeyStore) -> None:
    _fill(store, 4)

    def change_then_fail() -> None:
        with store.transaction() as tx:
            tx.take_any_blocks(LINK, 2)
            tx.add_key(_key("k1"))
            tx.add_hold("h1", LINK, b"held", 1.0)
            state = tx.lock_link(LINK, 0.0)
            tx.add_blocks(LINK, state.next_index, [b"new"], 9.0)
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        change_then_fail()
    with store.transaction() as tx:
        assert tx.available_count(LINK) == 4
        assert tx.lock_link(LINK, 0.0).next_index == 4
        assert tx.lock_keys(["k1"]) == {}
        assert tx.take_hold("h1", LINK) is None


def test_keys_are_stored_updated_and_deleted(store: KeyStore) -> None:
    with store.transaction() as tx:
        tx.add_key(_key("k1"))
        tx.add_key(_key("k2", pending=("s2",)))
    with store.transaction() as tx:
        found = tx.lock_keys(["k1", "k2", "nope"])
        assert set(found) == {"k1", "k2"}
        assert found["k1"] == _key("k1")
        tx.set_pending("k1", ("s1",))
        assert tx.delete_key("k2")
        assert not tx.delete_key("k2")
    with store.transaction() as tx:
        assert tx.lock_keys(["k1"])["k1"].pending_saes == ("s1",)
        assert tx.key_count() == 1


def test_a_key_id_cannot_be_stored_twice(store: KeyStore) -> None:
    with store.transaction() as tx:
        tx.add_key(_key("k1"))
    with pytest.raises(DuplicateKey), store.transaction() as tx:
        tx.add_key(_key("k1"))


def test_holds_are_taken_once(store: KeyStore) -> None:
    with store.transaction() as tx:
        tx.add_hold("h1", LINK, b"held", 1.0)
    with store.transaction() as tx:
        assert tx.take_hold("h1", "other~link") is None
        assert tx.take_hold("h1", LINK) == b"held"
        assert tx.take_hold("h1", LINK) is None


def test_concurrent_takers_never_get_the_same_block(store: KeyStore) -> None:
    _fill(store, 400)
    got: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(25):
            with store.transaction() as tx:
                blocks = tx.take_any_blocks(LINK, 2)
            with lock:
                got.extend(b.index for b in blocks)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == len(set(got)) == 400


def _stock(key_id: str, master: str = "m", slave: str = "s1") -> StoredKey:
    return StoredKey(
        key_id=key_id,
        role=StoredRole.STOCK,
        master_sae=master,
        slave_saes=(slave,),
        pending_saes=(slave,),
        size_bits=256,
        origin_kme="b",
        created_s=1.0,
        sealed=f"material-{key_id}".encode(),
    )


def test_stock_is_issued_once_as_origin_records_without_material(store: KeyStore) -> None:
    with store.transaction() as tx:
        tx.add_keys([_stock(f"k{i}") for i in range(5)] + [_stock("other", slave="s2")])
        assert tx.stock_count("m", "s1") == 5
    with store.transaction() as tx:
        issued = tx.issue_stock("m", "s1", 3, 9.0)
    assert len(issued) == 3
    assert all(k.sealed == f"material-{k.key_id}".encode() for k in issued)
    with store.transaction() as tx:
        assert tx.stock_count("m", "s1") == 2
        assert tx.stock_count("m", "s2") == 1
        records = tx.lock_keys([k.key_id for k in issued])
        assert {r.role for r in records.values()} == {StoredRole.ORIGIN}
        assert {r.sealed for r in records.values()} == {b""}
        assert {r.created_s for r in records.values()} == {9.0}
        rest = tx.issue_stock("m", "s1", 10, 9.0)
    assert {k.key_id for k in rest}.isdisjoint(k.key_id for k in issued)
    assert len(rest) == 2


def test_a_rolled_back_issue_leaves_the_stock(store: KeyStore) -> None:
    with store.transaction() as tx:
        tx.add_keys([_stock("k1"), _stock("k2")])

    def issue_then_fail() -> None:
        with store.transaction() as tx:
            assert len(tx.issue_stock("m", "s1", 2, 9.0)) == 2
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        issue_then_fail()
    with store.transaction() as tx:
        assert tx.stock_count("m", "s1") == 2


def test_concurrent_issuers_never_get_the_same_stock_key(store: KeyStore) -> None:
    with store.transaction() as tx:
        tx.add_keys([_stock(f"k{i:03}") for i in range(200)])
    got: list[str] = []
    lock = threading.Lock()

    def issue() -> None:
        for _ in range(25):
            with store.transaction() as tx:
                keys = tx.issue_stock("m", "s1", 1, 9.0)
            with lock:
                got.extend(k.key_id for k in keys)

    threads = [threading.Thread(target=issue) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == len(set(got)) == 200


def test_old_holds_are_taken_and_new_ones_kept(store: KeyStore) -> None:
    with store.transaction() as tx:
        tx.add_hold("old", LINK, b"held-old", 1.0)
        tx.add_hold("new", LINK, b"held-new", 50.0)
    with store.transaction() as tx:
        assert tx.take_old_holds(10.0) == [("old", LINK, b"held-old")]
        assert tx.take_old_holds(10.0) == []
        assert tx.take_hold("new", LINK) == b"held-new"


def test_keys_are_deleted_in_one_batch(store: KeyStore) -> None:
    with store.transaction() as tx:
        tx.add_keys([_key("k1"), _key("k2"), _key("k3")])
    with store.transaction() as tx:
        assert tx.delete_keys(["k1", "k3", "nope"]) == 2
        assert tx.delete_keys([]) == 0
    with store.transaction() as tx:
        assert set(tx.lock_keys(["k1", "k2", "k3"])) == {"k2"}


def test_stock_issued_at_once_is_all_or_nothing(store: KeyStore) -> None:
    with store.transaction() as tx:
        tx.add_keys([_stock(f"k{i}") for i in range(3)])
    assert store.issue_stock_at_once("m", "s1", 5, 256, 9.0) == []
    assert store.issue_stock_at_once("m", "s1", 1, 128, 9.0) == []  # no key of that size
    assert store.issue_stock_at_once("m", "s2", 1, 256, 9.0) == []  # another pair
    with store.transaction() as tx:
        assert tx.stock_count("m", "s1") == 3  # the refusals took nothing
    issued = store.issue_stock_at_once("m", "s1", 2, 256, 9.0)
    assert len(issued) == 2
    assert all(k.sealed == f"material-{k.key_id}".encode() for k in issued)
    with store.transaction() as tx:
        assert tx.stock_count("m", "s1") == 1
        records = tx.lock_keys([k.key_id for k in issued])
    assert {(r.role, r.sealed, r.created_s) for r in records.values()} == {
        (StoredRole.ORIGIN, b"", 9.0)
    }


def test_keys_delivered_at_once_are_all_or_nothing(store: KeyStore) -> None:
    last = [_key(f"k{i}", pending=("s1",)) for i in range(3)]
    with store.transaction() as tx:
        tx.add_keys([*last, _key("multi", pending=("s1", "s2"))])
    calls: list[str] = []

    def committing() -> None:
        calls.append("committing")

    # A missing id, a key still waiting for another slave, a wrong master or slave: nothing.
    for ids, master, slave in (
        (["k0", "nope"], "m", "s1"),
        (["k0", "multi"], "m", "s1"),
        (["k0"], "other", "s1"),
        (["k0"], "m", "s2"),
    ):
        assert store.deliver_at_once(ids, master, slave, committing) is None
    with store.transaction() as tx:
        assert set(tx.lock_keys(["k0", "k1", "k2", "multi"])) == {"k0", "k1", "k2", "multi"}
    calls.clear()
    taken = store.deliver_at_once(["k2", "k0"], "m", "s1", committing)
    assert taken is not None
    assert sorted(k.key_id for k in taken) == ["k0", "k2"]
    assert all(k.sealed == b"sealed-bytes" for k in taken)
    assert calls == ["committing"]  # before the commit, once
    with store.transaction() as tx:
        assert set(tx.lock_keys(["k0", "k1", "k2", "multi"])) == {"k1", "multi"}
    assert store.deliver_at_once(["k0"], "m", "s1", committing) is None  # exactly once


def test_concurrent_deliveries_of_one_key_hand_it_out_once(store: KeyStore) -> None:
    with store.transaction() as tx:
        tx.add_keys([_key(f"k{i:03}", pending=("s1",)) for i in range(40)])
    got: list[str] = []
    lock = threading.Lock()

    def deliver() -> None:
        for i in range(40):
            taken = store.deliver_at_once([f"k{i:03}"], "m", "s1", lambda: None)
            with lock:
                got.extend(k.key_id for k in taken or [])

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(got) == [f"k{i:03}" for i in range(40)]


def test_old_keys_of_one_role_are_taken_and_the_rest_kept(store: KeyStore) -> None:
    old_stock, new_stock = _stock("s-old"), replace(_stock("s-new"), created_s=50.0)
    with store.transaction() as tx:
        tx.add_keys([old_stock, new_stock, _key("waiting")])  # _key: delivery, created 5.0
    with store.transaction() as tx:
        assert [k.key_id for k in tx.take_old_keys(StoredRole.STOCK, 10.0)] == ["s-old"]
        assert tx.take_old_keys(StoredRole.STOCK, 10.0) == []
        assert tx.take_old_keys(StoredRole.ORIGIN, 100.0) == []
    with store.transaction() as tx:
        assert set(tx.lock_keys(["s-old", "s-new", "waiting"])) == {"s-new", "waiting"}
