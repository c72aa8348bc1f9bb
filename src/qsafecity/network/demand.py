"""What each service asks of the key network: its tier, its protection and its key demand.

A service's key demand follows its rekeying policy: a fresh key of ``key_bits`` for every
``bytes_per_key`` of data and at least one every ``seconds_per_key`` seconds, whichever comes
first. Its data flows from its first endpoint (the source, as the manifest says) to each other
endpoint, and each of those site pairs needs the full key rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from qsafecity.city import CityManifest, Service, Tier
from qsafecity.policy import RequiredProtection, classify, profile_for

#: Bytes in a gigabyte as the manifest counts them (decimal, like network volumes).
BYTES_PER_GB: Final = 1e9
SECONDS_PER_DAY: Final = 86_400.0

#: What each tier must use, in the words of the protection profiles (``qsafecity.policy``):
#: critical services QKD keys combined with PQC, especially important ones PQC, the others may
#: choose.
QKD_AND_PQC: Final = RequiredProtection.QKD_PQC.value
PQC: Final = RequiredProtection.PQC.value
CLASSICAL_ALLOWED: Final = RequiredProtection.CLASSICAL_ALLOWED.value


def tier_of(service: Service) -> Tier:
    """The tier of a service, as the city's policy classifies it (override or function)."""
    return classify(service).tier


def required_protection(tier: Tier) -> str:
    """``qkd+pqc``, ``pqc`` or ``classical-allowed``: what the tier's profile requires."""
    return str(profile_for(tier).required_protection.value)


@dataclass(frozen=True, slots=True)
class RekeyPolicy:
    """How often a service takes a fresh key.

    Defaults: a 256-bit key for every 100 MB and at least once a minute. QKD link encryptors
    rekey every second to every few minutes; 100 MB per AES-256-GCM key keeps each key's use far
    inside the NIST SP 800-38D limits while asking a realistic key rate of busy services. These are
    assumptions: change them per city with the planner's options.
    """

    key_bits: int = 256
    bytes_per_key: float = 100e6
    seconds_per_key: float = 60.0

    def __post_init__(self) -> None:
        if self.key_bits <= 0:
            raise ValueError(f"key_bits must be positive, got {self.key_bits}")
        for name in ("bytes_per_key", "seconds_per_key"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"{name} must be positive and finite, got {value}")

    def key_rate_bps(self, volume_gb_per_day: float) -> float:
        """Key bits per second for a service moving ``volume_gb_per_day``."""
        bytes_per_second = volume_gb_per_day * BYTES_PER_GB / SECONDS_PER_DAY
        keys_per_second = max(bytes_per_second / self.bytes_per_key, 1.0 / self.seconds_per_key)
        return keys_per_second * self.key_bits


@dataclass(frozen=True, slots=True)
class ServiceDemand:
    """One service's claim on the network: the site pairs it joins and the key rate each needs."""

    service_id: str
    operator_id: str
    tier: Tier
    protection: str
    key_rate_bps: float
    #: (source, destination) site pairs, source first; empty when all endpoints are one site.
    site_pairs: tuple[tuple[str, str], ...]

    @property
    def needs_qkd(self) -> bool:
        return self.protection == QKD_AND_PQC


def service_demands(
    city: CityManifest, policy: RekeyPolicy | None = None
) -> tuple[ServiceDemand, ...]:
    """The key demand of every service of ``city``, in manifest order."""
    rekey = policy or RekeyPolicy()
    demands = []
    for service in city.services:
        source = service.endpoints[0]
        pairs: list[tuple[str, str]] = []
        for other in service.endpoints[1:]:
            if other != source and (source, other) not in pairs:
                pairs.append((source, other))
        tier = tier_of(service)
        demands.append(
            ServiceDemand(
                service_id=service.id,
                operator_id=service.operator,
                tier=tier,
                protection=required_protection(tier),
                key_rate_bps=rekey.key_rate_bps(service.data.volume_gb_per_day),
                site_pairs=tuple(pairs),
            )
        )
    return tuple(demands)
