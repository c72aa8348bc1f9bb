"""Where a link's key comes from: the secret key rate of the link and the device that yields key.

Two seams, each a Protocol with an implementation beside it:

* ``KeyRateModel`` gives a QKD link's secret key rate in bit/s from its length:
  ``PresetRateModel`` asks the QKD link engine (``qsafecity.qkd.physics``) for a preset's rate;
  ``FixedRateModel`` gives every link one rate (``--rate-bps``).
* ``KeySource`` yields the key blocks a link's QKD devices produced, in order, the same blocks at
  both ends. ``SimulatedQKDDevice`` stands in for a vendor device pair: both ends derive block *i*
  from a secret the pair shares (AES-256 in counter mode as a PRF over the block index), which is
  what a real pair's reconciliation and privacy amplification achieve with quantum signals. It is
  a simulation: a real deployment replaces it with the vendor's device interface.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from qsafecity.kms.model import BLOCK_BYTES
from qsafecity.qkd import physics


class KeyRateModel(Protocol):
    def secret_key_rate_bps(self, distance_km: float) -> float:
        """Secret key rate of a link of this length, in bit/s (0 beyond the maximum distance)."""
        ...


@dataclass(frozen=True, slots=True)
class PresetRateModel:
    """The QKD link engine's secret key rate for a link preset (``qsafecity.qkd.physics``):
    asymptotic decoy-state BB84 with the optimal signal intensity, in bit/s. ``metro`` (a 1 GHz
    system after Yuan et al., JLT 2018) suits city links; ``gys`` and ``backbone`` are the others.
    Rates are cached by length: a KME asks for them on every refill."""

    preset: str = "metro"
    _cache: dict[float, float] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        physics.preset(self.preset)  # an InputError naming the presets when unknown

    def secret_key_rate_bps(self, distance_km: float) -> float:
        rate = self._cache.get(distance_km)
        if rate is None:
            rate = float(physics.secret_key_rate_bps(physics.preset(self.preset), distance_km))
            self._cache[distance_km] = rate
        return rate


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
