"""Sealing of key material at rest under the KME's key-encryption key (KEK).

This is the one place the key management layer calls pyca directly. It should move behind
``qsafecity.crypto`` (the project's crypto recipes) once that package lands on main; the sealed
format below is versioned so that the move can re-read what was written.

Format: ``version (1 byte, 0x01) || nonce (12 bytes) || AES-256-GCM(ciphertext || tag)``, with the
record's identity (link and block index, or key id) as associated data, so a sealed value copied
to another row does not open.
"""

from __future__ import annotations

import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from qsafecity.errors import CryptoError

_VERSION: Final = b"\x01"
_NONCE_BYTES: Final = 12
KEK_BYTES: Final = 32


class KeyWrapper:
    """Seals and opens key material with AES-256-GCM under one KEK."""

    __slots__ = ("_aead",)

    def __init__(self, kek: bytes) -> None:
        if len(kek) != KEK_BYTES:
            raise ValueError(f"the key-encryption key must be {KEK_BYTES} bytes")
        self._aead = AESGCM(kek)

    def __repr__(self) -> str:
        return "KeyWrapper(<KEK redacted>)"

    @classmethod
    def generate(cls) -> KeyWrapper:
        return cls(AESGCM.generate_key(bit_length=256))

    def seal(self, material: bytes, context: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, material, _VERSION + context)

    def open(self, sealed: bytes, context: bytes) -> bytes:
        if len(sealed) < 1 + _NONCE_BYTES + 16 or sealed[:1] != _VERSION:
            raise CryptoError("sealed key material is malformed")
        nonce = sealed[1 : 1 + _NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, sealed[1 + _NONCE_BYTES :], _VERSION + context)
        except InvalidTag:
            raise CryptoError("sealed key material does not open under this KEK") from None
