"""The QKD physics behind the planner's ``KeyRateModel``: a preset of ``qsafecity.qkd.physics``.

A city plan evaluates the key rate of thousands of candidate segments; the physics optimises the
signal intensity at each distance, so rates are computed once per distinct length (to 1 m) and
cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from qsafecity.qkd import LinkParameters, max_distance_km, preset, secret_key_rate_bps

#: City links are metro links: the 1 GHz metro preset (Yuan et al., JLT 36, 3427, 2018).
DEFAULT_PRESET: Final = "metro"


@dataclass(frozen=True)
class PhysicsKeyRateModel:
    """Asymptotic decoy-state BB84 key rate of one device pair with a named link preset."""

    parameters: LinkParameters
    _reach_km: float = field(init=False, repr=False)
    _cache: dict[float, float] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_reach_km", max_distance_km(self.parameters))

    @classmethod
    def from_preset(cls, name: str = DEFAULT_PRESET) -> PhysicsKeyRateModel:
        """The model of a named preset (``InputError`` naming the presets when unknown)."""
        return cls(preset(name))

    @property
    def name(self) -> str:
        return self.parameters.name

    @property
    def max_distance_km(self) -> float:
        return self._reach_km

    def secret_key_rate_bps(self, distance_km: float) -> float:
        if distance_km < 0.0:
            raise ValueError(f"distance must be >= 0 km, got {distance_km}")
        if distance_km >= self._reach_km:
            return 0.0
        key = round(distance_km, 3)
        if key not in self._cache:
            self._cache[key] = max(0.0, float(secret_key_rate_bps(self.parameters, key)))
        return self._cache[key]

    def secret_key_rates_bps(self, distances_km: Sequence[float]) -> list[float]:
        """Vectorised over the distinct lengths (to 1 m), then cached."""
        wanted = sorted(
            {round(d, 3) for d in distances_km if 0.0 <= d < self._reach_km} - set(self._cache)
        )
        if wanted:
            rates = secret_key_rate_bps(self.parameters, np.asarray(wanted, dtype=np.float64))
            for distance, rate in zip(wanted, np.atleast_1d(rates), strict=True):
                self._cache[distance] = max(0.0, float(rate))
        return [self.secret_key_rate_bps(d) for d in distances_km]
