"""Values of the key management layer: secrets with a redacted ``repr``, limits, stored records.

Units: key sizes and block sizes are in bits (``*_bits``), times in seconds since the epoch
(``*_s``), rates in bit/s (``*_bps``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Final

#: Size of one block of a link's key pool. A key of ``size`` bits uses ``ceil(size / 256)`` blocks;
#: the rest of the last block is erased with it. 256 bits is the default key size of the status.
BLOCK_BITS: Final = 256
BLOCK_BYTES: Final = BLOCK_BITS // 8


@dataclass(frozen=True, slots=True)
class Secret:
    """Key material. Its ``repr`` never shows the bytes, so a key cannot reach a log by accident."""

    value: bytes = field(repr=False)

    def __repr__(self) -> str:
        return f"Secret(<{len(self.value)} bytes redacted>)"

    def __len__(self) -> int:
        return len(self.value)


@dataclass(frozen=True, slots=True)
class KMELimits:
    """The limits a KME announces in its status (ETSI GS QKD 014 §"Status")."""

    key_size_bits: int = 256
    min_key_size_bits: int = 64
    max_key_size_bits: int = 1024
    max_key_per_request: int = 128
    #: Cap of the number of blocks a link's pool holds at one KME (the link engine stops there).
    max_key_count: int = 100_000
    #: Most ``additional_slave_SAE_IDs`` in one request (0 would mean no multicast).
    max_sae_id_count: int = 4

    def __post_init__(self) -> None:
        if not 8 <= self.min_key_size_bits <= self.key_size_bits <= self.max_key_size_bits:
            raise ValueError("key sizes must satisfy 8 <= min <= default <= max")
        if any(v % 8 for v in (self.min_key_size_bits, self.key_size_bits, self.max_key_size_bits)):
            raise ValueError("key sizes must be whole bytes (multiples of 8 bits)")
        if self.max_key_per_request < 1 or self.max_key_count < 1 or self.max_sae_id_count < 0:
            raise ValueError("counts must be positive")


class StoredRole(enum.Enum):
    """Why a KME keeps a record of a key."""

    #: At the master's KME: bookkeeping only (no key material), erased when every slave has it.
    ORIGIN = "origin"
    #: At a slave's KME: the key itself, sealed, waiting for ``dec_keys``.
    DELIVERY = "delivery"
    #: At a master's KME: a key agreed in advance with the slave's KME over a direct link (the
    #: slave's KME already holds it as DELIVERY), sealed, not yet handed to the master. Issuing it
    #: turns it into an ORIGIN record and erases the material.
    STOCK = "stock"


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A key handed to a master by ``enc_keys`` and not yet fetched by all of its slaves here."""

    key_id: str
    role: StoredRole
    master_sae: str
    slave_saes: tuple[str, ...]
    #: Slaves (served by this KME, or anywhere for ORIGIN) that have not fetched the key yet.
    pending_saes: tuple[str, ...]
    size_bits: int
    #: The KME that made the key (for DELIVERY) or that holds it for the slaves (ORIGIN: unused).
    origin_kme: str
    created_s: float
    #: Sealed key material (``qsafecity.crypto.SecretBox``); empty for ORIGIN records.
    sealed: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class Block:
    """One block of a link's key pool, sealed at rest."""

    index: int
    sealed: bytes = field(repr=False)
