"""The registry of every cryptographic algorithm a city manifest may name.

Pure data, no I/O: the policy engine, the inventory (CBOM) and the crypto layer all read their facts
about algorithms from here, so that one table decides what "quantum-vulnerable" or "deprecated in
2030" means everywhere.

Sources of the facts (see ``REFERENCE.md`` §2 and §8):

* NIST quantum security categories (1-5) from FIPS 203 (ML-KEM), FIPS 204 (ML-DSA), FIPS 205
  (SLH-DSA) and NIST's call for proposals (AES-128 ≙ 1, AES-192 ≙ 3, AES-256 ≙ 5). Classical
  public-key algorithms are category 0: Shor's algorithm breaks them.
* Classical security strengths in bits from NIST SP 800-57 Part 1 Rev. 5, Table 2.
* Transition dates from NIST IR 8547 (initial public draft, Nov 2024): algorithms at 112 bits of
  security (RSA-2048, DH-2048) are deprecated after 2030; every RSA, ECC and finite-field DH
  algorithm is disallowed after 2035. 3DES is disallowed after 2023 (SP 800-131A Rev. 2).
* A hybrid takes the better of its parts for quantum security (its PQC part) and keeps the classical
  part as a hedge; a QKD key is information-theoretically secure but, per NCSC, ANSSI, NSA and the
  BSI-led joint paper, must be combined with PQC and PQC-authenticated peers.
* CycloneDX 1.6 ``cryptoProperties.algorithmProperties`` fields (``primitive``,
  ``parameterSetIdentifier``, ``nistQuantumSecurityLevel``, ``classicalSecurityLevel``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Role(StrEnum):
    """What an algorithm does in a service's protocol stack (the manifest's ``crypto`` keys)."""

    KEY_EXCHANGE = "key_exchange"
    SIGNATURE = "signature"
    CIPHER = "cipher"


class Family(StrEnum):
    """The mathematical family, which decides who can break it."""

    NONE = "none"
    RSA = "rsa"
    FINITE_FIELD_DH = "finite-field-dh"
    ELLIPTIC_CURVE = "elliptic-curve"
    LATTICE = "lattice"
    HASH_BASED = "hash-based"
    HYBRID = "hybrid"
    QKD = "qkd"
    QKD_HYBRID = "qkd+pqc"
    SYMMETRIC = "symmetric"
    PRE_SHARED_KEY = "pre-shared-key"


@dataclass(frozen=True, slots=True)
class Algorithm:
    """Facts about one algorithm, as the manifest names it.

    ``nist_quantum_level`` is the NIST PQC security category (0 = broken by a quantum computer).
    ``classical_bits`` is the classical security strength. ``deprecated_after`` and
    ``disallowed_after`` are the last years of NIST IR 8547 (or SP 800-131A) use, ``None`` if no
    date is set. ``cbom_primitive`` and ``cbom_parameter_set`` are CycloneDX 1.6 identifiers.
    """

    name: str
    role: Role
    family: Family
    nist_quantum_level: int
    classical_bits: int
    deprecated_after: int | None = None
    disallowed_after: int | None = None
    authenticated_encryption: bool = True
    cbom_primitive: str = "other"
    cbom_parameter_set: str | None = None
    oid: str | None = None
    note: str = ""

    @property
    def quantum_vulnerable(self) -> bool:
        """True when a cryptographically relevant quantum computer breaks it (Shor, or no crypto)."""
        return self.nist_quantum_level == 0

    @property
    def is_hybrid(self) -> bool:
        """True when it combines a classical and a post-quantum (or QKD) secret."""
        return self.family in (Family.HYBRID, Family.QKD_HYBRID)

    @property
    def uses_qkd(self) -> bool:
        return self.family in (Family.QKD, Family.QKD_HYBRID)

    @property
    def cbom_crypto_functions(self) -> tuple[str, ...]:
        """CycloneDX 1.6 ``algorithmProperties.cryptoFunctions`` of this algorithm in its role."""
        if self.family is Family.NONE:
            return ("unknown",)
        return _CBOM_FUNCTIONS.get(self.cbom_primitive, ("other",))

    @property
    def is_post_quantum(self) -> bool:
        """True when a PQC algorithm (alone or in a hybrid) is part of it."""
        return self.family in (Family.LATTICE, Family.HASH_BASED, Family.HYBRID, Family.QKD_HYBRID)


#: CycloneDX 1.6 ``cryptoFunctions`` by ``primitive`` (the enumeration of the 1.6 schema).
_CBOM_FUNCTIONS: Final[dict[str, tuple[str, ...]]] = {
    "kem": ("keygen", "encapsulate", "decapsulate"),
    "key-agree": ("keygen", "keyderive"),
    "pke": ("keygen", "encrypt", "decrypt"),
    "signature": ("keygen", "sign", "verify"),
    "ae": ("encrypt", "decrypt", "tag"),
    "block-cipher": ("encrypt", "decrypt"),
}

_IR8547_DEPRECATED: Final = 2030
_IR8547_DISALLOWED: Final = 2035

_KEX, _SIG, _CIPHER = Role.KEY_EXCHANGE, Role.SIGNATURE, Role.CIPHER

ALGORITHMS: Final[tuple[Algorithm, ...]] = (
    # --- key exchange -------------------------------------------------------------------------
    Algorithm(
        "none",
        _KEX,
        Family.NONE,
        0,
        0,
        cbom_primitive="unknown",
        note="no key exchange: traffic is not protected at all",
    ),
    Algorithm(
        "RSA-2048",
        _KEX,
        Family.RSA,
        0,
        112,
        _IR8547_DEPRECATED,
        _IR8547_DISALLOWED,
        cbom_primitive="pke",
        cbom_parameter_set="2048",
        oid="1.2.840.113549.1.1.1",
    ),
    Algorithm(
        "RSA-3072",
        _KEX,
        Family.RSA,
        0,
        128,
        None,
        _IR8547_DISALLOWED,
        cbom_primitive="pke",
        cbom_parameter_set="3072",
        oid="1.2.840.113549.1.1.1",
    ),
    Algorithm(
        "DH-2048",
        _KEX,
        Family.FINITE_FIELD_DH,
        0,
        112,
        _IR8547_DEPRECATED,
        _IR8547_DISALLOWED,
        cbom_primitive="key-agree",
        cbom_parameter_set="ffdhe2048",
    ),
    Algorithm(
        "ECDHE-P256",
        _KEX,
        Family.ELLIPTIC_CURVE,
        0,
        128,
        None,
        _IR8547_DISALLOWED,
        cbom_primitive="key-agree",
        cbom_parameter_set="secp256r1",
        oid="1.2.840.10045.3.1.7",
    ),
    Algorithm(
        "ECDHE-P384",
        _KEX,
        Family.ELLIPTIC_CURVE,
        0,
        192,
        None,
        _IR8547_DISALLOWED,
        cbom_primitive="key-agree",
        cbom_parameter_set="secp384r1",
        oid="1.3.132.0.34",
    ),
    Algorithm(
        "X25519",
        _KEX,
        Family.ELLIPTIC_CURVE,
        0,
        128,
        None,
        _IR8547_DISALLOWED,
        cbom_primitive="key-agree",
        cbom_parameter_set="x25519",
        oid="1.3.101.110",
    ),
    Algorithm(
        "X25519MLKEM768",
        _KEX,
        Family.HYBRID,
        3,
        192,
        cbom_primitive="kem",
        cbom_parameter_set="X25519MLKEM768",
        note="TLS hybrid group 0x11EC: ML-KEM-768 shared secret first, then X25519",
    ),
    Algorithm(
        "SecP256r1MLKEM768",
        _KEX,
        Family.HYBRID,
        3,
        192,
        cbom_primitive="kem",
        cbom_parameter_set="SecP256r1MLKEM768",
        note="TLS hybrid group 0x11EB",
    ),
    Algorithm(
        "SecP384r1MLKEM1024",
        _KEX,
        Family.HYBRID,
        5,
        256,
        cbom_primitive="kem",
        cbom_parameter_set="SecP384r1MLKEM1024",
        note="TLS hybrid group 0x11ED",
    ),
    Algorithm(
        "X-Wing",
        _KEX,
        Family.HYBRID,
        3,
        192,
        cbom_primitive="kem",
        cbom_parameter_set="MLKEM768-X25519",
        oid="1.3.6.1.4.1.62253.25722",
        note="draft-connolly-cfrg-xwing-kem: ML-KEM-768 + X25519 under a SHA3-256 combiner; HPKE KEM 0x647A",
    ),
    Algorithm(
        "MLKEM1024-P384",
        _KEX,
        Family.HYBRID,
        5,
        256,
        cbom_primitive="kem",
        cbom_parameter_set="MLKEM1024-P384",
        note="draft-irtf-cfrg-concrete-hybrid-kems: ML-KEM-1024 + ECDH P-384; HPKE KEM 0x0051",
    ),
    Algorithm(
        "ML-KEM-768",
        _KEX,
        Family.LATTICE,
        3,
        192,
        cbom_primitive="kem",
        cbom_parameter_set="768",
        oid="2.16.840.1.101.3.4.4.2",
    ),
    Algorithm(
        "ML-KEM-1024",
        _KEX,
        Family.LATTICE,
        5,
        256,
        cbom_primitive="kem",
        cbom_parameter_set="1024",
        oid="2.16.840.1.101.3.4.4.3",
    ),
    Algorithm(
        "QKD",
        _KEX,
        Family.QKD,
        5,
        256,
        cbom_primitive="key-agree",
        cbom_parameter_set="BB84-decoy",
        note="information-theoretic key agreement; gives no authentication of its own",
    ),
    Algorithm(
        "QKD+ML-KEM-768",
        _KEX,
        Family.QKD_HYBRID,
        3,
        192,
        cbom_primitive="kem",
        cbom_parameter_set="QKD+ML-KEM-768",
        note="QKD key and ML-KEM-768 secret combined in one KDF (ETSI TS 103 744 CatKDF)",
    ),
    Algorithm(
        "QKD+ML-KEM-1024",
        _KEX,
        Family.QKD_HYBRID,
        5,
        256,
        cbom_primitive="kem",
        cbom_parameter_set="QKD+ML-KEM-1024",
        note="QKD key and ML-KEM-1024 secret combined in one KDF (ETSI TS 103 744 CatKDF)",
    ),
    Algorithm(
        "PSK",
        _KEX,
        Family.PRE_SHARED_KEY,
        5,
        256,
        cbom_primitive="key-agree",
        cbom_parameter_set="psk-256",
        note="assumes a 256-bit pre-shared key; distributing it at city scale is the hard part",
    ),
    # --- signatures ----------------------------------------------------------------------------
    Algorithm(
        "none",
        _SIG,
        Family.NONE,
        0,
        0,
        cbom_primitive="unknown",
        note="no signature: peers are not authenticated",
    ),
    Algorithm(
        "RSA-2048",
        _SIG,
        Family.RSA,
        0,
        112,
        _IR8547_DEPRECATED,
        _IR8547_DISALLOWED,
        cbom_primitive="signature",
        cbom_parameter_set="2048",
        oid="1.2.840.113549.1.1.11",
    ),
    Algorithm(
        "RSA-3072",
        _SIG,
        Family.RSA,
        0,
        128,
        None,
        _IR8547_DISALLOWED,
        cbom_primitive="signature",
        cbom_parameter_set="3072",
        oid="1.2.840.113549.1.1.11",
    ),
    Algorithm(
        "RSA-4096",
        _SIG,
        Family.RSA,
        0,
        152,
        None,
        _IR8547_DISALLOWED,
        cbom_primitive="signature",
        cbom_parameter_set="4096",
        oid="1.2.840.113549.1.1.11",
    ),
    Algorithm(
        "ECDSA-P256",
        _SIG,
        Family.ELLIPTIC_CURVE,
        0,
        128,
        None,
        _IR8547_DISALLOWED,
        cbom_primitive="signature",
        cbom_parameter_set="secp256r1",
        oid="1.2.840.10045.4.3.2",
    ),
    Algorithm(
        "ECDSA-P384",
        _SIG,
        Family.ELLIPTIC_CURVE,
        0,
        192,
        None,
        _IR8547_DISALLOWED,
        cbom_primitive="signature",
        cbom_parameter_set="secp384r1",
        oid="1.2.840.10045.4.3.3",
    ),
    Algorithm(
        "Ed25519",
        _SIG,
        Family.ELLIPTIC_CURVE,
        0,
        128,
        None,
        _IR8547_DISALLOWED,
        cbom_primitive="signature",
        cbom_parameter_set="ed25519",
        oid="1.3.101.112",
    ),
    Algorithm(
        "ML-DSA-44",
        _SIG,
        Family.LATTICE,
        2,
        128,
        cbom_primitive="signature",
        cbom_parameter_set="44",
        oid="2.16.840.1.101.3.4.3.17",
    ),
    Algorithm(
        "ML-DSA-65",
        _SIG,
        Family.LATTICE,
        3,
        192,
        cbom_primitive="signature",
        cbom_parameter_set="65",
        oid="2.16.840.1.101.3.4.3.18",
    ),
    Algorithm(
        "ML-DSA-87",
        _SIG,
        Family.LATTICE,
        5,
        256,
        cbom_primitive="signature",
        cbom_parameter_set="87",
        oid="2.16.840.1.101.3.4.3.19",
    ),
    Algorithm(
        "SLH-DSA-128s",
        _SIG,
        Family.HASH_BASED,
        1,
        128,
        cbom_primitive="signature",
        cbom_parameter_set="SHA2-128s",
        oid="2.16.840.1.101.3.4.3.20",
    ),
    Algorithm(
        "composite-ML-DSA-65-Ed25519",
        _SIG,
        Family.HYBRID,
        3,
        192,
        cbom_primitive="signature",
        cbom_parameter_set="MLDSA65-Ed25519-SHA512",
        note="LAMPS composite signature: valid only if both ML-DSA-65 and Ed25519 verify",
    ),
    # --- ciphers -------------------------------------------------------------------------------
    Algorithm(
        "none",
        _CIPHER,
        Family.NONE,
        0,
        0,
        authenticated_encryption=False,
        cbom_primitive="unknown",
        note="no encryption: traffic travels in clear",
    ),
    Algorithm(
        "3DES",
        _CIPHER,
        Family.SYMMETRIC,
        0,
        112,
        2023,
        2023,
        authenticated_encryption=False,
        cbom_primitive="block-cipher",
        cbom_parameter_set="168",
        note="64-bit block (Sweet32); disallowed for encryption after 2023 (SP 800-131A r2)",
    ),
    Algorithm(
        "AES-128-CBC",
        _CIPHER,
        Family.SYMMETRIC,
        1,
        128,
        authenticated_encryption=False,
        cbom_primitive="block-cipher",
        cbom_parameter_set="128",
        note="no integrity: CBC needs a separate MAC and has a history of padding oracles",
    ),
    Algorithm(
        "AES-128-GCM",
        _CIPHER,
        Family.SYMMETRIC,
        1,
        128,
        cbom_primitive="ae",
        cbom_parameter_set="128",
    ),
    Algorithm(
        "AES-256-GCM",
        _CIPHER,
        Family.SYMMETRIC,
        5,
        256,
        cbom_primitive="ae",
        cbom_parameter_set="256",
    ),
    Algorithm(
        "ChaCha20-Poly1305",
        _CIPHER,
        Family.SYMMETRIC,
        5,
        256,
        cbom_primitive="ae",
        cbom_parameter_set="256",
    ),
)

#: Other spellings accepted for the manifest's names (matched case-insensitively, like the names).
ALIASES: Final[dict[str, str]] = {
    "x25519kyber768": "X25519MLKEM768",
    "x25519-mlkem768": "X25519MLKEM768",
    "xwing": "X-Wing",
    "mlkem768-x25519": "X-Wing",
    "mlkem768x25519": "X-Wing",
    "mlkem1024p384": "MLKEM1024-P384",
    "mlkem1024-secp384r1": "MLKEM1024-P384",
    "mlkem768": "ML-KEM-768",
    "mlkem1024": "ML-KEM-1024",
    "mldsa44": "ML-DSA-44",
    "mldsa65": "ML-DSA-65",
    "mldsa87": "ML-DSA-87",
    "ecdh-p256": "ECDHE-P256",
    "ecdh-p384": "ECDHE-P384",
    "p-256": "ECDHE-P256",
    "p-384": "ECDHE-P384",
    "tdes": "3DES",
    "des-ede3": "3DES",
    "aes128-gcm": "AES-128-GCM",
    "aes256-gcm": "AES-256-GCM",
    "chacha20poly1305": "ChaCha20-Poly1305",
}

_BY_ROLE: Final[dict[Role, dict[str, Algorithm]]] = {
    role: {a.name.lower(): a for a in ALGORITHMS if a.role is role} for role in Role
}


def names(role: Role) -> tuple[str, ...]:
    """Canonical names accepted for ``role``, in registry order."""
    return tuple(a.name for a in ALGORITHMS if a.role is role)


def lookup(role: Role, name: str) -> Algorithm:
    """Return the algorithm called ``name`` (any case, or a known alias) in ``role``.

    Raises ``KeyError`` when the name is unknown for that role.
    """
    key = name.strip().lower()
    table = _BY_ROLE[role]
    if key in table:
        return table[key]
    alias = ALIASES.get(key)
    if alias is not None and alias.lower() in table:
        return table[alias.lower()]
    raise KeyError(name)


def canonical(role: Role, name: str) -> str | None:
    """The canonical spelling of ``name`` in ``role``, or ``None`` when it is unknown."""
    try:
        return lookup(role, name).name
    except KeyError:
        return None
