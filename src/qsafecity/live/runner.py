"""``qsafecity up``: start the live city, its dashboard and its clock; stop everything cleanly.

:class:`LiveRunner` owns the threads: the city's ticker (one :meth:`LiveCity.step` every
``tick_s`` of wall time), the web server (uvicorn) and, in embedded mode, the MQTT broker. It
stops them in reverse order on :meth:`stop`, after a bounded ``--duration`` or on Ctrl-C.
"""

from __future__ import annotations

import ipaddress
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import uvicorn
from sqlalchemy.engine import make_url

from qsafecity.city.model import CityManifest
from qsafecity.errors import InputError, QSafeCityError
from qsafecity.live.bus import EmbeddedBroker, MQTTBus
from qsafecity.live.city import LiveCity
from qsafecity.live.clock import ScaledClock
from qsafecity.live.crypto_protection import CryptoProtector
from qsafecity.live.options import DEFAULT_PORT, QKDScope
from qsafecity.live.storage import Store
from qsafecity.live.web import create_app

#: Wall seconds between two steps of the city (each device sends one reading per step).
DEFAULT_TICK_S: Final = 1.0


@dataclass(frozen=True, slots=True)
class UpOptions:
    db_url: str | None = None
    mqtt_url: str | None = None
    speed: float = 1.0
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    scope: QKDScope = QKDScope.PLAN
    seed: int = 2026
    tick_s: float = DEFAULT_TICK_S

    def validate(self) -> None:
        if not 0.0 < self.speed <= 10_000.0:
            raise InputError(f"--speed must be in (0, 10000], got {self.speed}")
        if not 0 <= self.port <= 65_535:
            raise InputError(f"--port must be in [0, 65535], got {self.port}")
        if not 0.05 <= self.tick_s <= 60.0:
            raise InputError(f"tick must be in [0.05, 60] s, got {self.tick_s}")
        try:
            loopback = ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            loopback = self.host == "localhost"
        if not loopback:
            # The drill API changes what the city does and has no authentication.
            raise InputError(
                f"--host {self.host}: the dashboard serves an unauthenticated drill API; "
                "bind it to a loopback address (127.0.0.1) and reach it through an SSH tunnel"
            )


def _bindable(host: str, port: int) -> int:
    """The port to use (a free one for 0); an ``InputError`` when it is taken."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise InputError(
                f"cannot listen on {host}:{port} ({error.strerror}); choose another --port "
                "(0 picks a free one)"
            ) from None
        return int(probe.getsockname()[1])


class LiveRunner:
    """Everything ``qsafecity up`` starts, in the order it starts it."""

    def __init__(self, manifest: CityManifest, options: UpOptions) -> None:
        options.validate()
        self.manifest = manifest
        self.options = options
        self.stopping = threading.Event()
        self.broker: EmbeddedBroker | None = None
        self.store: Store | None = None
        self.city: LiveCity | None = None
        self.url = ""
        self.db_path: Path | None = None
        self._server: uvicorn.Server | None = None
        self._threads: list[threading.Thread] = []
        self.tick_errors: list[str] = []

    def start(self) -> None:
        options = self.options
        port = _bindable(options.host, options.port)
        mqtt_url = options.mqtt_url
        if mqtt_url is None:
            self.broker = EmbeddedBroker()
            mqtt_url = self.broker.start()
        bus = MQTTBus(mqtt_url)
        db_url = options.db_url
        if db_url is None:
            self.db_path = Path(tempfile.mkdtemp(prefix="qsafecity-live-")) / "city.sqlite"
            db_url = f"sqlite:///{self.db_path}"
        self.store = Store(db_url)
        clock = ScaledClock(options.speed)
        # The KMEs keep their own stores: SQLite files beside the city's database, or one
        # PostgreSQL schema each in the database of --db.
        kme_database: str | None = db_url
        if self.store.backend == "sqlite":
            database = make_url(db_url).database
            kme_database = str(Path(database).resolve().parent) if database else None
        self.city = LiveCity(
            self.manifest,
            bus=bus,
            store=self.store,
            protector=CryptoProtector(clock),
            clock=clock,
            seed=options.seed,
            scope=options.scope,
            kme_database=kme_database,
        )
        self.city.start()
        self.mqtt_url = mqtt_url
        app = create_app(self.city, self.stopping)
        config = uvicorn.Config(
            app,
            host=options.host,
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=2,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self.url = f"http://{options.host}:{port}/"
        self._spawn("web", self._server.run)
        self._spawn("ticker", self._tick)
        deadline = time.monotonic() + 10.0
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self._server.started:
            self.stop()
            raise QSafeCityError(f"the dashboard did not start on {self.url}")

    def _spawn(self, name: str, target: Any) -> None:
        thread = threading.Thread(target=target, name=f"qsafecity-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _tick(self) -> None:
        assert self.city is not None
        while not self.stopping.wait(self.options.tick_s):
            try:
                self.city.step()
            except QSafeCityError as error:  # reported, and the city goes on
                self.tick_errors.append(str(error))

    def run_for(self, duration_s: float | None) -> None:
        """Block until ``duration_s`` wall seconds passed (forever when ``None``)."""
        deadline = None if duration_s is None else time.monotonic() + duration_s
        while not self.stopping.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                return
            time.sleep(0.1)

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.should_exit = True
        for thread in self._threads:
            thread.join(10.0)
        if self.city is not None:
            # Let the gateways store and acknowledge what is in flight, then disconnect.
            deadline = time.monotonic() + 10.0
            while self.city.fleet.unacknowledged() and time.monotonic() < deadline:
                time.sleep(0.05)
            self.city.stop()
        if self.broker is not None:
            self.broker.stop()
        if self.store is not None:
            self.store.close()

    def summary(self) -> dict[str, Any]:
        """What ran and what it did, for the terminal."""
        assert self.city is not None
        state = self.city.snapshot()
        critical_alerts = [a for a in state["alerts"] if a["severity"] == "critical"]
        return {
            "city": state["city"],
            "simulated_s": state["simulated_s"],
            "sent": state["totals"].get("sent", 0),
            "stored": state["totals"].get("accepted", 0),
            "rejected": state["totals"].get("rejected", 0),
            "pending": sum(s["pending"] for s in state["services"]),
            "qkd_links": sum(1 for link in state["links"] if link["qkd"]),
            "relayed_keys": state["relayed_keys"],
            "qkd_keys_delivered": sum(k["keys_delivered"] for k in state["kmes"].values()),
            "kme_stores": self.city.keys.databases.describe(),
            "critical_alerts": len(critical_alerts),
            "database": self.store.url if self.store is not None else "",
            "mqtt": self.mqtt_url,
        }
