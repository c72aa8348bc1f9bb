"""The city's message bus: MQTT with QoS 1 (paho-mqtt), an embedded broker, and an in-memory fake.

Sensors publish, gateways subscribe. A gateway connects with a fixed client id and a persistent
session (``clean_session=False``) and acknowledges each message only after its handler returned,
i.e. after the reading was stored (paho's manual acknowledgement): a message the broker delivered
to a gateway that stopped before storing it is delivered again, and messages published while a
gateway is down wait in the broker. That is MQTT QoS 1, at-least-once delivery; the gateway
makes storage idempotent so that a second delivery stores nothing twice.

:class:`EmbeddedBroker` runs amqtt in a thread on a free port of 127.0.0.1 (anonymous clients,
loopback only) so that ``qsafecity up`` needs no broker installed; ``--mqtt mqtt://host:port``
uses a real one such as Mosquitto. :class:`InMemoryBus` is the fake used by unit tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any, Final, Protocol
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from amqtt.broker import Broker
from paho.mqtt.enums import CallbackAPIVersion

from qsafecity.errors import InputError, QSafeCityError

Handler = Callable[[str, bytes], None]

#: How long a client waits for the broker to accept its connection or subscription.
CONNECT_TIMEOUT_S: Final = 10.0

log = logging.getLogger(__name__)


class BusError(QSafeCityError):
    """The message bus cannot be reached or refused a client."""


class BusClient(Protocol):
    """One connection to the bus."""

    def publish(self, topic: str, payload: bytes) -> None: ...

    def subscribe(self, pattern: str, handler: Handler) -> None: ...

    def close(self) -> None: ...


class MessageBus(Protocol):
    """Something clients connect to (a broker URL, or the in-memory fake)."""

    def connect(self, client_id: str, *, persistent: bool = False) -> BusClient: ...


def topic_matches(pattern: str, topic: str) -> bool:
    """MQTT topic filter matching with ``+`` (one level) and ``#`` (the rest)."""
    pattern_parts = pattern.split("/")
    topic_parts = topic.split("/")
    for index, part in enumerate(pattern_parts):
        if part == "#":
            return True
        if index >= len(topic_parts):
            return False
        if part not in ("+", topic_parts[index]):
            return False
    return len(pattern_parts) == len(topic_parts)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- MQTT ------------------------------------------------------------------------------------


def parse_mqtt_url(url: str) -> tuple[str, int]:
    """``mqtt://host[:port]`` -> (host, port); an ``InputError`` for anything else."""
    parsed = urlparse(url)
    if parsed.scheme != "mqtt" or not parsed.hostname:
        raise InputError(f"--mqtt: expected mqtt://HOST[:PORT], got {url!r}")
    try:
        port = parsed.port or 1883
    except ValueError:
        raise InputError(f"--mqtt: bad port in {url!r}") from None
    return parsed.hostname, port


class MQTTClient:
    """A paho-mqtt client: QoS 1 publishing, manual acknowledgement after the handler ran."""

    def __init__(self, host: str, port: int, client_id: str, *, persistent: bool) -> None:
        self._handlers: list[tuple[str, Handler]] = []
        self._connected = threading.Event()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=not persistent,
            manual_ack=True,
        )
        self._client.max_inflight_messages_set(200)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        try:
            self._client.connect(host, port, keepalive=30)
        except OSError as error:
            raise BusError(f"cannot reach the MQTT broker at {host}:{port}: {error}") from None
        self._client.loop_start()
        if not self._connected.wait(CONNECT_TIMEOUT_S):
            self._client.loop_stop()
            raise BusError(f"the MQTT broker at {host}:{port} did not accept {client_id}")

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if not reason.is_failure:
            # Subscriptions are renewed on every (re)connection.
            for pattern, _ in self._handlers:
                client.subscribe(pattern, qos=1)
            self._connected.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            for pattern, handler in self._handlers:
                if topic_matches(pattern, message.topic):
                    handler(message.topic, bytes(message.payload))
        except Exception:  # the handler's bug must not stop the network loop
            log.exception("handler failed on %s", message.topic)
        client.ack(message.mid, message.qos)

    def publish(self, topic: str, payload: bytes) -> None:
        info = self._client.publish(topic, payload, qos=1)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            raise BusError(f"publish to {topic} failed: {mqtt.error_string(info.rc)}")

    def subscribe(self, pattern: str, handler: Handler) -> None:
        self._handlers.append((pattern, handler))
        result, _ = self._client.subscribe(pattern, qos=1)
        if result != mqtt.MQTT_ERR_SUCCESS:
            raise BusError(f"subscribe to {pattern} failed: {mqtt.error_string(result)}")

    def flush(self, timeout_s: float = 10.0) -> None:
        """Wait until every QoS 1 publish was acknowledged by the broker (or the timeout)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if (
                not self._client.want_write()
                and len(getattr(self._client, "_out_messages", {})) == 0
            ):
                return
            time.sleep(0.01)

    def close(self) -> None:
        self.flush(5.0)
        self._client.disconnect()
        self._client.loop_stop()


class MQTTBus:
    """A broker reached by URL (``mqtt://127.0.0.1:1883``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.host, self.port = parse_mqtt_url(url)

    def connect(self, client_id: str, *, persistent: bool = False) -> MQTTClient:
        return MQTTClient(self.host, self.port, client_id, persistent=persistent)


class EmbeddedBroker:
    """An amqtt broker on 127.0.0.1 in a background thread; :attr:`url` once started."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="mqtt-broker", daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._broker: Any = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
            # Anonymous clients on loopback only; the traffic itself is sealed end to end.
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
        try:
            self._broker = Broker(config, loop=self._loop)
            self._loop.run_until_complete(self._broker.start())
        except BaseException as error:
            self._error = error
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    def start(self) -> str:
        # amqtt logs every connection at INFO; the city's own log says what matters.
        logging.getLogger("amqtt").setLevel(logging.WARNING)
        logging.getLogger("transitions").setLevel(logging.WARNING)
        self._thread.start()
        if not self._ready.wait(CONNECT_TIMEOUT_S) or self._error is not None:
            raise BusError(f"the embedded MQTT broker did not start: {self._error}")
        return self.url

    def stop(self) -> None:
        if self._broker is None or not self._thread.is_alive():
            return
        future = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
        with contextlib.suppress(Exception):
            future.result(CONNECT_TIMEOUT_S)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CONNECT_TIMEOUT_S)


# --- in-memory fake ----------------------------------------------------------------------------


class InMemoryBus:
    """A synchronous bus for tests: persistent clients get what was published while they were away."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._online: dict[str, InMemoryClient] = {}
        self._subscriptions: dict[str, list[str]] = defaultdict(list)
        self._queued: dict[str, deque[tuple[str, bytes]]] = defaultdict(deque)
        self._persistent: set[str] = set()

    def connect(self, client_id: str, *, persistent: bool = False) -> InMemoryClient:
        with self._lock:
            client = InMemoryClient(self, client_id)
            self._online[client_id] = client
            if persistent:
                self._persistent.add(client_id)
            else:
                self._subscriptions.pop(client_id, None)
                self._queued.pop(client_id, None)
            return client

    def _deliver(self, topic: str, payload: bytes) -> None:
        with self._lock:
            targets = [
                client_id
                for client_id, patterns in self._subscriptions.items()
                if any(topic_matches(p, topic) for p in patterns)
            ]
            for client_id in targets:
                client = self._online.get(client_id)
                if client is None:
                    self._queued[client_id].append((topic, payload))
                else:
                    client._receive(topic, payload)

    def _subscribe(self, client: InMemoryClient, pattern: str) -> None:
        with self._lock:
            patterns = self._subscriptions[client.client_id]
            if pattern not in patterns:
                patterns.append(pattern)
            queued = self._queued.pop(client.client_id, deque())
            for topic, payload in queued:
                client._receive(topic, payload)

    def _leave(self, client: InMemoryClient) -> None:
        with self._lock:
            if self._online.get(client.client_id) is client:
                del self._online[client.client_id]
            if client.client_id not in self._persistent:
                self._subscriptions.pop(client.client_id, None)


class InMemoryClient:
    def __init__(self, bus: InMemoryBus, client_id: str) -> None:
        self._bus = bus
        self.client_id = client_id
        self._handlers: list[tuple[str, Handler]] = []

    def _receive(self, topic: str, payload: bytes) -> None:
        for pattern, handler in self._handlers:
            if topic_matches(pattern, topic):
                handler(topic, payload)

    def publish(self, topic: str, payload: bytes) -> None:
        self._bus._deliver(topic, payload)

    def subscribe(self, pattern: str, handler: Handler) -> None:
        self._handlers.append((pattern, handler))
        self._bus._subscribe(self, pattern)

    def close(self) -> None:
        self._bus._leave(self)
