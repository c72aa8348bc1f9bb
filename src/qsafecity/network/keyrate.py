"""The seam between the network planner and QKD physics: how much key a link of a given length gives.

The planner only needs two numbers per link, so it depends on this small Protocol rather than on a
physics module; ``StepKeyRateModel`` is the fake beside it (a constant rate up to a reach), which
makes small cities solvable by hand in tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@runtime_checkable
class KeyRateModel(Protocol):
    """Secret key rate of one QKD device pair over a fibre of a given length."""

    @property
    def name(self) -> str:
        """A short name shown in plans (e.g. the physics preset)."""
        ...

    @property
    def max_distance_km(self) -> float:
        """The longest fibre over which the link still yields key."""
        ...

    def secret_key_rate_bps(self, distance_km: float) -> float:
        """Secret key rate in bit/s over ``distance_km`` of fibre; 0 beyond the reach."""
        ...

    def secret_key_rates_bps(self, distances_km: Sequence[float]) -> list[float]:
        """The same for many lengths at once (a city has thousands of candidate segments)."""
        ...


@dataclass(frozen=True, slots=True)
class StepKeyRateModel:
    """A link that gives ``rate_bps`` up to ``reach_km`` and nothing beyond (the test fake)."""

    rate_bps: float
    reach_km: float
    name: str = "step"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate_bps) and self.rate_bps > 0.0):
            raise ValueError(f"rate_bps must be positive and finite, got {self.rate_bps}")
        if not (math.isfinite(self.reach_km) and self.reach_km > 0.0):
            raise ValueError(f"reach_km must be positive and finite, got {self.reach_km}")

    @property
    def max_distance_km(self) -> float:
        return self.reach_km

    def secret_key_rate_bps(self, distance_km: float) -> float:
        if distance_km < 0.0:
            raise ValueError(f"distance must be >= 0 km, got {distance_km}")
        return self.rate_bps if distance_km <= self.reach_km else 0.0

    def secret_key_rates_bps(self, distances_km: Sequence[float]) -> list[float]:
        return [self.secret_key_rate_bps(distance) for distance in distances_km]
