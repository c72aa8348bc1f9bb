"""KME behaviour: delivery, multicast, relay, rerouting, authorisation and validation."""

from __future__ import annotations

import pytest
from tests.kms_testbed import KMEBed, make_testbed

from qsafecity.errors import AccessDenied, KeyManagementError, KeyRequestError
from qsafecity.kms.kme import KeyRequest
from qsafecity.kms.model import KMELimits, StoredRole
from qsafecity.kms.store import MemoryKeyStore


def test_a_direct_key_reaches_the_slave_once_and_is_erased_at_both_ends(testbed: KMEBed) -> None:
    a, b = testbed.kmes["a"], testbed.kmes["b"]
    before = a.status("video@a", "video@b").stored_key_count
    issued = a.enc_keys("video@a", "video@b", KeyRequest(number=3))
    assert len(issued) == 3
    assert all(len(k.key) == 32 for k in issued)
    assert len({k.key.value for k in issued}) == 3
    assert a.status("video@a", "video@b").stored_key_count == before - 3
    fetched = b.dec_keys("video@b", "video@a", [issued[1].key_id, issued[0].key_id])
    assert [(k.key_id, k.key.value) for k in fetched] == [
        (issued[1].key_id, issued[1].key.value),
        (issued[0].key_id, issued[0].key.value),
    ]
    with pytest.raises(KeyRequestError, match="unknown or was already delivered"):
        b.dec_keys("video@b", "video@a", [issued[0].key_id])
    a_store, b_store = a.store, b.store
    assert isinstance(a_store, MemoryKeyStore)
    assert isinstance(b_store, MemoryKeyStore)
    # Only the undelivered key remains, at both ends.
    assert set(b_store.keys) == {issued[2].key_id}
    assert set(a_store.keys) == {issued[2].key_id}
    assert a_store.keys[issued[2].key_id].role is StoredRole.ORIGIN
    assert a_store.keys[issued[2].key_id].sealed == b""


def test_the_follower_of_a_link_gets_keys_through_a_hold(testbed: KMEBed) -> None:
    # b is not the leader of a~b, so it has a reserve blocks from a first.
    issued = testbed.kmes["b"].enc_keys("video@b", "video@a", KeyRequest(number=2, size_bits=512))
    fetched = testbed.kmes["a"].dec_keys("video@a", "video@b", [k.key_id for k in issued])
    assert [k.key.value for k in fetched] == [k.key.value for k in issued]
    assert all(len(k.key) == 64 for k in fetched)


def test_both_ends_use_the_same_blocks_and_each_block_once(testbed: KMEBed) -> None:
    a, b = testbed.kmes["a"], testbed.kmes["b"]
    levels = a.pool_levels()["a~b"], b.pool_levels()["a~b"]
    a.enc_keys("video@a", "video@b", KeyRequest(number=4, size_bits=1024))  # 4 blocks each
    b.enc_keys("video@b", "video@a", KeyRequest(number=1, size_bits=64))  # 1 block
    assert a.pool_levels()["a~b"] == levels[0] - 17
    assert b.pool_levels()["a~b"] == levels[1] - 17


def test_keys_are_sealed_at_rest(testbed: KMEBed) -> None:
    issued = testbed.kmes["a"].enc_keys("video@a", "video@b", KeyRequest())
    store = testbed.kmes["b"].store
    assert isinstance(store, MemoryKeyStore)
    sealed = store.keys[issued[0].key_id].sealed
    assert issued[0].key.value not in sealed
    assert "redacted" in repr(issued[0].key)
    assert issued[0].key.value.hex() not in repr(issued[0])


def test_a_key_is_relayed_through_a_trusted_node_consuming_key_on_every_hop(
    testbed: KMEBed,
) -> None:
    a, c = testbed.kmes["a"], testbed.kmes["c"]
    levels_before = {site: kme.pool_levels() for site, kme in testbed.kmes.items()}
    issued = a.enc_keys("dispatch@a", "dispatch@c", KeyRequest(number=2))
    fetched = c.dec_keys("dispatch@c", "dispatch@a", [k.key_id for k in issued])
    assert [k.key.value for k in fetched] == [k.key.value for k in issued]
    (_event, fields) = next(e for e in testbed.audit if e[0] == "enc_keys")
    route = fields["routes"][0]  # type: ignore[index]
    assert (route[0], route[-1], len(route)) == ("a", "c", 3)
    node = route[1]
    assert testbed.kmes[node].stats["relayed_hops"] == 1
    # Both hops consumed 2 blocks at both of their ends.
    for first, second in (("a", node), (node, "c")):
        lid = "~".join(sorted((first, second)))
        for site in (first, second):
            assert testbed.kmes[site].pool_levels()[lid] == levels_before[site][lid] - 2
    # The relay shows in the status: the stored count is the route's bottleneck.
    assert a.status("dispatch@a", "dispatch@c").stored_key_count <= min(
        testbed.kmes["a"].pool_levels().values()
    )
    assert all(
        "key" not in str(v) or k == "key_ids" for e in testbed.audit for k, v in e[1].items()
    )


def test_a_broken_link_reroutes_and_no_route_gives_a_reason(testbed: KMEBed) -> None:
    a = testbed.kmes["a"]
    testbed.network.down.add("b")
    issued = a.enc_keys("dispatch@a", "dispatch@c", KeyRequest())
    fetched = testbed.kmes["c"].dec_keys("dispatch@c", "dispatch@a", [issued[0].key_id])
    assert fetched[0].key.value == issued[0].key.value
    assert testbed.kmes["d"].stats["relayed_hops"] == 1
    testbed.network.down.add("d")
    with pytest.raises(KeyManagementError, match="no route from KME a to KME c"):
        a.enc_keys("dispatch@a", "dispatch@c", KeyRequest())


def test_multicast_delivers_the_same_key_to_slaves_at_several_sites(testbed: KMEBed) -> None:
    a = testbed.kmes["a"]
    issued = a.enc_keys(
        "dispatch@a", "dispatch@b", KeyRequest(number=2, additional_slave_sae_ids=("dispatch@c",))
    )
    ids = [k.key_id for k in issued]
    at_b = testbed.kmes["b"].dec_keys("dispatch@b", "dispatch@a", ids)
    at_c = testbed.kmes["c"].dec_keys("dispatch@c", "dispatch@a", ids)
    assert (
        [k.key.value for k in at_b] == [k.key.value for k in at_c] == [k.key.value for k in issued]
    )
    store = a.store
    assert isinstance(store, MemoryKeyStore)
    assert store.keys == {}  # every slave has it: the origin record is gone too
    # A slave cannot read a key meant for another slave.
    other = a.enc_keys("dispatch@a", "dispatch@b", KeyRequest())
    with pytest.raises(KeyRequestError):
        testbed.kmes["c"].dec_keys("dispatch@c", "dispatch@a", [other[0].key_id])


def test_who_may_ask_for_what(testbed: KMEBed) -> None:
    a, b = testbed.kmes["a"], testbed.kmes["b"]
    issued = a.enc_keys("dispatch@a", "dispatch@b", KeyRequest())
    key_id = issued[0].key_id
    with pytest.raises(AccessDenied, match="not an SAE served by KME a"):
        a.enc_keys("video@b", "video@a", KeyRequest())
    with pytest.raises(AccessDenied, match="may not share keys"):
        a.enc_keys("video@a", "dispatch@b", KeyRequest())
    with pytest.raises(AccessDenied, match="may not share keys"):
        a.status("portal", "portal")
    with pytest.raises(KeyRequestError, match="unknown SAE"):
        a.enc_keys("video@a", "nobody@b", KeyRequest())
    # The master cannot fetch its own key as a slave, and another service's slave cannot either.
    with pytest.raises(AccessDenied):
        a.dec_keys("dispatch@a", "dispatch@b", [key_id])
    with pytest.raises(AccessDenied):
        b.dec_keys("video@b", "video@a", [key_id])
    with pytest.raises(KeyRequestError, match="not issued by"):
        b.dec_keys("dispatch@b", "dispatch@c", [key_id])
    # After all the refusals the rightful slave still gets it.
    assert b.dec_keys("dispatch@b", "dispatch@a", [key_id])[0].key.value == issued[0].key.value


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (KeyRequest(number=0), "number"),
        (KeyRequest(number=129), "number"),
        (KeyRequest(size_bits=56), "size"),
        (KeyRequest(size_bits=1032), "size"),
        (KeyRequest(size_bits=100), "size"),
        (KeyRequest(extension_mandatory=({"abc_route_type": "direct"},)), "abc_route_type"),
        (KeyRequest(additional_slave_sae_ids=("dispatch@b",) * 5), "max_SAE_ID_count"),
        (KeyRequest(additional_slave_sae_ids=("dispatch@b",)), "named twice"),
    ],
)
def test_requests_outside_the_limits_are_refused(
    testbed: KMEBed, request_: KeyRequest, message: str
) -> None:
    with pytest.raises(KeyRequestError, match=message):
        testbed.kmes["a"].enc_keys("dispatch@a", "dispatch@b", request_)


@pytest.mark.parametrize(
    ("key_ids", "message"),
    [
        ([], "no key_ID"),
        (["not-a-uuid"], "UUID"),
        (["0" * 8 + "-0000-0000-0000-" + "0" * 12] * 2, "twice"),
    ],
)
def test_malformed_key_id_lists_are_refused(
    testbed: KMEBed, key_ids: list[str], message: str
) -> None:
    with pytest.raises(KeyRequestError, match=message):
        testbed.kmes["b"].dec_keys("video@b", "video@a", key_ids)


def test_an_empty_pool_gives_a_clear_error_and_fills_again_with_time() -> None:
    bed = make_testbed(rate_bps=2560.0, limits=KMELimits(max_key_count=50))  # 10 blocks a second
    a = bed.kmes["a"]
    assert a.status("video@a", "video@b").stored_key_count == 10
    a.enc_keys("video@a", "video@b", KeyRequest(number=10))
    # The direct link is empty: the next keys go round through d and c instead.
    a.enc_keys("video@a", "video@b", KeyRequest(number=10))
    assert bed.audit[-1][1]["routes"] == [["a", "d", "c", "b"]]
    with pytest.raises(KeyManagementError, match="no route from KME a to KME b"):
        a.enc_keys("video@a", "video@b", KeyRequest())
    bed.fill(100.0)  # the pool is capped at max_key_count
    assert a.status("video@a", "video@b").stored_key_count == 50
    assert a.status("video@a", "video@b").max_key_count == 50


def test_a_link_beyond_the_rate_models_range_yields_nothing() -> None:
    bed = make_testbed(rate_bps=0.0)
    assert bed.kmes["a"].status("video@a", "video@b").stored_key_count == 0
    with pytest.raises(KeyManagementError):
        bed.kmes["a"].enc_keys("video@a", "video@b", KeyRequest())
