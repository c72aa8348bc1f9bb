"""Keys agreed in advance ("stock") on a direct link, and the expiry of leftover holds."""

from __future__ import annotations

import uuid

import pytest
from tests.kms_testbed import KMEBed, make_testbed

from qsafecity.errors import KeyRequestError
from qsafecity.kms.failures import PeerRejected
from qsafecity.kms.kme import (
    HOLD_TTL_S,
    KEY_TTL_S,
    STOCK_BATCH,
    STOCK_TARGET,
    STOCK_TTL_S,
    KeyRequest,
)
from qsafecity.kms.messages import BlockRef, Hop, HopKey, ReserveBlocks, StockKeys
from qsafecity.kms.model import StoredRole
from qsafecity.kms.store import MemoryKeyStore


@pytest.fixture
def bed() -> KMEBed:
    made = make_testbed()
    made.fill(20.0)  # 20,000 blocks a link: enough above the stock's pool floor
    return made


def _store(bed: KMEBed, site: str) -> MemoryKeyStore:
    store = bed.kmes[site].store
    assert isinstance(store, MemoryKeyStore)
    return store


def _levels_match(bed: KMEBed) -> None:
    for link in bed.kmes["a"].directory.links:
        first = bed.kmes[link.site_a].pool_levels()[link.link_id]
        assert first == bed.kmes[link.site_b].pool_levels()[link.link_id], link.link_id


@pytest.mark.parametrize(("master_site", "slave_site"), [("a", "b"), ("b", "a")])
def test_stocked_keys_are_issued_without_the_peer_and_fetched_once(
    bed: KMEBed, master_site: str, slave_site: str
) -> None:
    # a leads the link a~b: the master's KME is the leader in one case and the follower in the other.
    master, slave = f"video@{master_site}", f"video@{slave_site}"
    kme, peer = bed.kmes[master_site], bed.kmes[slave_site]
    first = kme.enc_keys(master, slave, KeyRequest())  # no stock yet: a hop, and the pair noted
    assert "agreed_in_advance" not in bed.audit[-1][1]
    assert kme.restock() == STOCK_TARGET
    assert kme.restock() == 0  # topped up already
    assert kme.status(master, slave).stored_key_count >= STOCK_TARGET
    _levels_match(bed)
    bed.network.down.add(slave_site)  # the slave's KME already holds the stocked keys
    issued = kme.enc_keys(master, slave, KeyRequest(number=3))
    assert bed.audit[-1][1]["agreed_in_advance"] is True
    assert kme.stats["keys_issued_from_stock"] == 3
    bed.network.down.clear()
    fetched = peer.dec_keys(slave, master, [k.key_id for k in issued + first])
    assert [k.key.value for k in fetched] == [k.key.value for k in issued + first]
    assert len({k.key.value for k in fetched}) == 4
    with pytest.raises(KeyRequestError, match="already delivered"):
        peer.dec_keys(slave, master, [issued[0].key_id])
    # The master's KME keeps records without key material until the delivery notice erases them.
    assert not any(
        k.role is StoredRole.ORIGIN and k.sealed for k in _store(bed, master_site).keys.values()
    )
    assert all(k.key_id not in _store(bed, master_site).keys for k in issued)
    _levels_match(bed)


def test_stock_never_hands_a_key_out_twice_and_runs_out_into_hops(bed: KMEBed) -> None:
    a, b = bed.kmes["a"], bed.kmes["b"]
    a.enc_keys("video@a", "video@b", KeyRequest())
    a.restock()
    seen: set[bytes] = set()
    ids: list[str] = []
    for _ in range(STOCK_TARGET // 100 + 1):
        for key in a.enc_keys("video@a", "video@b", KeyRequest(number=100)):
            assert key.key.value not in seen
            seen.add(key.key.value)
            ids.append(key.key_id)
    # The stock did not have the last 100: they came by a hop (one request is never split).
    assert a.stats["keys_issued_from_stock"] == STOCK_TARGET // 100 * 100
    for start in range(0, len(ids), 100):
        fetched = b.dec_keys("video@b", "video@a", ids[start : start + 100])
        assert [k.key_id for k in fetched] == ids[start : start + 100]
    _levels_match(bed)


def test_only_default_size_single_slave_direct_requests_use_the_stock(bed: KMEBed) -> None:
    a = bed.kmes["a"]
    a.enc_keys("dispatch@a", "dispatch@b", KeyRequest())
    a.enc_keys("dispatch@a", "dispatch@c", KeyRequest())  # relayed: never stocked
    assert a.restock() == STOCK_TARGET
    a.enc_keys("dispatch@a", "dispatch@b", KeyRequest(size_bits=512))
    a.enc_keys("dispatch@a", "dispatch@b", KeyRequest(additional_slave_sae_ids=("dispatch@c",)))
    assert a.stats["keys_issued_from_stock"] == 0
    a.enc_keys("dispatch@a", "dispatch@b", KeyRequest(size_bits=256))
    assert a.stats["keys_issued_from_stock"] == 1


def test_a_failed_agreement_stocks_nothing_and_counts_the_waste(bed: KMEBed) -> None:
    a = bed.kmes["a"]
    a.enc_keys("video@a", "video@b", KeyRequest())
    bed.network.down.add("b")
    assert a.restock() == 0
    assert a.stats["stock_failures"] == 1
    assert a.stats["stock_blocks_wasted"] == STOCK_BATCH  # the leader had taken them
    assert a.status("video@a", "video@b").stored_key_count == a.pool_levels()["a~b"]


def test_the_slave_kme_checks_who_asks_to_stock_what(bed: KMEBed) -> None:
    b = bed.kmes["b"]
    ids = [str(uuid.uuid4())]

    def ask(caller: str, **change: object) -> None:
        fields: dict[str, object] = {
            "link_id": "a~b",
            "master_sae": "video@a",
            "slave_sae": "video@b",
            "key_ids": ids,
            "size_bits": 256,
            "blocks": BlockRef(indices=[0]),
        }
        fields.update(change)
        b.handle_stock(caller, StockKeys.model_validate(fields))

    with pytest.raises(PeerRejected):
        ask("c")  # not an end of a~b
    with pytest.raises(PeerRejected):
        ask("a", master_sae="video@b", slave_sae="video@a")  # the master is not at the caller
    with pytest.raises(PeerRejected):
        ask("a", slave_sae="dispatch@b")  # not two ends of one service
    with pytest.raises(PeerRejected):
        ask("a", key_ids=["not-a-uuid"])
    with pytest.raises(PeerRejected):
        ask("a", blocks=None)  # b does not lead a~b: it cannot choose the blocks


def test_a_hold_whose_hop_never_came_expires_and_is_counted(bed: KMEBed) -> None:
    a = bed.kmes["a"]
    stale, fresh = str(uuid.uuid4()), str(uuid.uuid4())
    a.handle_reserve("b", ReserveBlocks(link_id="a~b", hold_id=stale, count=3))
    bed.clock.advance(HOLD_TTL_S / 2)
    a.handle_reserve("b", ReserveBlocks(link_id="a~b", hold_id=fresh, count=2))
    assert a.expire_holds() == 0
    bed.clock.advance(HOLD_TTL_S / 2 + 1)
    assert a.expire_holds() == 3
    assert (a.stats["holds_expired"], a.stats["hold_blocks_expired"]) == (1, 3)
    assert set(_store(bed, "a").holds) == {(fresh, "a~b")}
    # A hop that comes after all names a hold that is gone: refused, nothing delivered.
    late = Hop(
        route=["b", "a"],
        position=1,
        mode="key",
        blocks=BlockRef(hold_id=stale),
        keys=[HopKey(key_id=str(uuid.uuid4()))],
        size_bits=256,
        master_sae="video@b",
        slave_saes=["video@a"],
        route_slaves=["video@a"],
        created_s=bed.clock(),
    )
    with pytest.raises(PeerRejected, match="no hold"):
        a.handle_hop("b", late)


def test_keys_past_their_lifetime_are_erased_at_both_ends(bed: KMEBed) -> None:
    a, b = bed.kmes["a"], bed.kmes["b"]
    issued = a.enc_keys("video@a", "video@b", KeyRequest(number=2))  # relayed; the pair noted
    assert a.restock() == STOCK_TARGET
    fresh = a.enc_keys("video@a", "video@b", KeyRequest(number=1))  # from stock
    # An orphan: the slave's KME stored keys for an agreement whose master side never came.
    orphan_ids = [str(uuid.uuid4()) for _ in range(3)]
    link = a.directory.link_between("a", "b")
    assert link is not None
    with a.store.transaction() as tx:  # a, the link's leader, takes the blocks and names them
        taken = tx.take_any_blocks(link.link_id, len(orphan_ids))
    b.handle_stock(
        "a",
        StockKeys(
            link_id=link.link_id,
            master_sae="video@a",
            slave_sae="video@b",
            key_ids=orphan_ids,
            size_bits=256,
            blocks=BlockRef(indices=[block.index for block in taken]),
        ),
    )  # ... and dies before storing its side
    assert a.expire_keys() == {"delivery": 0, "stock": 0, "origin": 0}  # all still young
    assert b.expire_keys() == {"delivery": 0, "stock": 0, "origin": 0}
    bed.clock.advance(STOCK_TTL_S + 1)
    # The master's unissued stock goes first; everything a slave could still fetch stays.
    assert a.expire_keys() == {"delivery": 0, "stock": STOCK_TARGET - 1, "origin": 0}
    assert b.expire_keys()["delivery"] == 0
    assert [k.key_id for k in b.dec_keys("video@b", "video@a", [fresh[0].key_id])] == [
        fresh[0].key_id
    ]
    bed.clock.advance(KEY_TTL_S - STOCK_TTL_S)
    gone_b = b.expire_keys()
    # The unissued stock's slave copies, the orphans and the two unfetched relayed keys.
    assert gone_b["delivery"] == STOCK_TARGET - 1 + len(orphan_ids) + len(issued)
    assert a.expire_keys()["origin"] == len(issued)  # the master's records of those two
    assert _store(bed, "b").keys == {}
    assert not any(k.master_sae == "video@a" for k in _store(bed, "a").keys.values())
    with pytest.raises(KeyRequestError, match="unknown"):
        b.dec_keys("video@b", "video@a", [issued[0].key_id])
    expired = [fields for event, fields in bed.audit if event == "keys-expired"]
    assert all("key" not in fields for fields in expired)  # ids only, never material
    assert b.stats["keys_expired_delivery"] == gone_b["delivery"]
