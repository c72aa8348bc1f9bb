"""What authenticating the classical channel of a QKD block costs.

QKD is only secure over an authenticated classical channel. Each block's transcript (bases,
decoy and test data, Cascade parities, verification tag, Toeplitz seed) is authenticated once in
each direction before its key is used (delayed authentication, as in the post-processing stacks
of commercial systems), so the cost is two authenticators per block, whatever the number of
Cascade round trips:

* ``ml-dsa-44/65/87``: post-quantum signatures (FIPS 204). They consume no key, only bandwidth:
  the signature sizes are FIPS 204, Table 2 (2,420, 3,309 and 4,627 bytes). The crypto layer
  (``qsafecity.crypto``, ``SigningKey``) makes the ML-DSA-65 and ML-DSA-87 signatures; this pure
  module keeps the sizes as constants (it does no cryptography itself), and
  ``tests/qkd/test_authentication.py`` checks them against signatures made by the crypto layer;
* ``wegman-carter``: an information-theoretic MAC (Wegman and Carter, JCSS 22, 265 (1981)) whose
  tag is one-time-pad encrypted with fresh QKD key: each tag consumes ``tag_bits`` of key (the hash
  key itself is reusable when the tag is encrypted; Portmann, IEEE Trans. Inf. Theory 60, 4383
  (2014)). The default tag of 128 bits gives a forgery probability of about n/2^128 per block.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from qsafecity.errors import InputError

#: Signature sizes in bytes, FIPS 204 (August 2024), Table 2.
ML_DSA_SIGNATURE_BYTES: Final = {"ml-dsa-44": 2420, "ml-dsa-65": 3309, "ml-dsa-87": 4627}
#: Authenticators per block: one for each direction of the transcript.
AUTHENTICATORS_PER_BLOCK: Final = 2
#: Tag length of the Wegman-Carter MAC.
WEGMAN_CARTER_TAG_BITS: Final = 128


class AuthenticationMethod(StrEnum):
    """How the classical channel is authenticated."""

    ML_DSA_44 = "ml-dsa-44"
    ML_DSA_65 = "ml-dsa-65"
    ML_DSA_87 = "ml-dsa-87"
    WEGMAN_CARTER = "wegman-carter"


@dataclass(frozen=True, slots=True)
class AuthenticationCost:
    """Key consumed and bytes sent to authenticate one block."""

    method: AuthenticationMethod
    key_bits: int
    bytes_sent: int


def authentication_cost(method: AuthenticationMethod | str) -> AuthenticationCost:
    """The per-block cost of authenticating the classical channel with ``method``."""
    try:
        chosen = AuthenticationMethod(method)
    except ValueError:
        known = ", ".join(m.value for m in AuthenticationMethod)
        raise InputError(f"unknown authentication method {method!r}; known: {known}") from None
    if chosen is AuthenticationMethod.WEGMAN_CARTER:
        return AuthenticationCost(
            method=chosen,
            key_bits=AUTHENTICATORS_PER_BLOCK * WEGMAN_CARTER_TAG_BITS,
            bytes_sent=AUTHENTICATORS_PER_BLOCK * WEGMAN_CARTER_TAG_BITS // 8,
        )
    return AuthenticationCost(
        method=chosen,
        key_bits=0,
        bytes_sent=AUTHENTICATORS_PER_BLOCK * ML_DSA_SIGNATURE_BYTES[chosen.value],
    )
