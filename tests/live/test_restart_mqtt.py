"""No valid reading is lost across a gateway restart over a real MQTT broker (QoS 1, persistent
session): the embedded amqtt broker and, in CI, Mosquitto."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from qsafecity.live.bus import EmbeddedBroker, MQTTBus
from qsafecity.live.city import LiveCity
from qsafecity.live.clock import ManualClock
from qsafecity.live.options import QKDScope
from qsafecity.live.storage import Store
from tests.live.harness import running_city


@pytest.fixture
def embedded_url() -> Iterator[str]:
    broker = EmbeddedBroker()
    yield broker.start()
    broker.stop()


def settle(city: LiveCity, clock: ManualClock, timeout_s: float = 60.0) -> None:
    """Wait (wall time) until every device's readings were acknowledged. While some wait, the
    city keeps stepping every few wall seconds, as it would in service: a reading whose stream
    the gateway could not accept (say, its handshake was refused while the machine was busy) is
    sent again on a new stream once overdue; that resend is the guarantee under test, so the
    wait must let it happen rather than stop the city's clock."""
    deadline = time.monotonic() + timeout_s
    next_step = time.monotonic() + 3.0
    while city.fleet.unacknowledged() and time.monotonic() < deadline:
        time.sleep(0.05)
        if time.monotonic() >= next_step:
            clock.advance(5.0)
            city.step()
            next_step = time.monotonic() + 0.5


def _gateway_rejections(city: LiveCity) -> dict[str, dict[str, int]]:
    return {
        f"{site}/{service}": dict(counters.rejected)
        for site, gateway in city.gateways.items()
        for service, counters in gateway.counters.items()
        if counters.rejected
    }


def restart_and_check(url: str, store: Store) -> None:
    with running_city(store, scope=QKDScope.MANIFEST, bus=MQTTBus(url)) as (city, clock):
        for _ in range(3):
            clock.advance(1.0)
            city.step()
        settle(city, clock)
        gateway = city.gateways["dc-main"]
        gateway.stop()
        for _ in range(3):  # published while the gateway is away: kept by the broker
            clock.advance(1.0)
            city.step()
        time.sleep(0.5)
        gateway.start(city.bus)
        for _ in range(25):  # long enough for devices to resend on new streams
            clock.advance(5.0)
            city.step()
            time.sleep(0.05)
        settle(city, clock)
        for (service_id, sender), device in city.fleet.devices.items():
            stored = city.store.sequences(service_id, sender)
            assert stored == list(range(1, device.sequence + 1)), (
                service_id,
                sender,
                _gateway_rejections(city),
            )
        assert city.fleet.unacknowledged() == 0


def test_gateway_restart_loses_nothing_on_the_embedded_broker(embedded_url: str, store) -> None:
    restart_and_check(embedded_url, store)


@pytest.mark.services
def test_gateway_restart_loses_nothing_on_mosquitto(mqtt_url: str, store) -> None:
    restart_and_check(mqtt_url, store)
