"""Where a link's key comes from: the secret key rate of the link and the device that yields key.

Two seams, each a Protocol with an implementation beside it:

* ``KeyRateModel`` gives a QKD link's secret key rate in bit/s from its length. Until the QKD link
  engine (``qsafecity.qkd.physics``) lands on main, ``DecoyBB84RateModel`` is the documented stand-in:
  the asymptotic decoy-state BB84 rate with infinitely many decoys (GLLP; Lo, Ma and Chen, PRL 94,
  230504, 2005, eq. for R; Ma, Qi, Zhao and Lo, PRA 72, 012326, 2005, eqs. 1-5) with the GYS
  parameters of REFERENCE.md §5, times the source's pulse rate.
* ``KeySource`` yields the key blocks a link's QKD devices produced, in order, the same blocks at
  both ends. ``SimulatedQKDDevice`` stands in for a vendor device pair: both ends derive block *i*
  from a secret the pair shares (AES-256 in counter mode as a PRF over the block index), which is
  what a real pair's reconciliation and privacy amplification achieve with quantum signals. It is
  a simulation: a real deployment replaces it with the vendor's device interface.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from qsafecity.kms.model import BLOCK_BYTES


class KeyRateModel(Protocol):
    def secret_key_rate_bps(self, distance_km: float) -> float:
        """Secret key rate of a link of this length, in bit/s (0 beyond the maximum distance)."""
        ...


def _binary_entropy(p: float) -> float:
    if p <= 0.0 or p >= 1.0:
        return 0.0
    return -p * math.log2(p) - (1.0 - p) * math.log2(1.0 - p)


@dataclass(frozen=True, slots=True)
class DecoyBB84RateModel:
    """Asymptotic decoy-state BB84 (infinite decoys), GYS parameters by default.

    ``pulse_rate_hz`` turns bits per pulse into bit/s; 1 GHz is the clock of current commercial
    systems (Yuan et al., JLT 2018, REFERENCE.md §5), which gives about 1 Mbit/s over 14 km.
    """

    alpha_db_per_km: float = 0.21
    eta_bob: float = 0.045
    dark_count_yield: float = 1.7e-6
    detector_error: float = 0.033
    reconciliation_efficiency: float = 1.22
    mu: float = 0.48
    pulse_rate_hz: float = 1e9

    def bits_per_pulse(self, distance_km: float) -> float:
        if distance_km < 0:
            raise ValueError("distance_km must not be negative")
        y0, e_d, mu = self.dark_count_yield, self.detector_error, self.mu
        eta = self.eta_bob * 10 ** (-self.alpha_db_per_km * distance_km / 10)
        q_mu = y0 + 1 - math.exp(-eta * mu)
        e_mu = (y0 / 2 + e_d * (1 - math.exp(-eta * mu))) / q_mu
        y1 = y0 + eta - y0 * eta
        e1 = (y0 / 2 + e_d * eta) / y1
        q1 = y1 * mu * math.exp(-mu)
        rate = 0.5 * (
            q1 * (1 - _binary_entropy(e1))
            - q_mu * self.reconciliation_efficiency * _binary_entropy(e_mu)
        )
        return max(rate, 0.0)

    def secret_key_rate_bps(self, distance_km: float) -> float:
        return self.bits_per_pulse(distance_km) * self.pulse_rate_hz


@dataclass(frozen=True, slots=True)
class FixedRateModel:
    """Every link runs at the same rate (tests, benchmarks and ``--rate-bps``)."""

    rate_bps: float

    def secret_key_rate_bps(self, distance_km: float) -> float:
        return self.rate_bps


class KeySource(Protocol):
    def blocks(self, link_id: str, start_index: int, count: int) -> list[bytes]:
        """Blocks ``start_index .. start_index + count - 1`` of the link, each ``BLOCK_BYTES`` long."""
        ...


_DEVICE_INFO: Final = b"qsafecity simulated QKD device pair v1|"


class SimulatedQKDDevice:
    """The simulated device pairs of every link, keyed by one city-wide simulation secret."""

    __slots__ = ("_keys", "_secret")

    def __init__(self, simulation_secret: bytes) -> None:
        if len(simulation_secret) < 32:
            raise ValueError("the simulation secret must be at least 32 bytes")
        self._keys: dict[str, bytes] = {}
        self._secret = simulation_secret

    def __repr__(self) -> str:
        return "SimulatedQKDDevice(<secret redacted>)"

    def _link_key(self, link_id: str) -> bytes:
        key = self._keys.get(link_id)
        if key is None:
            key = HKDF(
                algorithm=hashes.SHA256(),
                length=32,
                salt=None,
                info=_DEVICE_INFO + link_id.encode(),
            ).derive(self._secret)
            self._keys[link_id] = key
        return key

    def blocks(self, link_id: str, start_index: int, count: int) -> list[bytes]:
        if start_index < 0 or count < 0:
            raise ValueError("block indices must not be negative")
        if count == 0:
            return []
        # AES-CTR keystream from counter block = start_index * (BLOCK_BYTES / 16): block i always
        # gets the same bytes, whichever range it is read in.
        per_block = BLOCK_BYTES // 16
        counter = (start_index * per_block).to_bytes(16, "big")
        encryptor = Cipher(algorithms.AES(self._link_key(link_id)), modes.CTR(counter)).encryptor()
        stream = encryptor.update(bytes(BLOCK_BYTES * count)) + encryptor.finalize()
        return [stream[i * BLOCK_BYTES : (i + 1) * BLOCK_BYTES] for i in range(count)]
