"""The live city: QKD links, KMEs, devices and gateways of a manifest, run together, and drills.

:class:`LiveCity` builds, from a city manifest, a QKD link runtime per QKD link (see
:func:`qkd_links_of`), a KME of ``qsafecity.kms`` per site on a QKD link, served with its
ETSI 014 API on loopback and fed by the links (:class:`~qsafecity.live.kmes.CityKMEs`), a
gateway per receiving site and a device per (service, source site), and advances them with
:meth:`LiveCity.step` to the time of its clock. ``qsafecity up`` runs :meth:`step` in a thread;
tests call it directly on a :class:`~qsafecity.live.clock.ManualClock`.

The response policy (documented in ``docs/live.md``): a link whose QBER estimate passes the abort
threshold, or that is cut, stops producing key and the KMEs route around it; a critical service
whose sites are left without a QKD route keeps running under the critical PQC profile with a
critical alert, never under classical cryptography, and returns to QKD+PQC when a route returns.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from qsafecity.assessment import assess
from qsafecity.city.model import CityManifest, Link
from qsafecity.city.vocabulary import FibreKind, Tier
from qsafecity.errors import InputError
from qsafecity.live.alerts import AlertLog, Cause, Severity
from qsafecity.live.bus import BusClient, MessageBus
from qsafecity.live.clock import Clock
from qsafecity.live.gateway import Gateway, Route, handshake_topic
from qsafecity.live.kmes import KEY_BITS, CityKMEs
from qsafecity.live.links import LinkState, QKDLinkRuntime, link_id, preset_for
from qsafecity.live.options import FLOOD_MESSAGES, QKDScope
from qsafecity.live.protection import Protector
from qsafecity.live.sensors import DeviceFleet
from qsafecity.live.storage import Store
from qsafecity.planning import Plan, default_costs, plan_city, prepare
from qsafecity.planning.keyrates import DEFAULT_PRESET, PhysicsKeyRateModel
from qsafecity.policy import classify
from qsafecity.reports import build_document

#: Number of messages a flood drill sends.
#: Simulated seconds the QKD links run before the city starts, so that pools are not empty.
WARM_UP_S: Final = 1.0
#: Message rates on the dashboard are averaged over this many simulated seconds.
RATE_WINDOW_S: Final = 30.0
#: Longest simulated step: a slow machine catches up in steps no longer than this.
MAX_STEP_S: Final = 5.0


def qkd_links_of(city: CityManifest, scope: QKDScope) -> tuple[list[Link], Plan | None]:
    """The links that run QKD under ``scope``, and the plan they come from (scope ``plan``)."""
    if scope is QKDScope.PLAN:
        problem = prepare(
            city, PhysicsKeyRateModel.from_preset(DEFAULT_PRESET), default_costs(city)
        )
        plan = plan_city(problem)
        fibre = {frozenset((link.a, link.b)): link.fibre for link in city.links}
        built = [
            Link(
                a=link.a,
                b=link.b,
                length_km=round(link.length_km, 3),
                # Fibre the plan lays anew is "planned" in the manifest's vocabulary.
                fibre=fibre.get(frozenset((link.a, link.b)), FibreKind.PLANNED),
                qkd=True,
            )
            for link in plan.links
            if link.status in ("existing-qkd", "new-qkd")
        ]
        return built, plan
    chosen = []
    for link in city.links:
        if link.qkd or (scope is QKDScope.DARK_FIBRE and link.fibre is FibreKind.DARK):
            chosen.append(link)
    return chosen, None


def routes_of(city: CityManifest) -> dict[str, Route]:
    """Each service's traffic: from every endpoint but the last (source first) to the last.

    A service with one endpoint sends within its site. Device ids are ``SERVICE@SITE``.
    """
    routes = {}
    for service in city.services:
        tier = classify(service).tier
        gateway_site = service.endpoints[-1]
        sources = service.endpoints[:-1] or service.endpoints
        senders = {f"{service.id}@{site}": site for site in dict.fromkeys(sources)}
        routes[service.id] = Route(service, tier, gateway_site, senders)
    return routes


@dataclass(frozen=True, slots=True)
class DrillResult:
    drill: str
    target: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"drill": self.drill, "target": self.target, "message": self.message}


class LiveCity:
    """Everything ``qsafecity up`` runs, stepped by :meth:`step` (thread-safe)."""

    def __init__(
        self,
        city: CityManifest,
        *,
        bus: MessageBus,
        store: Store,
        protector: Protector,
        clock: Clock,
        seed: int = 2026,
        scope: QKDScope = QKDScope.PLAN,
        now_year: int | None = None,
        kme_database: str | None = None,
    ) -> None:
        """``kme_database``: where the KMEs keep their stores: a directory for their SQLite files
        (default: a temporary one, removed on :meth:`stop`) or a ``postgresql://`` URL (one
        schema per KME, dropped on :meth:`stop`)."""
        self.city = city
        self.bus = bus
        self.store = store
        self.protector = protector
        self.clock = clock
        self.scope = scope
        self.run_id = uuid.uuid4().hex[:8]
        self.rng = np.random.default_rng(seed)
        self.alerts = AlertLog(
            sink=lambda a: store.add_alert(
                a.severity.value, a.cause.value, a.subject, a.message, a.at_s
            )
        )
        year = now_year or city.assumptions.start_year or dt.date.today().year
        self.assessment = build_document(assess(city, now_year=year))
        qkd_links, self.plan = qkd_links_of(city, scope)
        self.links = [
            QKDLinkRuntime(link.a, link.b, link.length_km, preset_for(link.length_km))
            for link in qkd_links
        ]
        known = {frozenset((link.a, link.b)) for link in city.links}
        #: Every fibre on the map: the manifest's, and the new fibre the plan lays.
        self.fibres = list(city.links) + [
            link for link in qkd_links if frozenset((link.a, link.b)) not in known
        ]
        self.keys = CityKMEs(
            city, self.links, clock=clock, run_id=self.run_id, database=kme_database
        )
        self.routes = routes_of(city)
        self.gateways: dict[str, Gateway] = {}
        for site in sorted({r.gateway_site for r in self.routes.values()}):
            self.gateways[site] = Gateway(
                site,
                routes=self.routes,
                protector=protector,
                keys=self.keys,
                store=store,
                alerts=self.alerts,
                clock=clock,
                client_id=f"qsafecity-gw-{site}-{self.run_id}",
                on_pqc_only=self._pqc_only,
            )
        locations = {site.id: site.location for site in city.sites}
        self.fleet = DeviceFleet(
            self.routes, locations, protector=protector, keys=self.keys, rng=self.rng
        )
        # The QKD devices ran before the city's clock started: pools hold some key at time 0.
        for link in self.links:
            self.keys.feed(link.id, link.step(WARM_UP_S, self.rng))
        self._link_states = {link.id: link.state for link in self.links}
        for link in self.links:
            if link.state is not LinkState.RUNNING:
                self.keys.set_in_service(link.id, False)
        self._coverage: dict[str, bool] = {}
        self._lock = threading.RLock()
        self._step_lock = threading.Lock()
        self._last_step_s = clock.now_s()
        self._drill_client: BusClient | None = None
        self._rates: dict[str, float] = {}
        self._rate_marks: tuple[float, dict[str, int]] = (self._last_step_s, {})
        #: Key the links put into the KMEs' pools (blocks at each link's leader), per rate window.
        self._fed_rates: dict[str, float] = {}
        self._fed_marks: tuple[float, dict[str, int]] = (self._last_step_s, {})
        self.steps = 0
        self.drills: list[DrillResult] = []

    # --- life cycle ------------------------------------------------------------------------------

    def start(self) -> None:
        for gateway in self.gateways.values():
            gateway.start(self.bus)
        self.fleet.attach(self.bus.connect(f"qsafecity-devices-{self.run_id}"))
        # The critical devices' first keys are fetched while the city starts.
        for device in self.fleet.devices.values():
            route = device.route
            if route.tier is Tier.CRITICAL and device.site != route.gateway_site:
                slave = f"{route.service.id}@{route.gateway_site}"
                if device.site in self.keys.kmes:
                    self.keys.prefetch(device.site, device.sender, slave)
        self._drill_client = self.bus.connect(f"qsafecity-drills-{self.run_id}")
        self._check_coverage(self.clock.now_s(), initial=True)

    def stop(self) -> None:
        self.fleet.detach()
        if self._drill_client is not None:
            self._drill_client.close()
            self._drill_client = None
        for gateway in self.gateways.values():
            gateway.stop()
        self.keys.close()

    def restart_gateway(self, site: str) -> None:
        """Stop the gateway of ``site`` and start a new one (it forgets its streams)."""
        gateway = self._gateway(site)
        gateway.stop()
        gateway.start(self.bus)

    def _gateway(self, site: str) -> Gateway:
        try:
            return self.gateways[site]
        except KeyError:
            known = ", ".join(sorted(self.gateways))
            raise InputError(f"no gateway at {site!r}; gateways: {known}") from None

    # --- time ------------------------------------------------------------------------------------

    def step(self) -> float:
        """Advance links, pools and devices to the clock's time; return the simulated seconds.

        The KMEs' databases and their ETSI 014 calls are reached outside the city's lock, so that
        the dashboard's snapshot and the drills never wait for them; steps do not overlap.
        """
        with self._step_lock:
            with self._lock:
                now = self.clock.now_s()
                elapsed = max(0.0, now - self._last_step_s)
                self._last_step_s = now
                produced: Counter[str] = Counter()
                remaining = elapsed
                while remaining > 0:
                    chunk = min(remaining, MAX_STEP_S)
                    remaining -= chunk
                    for link in self.links:
                        produced[link.id] += link.step(chunk, self.rng)
                self._check_links(now)
            for link_id, bits in produced.items():
                if bits:
                    self.keys.feed(link_id, bits)
            with self._lock:
                self._check_coverage(now)
            self.fleet.step(now)
            with self._lock:
                self.steps += 1
                self._update_rates(now)
            return elapsed

    def _check_links(self, now: float) -> None:
        for link in self.links:
            before = self._link_states[link.id]
            if link.state is before:
                continue
            self._link_states[link.id] = link.state
            # The link-state announcement: every KME routes around a link that yields no key.
            self.keys.set_in_service(link.id, link.state is LinkState.RUNNING)
            if link.state is LinkState.ABORTED:
                self.alerts.raise_alert(
                    Severity.CRITICAL,
                    Cause.QBER_ABORT,
                    link.id,
                    f"QKD link {link.id}: estimated QBER {100 * link.qber_estimate:.1f} % "
                    f"(abort threshold 11 %): key generation aborted, possible eavesdropper; "
                    "KMEs route around it",
                    now,
                )
            elif link.state is LinkState.CUT:
                self.alerts.raise_alert(
                    Severity.CRITICAL,
                    Cause.LINK_CUT,
                    link.id,
                    f"QKD link {link.id} is down (fibre cut): no key; KMEs route around it",
                    now,
                )
            else:
                self.alerts.raise_alert(
                    Severity.INFO,
                    Cause.LINK_RESTORED,
                    link.id,
                    f"QKD link {link.id} produces key again "
                    f"(QBER {100 * link.qber_estimate:.1f} %)",
                    now,
                )

    def _check_coverage(self, now: float, *, initial: bool = False) -> None:
        for route in self.routes.values():
            remote = [site for site in route.senders.values() if site != route.gateway_site]
            if route.tier is not Tier.CRITICAL or not remote:
                continue  # traffic that stays within its site crosses no fibre to protect
            covered = all(self.keys.has_route(site, route.gateway_site) for site in remote)
            before = self._coverage.get(route.service.id)
            self._coverage[route.service.id] = covered
            if before is None and covered:
                continue
            if not covered and (before or (initial and before is None)):
                self.alerts.raise_alert(
                    Severity.CRITICAL,
                    Cause.QKD_LOST,
                    route.service.id,
                    f"critical service {route.service.id} has no QKD route to "
                    f"{route.gateway_site}: running on PQC only (ML-KEM-1024 + P-384, ML-DSA-87), "
                    "never classical",
                    now,
                )
            elif covered and before is False:
                self.alerts.raise_alert(
                    Severity.INFO,
                    Cause.QKD_RESTORED,
                    route.service.id,
                    f"critical service {route.service.id} has a QKD route again: QKD+PQC",
                    now,
                )

    def _pqc_only(self, service_id: str, sender: str) -> None:
        """A gateway accepted a critical stream without QKD (no route): counted, alerted above."""

    def _update_rates(self, now: float) -> None:
        since, counts = self._rate_marks
        current = {
            service_id: sum(gw.counters[service_id].accepted for gw in self.gateways.values())
            for service_id in self.routes
        }
        if now - since >= RATE_WINDOW_S or not counts:
            if counts and now > since:
                self._rates = {
                    sid: (current[sid] - counts.get(sid, 0)) / (now - since) for sid in current
                }
            self._rate_marks = (now, current)
        since, fed = self._fed_marks
        if now - since >= RATE_WINDOW_S or not fed:
            added = dict(self.keys.added_blocks)
            if fed and now > since:
                self._fed_rates = {
                    lid: (added[lid] - fed.get(lid, 0)) * KEY_BITS / (now - since) for lid in added
                }
            self._fed_marks = (now, added)

    # --- drills ----------------------------------------------------------------------------------

    def link(self, name: str) -> QKDLinkRuntime:
        """The QKD link called ``A-B`` (either order)."""
        for link in self.links:
            if name in (link.id, link_id(link.b, link.a)):
                return link
        known = ", ".join(link.id for link in self.links)
        raise InputError(f"no QKD link {name!r}; QKD links: {known}")

    def _route(self, service_id: str) -> Route:
        try:
            return self.routes[service_id]
        except KeyError:
            raise InputError(f"no service {service_id!r} in {self.city.city.name}") from None

    def _drill(self, drill: str, target: str, message: str) -> DrillResult:
        result = DrillResult(drill, target, message)
        self.drills.append(result)
        self.alerts.raise_alert(
            Severity.INFO,
            Cause.DRILL,
            target,
            f"drill {drill} on {target}: {message}",
            self.clock.now_s(),
        )
        return result

    def drill_eavesdrop(self, name: str, fraction: float = 1.0) -> DrillResult:
        """An intercept-resend eavesdropper reads ``fraction`` of the link's pulses."""
        if not 0.0 <= fraction <= 1.0:
            raise InputError(f"--fraction must be in [0, 1], got {fraction}")
        with self._lock:
            link = self.link(name)
            link.eavesdrop_fraction = fraction
            expected = link.rates()
        return self._drill(
            "eavesdrop",
            link.id,
            f"intercept-resend on {100 * fraction:.0f} % of pulses; expected QBER "
            f"{100 * expected.qber:.1f} %",
        )

    def drill_cut(self, name: str) -> DrillResult:
        with self._lock:
            link = self.link(name)
            link.cut = True
        return self._drill("cut", link.id, "fibre cut")

    def drill_clear(self, name: str) -> DrillResult:
        """End the drills on a link: no eavesdropper, fibre repaired."""
        with self._lock:
            link = self.link(name)
            link.cut = False
            link.eavesdrop_fraction = 0.0
        return self._drill("clear", link.id, "eavesdropper removed and fibre repaired")

    def drill_flood(self, service_id: str, count: int = FLOOD_MESSAGES) -> DrillResult:
        """Flood a service's gateway with replayed, tampered and forged messages."""
        route = self._route(service_id)
        if not 1 <= count <= 100_000:
            raise InputError(f"flood count must be in [1, 100000], got {count}")
        client = self._require_drill_client()
        tap = list(self.fleet.tap[service_id])
        sender = next(iter(route.senders))
        intruder = f"intruder-{self.run_id}"
        self.protector.enrol_sender(intruder, critical=route.tier is Tier.CRITICAL)
        for index in range(count):
            kind = index % 3
            if kind == 0 and tap:
                topic, payload = tap[index % len(tap)]
                client.publish(topic, payload)  # a replay of a captured message
            elif kind == 1 and tap:
                topic, payload = tap[(index * 7) % len(tap)]
                tampered = bytearray(payload)
                tampered[-1 - (index % 16)] ^= 0x01
                client.publish(topic, bytes(tampered))
            else:
                _, handshake = self.protector.initiate(
                    gateway_site=route.gateway_site,
                    service=service_id,
                    tier=route.tier,
                    sender=sender,
                    sequence=10_000_000 + index,
                    critical_profile=route.tier is Tier.CRITICAL,
                    sign_as=intruder,
                    qkd_key_id=None,
                    qkd_material=None,
                )
                client.publish(handshake_topic(route.gateway_site, service_id, sender), handshake)
        return self._drill(
            "flood", service_id, f"{count} replayed, tampered and forged messages sent"
        )

    def drill_downgrade(self, service_id: str) -> DrillResult:
        """A device of the service offers weaker protection than its tier demands."""
        route = self._route(service_id)
        client = self._require_drill_client()
        sender = next(iter(route.senders))
        if route.tier is Tier.IMPORTANT:
            if route.service.crypto.signature == "none":
                raise InputError(
                    f"{service_id} is important and declares no signature: there is no weaker "
                    "protection to downgrade to"
                )
            claimed: Tier = route.tier
            sign_as: str | None = None
            how = "an unsigned handshake"
        elif route.tier is Tier.CRITICAL:
            claimed, sign_as, how = route.tier, sender, "the critical profile without its QKD key"
        else:
            claimed, sign_as, how = (
                Tier.IMPORTANT,
                sender,
                "a handshake claiming the important tier",
            )
        _, handshake = self.protector.initiate(
            gateway_site=route.gateway_site,
            service=service_id,
            tier=claimed,
            sender=sender,
            sequence=20_000_000 + len(self.drills),
            critical_profile=route.tier is Tier.CRITICAL,
            sign_as=sign_as,
            qkd_key_id=None,
            qkd_material=None,
        )
        client.publish(handshake_topic(route.gateway_site, service_id, sender), handshake)
        return self._drill("downgrade", service_id, f"{sender} offered {how}")

    def _require_drill_client(self) -> BusClient:
        if self._drill_client is None:
            raise InputError("the city is not running")
        return self._drill_client

    # --- what the dashboard shows ------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything the dashboard shows, as JSON-ready data."""
        levels = self.keys.pool_levels()  # the KMEs' stores, read outside the city's lock
        with self._lock:
            return self._snapshot(levels)

    def _plan_summary(self) -> dict[str, Any] | None:
        if self.plan is None:
            return None
        plan = self.plan
        return {
            "currency": plan.currency,
            "horizon_years": plan.horizon_years,
            "qkd_links": sum(1 for link in plan.links if link.status != "candidate"),
            "new_links": len(plan.built_links),
            "capex": round(plan.cost.capex),
            "total_present_value": round(plan.cost.total_present_value),
            "critical_covered": plan.coverage.covered,
            "critical_services": plan.coverage.critical_services,
            "infeasible": [i.service_id for i in plan.infeasibilities],
        }

    def _snapshot(self, levels: dict[str, int]) -> dict[str, Any]:
        by_pair = {frozenset((link.a, link.b)): link for link in self.links}
        kme_sites = set(self.keys.sites)
        capacity = self.keys.capacity_blocks
        links = []
        for link in self.fibres:
            runtime = by_pair.get(frozenset((link.a, link.b)))
            lid = runtime.id if runtime is not None else link_id(link.a, link.b)
            entry: dict[str, Any] = {
                "id": lid,
                "a": link.a,
                "b": link.b,
                "length_km": link.length_km,
                "fibre": link.fibre.value,
                "qkd": runtime is not None,
            }
            if runtime is not None:
                entry.update(
                    state=runtime.state.value,
                    qber=runtime.qber_estimate,
                    key_rate_bps=runtime.secret_rate_bps,
                    # Read from the KMEs' stores: the pool at the link's leader, one key a block.
                    pool_fill=levels[lid] / capacity,
                    pool_keys=levels[lid],
                    consumed_keys=max(0, self.keys.added_blocks[lid] - levels[lid]),
                    # What went into the KMEs' pools (less than the key rate once a pool is full).
                    kme_fed_bps=round(self._fed_rates.get(lid, 0.0)),
                    eavesdrop_fraction=runtime.eavesdrop_fraction,
                    cut=runtime.cut,
                )
            links.append(entry)
        services_doc = {s.id: s for s in self.assessment.services}
        services = []
        totals: Counter[str] = Counter()
        for service_id, route in self.routes.items():
            rejected: Counter[str] = Counter()
            accepted = duplicates = 0
            for gateway in self.gateways.values():
                counters = gateway.counters.get(service_id)
                if counters is not None:
                    accepted += counters.accepted
                    duplicates += counters.duplicates
                    rejected.update(counters.rejected)
            devices = [d for (sid, _), d in self.fleet.devices.items() if sid == service_id]
            doc = services_doc.get(service_id)
            services.append(
                {
                    "id": service_id,
                    "name": route.service.name,
                    "tier": route.tier.value,
                    "gateway": route.gateway_site,
                    "sources": sorted(set(route.senders.values())),
                    "compliant": doc.compliant if doc is not None else None,
                    "declared": doc.declared_crypto.key_exchange if doc is not None else None,
                    "protection": sorted({d.protection for d in devices}),
                    "qkd_route": list(devices[0].qkd_route) if devices else [],
                    "qkd_covered": self._coverage.get(service_id),
                    "sent": sum(d.sent for d in devices),
                    "accepted": accepted,
                    "duplicates": duplicates,
                    "pending": sum(len(d.outbox) for d in devices),
                    "rejected": dict(rejected),
                    "rate_per_s": round(self._rates.get(service_id, 0.0), 3),
                }
            )
            totals["sent"] += sum(d.sent for d in devices)
            totals["accepted"] += accepted
            totals["rejected"] += sum(rejected.values())
        return {
            "city": self.city.city.name,
            "run_id": self.run_id,
            "simulated_s": round(self.clock.now_s(), 3),
            "wall_time": time.time(),
            "scope": self.scope.value,
            "sites": [
                {
                    "id": site.id,
                    "name": site.name,
                    "kind": site.kind.value,
                    "lat": site.location.lat,
                    "lon": site.location.lon,
                    "kme": site.id in kme_sites,
                    "gateway": site.id in self.gateways,
                }
                for site in self.city.sites
            ],
            "links": links,
            "services": services,
            "totals": dict(totals),
            "relayed_keys": self.keys.relayed_keys,
            "kmes": self.keys.kme_stats(),
            "alerts": [a.to_json() for a in reversed(self.alerts.recent(60))],
            "plan": self._plan_summary(),
            "assessment": {
                "now_year": self.assessment.now_year,
                "services_by_tier": self.assessment.totals.services_by_tier,
                "compliant_by_tier": self.assessment.totals.compliant_by_tier,
                "at_risk": self.assessment.totals.at_risk,
                "findings_by_severity": self.assessment.totals.findings_by_severity,
            },
        }
