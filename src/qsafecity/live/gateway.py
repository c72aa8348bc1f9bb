"""The gateway of a receiving site: it opens protected telemetry, enforces each tier's profile,
stores what is valid exactly once, and counts and alerts on everything it refuses.

Checks, in order, for a handshake (all on its public header before any decryption, so that the
cause of a refusal is known; then the crypto layer checks everything again, opaquely):

1. the service exists, its traffic ends at this site and the sender is one of its devices;
2. the header names this service and sender, and a tier no lower than the service's; a critical
   service uses the critical profile (otherwise: **downgrade**);
3. it is signed when the tier demands it (otherwise: **downgrade**) by the key enrolled for that
   sender (otherwise: **forged-sender**);
4. a critical handshake names a QKD key, unless the KMEs have no route between the two sites, in
   which case the stream runs on PQC alone and a critical alert says so, or the traffic does not
   leave its site (no fibre to protect) (otherwise: **downgrade**);
5. its handshake sequence number was not seen before (otherwise: **replayed**);
6. the crypto layer accepts it (otherwise: **tampered**).

A stream message must name a stream this gateway accepted (otherwise **unknown-stream**: e.g. sent
before a gateway restart; its sender sends the reading again on a new stream), for the same
service and sender as its topic (**forged-sender**), with a fresh sequence number (**replayed**)
and must open (**tampered**). Every refusal is stored and counted by cause; an alert is raised per
cause and service at most once every :data:`ALERT_HOLD_S` simulated seconds, and a **flood**
alert when a service's refusals in the last :data:`FLOOD_WINDOW_S` exceed
:data:`FLOOD_THRESHOLD`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from qsafecity.city.model import Service
from qsafecity.city.vocabulary import Tier
from qsafecity.errors import CryptoError, KeyManagementError, PolicyViolation
from qsafecity.live.alerts import AlertLog, Cause, Severity
from qsafecity.live.bus import BusClient, MessageBus
from qsafecity.live.clock import Clock
from qsafecity.live.kmes import KeyDelivery
from qsafecity.live.protection import Protector, StreamReceiver
from qsafecity.live.storage import Store, StoredReading

#: Hold-off between two alerts of the same cause for the same service, in simulated seconds.
ALERT_HOLD_S: Final = 30.0
#: A service refusing more than FLOOD_THRESHOLD messages within FLOOD_WINDOW_S is being flooded.
FLOOD_WINDOW_S: Final = 10.0
FLOOD_THRESHOLD: Final = 20
#: How many recent sequence numbers per stream are remembered to tell a replay from a forgery.
_SEEN_PER_STREAM: Final = 4_096
TOPIC_ROOT: Final = "qsafecity/v1"
#: The name under which messages for services this gateway does not serve are counted.
UNKNOWN: Final = "(unknown)"


def data_topic(site: str, service: str, sender: str) -> str:
    return f"{TOPIC_ROOT}/to/{site}/{service}/{sender}/data"


def handshake_topic(site: str, service: str, sender: str) -> str:
    return f"{TOPIC_ROOT}/to/{site}/{service}/{sender}/hs"


def ack_topic(service: str, sender: str) -> str:
    return f"{TOPIC_ROOT}/ack/{service}/{sender}"


def requires_signature(service: Service, tier: Tier) -> bool:
    """Critical and especially important streams are always signed; important ones as declared."""
    return tier is not Tier.IMPORTANT or service.crypto.signature != "none"


@dataclass(frozen=True, slots=True)
class Route:
    """How a service's traffic flows: its tier, source devices and receiving site."""

    service: Service
    tier: Tier
    gateway_site: str
    senders: dict[str, str]  # sender id -> source site


@dataclass(slots=True)
class _Stream:
    service_id: str
    sender: str
    receiver: StreamReceiver
    protection: str
    seen: dict[tuple[int, int], bytes] = field(default_factory=dict)
    order: deque[tuple[int, int]] = field(default_factory=deque)

    def seen_as(self, position: tuple[int, int]) -> bytes | None:
        """The digest of the message accepted at ``position``, if one was."""
        return self.seen.get(position)

    def remember(self, position: tuple[int, int], digest: bytes) -> None:
        self.seen[position] = digest
        self.order.append(position)
        if len(self.order) > _SEEN_PER_STREAM:
            self.seen.pop(self.order.popleft(), None)


@dataclass(slots=True)
class ServiceCounters:
    accepted: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    handshakes: int = 0
    qkd_handshakes: int = 0
    pqc_only_handshakes: int = 0


class Gateway:
    """The gateway of one receiving site."""

    def __init__(
        self,
        site: str,
        *,
        routes: dict[str, Route],
        protector: Protector,
        keys: KeyDelivery,
        store: Store,
        alerts: AlertLog,
        clock: Clock,
        client_id: str,
        on_pqc_only: Callable[[str, str], None] | None = None,
    ) -> None:
        self.site = site
        self.routes = {sid: r for sid, r in routes.items() if r.gateway_site == site}
        self.protector = protector
        self.keys = keys
        self.store = store
        self.alerts = alerts
        self.clock = clock
        self.client_id = client_id
        self.counters: dict[str, ServiceCounters] = defaultdict(ServiceCounters)
        self._on_pqc_only = on_pqc_only
        self._streams: dict[bytes, _Stream] = {}
        self._handshake_seen: dict[tuple[str, str], set[int]] = defaultdict(set)
        self._last_alert: dict[tuple[str, str], float] = {}
        self._recent_rejections: dict[str, deque[float]] = defaultdict(deque)
        self._flooded_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self._client: BusClient | None = None
        protector.enrol_gateway(site)

    # --- life cycle ------------------------------------------------------------------------------

    def start(self, bus: MessageBus) -> None:
        """Connect (persistent session: what arrives while stopped waits in the broker)."""
        self._client = bus.connect(self.client_id, persistent=True)
        self._client.subscribe(f"{TOPIC_ROOT}/to/{self.site}/#", self.handle)

    def stop(self) -> None:
        """Disconnect; the accepted streams are forgotten, as by a process that stopped."""
        if self._client is not None:
            self._client.close()
            self._client = None
        with self._lock:
            self._streams.clear()

    @property
    def running(self) -> bool:
        return self._client is not None

    # --- messages --------------------------------------------------------------------------------

    def handle(self, topic: str, payload: bytes) -> None:
        """Handle one message from the bus (called on the bus's thread)."""
        parts = topic.split("/")
        if len(parts) != 7 or parts[2] != "to" or parts[3] != self.site:
            return
        service_id, sender, kind = parts[4], parts[5], parts[6]
        if service_id not in self.routes:
            # Counted under one name: topics a stranger makes up must not grow the counters.
            service_id, sender = UNKNOWN, UNKNOWN
        with self._lock:
            if kind == "hs":
                self._handshake(service_id, sender, payload)
            elif kind == "data":
                self._data(service_id, sender, payload)
            else:
                self._reject(service_id, sender, Cause.MALFORMED, f"unknown message kind {kind!r}")

    def _route_for(self, service_id: str, sender: str) -> Route | None:
        route = self.routes.get(service_id)
        if route is None or sender not in route.senders:
            return None
        return route

    def _handshake(self, service_id: str, sender: str, payload: bytes) -> None:
        route = self._route_for(service_id, sender)
        if route is None:
            self._reject(service_id, sender, Cause.FORGED_SENDER, "not a device of this service")
            return
        try:
            info = self.protector.inspect(payload)
        except CryptoError:
            self._reject(service_id, sender, Cause.TAMPERED, "not a handshake")
            return
        if info.service != service_id or info.sender != sender:
            self._reject(service_id, sender, Cause.FORGED_SENDER, "header names another sender")
            return
        tier = route.tier
        if info.tier.rank < tier.rank:
            self._reject(
                service_id,
                sender,
                Cause.DOWNGRADE,
                f"sealed as {info.tier.value}, the service is {tier.value}",
            )
            return
        if tier is Tier.CRITICAL and info.profile != "critical":
            self._reject(
                service_id,
                sender,
                Cause.DOWNGRADE,
                f"profile {info.profile} is weaker than the critical profile",
            )
            return
        must_sign = requires_signature(route.service, tier)
        if info.signer_key_id is None and must_sign:
            self._reject(
                service_id, sender, Cause.DOWNGRADE, "unsigned, the tier demands a signature"
            )
            return
        if info.signer_key_id is not None and info.signer_key_id != self.protector.signer_key_id(
            sender
        ):
            self._reject(
                service_id, sender, Cause.FORGED_SENDER, "signed by a key not enrolled for it"
            )
            return
        source_site = route.senders[sender]
        pqc_only = False
        within_site = source_site == self.site
        if tier is Tier.CRITICAL and info.qkd_key_id is None and not within_site:
            if self.keys.has_route(source_site, self.site):
                self._reject(
                    service_id,
                    sender,
                    Cause.DOWNGRADE,
                    "no QKD key although the KMEs have a route: QKD+PQC is required",
                )
                return
            pqc_only = True
        seen = self._handshake_seen[(service_id, sender)]
        if info.sequence in seen:
            self._reject(
                service_id, sender, Cause.REPLAYED, f"handshake {info.sequence} seen before"
            )
            return
        slave_sae = f"{service_id}@{self.site}"

        def qkd_material(key_id: str) -> bytes:
            # ETSI 014 dec_keys at this site's KME, as slave SAE, by the handshake's key id.
            return self.keys.dec_key(self.site, slave_sae, sender, key_id)

        try:
            receiver = self.protector.accept(
                payload,
                gateway_site=self.site,
                service=service_id,
                tier=tier,
                sender=sender,
                signed_by=sender if info.signer_key_id is not None else None,
                qkd_material=qkd_material,
                require_qkd=tier is Tier.CRITICAL and not pqc_only and not within_site,
            )
        except (CryptoError, PolicyViolation, KeyManagementError):
            self._reject(service_id, sender, Cause.TAMPERED, "handshake did not open")
            return
        seen.add(info.sequence)
        if receiver.qkd_key_id:
            protection = "qkd+pqc"
        elif pqc_only:
            protection = "pqc (no QKD route)"
        elif within_site and tier is Tier.CRITICAL:
            protection = "pqc (within the site)"
        else:
            protection = "pqc"
        self._streams[receiver.session_id] = _Stream(service_id, sender, receiver, protection)
        counters = self.counters[service_id]
        counters.handshakes += 1
        if receiver.qkd_key_id:
            counters.qkd_handshakes += 1
        if pqc_only:
            counters.pqc_only_handshakes += 1
            if self._on_pqc_only is not None:
                self._on_pqc_only(service_id, sender)

    def _data(self, service_id: str, sender: str, payload: bytes) -> None:
        stream_id = self.protector.stream_id(payload)
        position = self.protector.message_sequence(payload)
        if stream_id is None or position is None:
            self._reject(service_id, sender, Cause.TAMPERED, "not a stream message")
            return
        stream = self._streams.get(stream_id)
        if stream is None:
            self._reject(service_id, sender, Cause.UNKNOWN_STREAM, "no such stream at this gateway")
            return
        if stream.service_id != service_id or stream.sender != sender:
            self._reject(
                service_id, sender, Cause.FORGED_SENDER, "stream belongs to another sender"
            )
            return
        digest = hashlib.sha256(payload).digest()[:16]
        earlier = stream.seen_as(position)
        if earlier is not None:
            # Same position: the same bytes are a replay, other bytes a tampered copy.
            if hmac.compare_digest(earlier, digest):
                self._reject(service_id, sender, Cause.REPLAYED, f"message {position} seen before")
            else:
                self._reject(service_id, sender, Cause.TAMPERED, f"altered copy of {position}")
            return
        try:
            plaintext = stream.receiver.open(payload)
        except CryptoError:
            self._reject(service_id, sender, Cause.TAMPERED, "message did not open")
            return
        stream.remember(position, digest)
        try:
            document = json.loads(plaintext)
            sequence = int(document["n"])
            entity = document["entity"]
            entity_type = str(entity["type"])
        except (ValueError, KeyError, TypeError):
            self._reject(service_id, sender, Cause.MALFORMED, "authenticated but not a reading")
            return
        route = self.routes[service_id]
        stored = self.store.add_reading(
            StoredReading(
                service_id=service_id,
                sender=sender,
                sequence=sequence,
                site=self.site,
                tier=route.tier.value,
                protection=stream.protection,
                qkd_key_id=stream.receiver.qkd_key_id,
                entity_type=entity_type,
                payload=json.dumps(entity, separators=(",", ":")),
                simulated_at_s=self.clock.now_s(),
            )
        )
        counters = self.counters[service_id]
        if stored:
            counters.accepted += 1
        else:
            counters.duplicates += 1
        if self._client is not None:
            ack = stream.receiver.seal(json.dumps({"n": sequence}).encode())
            self._client.publish(ack_topic(service_id, sender), ack)

    # --- refusals --------------------------------------------------------------------------------

    def _reject(self, service_id: str, sender: str, cause: Cause, detail: str) -> None:
        now = self.clock.now_s()
        self.counters[service_id].rejected[cause.value] += 1
        self.store.add_rejection(service_id[:64], sender[:128], self.site, cause.value, now)
        if cause is not Cause.UNKNOWN_STREAM:
            key = (service_id, cause.value)
            last = self._last_alert.get(key)
            if last is None or now - last >= ALERT_HOLD_S:
                self._last_alert[key] = now
                severity = Severity.CRITICAL if cause is Cause.DOWNGRADE else Severity.WARNING
                self.alerts.raise_alert(
                    severity,
                    cause,
                    service_id,
                    f"gateway {self.site} rejected a message of {service_id} from {sender}: "
                    f"{cause.value} ({detail})",
                    now,
                )
        recent = self._recent_rejections[service_id]
        recent.append(now)
        while recent and now - recent[0] > FLOOD_WINDOW_S:
            recent.popleft()
        flooded = self._flooded_at.get(service_id)
        if len(recent) > FLOOD_THRESHOLD and (flooded is None or now - flooded >= ALERT_HOLD_S):
            self._flooded_at[service_id] = now
            self.alerts.raise_alert(
                Severity.CRITICAL,
                Cause.FLOOD,
                service_id,
                f"gateway {self.site}: {len(recent)} messages of {service_id} refused within "
                f"{FLOOD_WINDOW_S:.0f} s (flood); valid traffic continues",
                now,
            )
