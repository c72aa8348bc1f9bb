"""The authentication cost counted by the QKD pipeline matches real signatures of the crypto layer."""

from __future__ import annotations

import pytest

from qsafecity.crypto import Profile, SigningKey
from qsafecity.errors import InputError
from qsafecity.qkd.authentication import (
    AUTHENTICATORS_PER_BLOCK,
    ML_DSA_SIGNATURE_BYTES,
    WEGMAN_CARTER_TAG_BITS,
    authentication_cost,
)


@pytest.mark.parametrize(
    ("profile", "method"), [(Profile.PQC, "ml-dsa-65"), (Profile.CRITICAL, "ml-dsa-87")]
)
def test_signature_sizes_are_those_of_the_crypto_layer(profile: Profile, method: str) -> None:
    # Sign a block transcript as the pipeline would: the counted bytes are the real signature's.
    signer = SigningKey.from_seed(profile, bytes(range(32)))
    signature = signer.sign(b"qkd block transcript digest", b"qsafecity/qkd/auth")
    assert len(signature) == ML_DSA_SIGNATURE_BYTES[method]
    cost = authentication_cost(method)
    assert cost.bytes_sent == AUTHENTICATORS_PER_BLOCK * len(signature)
    assert cost.key_bits == 0


def test_wegman_carter_consumes_key() -> None:
    cost = authentication_cost("wegman-carter")
    assert cost.key_bits == AUTHENTICATORS_PER_BLOCK * WEGMAN_CARTER_TAG_BITS


def test_unknown_method() -> None:
    with pytest.raises(InputError, match="unknown authentication"):
        authentication_cost("hmac-md5")
