"""The live city's plumbing on the in-memory bus: delivery, storage, drills and the response policy."""

from __future__ import annotations

import pytest

from qsafecity.live.alerts import Cause
from qsafecity.live.city import LiveCity
from qsafecity.live.clock import ManualClock
from qsafecity.live.links import LinkState
from qsafecity.live.options import QKDScope
from tests.live.harness import running_city


def run(city: LiveCity, clock: ManualClock, seconds: float, step_s: float = 1.0) -> None:
    elapsed = 0.0
    while elapsed < seconds:
        clock.advance(step_s)
        city.step()
        elapsed += step_s


def test_every_service_delivers_and_stores_each_reading_once(fake_city) -> None:
    city, clock = fake_city
    run(city, clock, 20)
    counts = city.store.reading_counts()
    for service_id, route in city.routes.items():
        sent = sum(d.sent for (sid, _), d in city.fleet.devices.items() if sid == service_id)
        assert sent == 20 * len(route.senders)
        assert counts[service_id] == sent, service_id
    assert city.fleet.unacknowledged() == 0
    assert city.store.rejection_counts() == {}


def test_the_wire_carries_no_plaintext_and_critical_readings_name_their_qkd_key(fake_city) -> None:
    city, clock = fake_city
    run(city, clock, 3)
    for captured in city.fleet.tap.values():
        for _, payload in captured:
            assert b"urn:ngsi-ld" not in payload
            assert b"dataProvider" not in payload
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from qsafecity.live.storage import ReadingRow

    with Session(city.store.engine) as session:
        rows = session.execute(
            select(ReadingRow.tier, ReadingRow.protection, ReadingRow.qkd_key_id)
        )
        seen = {(tier, protection, key_id is not None) for tier, protection, key_id in rows}
    assert ("critical", "qkd+pqc", True) in seen
    assert ("especially-important", "pqc", False) in seen
    assert all(protection != "none" for _, protection, _ in seen)


def test_critical_keys_come_from_the_kmes_over_etsi_014(fake_city) -> None:
    import ssl

    import httpx
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from qsafecity.live.storage import ReadingRow

    city, clock = fake_city
    run(city, clock, 5)
    kmes = city.keys
    # One KME of qsafecity.kms per site on a QKD link, each with its own SQLite store.
    assert set(kmes.kmes) == {s for link in city.links for s in (link.a, link.b)}
    assert len({kme.store.url for kme in kmes.kmes.values()}) == len(kmes.kmes)  # type: ignore[attr-defined]
    qkd_handshakes = sum(
        c.qkd_handshakes for gw in city.gateways.values() for c in gw.counters.values()
    )
    assert qkd_handshakes > 0
    stats = kmes.kme_stats()
    # Every QKD handshake a gateway accepted fetched its key by id from its KME (dec_keys), and
    # each was issued to the device by the KME of its site (enc_keys; one more per device is
    # fetched ahead).
    assert sum(s["keys_delivered"] for s in stats.values()) == qkd_handshakes
    assert sum(s["keys_issued"] for s in stats.values()) >= qkd_handshakes
    with Session(city.store.engine) as session:
        key_ids = {k for (k,) in session.execute(select(ReadingRow.qkd_key_id)) if k is not None}
    assert key_ids
    assert key_ids <= set(kmes.audit.routes)
    # The deliveries went over the ETSI 014 API: the KMEs' own metrics count them.
    counted = 0
    operations = kmes.operations_client()
    for site, url in kmes.urls.items():
        assert url.startswith("https://127.0.0.1:")  # mutual TLS with the run's city CA
        trusting = ssl.create_default_context(cafile=str(kmes.pki.ca))
        with pytest.raises(httpx.HTTPError):  # no client certificate: no TLS session
            httpx.get(url + "/metrics", verify=trusting, timeout=10)
        metrics = operations.get(url + "/metrics").text
        for line in metrics.splitlines():
            if line.startswith('qsafecity_kme_requests_total{endpoint="dec_keys",status="200"}'):
                counted += int(float(line.split()[-1]))
        assert "qsafecity_kme_pool_blocks{link=" in metrics, site
    operations.close()
    assert counted == qkd_handshakes
    snapshot = city.snapshot()
    for link in snapshot["links"]:
        if link["qkd"]:
            assert 0 < link["pool_keys"] <= kmes.capacity_blocks, link["id"]


def test_eavesdropper_is_caught_and_keys_are_relayed_around_the_link(fake_city) -> None:
    city, clock = fake_city
    run(city, clock, 5)
    soc = city.fleet.devices[("soc-siem", "soc-siem@dc-main")]
    assert soc.qkd_route == ("dc-main", "dc-reserve")
    city.drill_eavesdrop("dc-main-dc-reserve", 1.0)
    run(city, clock, 2)  # detected within 2 simulated seconds (one key block per step)
    link = city.link("dc-reserve-dc-main")
    assert link.state is LinkState.ABORTED
    assert link.qber_estimate > 0.2
    assert city.alerts.find(Cause.QBER_ABORT, "dc-main-dc-reserve")
    run(city, clock, 61, 5.0)  # the next stream takes its QKD key over trusted relays
    assert soc.protection == "qkd+pqc"
    assert len(soc.qkd_route) > 2
    assert "dc-main-dc-reserve" not in {
        f"{a}-{b}" for a, b in zip(soc.qkd_route, soc.qkd_route[1:], strict=False)
    }
    assert city.keys.relayed_keys > 0
    # The trusted nodes on the new route forwarded the key: the KMEs' own counters say so.
    assert sum(kme.stats["relayed_hops"] for kme in city.keys.kmes.values()) > 0
    city.drill_clear("dc-main-dc-reserve")
    run(city, clock, 2)
    assert link.state is LinkState.RUNNING
    assert city.alerts.find(Cause.LINK_RESTORED, "dc-main-dc-reserve")


def test_a_critical_service_that_loses_qkd_runs_on_pqc_never_classical(fake_city) -> None:
    city, clock = fake_city
    run(city, clock, 5)
    scada = city.fleet.devices[("heat-grid-scada", "heat-grid-scada@heat-power-control")]
    assert scada.protection == "qkd+pqc"
    city.drill_cut("dc-reserve-heat-power-control")
    run(city, clock, 2)
    assert city.alerts.find(Cause.LINK_CUT, "dc-reserve-heat-power-control")
    assert city.alerts.find(Cause.QKD_LOST, "heat-grid-scada")
    run(city, clock, 60, 5.0)
    assert scada.protection == "pqc (no QKD route)"
    # The gateway accepted the PQC-only streams (the policy) and lost nothing.
    assert city.gateways["dc-reserve"].counters["heat-grid-scada"].pqc_only_handshakes >= 1
    assert city.store.rejection_counts() == {}
    assert city.fleet.unacknowledged() == 0
    city.drill_clear("dc-reserve-heat-power-control")
    run(city, clock, 61, 5.0)
    assert scada.protection == "qkd+pqc"
    assert city.alerts.find(Cause.QKD_RESTORED, "heat-grid-scada")


def test_flood_is_refused_counted_and_alerted_without_losing_valid_readings(fake_city) -> None:
    city, clock = fake_city
    run(city, clock, 5)
    city.drill_flood("air-quality", 60)
    run(city, clock, 5)
    rejected = city.store.rejection_counts()
    assert rejected.get("replayed", 0) >= 15
    assert rejected.get("tampered", 0) >= 15
    assert rejected.get("forged-sender", 0) >= 15
    assert city.alerts.find(Cause.FLOOD, "air-quality")
    assert city.store.reading_counts()["air-quality"] == 10
    assert city.fleet.unacknowledged() == 0


def test_downgrade_of_each_tier_is_rejected(fake_city) -> None:
    city, clock = fake_city
    run(city, clock, 2)
    for service_id in ("video-surveillance", "air-quality", "museum-tickets"):
        city.drill_downgrade(service_id)
    run(city, clock, 1)
    for service_id in ("video-surveillance", "air-quality", "museum-tickets"):
        assert city.alerts.find(Cause.DOWNGRADE, service_id), service_id


def test_no_valid_reading_is_lost_across_a_gateway_restart(fake_city) -> None:
    city, clock = fake_city
    run(city, clock, 5)
    gateway = city.gateways["dc-main"]
    gateway.stop()
    run(city, clock, 5)  # published while the gateway is down: queued by the bus
    gateway.start(city.bus)
    run(city, clock, 110, 5.0)
    for service_id, route in city.routes.items():
        if route.gateway_site != "dc-main":
            continue
        for sender in route.senders:
            stored = city.store.sequences(service_id, sender)
            device = city.fleet.devices[(service_id, sender)]
            assert stored == list(range(1, device.sequence + 1)), (service_id, sender)
    assert city.fleet.unacknowledged() == 0


def test_the_planned_network_gives_every_critical_service_qkd(store) -> None:
    with running_city(store, scope=QKDScope.PLAN) as (city, clock):
        run(city, clock, 2)
        snapshot = city.snapshot()
        plan = snapshot["plan"]
        assert plan["critical_covered"] == plan["critical_services"]
        for service in snapshot["services"]:
            if service["tier"] == "critical":
                assert service["protection"] == ["qkd+pqc"], service["id"]
        drawn = {frozenset((link["a"], link["b"])) for link in snapshot["links"] if link["qkd"]}
        assert drawn == {frozenset((link.a, link.b)) for link in city.links}
        assert not city.alerts.find(Cause.QKD_LOST)


def test_made_up_topics_are_refused_under_one_name(fake_city) -> None:
    city, clock = fake_city
    run(city, clock, 1)
    gateway = city.gateways["dc-main"]
    for index in range(50):
        gateway.handle(f"qsafecity/v1/to/dc-main/svc-{index}/x/hs", b"\x00" * 10)
        gateway.handle(f"qsafecity/v1/to/dc-main/air-quality/dev-{index}/data", b"junk")
        gateway.handle("qsafecity/v1/to/dc-main/air-quality/air-quality@metering-hub/what", b"")
        gateway.handle("not/a/topic", b"")
    assert set(gateway.counters) <= set(city.routes) | {"(unknown)"}
    assert gateway.counters["(unknown)"].rejected["forged-sender"] == 50
    assert gateway.counters["air-quality"].rejected["tampered"] == 50
    assert gateway.counters["air-quality"].rejected["malformed"] == 50
    run(city, clock, 1)
    assert city.store.reading_counts()["air-quality"] == 2


TINY_CITY = """
format: 1
city: {name: Tiny}
sites:
  - {id: a, name: A, location: {lat: 50.0, lon: 30.0}}
  - {id: b, name: B, location: {lat: 50.1, lon: 30.1}}
links:
  - {a: a, b: b, length_km: 20, fibre: leased}
operators:
  - {id: it, name: IT, type: municipal}
services:
  - id: cams
    name: Cameras recorded on site
    operator: it
    function: public-safety-video
    data: {categories: [video], shelf_life_years: 1}
    endpoints: [a]
    crypto: {key_exchange: ECDHE-P256, signature: RSA-2048, cipher: AES-128-GCM}
  - id: dispatch
    name: Dispatch between two sites without QKD
    operator: it
    function: emergency-dispatch
    data: {categories: [location], shelf_life_years: 1}
    endpoints: [a, b]
    crypto: {key_exchange: ECDHE-P256, signature: RSA-2048, cipher: AES-128-GCM}
"""


def test_a_city_without_qkd_links_runs_critical_traffic_on_pqc_and_loses_nothing(
    tmp_path, store
) -> None:
    manifest = tmp_path / "tiny.yaml"
    manifest.write_text(TINY_CITY, encoding="utf-8")
    with running_city(store, scope=QKDScope.MANIFEST, manifest=manifest) as (city, clock):
        run(city, clock, 5)
        assert city.store.reading_counts() == {"cams": 5, "dispatch": 5}
        assert city.store.rejection_counts() == {}
        assert city.fleet.devices[("cams", "cams@a")].protection == "pqc (within the site)"
        assert city.fleet.devices[("dispatch", "dispatch@a")].protection == "pqc (no QKD route)"
        assert [a.subject for a in city.alerts.find(Cause.QKD_LOST)] == ["dispatch"]
