"""A live city started for a test: the manifest (the sample city by default), a bus (the
in-memory one by default), real crypto and a manual clock; stopped however the test ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from qsafecity.live.bus import InMemoryBus, MessageBus
from qsafecity.live.city import LiveCity
from qsafecity.live.clock import ManualClock
from qsafecity.live.crypto_protection import CryptoProtector
from qsafecity.live.options import QKDScope
from qsafecity.live.storage import Store
from qsafecity.manifests import load_city


@contextmanager
def running_city(
    store: Store,
    *,
    scope: QKDScope,
    manifest: Path | None = None,
    bus: MessageBus | None = None,
) -> Iterator[tuple[LiveCity, ManualClock]]:
    clock = ManualClock()
    city = LiveCity(
        load_city(manifest),
        bus=bus if bus is not None else InMemoryBus(),
        store=store,
        protector=CryptoProtector(clock),
        clock=clock,
        scope=scope,
    )
    city.start()
    try:
        yield city, clock
    finally:
        city.stop()
