"""Protection profiles: what each tier requires of a service's cryptography, defined as data.

Why each profile is what it is (REFERENCE.md §2):

* **critical → QKD + PQC.** The paper asks for quantum communication for critical services. The
  NCSC, ANSSI, NSA and the BSI-led joint paper all warn that QKD gives no authentication of its own
  and must not be relied on alone. So the critical profile is a QKD key *combined* with a hybrid or
  ML-KEM key exchange (ETSI TS 103 744 CatKDF), peers authenticated by ML-DSA signatures, and
  AES-256 (CNSA 2.0: ML-KEM-1024, ML-DSA-87, AES-256; ML-KEM-768 and ML-DSA-65 are accepted as
  NIST category 3, the level the hybrid TLS group X25519MLKEM768 gives).
* **especially important → hybrid PQC.** The paper allows post-quantum cryptography here because
  QKD is costly. ANSSI and BSI recommend hybrids during the transition, hence X25519MLKEM768 (or
  another hybrid group), ML-DSA-65 (or a composite signature) and an AEAD with a 256-bit key.
  Pure ML-KEM is accepted with a recommendation to add the classical hedge.
* **important → classical allowed, PQC recommended.** The paper leaves quantum-secure cryptography
  voluntary for these services; NIST IR 8547's dates (2030 deprecation of 112-bit RSA/DH, 2035
  disallowance of all RSA/ECC/DH) still apply to them, and so do weak-cipher findings.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from qsafecity.city.vocabulary import Tier


class RequiredProtection(StrEnum):
    QKD_PQC = "qkd+pqc"
    PQC = "pqc"
    CLASSICAL_ALLOWED = "classical-allowed"


@dataclass(frozen=True, slots=True)
class ProtectionProfile:
    """What a tier requires. Empty ``accepted_*`` sets mean "anything not weak is accepted"."""

    name: str
    tier: Tier
    required_protection: RequiredProtection
    accepted_key_exchange: frozenset[str]
    accepted_signature: frozenset[str]
    accepted_cipher: frozenset[str]
    preferred_key_exchange: str
    preferred_signature: str
    preferred_cipher: str
    rationale: str

    @property
    def mandatory(self) -> bool:
        """True when the profile is a duty (critical, especially important), not advice."""
        return self.required_protection is not RequiredProtection.CLASSICAL_ALLOWED


_PQC_SIGNATURES: Final = frozenset({"ML-DSA-65", "ML-DSA-87", "composite-ML-DSA-65-Ed25519"})
_HYBRID_KEX: Final = frozenset(
    {
        "X25519MLKEM768",
        "SecP256r1MLKEM768",
        "SecP384r1MLKEM1024",
        "QKD+ML-KEM-768",
        "QKD+ML-KEM-1024",
    }
)

CRITICAL_PROFILE: Final = ProtectionProfile(
    name="critical: QKD + PQC",
    tier=Tier.CRITICAL,
    required_protection=RequiredProtection.QKD_PQC,
    accepted_key_exchange=frozenset({"QKD+ML-KEM-768", "QKD+ML-KEM-1024"}),
    accepted_signature=_PQC_SIGNATURES,
    accepted_cipher=frozenset({"AES-256-GCM"}),
    preferred_key_exchange="QKD+ML-KEM-1024",
    preferred_signature="ML-DSA-87",
    preferred_cipher="AES-256-GCM",
    rationale=(
        "the paper requires quantum communication for critical services; regulators require QKD "
        "to be combined with PQC and PQC-authenticated peers; CNSA 2.0 sets AES-256"
    ),
)

ESPECIALLY_IMPORTANT_PROFILE: Final = ProtectionProfile(
    name="especially important: hybrid PQC",
    tier=Tier.ESPECIALLY_IMPORTANT,
    required_protection=RequiredProtection.PQC,
    accepted_key_exchange=_HYBRID_KEX | {"ML-KEM-768", "ML-KEM-1024"},
    accepted_signature=_PQC_SIGNATURES | {"ML-DSA-44", "SLH-DSA-128s"},
    accepted_cipher=frozenset({"AES-256-GCM", "ChaCha20-Poly1305"}),
    preferred_key_exchange="X25519MLKEM768",
    preferred_signature="ML-DSA-65",
    preferred_cipher="AES-256-GCM",
    rationale=(
        "the paper allows post-quantum cryptography for especially important services; ANSSI "
        "and BSI recommend hybrid key exchange during the transition"
    ),
)

IMPORTANT_PROFILE: Final = ProtectionProfile(
    name="important: classical allowed, PQC recommended",
    tier=Tier.IMPORTANT,
    required_protection=RequiredProtection.CLASSICAL_ALLOWED,
    accepted_key_exchange=frozenset(),
    accepted_signature=frozenset(),
    accepted_cipher=frozenset(),
    preferred_key_exchange="X25519MLKEM768",
    preferred_signature="ML-DSA-65",
    preferred_cipher="AES-256-GCM",
    rationale=(
        "the paper leaves quantum-secure cryptography voluntary for important services; NIST IR "
        "8547 still retires RSA, ECC and DH by 2035"
    ),
)

PROFILES: Final[dict[Tier, ProtectionProfile]] = {
    Tier.CRITICAL: CRITICAL_PROFILE,
    Tier.ESPECIALLY_IMPORTANT: ESPECIALLY_IMPORTANT_PROFILE,
    Tier.IMPORTANT: IMPORTANT_PROFILE,
}


def profile_for(tier: Tier) -> ProtectionProfile:
    """The protection profile a service of ``tier`` must (or, if important, should) meet."""
    return PROFILES[tier]
