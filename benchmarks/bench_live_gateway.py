"""Messages per second through a live-city gateway, per tier, against a bare AES-GCM open.

Each tier's stream is opened once (handshake: hybrid KEM, ML-DSA signature, for the critical tier a
QKD key fetched over ETSI GS QKD 014 from the city's KMEs (``qsafecity.kms``, served on loopback)
and combined with the PQC secret), then ``--messages`` readings of the sample city (NGSI-LD JSON, ~1.2 kB) are sealed by the device and pushed through
``Gateway.handle``: topic and header checks, replay and tamper classification, the session's
AES-256-GCM open, JSON parsing, the idempotent insert, and the sealed acknowledgement. Storage is
SQLite in a file (as ``qsafecity up`` uses by default) and, to show what storage costs, SQLite in
memory. Baseline in the same run: a bare ``AESGCM.decrypt`` of a ciphertext of the same size
(pyca/cryptography). Reports messages per second (wall) and the CPU time per message as a
multiple of the bare open.

Run: ``.venv/bin/python -m benchmarks.bench_live_gateway [--messages N]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from qsafecity.city.vocabulary import Tier
from qsafecity.live import telemetry
from qsafecity.live.alerts import AlertLog
from qsafecity.live.bus import InMemoryBus
from qsafecity.live.city import QKDScope, qkd_links_of, routes_of
from qsafecity.live.clock import ManualClock
from qsafecity.live.crypto_protection import CryptoProtector
from qsafecity.live.gateway import Gateway, data_topic, handshake_topic
from qsafecity.live.kmes import CityKMEs
from qsafecity.live.links import QKDLinkRuntime, preset_for
from qsafecity.live.storage import Store
from qsafecity.manifests import load_city

#: One service of each tier of the sample city, all received at dc-main or police-hq.
SERVICES = {
    Tier.CRITICAL: "traffic-light-control",
    Tier.ESPECIALLY_IMPORTANT: "air-quality",
    Tier.IMPORTANT: "museum-tickets",
}


def bare_aesgcm_cpu_s(size: int, count: int) -> float:
    """CPU seconds per ``AESGCM.decrypt`` of a ``size``-byte message."""
    aead = AESGCM(AESGCM.generate_key(256))
    nonce = os.urandom(12)
    ciphertext = aead.encrypt(nonce, os.urandom(size), None)
    started = time.process_time()
    for _ in range(count):
        aead.decrypt(nonce, ciphertext, None)
    return (time.process_time() - started) / count


def run_tier(tier: Tier, messages: int, store_url: str) -> tuple[float, float, int, float]:
    """Messages per wall second, CPU seconds per message, mean plaintext bytes, and CPU seconds
    per message of the session's open alone (the crypto layer's share), for one tier."""
    city = load_city(None)
    clock = ManualClock()
    routes = routes_of(city)
    route = routes[SERVICES[tier]]
    links, _ = qkd_links_of(city, QKDScope.DARK_FIBRE)
    runtimes = [QKDLinkRuntime(k.a, k.b, k.length_km, preset_for(k.length_km)) for k in links]
    # The KMEs of qsafecity.kms, served on loopback; the key is fetched over ETSI 014.
    keys = CityKMEs(city, runtimes, clock=clock, run_id="bench", capacity_blocks=64)
    for runtime in runtimes:
        keys.feed(runtime.id, 64 * 256)
    protector = CryptoProtector(clock)
    store = Store(store_url)
    gateway = Gateway(
        route.gateway_site,
        routes=routes,
        protector=protector,
        keys=keys,
        store=store,
        alerts=AlertLog(),
        clock=clock,
        client_id="bench-gateway",
    )
    gateway.start(InMemoryBus())
    sender, site = next(iter(route.senders.items()))
    protector.enrol_sender(sender, critical=tier is Tier.CRITICAL)
    qkd = (
        keys.enc_key(site, sender, f"{route.service.id}@{route.gateway_site}")
        if tier is Tier.CRITICAL
        else None
    )
    stream, handshake = protector.initiate(
        gateway_site=route.gateway_site,
        service=route.service.id,
        tier=tier,
        sender=sender,
        sequence=1,
        critical_profile=tier is Tier.CRITICAL,
        sign_as=sender,
        qkd_key_id=qkd.key_id if qkd else None,
        qkd_material=qkd.material if qkd else None,
    )
    gateway.handle(handshake_topic(route.gateway_site, route.service.id, sender), handshake)
    rng = np.random.default_rng(1)
    sealed = []
    sizes = 0
    for n in range(1, messages + 1):
        entity = telemetry.reading(
            service_id=route.service.id,
            function=route.service.function,
            sender=sender,
            sequence=n,
            lat=51.7,
            lon=39.2,
            observed_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            rng=rng,
        )
        plaintext = json.dumps({"n": n, "entity": entity}, separators=(",", ":")).encode()
        sizes += len(plaintext)
        sealed.append(stream.seal(plaintext))
    topic = data_topic(route.gateway_site, route.service.id, sender)
    wall, cpu = time.perf_counter(), time.process_time()
    for message in sealed:
        gateway.handle(topic, message)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    accepted = gateway.counters[route.service.id].accepted
    if accepted != messages:
        raise SystemExit(f"{tier.value}: only {accepted} of {messages} messages were accepted")
    gateway.stop()
    store.close()
    keys.close()
    # The crypto layer's share: a second stream, opened directly, same messages.
    stream, handshake = protector.initiate(
        gateway_site=route.gateway_site,
        service=route.service.id,
        tier=tier,
        sender=sender,
        sequence=2,
        critical_profile=tier is Tier.CRITICAL,
        sign_as=sender,
        qkd_key_id=None,
        qkd_material=None,
    )
    receiver = protector.accept(
        handshake,
        gateway_site=route.gateway_site,
        service=route.service.id,
        tier=tier,
        sender=sender,
        signed_by=sender,
        qkd_material=None,
        require_qkd=False,
    )
    again = [stream.seal(b"x" * (sizes // messages)) for _ in range(messages)]
    started = time.process_time()
    for message in again:
        receiver.open(message)
    session_cpu = (time.process_time() - started) / messages
    return messages / wall, cpu / messages, sizes // messages, session_cpu


def qkd_key_fetch_s(count: int) -> tuple[float, float, int]:
    """Wall seconds per QKD key a critical device and its gateway get over ETSI 014 (``enc_keys``
    at the device's KME, the KME-to-KME hop(s), ``dec_keys`` at the gateway's KME), on the direct
    route and relayed around it (the direct link out of service), and the relayed route's hops."""
    city = load_city(None)
    # A critical service whose direct link has a detour through trusted nodes.
    route = routes_of(city)["soc-siem"]
    sender, site = next(iter(route.senders.items()))
    slave = f"{route.service.id}@{route.gateway_site}"
    links, _ = qkd_links_of(city, QKDScope.DARK_FIBRE)
    runtimes = [QKDLinkRuntime(k.a, k.b, k.length_km, preset_for(k.length_km)) for k in links]
    keys = CityKMEs(
        city,
        runtimes,
        clock=ManualClock(),
        run_id="bench",
        capacity_blocks=4 * count,
        fetch_ahead=False,  # every key fetched while the clock runs
    )
    try:
        for runtime in runtimes:
            keys.feed(runtime.id, 4 * count * 256)
        results = []
        hops = 0
        for relayed in (False, True):
            first = keys.enc_key(site, sender, slave)
            keys.dec_key(route.gateway_site, slave, sender, first.key_id)
            if relayed:
                direct = next(
                    r.id for r in runtimes if {r.a, r.b} == {first.route[0], first.route[1]}
                )
                keys.set_in_service(direct, False)
            started = time.perf_counter()
            for _ in range(count):
                key = keys.enc_key(site, sender, slave)
                keys.dec_key(route.gateway_site, slave, sender, key.key_id)
            results.append((time.perf_counter() - started) / count)
            hops = len(key.route) - 1
        return results[0], results[1], hops
    finally:
        keys.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3_000)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="qsafecity-bench-"))
    rows = []
    for storage, url in (
        ("SQLite file", f"sqlite:///{folder / 'bench.sqlite'}"),
        ("SQLite memory", "sqlite://"),
    ):
        for tier in SERVICES:
            if storage == "SQLite file":
                (folder / "bench.sqlite").unlink(missing_ok=True)
            rate, cpu, size, session_cpu = run_tier(tier, args.messages, url)
            rows.append((storage, tier, rate, cpu, size, session_cpu))
    size = rows[0][4]
    baseline = bare_aesgcm_cpu_s(size, 50_000)
    print(f"bare AES-256-GCM open of {size} bytes: {baseline * 1e6:.2f} µs CPU")
    print(
        "| storage | tier | messages/s | CPU per message | × bare AES-GCM open "
        "| session open alone | × bare AES-GCM open |"
    )
    print("|---|---|---|---|---|---|---|")
    for storage, tier, rate, cpu, _, session_cpu in rows:
        print(
            f"| {storage} | {tier.value} | {rate:,.0f} | {cpu * 1e6:,.0f} µs | "
            f"{cpu / baseline:,.0f}× | {session_cpu * 1e6:.2f} µs | {session_cpu / baseline:.2f}× |"
        )
    direct_s, relayed_s, hops = qkd_key_fetch_s(100)
    print(
        f"QKD key over ETSI 014 (enc_keys + KME-to-KME + dec_keys, mutual TLS on loopback): "
        f"{direct_s * 1e3:.1f} ms direct, {relayed_s * 1e3:.1f} ms relayed over {hops} hops "
        f"({relayed_s / direct_s:.1f}× direct); once per critical stream (every 60 s per device)"
    )


if __name__ == "__main__":
    main()
