"""The QKD + PQC key combiner of the critical tier (ETSI TS 103 744 CatKDF style).

The session key of a critical service is derived from two independent secrets at once: the QKD
key that the key management service delivered (ETSI GS QKD 014, named by its key id) and the
shared secret of a hybrid post-quantum KEM exchange. One KDF runs over the concatenation of both
secrets, with both key ids and the transcript hash as context::

    ikm     = len(k_QKD) ‖ k_QKD ‖ len(k_PQC) ‖ k_PQC                      (lengths: 2 bytes)
    prk     = HKDF-Extract(salt = "qsafecity/catkdf/v1", ikm)
    context = "qsafecity/catkdf/v1" ‖ profile ‖ lv(qkd_key_id) ‖ lv(pqc_id) ‖ H(transcript)
    key     = HKDF-Expand(prk, context, L)

with the hash of the profile (SHA-256 for ``pqc``, SHA-384 for ``critical``). Why this is safe
(``docs/crypto.md`` has the full page): HKDF-Extract is a computational randomness extractor
(Krawczyk, "Cryptographic Extraction and Key Derivation: The HKDF Scheme", CRYPTO 2010) and, in the
random-oracle model, a KEM combiner (Giacon, Heuer, Poettering, "KEM Combiners", PKC 2018): its
output is pseudorandom as long as the input keeps enough min-entropy given the attacker's view,
which holds when *either* secret is uniformly random and unknown to the attacker. An attacker who
knows the QKD key (a compromised trusted node) still faces the full entropy of the PQC secret, and a
future quantum attacker who breaks the KEM still faces the QKD key. The length prefixes make the
concatenation injective; the key ids and the transcript hash bind the key to this exchange, so
keys from different exchanges, or with a substituted QKD key id, are independent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from qsafecity.crypto.profiles import Profile
from qsafecity.errors import KeyManagementError

LABEL: Final = b"qsafecity/catkdf/v1"
#: Shortest secret accepted from either side: 128 bits (a 256-bit QKD key is the ETSI 014 norm).
MIN_SECRET_BYTES: Final = 16
MAX_SECRET_BYTES: Final = 1024


@dataclass(frozen=True, slots=True)
class QKDKey:
    """A key delivered by the key management service: its id (public) and material (secret)."""

    key_id: str
    material: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not self.key_id or len(self.key_id.encode("utf-8")) > 255:
            raise ValueError("a QKD key id must be 1-255 bytes of UTF-8")
        if not MIN_SECRET_BYTES <= len(self.material) <= MAX_SECRET_BYTES:
            raise ValueError(
                f"QKD key material must be {MIN_SECRET_BYTES}-{MAX_SECRET_BYTES} bytes, "
                f"got {len(self.material)}"
            )

    @classmethod
    def from_etsi014(cls, entry: Mapping[str, object]) -> QKDKey:
        """A key from one entry of an ETSI GS QKD 014 key container: ``{"key_ID", "key"}``.

        ``key`` is base64 (ETSI GS QKD 014 §6.3); :class:`KeyManagementError` when the entry is
        not a well-formed key.
        """
        key_id, key = entry.get("key_ID"), entry.get("key")
        if not isinstance(key_id, str) or not isinstance(key, str):
            raise KeyManagementError("an ETSI 014 key entry needs string key_ID and key fields")
        try:
            material = base64.b64decode(key, validate=True)
            return cls(key_id, material)
        except (binascii.Error, ValueError) as error:
            raise KeyManagementError(f"ETSI 014 key {key_id!r} is not usable: {error}") from error

    def __repr__(self) -> str:
        return f"QKDKey(key_id={self.key_id!r}, bits={8 * len(self.material)}, material=<redacted>)"


def _length_value(data: bytes) -> bytes:
    return struct.pack(">H", len(data)) + data


def combine_qkd_pqc(
    qkd_key: bytes,
    qkd_key_id: str,
    pqc_secret: bytes,
    *,
    transcript: bytes,
    pqc_id: str = "",
    profile: Profile = Profile.CRITICAL,
    length: int = 32,
) -> bytes:
    """Derive ``length`` key bytes from a QKD key and a PQC shared secret together.

    ``transcript`` is everything both peers saw of the exchange (e.g. the handshake message);
    ``pqc_id`` names the PQC secret (e.g. the recipient key id). Both sides must pass identical
    values. See the module docstring for the construction and why either secret alone protects
    the result.

    >>> key = combine_qkd_pqc(bytes(32), "kms-key-1", bytes(range(32)), transcript=b"hello")
    >>> len(key)
    32
    """
    for name, secret in (("qkd_key", qkd_key), ("pqc_secret", pqc_secret)):
        if not MIN_SECRET_BYTES <= len(secret) <= MAX_SECRET_BYTES:
            raise ValueError(f"{name} must be {MIN_SECRET_BYTES}-{MAX_SECRET_BYTES} bytes")
    qkd_id = qkd_key_id.encode("utf-8")
    pqc_name = pqc_id.encode("utf-8")
    if not qkd_id or len(qkd_id) > 255 or len(pqc_name) > 255:
        raise ValueError("key ids must be 1-255 bytes (the PQC id may be empty)")
    algorithm = profile.spec.hash_algorithm
    transcript_hash = hashlib.new(algorithm.name, bytes(transcript)).digest()
    ikm = _length_value(bytes(qkd_key)) + _length_value(bytes(pqc_secret))
    context = b"".join(
        (
            LABEL,
            bytes([profile.code]),
            _length_value(qkd_id),
            _length_value(pqc_name),
            transcript_hash,
        )
    )
    return _hkdf(algorithm, salt=LABEL, ikm=ikm, info=context, length=length)


def _hkdf(
    algorithm: hashes.HashAlgorithm, *, salt: bytes, ikm: bytes, info: bytes, length: int
) -> bytes:
    return HKDF(algorithm=algorithm, length=length, salt=salt, info=info).derive(ikm)
