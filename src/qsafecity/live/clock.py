"""Clocks for the live city: simulated time that runs ``speed`` times faster than the wall clock.

Everything in the live city reads time through a :class:`Clock`, never ``time.time``, so that tests
drive it by hand (:class:`ManualClock`) and bound every detection in *simulated* seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    """Simulated seconds since the city started."""

    def now_s(self) -> float: ...


class ManualClock:
    """A clock that only moves when told to (tests, benchmarks)."""

    def __init__(self, start_s: float = 0.0) -> None:
        self._now_s = start_s
        self._lock = threading.Lock()

    def now_s(self) -> float:
        with self._lock:
            return self._now_s

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._now_s += seconds


class ScaledClock:
    """Wall time since start, times ``speed`` (``speed=60``: one real second is a simulated minute)."""

    def __init__(self, speed: float = 1.0, wall: Callable[[], float] = time.monotonic) -> None:
        if not 0.0 < speed <= 1e6:
            raise ValueError(f"speed must be in (0, 1e6], got {speed}")
        self.speed = speed
        self._wall = wall
        self._start = wall()

    def now_s(self) -> float:
        return (self._wall() - self._start) * self.speed
