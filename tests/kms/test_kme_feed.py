"""The hooks an external link engine uses (the live city): feeding pools, announcing a link that
stopped producing key, a directory over explicit links."""

from __future__ import annotations

import pytest
from tests.kms_testbed import MINI_CITY, make_testbed

from qsafecity.errors import KeyManagementError, KeyRequestError
from qsafecity.kms.directory import Directory, QKDLink
from qsafecity.kms.kme import KeyRequest
from qsafecity.kms.model import KMELimits
from qsafecity.manifests import load_manifest_text


def test_feeding_adds_the_same_blocks_at_both_ends_up_to_the_cap() -> None:
    bed = make_testbed(rate_bps=0.0, limits=KMELimits(max_key_count=30))
    a, b = bed.kmes["a"], bed.kmes["b"]
    assert a.pool_levels()["a~b"] == 0
    assert a.feed("a~b", 12) == 12
    assert b.feed("a~b", 12) == 12
    assert a.feed("a~b", 100) == 18  # the devices idle when the pool is full
    assert b.feed("a~b", 100) == 18
    assert a.pool_levels()["a~b"] == b.pool_levels()["a~b"] == 30
    issued = a.enc_keys("video@a", "video@b", KeyRequest(number=3))
    fetched = b.dec_keys("video@b", "video@a", [k.key_id for k in issued])
    assert [k.key.value for k in fetched] == [k.key.value for k in issued]
    assert a.pool_levels()["a~b"] == b.pool_levels()["a~b"] == 27
    with pytest.raises(KeyRequestError, match="no link"):
        a.feed("b~c", 1)  # not a link of KME a
    with pytest.raises(ValueError, match="negative"):
        a.feed("a~b", -1)


def test_a_link_out_of_service_is_routed_around_and_comes_back() -> None:
    bed = make_testbed()
    a = bed.kmes["a"]
    assert a.route_to("b") == ["a", "b"]
    for kme in bed.kmes.values():
        kme.set_link_in_service("a~b", False)
    assert a.route_to("b") == ["a", "d", "c", "b"]
    issued = a.enc_keys("video@a", "video@b", KeyRequest())
    assert bed.audit[-1][1]["routes"] == [["a", "d", "c", "b"]]
    assert bed.kmes["b"].dec_keys("video@b", "video@a", [issued[0].key_id])
    for kme in bed.kmes.values():
        kme.set_link_in_service("c~d", False)
    assert a.route_to("b") is None
    with pytest.raises(KeyManagementError, match="no route from KME a to KME b"):
        a.enc_keys("video@a", "video@b", KeyRequest())
    for kme in bed.kmes.values():
        kme.set_link_in_service("a~b", True)
    assert a.route_to("b") == ["a", "b"]
    with pytest.raises(KeyRequestError, match="no link"):
        a.set_link_in_service("a~e", False)


def test_a_directory_over_explicit_links() -> None:
    city = load_manifest_text(MINI_CITY, "mini city")
    directory = Directory.from_city(city, links=[QKDLink("c", "e", 5.0)])
    assert [link.link_id for link in directory.links] == ["c~e"]
    assert directory.saes["records@e"].site_id == "e"
    assert len(Directory.from_city(city).links) == 4  # the manifest's qkd: true links
    with pytest.raises(ValueError, match="sites the city does not have"):
        Directory.from_city(city, links=[QKDLink("a", "nowhere", 1.0)])
