"""Unit checks of the live city's parts: links, KMEs, telemetry, bus matching, storage."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsafecity.errors import InputError, KeyManagementError
from qsafecity.live import telemetry
from qsafecity.live.bus import InMemoryBus, parse_mqtt_url, topic_matches
from qsafecity.live.kmes import KEY_BITS
from qsafecity.live.links import (
    ABORT_QBER,
    LinkState,
    QKDLinkRuntime,
    preset_for,
    rates_under_attack,
)
from qsafecity.live.storage import Store, StoredReading
from qsafecity.manifests import load_city
from qsafecity.qkd import physics


def test_quiet_link_matches_the_physics_model() -> None:
    rates = rates_under_attack(physics.METRO, 14.0, 0.0)
    assert rates.secret_rate_bps == pytest.approx(physics.secret_key_rate_bps(physics.METRO, 14.0))
    assert rates.qber < 0.03


def test_full_intercept_resend_gives_about_25_percent_qber_and_no_key() -> None:
    # Gisin et al. 2002 §6.2: intercept-resend on every photon gives 25 % QBER; here the
    # misalignment adds e_d/2 and the dark counts a little more.
    rates = rates_under_attack(physics.GYS, 10.0, 1.0)
    assert 0.25 <= rates.qber <= 0.25 + physics.GYS.misalignment_error
    assert rates.secret_rate_bps == 0.0


@settings(max_examples=25, deadline=None)
@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_more_eavesdropping_never_raises_the_rate_nor_lowers_the_qber(f1: float, f2: float) -> None:
    low, high = sorted((f1, f2))
    quiet, loud = (
        rates_under_attack(physics.METRO, 5.0, low),
        rates_under_attack(physics.METRO, 5.0, high),
    )
    assert loud.qber >= quiet.qber - 1e-12
    assert loud.secret_rate_bps <= quiet.secret_rate_bps + 1e-6


def test_a_block_yields_its_finite_size_key_below_the_asymptotic_rate() -> None:
    from qsafecity.live.links import block_key_bits

    rates = rates_under_attack(physics.METRO, 14.0, 0.0)
    per_second = [block_key_bits(rates, 14.0, seconds) / seconds for seconds in (0.25, 1.0, 5.0)]
    # Longer blocks estimate the decoy yields more tightly: more key per second, never more
    # than the asymptotic rate.
    assert 0 < per_second[0] < per_second[1] < per_second[2] < rates.secret_rate_bps
    assert block_key_bits(rates_under_attack(physics.METRO, 14.0, 1.0), 14.0, 1.0) == 0


def test_a_link_aborts_on_the_first_block_of_a_full_attack() -> None:
    rng = np.random.default_rng(1)
    link = QKDLinkRuntime("a", "b", 10.0, preset_for(10.0))
    assert link.step(1.0, rng) > 0
    link.eavesdrop_fraction = 1.0
    assert link.step(1.0, rng) == 0
    assert link.state is LinkState.ABORTED
    assert link.qber_estimate > ABORT_QBER
    link.cut = True
    assert link.step(1.0, rng) == 0
    assert link.state is LinkState.CUT


CHAIN_CITY = """
format: 1
city: {name: Chain}
sites:
  - {id: a, name: A, location: {lat: 50.0, lon: 30.0}}
  - {id: b, name: B, location: {lat: 50.1, lon: 30.1}}
  - {id: c, name: C, location: {lat: 50.2, lon: 30.2}}
links:
  - {a: a, b: b, length_km: 5, fibre: dark}
  - {a: b, b: c, length_km: 5, fibre: dark}
operators:
  - {id: it, name: IT, type: municipal}
services:
  - id: svc
    name: Dispatch from A to C
    operator: it
    function: emergency-dispatch
    data: {categories: [location], shelf_life_years: 1}
    endpoints: [a, c]
    crypto: {key_exchange: ECDHE-P256, signature: RSA-2048, cipher: AES-128-GCM}
"""


def test_keys_come_from_real_kmes_over_etsi_014_once_and_relays_consume_every_hop(
    tmp_path,
) -> None:
    from qsafecity.live.clock import ManualClock
    from qsafecity.live.kmes import CityKMEs

    manifest = tmp_path / "chain.yaml"
    manifest.write_text(CHAIN_CITY, encoding="utf-8")
    links = [
        QKDLinkRuntime("a", "b", 5.0, preset_for(5.0)),
        QKDLinkRuntime("b", "c", 5.0, preset_for(5.0)),
    ]
    kmes = CityKMEs(
        load_city(manifest),
        links,
        clock=ManualClock(),
        run_id="unit",
        database=str(tmp_path / "kmes"),
        capacity_blocks=10,
        fetch_ahead=False,
    )
    try:
        assert sorted(kmes.kmes) == ["a", "b", "c"]
        assert sorted(p.name for p in (tmp_path / "kmes").glob("*.sqlite")) == [
            f"kme-{site}-unit.sqlite" for site in "abc"
        ]
        with pytest.raises(KeyManagementError):
            kmes.enc_key("a", "svc@a", "svc@c")  # empty pools: the KME answers 503
        for link in links:
            kmes.feed(link.id, 10**9)  # capped at the capacity, at both ends
        assert kmes.pool_levels() == {"a-b": 10, "b-c": 10}
        assert kmes.kmes["b"].pool_levels() == {"a~b": 10, "b~c": 10}
        key = kmes.enc_key("a", "svc@a", "svc@c")
        assert key.route == ("a", "b", "c")
        assert len(key.material) == KEY_BITS // 8
        assert kmes.pool_levels() == {"a-b": 9, "b-c": 9}
        assert kmes.relayed_keys == 1
        assert kmes.kmes["b"].stats["relayed_hops"] == 1
        with pytest.raises(KeyManagementError):
            kmes.dec_key("c", "svc@a", "svc@c", key.key_id)  # not an SAE of KME c
        assert kmes.dec_key("c", "svc@c", "svc@a", key.key_id) == key.material
        with pytest.raises(KeyManagementError):
            kmes.dec_key("c", "svc@c", "svc@a", key.key_id)  # delivered once
        assert kmes.kme_stats()["c"]["keys_delivered"] == 1
        assert kmes.audit.counts[("c", "dec_keys")] == 1
        assert key.material.hex() not in repr(key)
        kmes.set_in_service("b-c", False)
        assert not kmes.has_route("a", "c")
        with pytest.raises(KeyManagementError):
            kmes.enc_key("a", "svc@a", "svc@c")
        kmes.set_in_service("b-c", True)
        assert kmes.has_route("a", "c")
    finally:
        kmes.close()


def test_a_key_fetched_ahead_is_not_used_when_its_route_lost_a_link(tmp_path) -> None:
    import time

    from qsafecity.live.clock import ManualClock
    from qsafecity.live.kmes import CityKMEs

    manifest = tmp_path / "chain.yaml"
    manifest.write_text(CHAIN_CITY, encoding="utf-8")
    links = [
        QKDLinkRuntime("a", "b", 5.0, preset_for(5.0)),
        QKDLinkRuntime("b", "c", 5.0, preset_for(5.0)),
    ]
    kmes = CityKMEs(load_city(manifest), links, clock=ManualClock(), run_id="ahead")
    try:
        for link in links:
            kmes.feed(link.id, 100 * KEY_BITS)
        first = kmes.enc_key("a", "svc@a", "svc@c")
        deadline = time.monotonic() + 30
        while kmes.kme_stats()["a"]["keys_issued"] < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert kmes.kme_stats()["a"]["keys_issued"] == 5  # the next keys, fetched ahead
        second = kmes.enc_key("a", "svc@a", "svc@c")  # taken from the ones fetched ahead
        assert second.key_id != first.key_id
        assert kmes.dec_key("c", "svc@c", "svc@a", second.key_id) == second.material
        kmes.set_in_service("a-b", False)
        with pytest.raises(KeyManagementError):
            kmes.enc_key("a", "svc@a", "svc@c")  # the key ahead crossed a-b: not used
    finally:
        kmes.close()


def test_every_service_publishes_fiware_sized_readings() -> None:
    city = load_city(None)
    rng = np.random.default_rng(7)
    for service in city.services:
        for sequence in range(5):
            entity = telemetry.reading(
                service_id=service.id,
                function=service.function,
                sender=f"{service.id}@{service.endpoints[0]}",
                sequence=sequence,
                lat=51.7,
                lon=39.2,
                observed_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                rng=rng,
            )
            size = len(telemetry.encode(entity))
            assert telemetry.MIN_PAYLOAD_BYTES <= size <= telemetry.MAX_PAYLOAD_BYTES, service.id
            assert entity["type"]
            assert str(entity["id"]).startswith("urn:ngsi-ld:")


@pytest.mark.parametrize(
    ("pattern", "topic", "expected"),
    [
        ("a/#", "a/b/c", True),
        ("a/+/c", "a/b/c", True),
        ("a/+", "a/b/c", False),
        ("a/b", "a/b", True),
        ("a/b/c", "a/b", False),
    ],
)
def test_topic_matching(pattern: str, topic: str, expected: bool) -> None:
    assert topic_matches(pattern, topic) is expected


@pytest.mark.parametrize("url", ["http://x", "mqtt://", "mqtt://h:notaport", "", "mqtt://h:99999"])
def test_bad_mqtt_urls_are_input_errors(url: str) -> None:
    with pytest.raises(InputError):
        parse_mqtt_url(url)


def test_in_memory_bus_queues_for_a_persistent_client_while_it_is_away() -> None:
    bus = InMemoryBus()
    got: list[bytes] = []
    gateway = bus.connect("gw", persistent=True)
    gateway.subscribe("t/#", lambda _t, p: got.append(p))
    gateway.close()
    sender = bus.connect("s")
    sender.publish("t/1", b"one")
    assert got == []
    again = bus.connect("gw", persistent=True)
    again.subscribe("t/#", lambda _t, p: got.append(p))
    assert got == [b"one"]


@pytest.mark.parametrize("url", ["nonsense", "mysql://x/y", "redis://h"])
def test_bad_database_urls_are_input_errors(url: str) -> None:
    with pytest.raises(InputError):
        Store(url)


def test_a_reading_is_stored_once(store: Store) -> None:
    reading = StoredReading("svc", "svc@a", 1, "b", "critical", "qkd+pqc", "k", "T", "{}", 1.0)
    assert store.add_reading(reading) is True
    assert store.add_reading(reading) is False
    assert store.reading_counts() == {"svc": 1}


@pytest.mark.parametrize("fraction", [0.0, 0.3, 1.0])
def test_the_eavesdropper_model_agrees_with_the_monte_carlo_bb84_of_the_link_engine(
    fraction: float,
) -> None:
    """The live city's closed-form QBER under intercept-resend against ``qkd.bb84.simulate``.

    Tolerance 0.02 absolute: the Monte-Carlo QBER over ~2·10^4 sifted bits has a standard error
    of at most 0.003 (at 27 %), and the simulation mixes decoy intensities and models dark counts
    per detector, which the signal-only closed form leaves out (about 0.01 at these settings).
    """
    from qsafecity.qkd.bb84 import AttackKind, Eavesdropper, simulate

    sifted = simulate(
        physics.METRO,
        10.0,
        2_000_000,
        np.random.default_rng(5),
        eve=Eavesdropper(AttackKind.INTERCEPT_RESEND, fraction),
    )
    monte_carlo = float(np.mean(sifted.alice_key != sifted.bob_key))
    assert sifted.sifted_bits > 10_000
    assert rates_under_attack(physics.METRO, 10.0, fraction).qber == pytest.approx(
        monte_carlo, abs=0.02
    )
