"""SecretBox: round trips, context binding, and the documented byte format."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from qsafecity.crypto import SecretBox
from qsafecity.errors import CryptoError


@settings(deadline=None)  # the machine is shared: time per example varies
@given(plaintext=st.binary(max_size=512), context=st.binary(max_size=64))
def test_round_trip_and_context_binding(plaintext: bytes, context: bytes) -> None:
    box, _ = SecretBox.generate()
    sealed = box.seal(plaintext, context)
    assert box.open(sealed, context) == plaintext
    with pytest.raises(CryptoError):
        box.open(sealed, context + b"x")


def test_format_is_version_nonce_gcm_with_versioned_context() -> None:
    key = os.urandom(32)
    sealed = SecretBox(key).seal(b"qkd key material", b"link-7/block-3")
    assert sealed[:1] == b"\x01"
    nonce = sealed[1:13]
    opened = AESGCM(key).decrypt(nonce, sealed[13:], b"\x01" + b"link-7/block-3")
    assert opened == b"qkd key material"
    # And the other way round: a value written by hand in that format opens.
    written = b"\x01" + nonce + AESGCM(key).encrypt(nonce, b"old store", b"\x01ctx")
    assert SecretBox(key).open(written, b"ctx") == b"old store"


def test_rejections_and_redaction() -> None:
    box, key = SecretBox.generate()
    sealed = box.seal(b"secret", b"c")
    for bad in (b"", sealed[:20], b"\x02" + sealed[1:], sealed[:-1] + bytes([sealed[-1] ^ 1])):
        with pytest.raises(CryptoError):
            box.open(bad, b"c")
    with pytest.raises(CryptoError):
        SecretBox(os.urandom(32)).open(sealed, b"c")
    assert key.hex() not in repr(box)
    with pytest.raises(ValueError, match="32 bytes"):
        SecretBox(b"short")
