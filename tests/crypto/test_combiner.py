"""The QKD + PQC combiner: determinism, binding to every input, and either secret sufficing."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsafecity.crypto import Profile, QKDKey, combine_qkd_pqc

SECRET = st.binary(min_size=16, max_size=64)


@settings(deadline=None)  # the machine is shared: time per example varies
@given(qkd=SECRET, pqc=SECRET, transcript=st.binary(max_size=64))
def test_same_inputs_same_key_and_each_input_matters(
    qkd: bytes, pqc: bytes, transcript: bytes
) -> None:
    key = combine_qkd_pqc(qkd, "id-1", pqc, transcript=transcript)
    assert key == combine_qkd_pqc(qkd, "id-1", pqc, transcript=transcript)
    variants = [
        combine_qkd_pqc(bytes([qkd[0] ^ 1]) + qkd[1:], "id-1", pqc, transcript=transcript),
        combine_qkd_pqc(qkd, "id-2", pqc, transcript=transcript),
        combine_qkd_pqc(qkd, "id-1", bytes([pqc[0] ^ 1]) + pqc[1:], transcript=transcript),
        combine_qkd_pqc(qkd, "id-1", pqc, transcript=transcript + b"x"),
        combine_qkd_pqc(qkd, "id-1", pqc, transcript=transcript, pqc_id="kem-2"),
        combine_qkd_pqc(qkd, "id-1", pqc, transcript=transcript, profile=Profile.PQC),
    ]
    assert len({key, *variants}) == 1 + len(variants)


def test_secret_boundaries_are_unambiguous() -> None:
    # Moving a byte from one secret to the other must change the key (length-prefixed inputs).
    qkd, pqc = bytes(range(32)), bytes(range(32, 64))
    moved = combine_qkd_pqc(qkd + pqc[:1], "k", pqc[1:], transcript=b"")
    assert moved != combine_qkd_pqc(qkd, "k", pqc, transcript=b"")


def test_either_secret_alone_leaves_the_key_unknown() -> None:
    """An attacker who knows one secret and guesses the other gets an unrelated key.

    (A test of the property's consequence, not a proof: docs/crypto.md argues the proof.)
    """
    qkd, pqc = os.urandom(32), os.urandom(32)
    key = combine_qkd_pqc(qkd, "k", pqc, transcript=b"t")
    guesses = {combine_qkd_pqc(qkd, "k", os.urandom(32), transcript=b"t") for _ in range(64)}
    guesses |= {combine_qkd_pqc(os.urandom(32), "k", pqc, transcript=b"t") for _ in range(64)}
    assert key not in guesses


def test_lengths_and_ids_are_validated() -> None:
    with pytest.raises(ValueError, match="qkd_key"):
        combine_qkd_pqc(b"short", "k", os.urandom(32), transcript=b"")
    with pytest.raises(ValueError, match="pqc_secret"):
        combine_qkd_pqc(os.urandom(32), "k", b"", transcript=b"")
    with pytest.raises(ValueError, match="key ids"):
        combine_qkd_pqc(os.urandom(32), "", os.urandom(32), transcript=b"")
    assert (
        len(combine_qkd_pqc(os.urandom(32), "k", os.urandom(32), transcript=b"", length=48)) == 48
    )


def test_qkd_key_value_validates_and_redacts() -> None:
    key = QKDKey("abc", b"\x11" * 32)
    assert "11" * 8 not in repr(key)
    assert "256" in repr(key)
    with pytest.raises(ValueError, match="material"):
        QKDKey("abc", b"\x00" * 8)
    with pytest.raises(ValueError, match="key id"):
        QKDKey("", b"\x00" * 32)


def test_qkd_key_from_an_etsi014_entry() -> None:
    import base64

    from qsafecity.errors import KeyManagementError

    material = os.urandom(32)
    entry = {
        "key_ID": "550e8400-e29b-41d4-a716-446655440000",
        "key": base64.b64encode(material).decode(),
    }
    key = QKDKey.from_etsi014(entry)
    assert (key.key_id, key.material) == (entry["key_ID"], material)
    for bad in (
        {"key_ID": "k"},
        {"key_ID": 5, "key": "AAAA"},
        {"key_ID": "k", "key": "!!"},
        {"key_ID": "k", "key": base64.b64encode(b"short").decode()},
    ):
        with pytest.raises(KeyManagementError):
            QKDKey.from_etsi014(bad)
