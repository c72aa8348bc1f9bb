"""The devices of the city's services: each publishes a reading per step, protected for its tier,
and keeps it until the gateway acknowledges that it was stored.

A device opens a stream with a handshake, and a new one every :data:`REKEY_INTERVAL_S` simulated
seconds (for a critical service each new stream takes a fresh QKD key), or when a reading has
waited for its acknowledgement longer than :data:`RESEND_AFTER_S` (e.g. its gateway restarted and
forgot the stream): then every unacknowledged reading is sent again on the new stream. The
gateway stores each reading once, so nothing valid is lost and nothing is stored twice.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from qsafecity.city.model import Location
from qsafecity.city.vocabulary import Tier
from qsafecity.errors import CryptoError, KeyManagementError
from qsafecity.live import telemetry
from qsafecity.live.bus import BusClient
from qsafecity.live.gateway import Route, data_topic, handshake_topic, requires_signature
from qsafecity.live.kmes import KeyDelivery
from qsafecity.live.protection import Protector, StreamSender

#: A device starts a new stream (and, if critical, takes a new QKD key) this often.
REKEY_INTERVAL_S: Final = 60.0
#: A reading unacknowledged for this long, and for RESEND_AFTER_STEPS steps of the city (the
#: acknowledgement's round trip takes wall time, whatever the speed of the simulation), is sent
#: again on a new stream.
RESEND_AFTER_S: Final = 15.0
RESEND_AFTER_STEPS: Final = 20
#: Messages kept per service for the drills' "wire tap" (what an attacker could capture).
TAP_SIZE: Final = 32
#: The epoch of the simulated clock (simulated second 0).
EPOCH: Final = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@dataclass(slots=True)
class _Pending:
    plaintext: bytes
    sent_at_s: float
    sent_at_step: int


@dataclass(slots=True)
class Device:
    """One sensor or application sending a service's data from ``site`` to its gateway."""

    sender: str
    site: str
    route: Route
    location: Location
    sequence: int = 0
    handshakes: int = 0
    sent: int = 0
    resent: int = 0
    acknowledged: int = 0
    protection: str = "none"
    qkd_route: tuple[str, ...] = ()
    stream: StreamSender | None = None
    stream_started_s: float = 0.0
    #: How much earlier than a full interval the first stream is renewed, so that the devices'
    #: renewals (handshakes, QKD keys from the KMEs) spread over the interval instead of coming
    #: all in one step.
    rekey_phase_s: float = 0.0
    previous: dict[bytes, StreamSender] = field(default_factory=dict)
    outbox: dict[int, _Pending] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)


class DeviceFleet:
    """All devices of the city, on one bus connection."""

    def __init__(
        self,
        routes: dict[str, Route],
        locations: dict[str, Location],
        *,
        protector: Protector,
        keys: KeyDelivery,
        rng: np.random.Generator,
    ) -> None:
        self.protector = protector
        self.keys = keys
        self.rng = rng
        self.devices: dict[tuple[str, str], Device] = {}
        self.tap: dict[str, deque[tuple[str, bytes]]] = {}
        for route in routes.values():
            for sender, site in route.senders.items():
                critical = route.tier is Tier.CRITICAL
                protector.enrol_sender(sender, critical=critical)
                self.devices[(route.service.id, sender)] = Device(
                    sender, site, route, locations[site]
                )
            self.tap[route.service.id] = deque(maxlen=TAP_SIZE)
        for index, device in enumerate(self.devices.values()):
            device.rekey_phase_s = REKEY_INTERVAL_S * index / len(self.devices)
        self._client: BusClient | None = None
        self.steps = 0

    def attach(self, client: BusClient) -> None:
        self._client = client
        client.subscribe("qsafecity/v1/ack/#", self._on_ack)

    def detach(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _publish(self, service_id: str, topic: str, payload: bytes) -> None:
        if self._client is None:
            return
        self._client.publish(topic, payload)
        self.tap[service_id].append((topic, payload))

    # --- streams ---------------------------------------------------------------------------------

    def _open_stream(self, device: Device, now_s: float) -> None:
        route = device.route
        service = route.service
        qkd_id: str | None = None
        qkd_material: bytes | None = None
        device.qkd_route = ()
        within_site = device.site == route.gateway_site
        if route.tier is Tier.CRITICAL and not within_site:
            try:
                # ETSI 014 enc_keys at the KME of the device's site, as master SAE.
                key = self.keys.enc_key(
                    device.site, device.sender, f"{service.id}@{route.gateway_site}"
                )
                qkd_id, qkd_material, device.qkd_route = key.key_id, key.material, key.route
            except KeyManagementError:
                # The response policy: no QKD key, so PQC alone (the gateway raises the alert).
                pass
        device.handshakes += 1
        stream, handshake = self.protector.initiate(
            gateway_site=route.gateway_site,
            service=service.id,
            tier=route.tier,
            sender=device.sender,
            sequence=device.handshakes,
            critical_profile=route.tier is Tier.CRITICAL,
            sign_as=device.sender if requires_signature(service, route.tier) else None,
            qkd_key_id=qkd_id,
            qkd_material=qkd_material,
        )
        first = device.stream is None
        if device.stream is not None:
            device.previous = {device.stream.session_id: device.stream}
        device.stream = stream
        device.stream_started_s = now_s - (device.rekey_phase_s if first else 0.0)
        if route.tier is Tier.CRITICAL and within_site:
            device.protection = "pqc (within the site)"
        elif route.tier is Tier.CRITICAL:
            device.protection = "qkd+pqc" if qkd_id else "pqc (no QKD route)"
        else:
            device.protection = "pqc"
        self._publish(
            service.id, handshake_topic(route.gateway_site, service.id, device.sender), handshake
        )

    def _send(self, device: Device, sequence: int, plaintext: bytes, now_s: float) -> None:
        assert device.stream is not None
        route = device.route
        message = device.stream.seal(plaintext)
        device.outbox[sequence] = _Pending(plaintext, now_s, self.steps)
        self._publish(
            route.service.id,
            data_topic(route.gateway_site, route.service.id, device.sender),
            message,
        )

    def step(self, now_s: float) -> None:
        """Each device: renew its stream when due, resend what waits too long, send a reading."""
        self.steps += 1
        for device in self.devices.values():
            with device.lock:
                self._step_device(device, now_s)

    def _step_device(self, device: Device, now_s: float) -> None:
        overdue = [
            n
            for n, p in device.outbox.items()
            if now_s - p.sent_at_s >= RESEND_AFTER_S
            and self.steps - p.sent_at_step >= RESEND_AFTER_STEPS
        ]
        if device.stream is None or now_s - device.stream_started_s >= REKEY_INTERVAL_S or overdue:
            self._open_stream(device, now_s)
            for sequence in sorted(device.outbox):
                device.resent += 1
                self._send(device, sequence, device.outbox[sequence].plaintext, now_s)
        device.sequence += 1
        service = device.route.service
        entity = telemetry.reading(
            service_id=service.id,
            function=service.function,
            sender=device.sender,
            sequence=device.sequence,
            lat=device.location.lat,
            lon=device.location.lon,
            observed_at=EPOCH + dt.timedelta(seconds=now_s),
            rng=self.rng,
        )
        plaintext = json.dumps({"n": device.sequence, "entity": entity}, separators=(",", ":"))
        device.sent += 1
        self._send(device, device.sequence, plaintext.encode(), now_s)

    def _on_ack(self, topic: str, payload: bytes) -> None:
        parts = topic.split("/")
        if len(parts) != 5:
            return
        device = self.devices.get((parts[3], parts[4]))
        if device is None:
            return
        with device.lock:
            stream_id = self.protector.stream_id(payload)
            streams = dict(device.previous)
            if device.stream is not None:
                streams[device.stream.session_id] = device.stream
            stream = streams.get(stream_id) if stream_id is not None else None
            if stream is None:
                return
            try:
                sequence = int(json.loads(stream.open(payload))["n"])
            except (CryptoError, ValueError, KeyError, TypeError):
                return
            if device.outbox.pop(sequence, None) is not None:
                device.acknowledged += 1

    def unacknowledged(self) -> int:
        return sum(len(d.outbox) for d in self.devices.values())
