"""Protection profiles: which algorithms protect a message, and which tier demands which profile.

Two profiles, both post-quantum hybrids (REFERENCE.md §2 and §4):

========== ==================================== ========= =========== ============
profile    KEM (HPKE, RFC 9180)                 signature AEAD        KDF
========== ==================================== ========= =========== ============
``pqc``    X-Wing = ML-KEM-768 + X25519 (0x647A) ML-DSA-65 AES-256-GCM HKDF-SHA256
``critical`` ML-KEM-1024 + P-384 (0x0051)        ML-DSA-87 AES-256-GCM HKDF-SHA384
========== ==================================== ========= =========== ============

``critical`` follows CNSA 2.0 (ML-KEM-1024, ML-DSA-87, AES-256, SHA-384) and always signs the
sender; ``pqc`` signs only when the caller asks. The paper's tiers map to the weakest profile they
accept (:func:`required_profile`); a message sealed under a weaker profile than its tier's is a
downgrade and is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from cryptography.hazmat.primitives import hashes, hpke

from qsafecity.algorithms import Algorithm, Role, lookup
from qsafecity.city.vocabulary import Tier


class Profile(StrEnum):
    """A named set of algorithms; the value is the name used on the command line and in files."""

    PQC = "pqc"
    CRITICAL = "critical"

    @property
    def spec(self) -> ProfileSpec:
        """The algorithms and rules of this profile."""
        return _SPECS[self]

    @property
    def rank(self) -> int:
        """Strength order: a higher rank is at least as strong in every algorithm."""
        return self.spec.rank

    @property
    def code(self) -> int:
        """The byte that names this profile on the wire."""
        return self.spec.code

    @classmethod
    def parse(cls, text: str) -> Profile:
        """Accept the profile name in any case; raise ``ValueError`` otherwise."""
        key = text.strip().lower()
        for profile in cls:
            if profile.value == key:
                return profile
        choices = ", ".join(p.value for p in cls)
        raise ValueError(f"unknown profile {text!r} (choose one of: {choices})")

    @classmethod
    def from_code(cls, code: int) -> Profile:
        """The profile whose wire byte is ``code``; ``ValueError`` when none is."""
        for profile in cls:
            if profile.spec.code == code:
                return profile
        raise ValueError(f"unknown profile code {code}")


@dataclass(frozen=True, slots=True)
class ProfileSpec:
    """What a profile uses. Registry names (``kem_name`` …) are keys of ``qsafecity.algorithms``."""

    code: int
    rank: int
    kem_name: str
    signature_name: str
    cipher_name: str
    kdf_name: str
    requires_signature: bool
    hpke_kem: hpke.KEM
    hpke_kdf: hpke.KDF
    hpke_aead: hpke.AEAD
    hash_algorithm: hashes.HashAlgorithm

    @property
    def kem(self) -> Algorithm:
        return lookup(Role.KEY_EXCHANGE, self.kem_name)

    @property
    def signature(self) -> Algorithm:
        return lookup(Role.SIGNATURE, self.signature_name)

    @property
    def cipher(self) -> Algorithm:
        return lookup(Role.CIPHER, self.cipher_name)

    @property
    def nist_quantum_level(self) -> int:
        """The weakest NIST category among the profile's public-key algorithms."""
        return min(self.kem.nist_quantum_level, self.signature.nist_quantum_level)

    def hpke_suite(self) -> hpke.Suite:
        return hpke.Suite(self.hpke_kem, self.hpke_kdf, self.hpke_aead)


_SPECS: Final[dict[Profile, ProfileSpec]] = {
    Profile.PQC: ProfileSpec(
        code=1,
        rank=1,
        kem_name="X-Wing",
        signature_name="ML-DSA-65",
        cipher_name="AES-256-GCM",
        kdf_name="HKDF-SHA256",
        requires_signature=False,
        hpke_kem=hpke.KEM.MLKEM768_X25519,
        hpke_kdf=hpke.KDF.HKDF_SHA256,
        hpke_aead=hpke.AEAD.AES_256_GCM,
        hash_algorithm=hashes.SHA256(),
    ),
    Profile.CRITICAL: ProfileSpec(
        code=2,
        rank=2,
        kem_name="MLKEM1024-P384",
        signature_name="ML-DSA-87",
        cipher_name="AES-256-GCM",
        kdf_name="HKDF-SHA384",
        requires_signature=True,
        hpke_kem=hpke.KEM.MLKEM1024_P384,
        hpke_kdf=hpke.KDF.HKDF_SHA384,
        hpke_aead=hpke.AEAD.AES_256_GCM,
        hash_algorithm=hashes.SHA384(),
    ),
}

#: The weakest profile each tier accepts. Important services get the PQC profile too: the paper
#: makes quantum-safe protection voluntary for them, and this layer offers nothing weaker.
_TIER_PROFILE: Final[dict[Tier, Profile]] = {
    Tier.CRITICAL: Profile.CRITICAL,
    Tier.ESPECIALLY_IMPORTANT: Profile.PQC,
    Tier.IMPORTANT: Profile.PQC,
}

#: Wire codes of the tiers (bound into every sealed message).
TIER_CODES: Final[dict[Tier, int]] = {
    Tier.IMPORTANT: 0,
    Tier.ESPECIALLY_IMPORTANT: 1,
    Tier.CRITICAL: 2,
}


def required_profile(tier: Tier) -> Profile:
    """The weakest profile that protects traffic of ``tier`` (a stronger one is accepted too)."""
    return _TIER_PROFILE[tier]


def satisfies(profile: Profile, tier: Tier) -> bool:
    """True when ``profile`` is at least as strong as ``tier`` demands (no downgrade)."""
    return profile.rank >= required_profile(tier).rank


def tier_from_code(code: int) -> Tier:
    for tier, tier_code in TIER_CODES.items():
        if tier_code == code:
            return tier
    raise ValueError(f"unknown tier code {code}")
