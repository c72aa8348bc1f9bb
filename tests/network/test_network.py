"""The city graph, key demand and relay routes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qsafecity.city import Location, Tier
from qsafecity.manifests import load_city
from qsafecity.network import (
    BY_LENGTH,
    RekeyPolicy,
    SegmentKind,
    StepKeyRateModel,
    build_network,
    candidate_routes,
    great_circle_km,
    service_demands,
)
from qsafecity.network.graph import minimum_spanning_edges, pairwise_great_circle_km
from qsafecity.network.paths import RelayGraph
from tests.planning.cities import chain, city

MODEL = StepKeyRateModel(rate_bps=1_000.0, reach_km=120.0)


def test_great_circle_reproduces_a_known_distance() -> None:
    # Paris (48.8566, 2.3522) to London (51.5074, -0.1278): 343.5 km on the mean sphere.
    paris, london = Location(lat=48.8566, lon=2.3522), Location(lat=51.5074, lon=-0.1278)
    assert great_circle_km(paris, london) == pytest.approx(343.5, abs=0.5)


@given(st.floats(-89, 89), st.floats(-179, 179), st.floats(-89, 89), st.floats(-179, 179))
def test_great_circle_is_a_symmetric_bounded_distance(
    lat1: float, lon1: float, lat2: float, lon2: float
) -> None:
    a, b = Location(lat=lat1, lon=lon1), Location(lat=lat2, lon=lon2)
    assert great_circle_km(a, b) == pytest.approx(great_circle_km(b, a))
    assert 0.0 <= great_circle_km(a, b) <= math.pi * 6371.0088 + 1e-6


def test_rekeying_gives_the_larger_of_volume_and_time_rates() -> None:
    policy = RekeyPolicy(key_bits=256, bytes_per_key=100e6, seconds_per_key=60.0)
    assert policy.key_rate_bps(0.0) == pytest.approx(256 / 60)
    # 8,640 GB/day = 100 MB/s = one key a second.
    assert policy.key_rate_bps(8_640.0) == pytest.approx(256.0)


def test_sample_city_demands_follow_the_tiers() -> None:
    demands = {d.service_id: d for d in service_demands(load_city(None))}
    assert demands["video-surveillance"].tier is Tier.CRITICAL
    assert demands["video-surveillance"].needs_qkd
    assert demands["e-gov-portal"].protection == "pqc"
    assert demands["museum-tickets"].protection == "classical-allowed"
    assert demands["civil-registry"].site_pairs == (
        ("mfc-centre", "city-hall"),
        ("mfc-centre", "dc-reserve"),
    )


def test_network_keeps_existing_fibre_and_adds_candidates_within_reach() -> None:
    network = build_network(load_city(None), MODEL)
    pilot = network.segment("dc-reserve", "dc-main")
    assert pilot.existing_qkd
    assert pilot.kind is SegmentKind.DARK
    assert network.segment("tn-south", "heat-power-control").kind is SegmentKind.PLANNED
    new = [s for s in network.segments if s.kind is SegmentKind.NEW]
    assert new
    assert all(s.length_km <= MODEL.reach_km for s in new)
    assert "library-central" not in network.relay_sites  # kind "other" cannot relay


def test_relay_only_through_sites_that_can_host_a_trusted_node() -> None:
    # a - m - c where m is a field cabinet: no route, although the fibre joins them.
    field = city(
        [("a", "data-centre", 0.0, 0.0), ("m", "field", 0.0, 0.5), ("c", "government", 0.0, 1.0)],
        [
            {"a": "a", "b": "m", "length_km": 60.0, "fibre": "dark"},
            {"a": "m", "b": "c", "length_km": 60.0, "fibre": "dark"},
        ],
        [("x", "emergency-dispatch", ["a", "c"])],
    )
    short = StepKeyRateModel(rate_bps=1.0, reach_km=100.0)
    network = build_network(field, short, candidate_neighbours=0)
    assert candidate_routes(network, [("a", "c")]) == {("a", "c"): ()}


def test_chain_routes_through_the_middle() -> None:
    network = build_network(chain(), MODEL)
    assert candidate_routes(network, [("c", "a")], [BY_LENGTH]) == {("a", "c"): (("a", "b", "c"),)}


def test_minimum_spanning_tree_of_a_square() -> None:
    distance = pairwise_great_circle_km(tuple(load_city(None).sites[:4]))
    edges = minimum_spanning_edges(distance)
    assert len(edges) == 3
    assert len({node for edge in edges for node in edge}) == 4


def test_step_model_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="rate_bps"):
        StepKeyRateModel(rate_bps=-1.0, reach_km=10.0)
    with pytest.raises(ValueError, match="distance"):
        MODEL.secret_key_rate_bps(-1.0)


def test_relay_graph_routes_pay_relays_and_start_at_any_site() -> None:
    # f1 and f2 are field cabinets (endpoints only); r1 and r2 can relay. Both detours are 50 km
    # per hop; relaying at r1 costs 10 km-equivalents more than at r2, so r2 wins.
    square = city(
        [
            ("f1", "field", 0.0, 0.0),
            ("r1", "trusted-node", 0.3, 0.3),
            ("r2", "government", -0.3, 0.3),
            ("f2", "field", 0.0, 0.6),
        ],
        [
            {"a": "f1", "b": "r1", "length_km": 50.0, "fibre": "dark"},
            {"a": "r1", "b": "f2", "length_km": 50.0, "fibre": "dark"},
            {"a": "f1", "b": "r2", "length_km": 50.0, "fibre": "dark"},
            {"a": "r2", "b": "f2", "length_km": 50.0, "fibre": "dark"},
        ],
        [("x", "emergency-dispatch", ["f1", "f2"])],
    )
    network = build_network(square, MODEL, candidate_neighbours=0)
    graph = RelayGraph(network)
    lengths = np.array([s.length_km for s in graph.segments])
    relay = np.array([{"r1": 10.0}.get(site, 0.0) for site in graph.site_ids])
    tree = graph.trees(graph.matrix(lengths, relay), ["f1"])["f1"]
    assert graph.route(tree, "f1", "f2") == ("f1", "r2", "f2")
    # Without r2's segments (unusable), the route takes r1; without either, none.
    uses_r2 = np.array(["r2" in (s.a, s.b) for s in graph.segments])
    tree = graph.trees(graph.matrix(lengths, relay, ~uses_r2), ["f1"])["f1"]
    assert graph.route(tree, "f1", "f2") == ("f1", "r1", "f2")
    tree = graph.trees(graph.matrix(lengths, relay, np.zeros(len(lengths), bool)), ["f1"])["f1"]
    assert graph.route(tree, "f1", "f2") is None
    # Routes are oriented from the pair's first site, whichever endpoint the tree grew from.
    found = candidate_routes(network, [("f2", "f1")], [BY_LENGTH], exhaustive_k=0)
    (route,) = found[("f1", "f2")]
    assert (route[0], route[-1]) == ("f1", "f2")
    assert route[1] in {"r1", "r2"}
