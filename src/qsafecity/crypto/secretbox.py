"""Symmetric sealing of secrets at rest (e.g. a KME's key store) under one 256-bit key.

Format, version 1: ``0x01 ‖ nonce (12 bytes) ‖ AES-256-GCM(plaintext) ‖ tag (16 bytes)``, with
``0x01 ‖ context`` as associated data, so that a sealed value copied to another record (another
context, e.g. another key id) does not open. This is byte for byte the format the key management
service's ``KeyWrapper`` wrote before this package existed, so a store written by it stays
readable through :class:`SecretBox`.

Nonces are random (96 bits from the :class:`RandomSource`): NIST SP 800-38D §8.3 allows 2^32
messages under one key with random nonces; rotate the key well before that.
"""

from __future__ import annotations

from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from qsafecity.crypto.entropy import OSRandom, RandomSource
from qsafecity.errors import CryptoError

VERSION: Final = b"\x01"
KEY_BYTES: Final = 32
_NONCE_BYTES: Final = 12
_TAG_BYTES: Final = 16


class SecretBox:
    """AES-256-GCM with random nonces and a context bound in; ``repr`` hides the key."""

    __slots__ = ("_aead", "_rng")

    def __init__(self, key: bytes, rng: RandomSource | None = None) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"a SecretBox key must be {KEY_BYTES} bytes, got {len(key)}")
        self._aead = AESGCM(bytes(key))
        self._rng = rng if rng is not None else OSRandom()

    @classmethod
    def generate(cls, rng: RandomSource | None = None) -> tuple[SecretBox, bytes]:
        """A box with a fresh key; returns the box and the key (to be stored somewhere safe)."""
        source = rng if rng is not None else OSRandom()
        key = source.random_bytes(KEY_BYTES)
        return cls(key, source), key

    def __repr__(self) -> str:
        return "SecretBox(key=<redacted>)"

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        """Encrypt ``plaintext`` bound to ``context`` (the record's identity)."""
        nonce = self._rng.random_bytes(_NONCE_BYTES)
        return VERSION + nonce + self._aead.encrypt(nonce, plaintext, VERSION + context)

    def open(self, sealed: bytes, context: bytes) -> bytes:
        """Decrypt; :class:`CryptoError` when malformed, of another context or another key."""
        if len(sealed) < 1 + _NONCE_BYTES + _TAG_BYTES or sealed[:1] != VERSION:
            raise CryptoError("sealed secret is malformed")
        nonce = sealed[1 : 1 + _NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, sealed[1 + _NONCE_BYTES :], VERSION + context)
        except InvalidTag:
            raise CryptoError("sealed secret does not open under this key and context") from None
