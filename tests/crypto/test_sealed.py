"""Sealed messages: round trips, and rejection of every change, replay and downgrade."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qsafecity.city.vocabulary import Tier
from qsafecity.crypto import (
    Profile,
    ReplayWindow,
    inspect_sealed,
    open_sealed,
    required_profile,
    seal,
)
from qsafecity.crypto.sealed import SIGNATURE_CONTEXT
from qsafecity.errors import CryptoError, PolicyViolation

from .keys_fixture import key_pair

REJECTED = r"^message rejected$"

TIERS_BY_PROFILE = {
    Profile.PQC: [Tier.IMPORTANT, Tier.ESPECIALLY_IMPORTANT],
    Profile.CRITICAL: [Tier.IMPORTANT, Tier.ESPECIALLY_IMPORTANT, Tier.CRITICAL],
}


def sealed_pair(
    profile: Profile,
    tier: Tier,
    plaintext: bytes = b"reading",
    sequence: int = 7,
    sender: str = "sensor-1",
) -> bytearray:
    pair = key_pair(profile)
    return seal(
        plaintext,
        pair.kem.public_key,
        service="water-1",
        tier=tier,
        sequence=sequence,
        sender=sender,
        sign_with=pair.signing,
    )


def open_pair(
    message: bytes | bytearray, profile: Profile, at_tier: Tier, **overrides: object
) -> bytes:
    pair = key_pair(profile)
    arguments: dict[str, object] = {
        "service": "water-1",
        "tier": at_tier,
        "replay": ReplayWindow(),
        "sender": "sensor-1",
        "verify_with": pair.signing.verifying_key,
    }
    arguments.update(overrides)
    return open_sealed(message, pair.kem, **arguments).plaintext  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    plaintext=st.binary(max_size=2048),
    profile=st.sampled_from(list(Profile)),
    tier_index=st.integers(0, 2),
    sequence=st.integers(0, 2**64 - 1),
    sender=st.text(max_size=40),
)
def test_open_of_seal_is_identity(
    plaintext: bytes, profile: Profile, tier_index: int, sequence: int, sender: str
) -> None:
    tiers = TIERS_BY_PROFILE[profile]
    tier = tiers[tier_index % len(tiers)]
    message = sealed_pair(profile, tier, plaintext, sequence, sender)
    assert open_pair(message, profile, tier, sender=sender) == plaintext


@pytest.mark.parametrize("profile", list(Profile))
def test_every_single_bit_flip_is_rejected(profile: Profile) -> None:
    tier = Tier.ESPECIALLY_IMPORTANT
    message = sealed_pair(profile, tier, plaintext=b"x" * 16)
    # Every byte of the header and ciphertext, and a sample of the (long) signature, each bit.
    header = inspect_sealed(message)
    covered = len(header.signed_bytes)
    positions = list(range(covered)) + list(range(covered, len(message), 97))
    for position in positions:
        for bit in range(8) if position < 64 else (position % 8,):
            damaged = bytearray(message)
            damaged[position] ^= 1 << bit
            with pytest.raises(CryptoError, match=REJECTED):
                open_pair(bytes(damaged), profile, tier)


@pytest.mark.parametrize(
    "overrides",
    [{"service": "water-2"}, {"tier": Tier.IMPORTANT}, {"sender": "sensor-2"}],
    ids=["service", "tier", "sender"],
)
def test_wrong_context_is_rejected(overrides: dict[str, object]) -> None:
    message = sealed_pair(Profile.PQC, Tier.ESPECIALLY_IMPORTANT)
    with pytest.raises(CryptoError, match=REJECTED):
        open_pair(message, Profile.PQC, Tier.ESPECIALLY_IMPORTANT, **overrides)


def test_wrong_recipient_and_wrong_signer_are_rejected() -> None:
    message = sealed_pair(Profile.PQC, Tier.IMPORTANT)
    other = key_pair(Profile.PQC, "other")
    with pytest.raises(CryptoError, match=REJECTED):
        open_sealed(
            message, other.kem, service="water-1", tier=Tier.IMPORTANT, replay=ReplayWindow()
        )
    with pytest.raises(CryptoError, match=REJECTED):
        open_pair(message, Profile.PQC, Tier.IMPORTANT, verify_with=other.signing.verifying_key)


def test_replay_and_reordering_are_rejected() -> None:
    window = ReplayWindow()
    first = sealed_pair(Profile.PQC, Tier.IMPORTANT, sequence=5)
    older = sealed_pair(Profile.PQC, Tier.IMPORTANT, sequence=4)
    assert open_pair(first, Profile.PQC, Tier.IMPORTANT, replay=window) == b"reading"
    for message in (first, older):
        with pytest.raises(CryptoError, match=REJECTED):
            open_pair(message, Profile.PQC, Tier.IMPORTANT, replay=window)
    assert window.highest == 5


def test_a_forged_message_does_not_advance_the_replay_window() -> None:
    window = ReplayWindow()
    forged = bytearray(sealed_pair(Profile.PQC, Tier.IMPORTANT, sequence=9))
    forged[-1] ^= 1
    with pytest.raises(CryptoError):
        open_pair(bytes(forged), Profile.PQC, Tier.IMPORTANT, replay=window)
    assert window.highest is None


def test_downgrade_is_rejected_when_sealing_and_when_opening() -> None:
    pqc = key_pair(Profile.PQC)
    with pytest.raises(PolicyViolation):
        seal(
            b"alarm",
            pqc.kem.public_key,
            service="fire-1",
            tier=Tier.CRITICAL,
            sequence=1,
            sign_with=pqc.signing,
        )
    # A message sealed under pqc and relabelled critical by an attacker is refused on opening,
    # whatever key the receiver holds: the profile byte says pqc, the tier demands critical.
    message = bytearray(sealed_pair(Profile.PQC, Tier.ESPECIALLY_IMPORTANT))
    message[5] = 2  # tier code: critical
    for profile in Profile:
        with pytest.raises(CryptoError, match=REJECTED):
            open_pair(bytes(message), profile, Tier.CRITICAL)
    assert required_profile(Tier.CRITICAL) is Profile.CRITICAL


def test_critical_profile_demands_a_signature() -> None:
    critical = key_pair(Profile.CRITICAL)
    with pytest.raises(PolicyViolation):
        seal(b"alarm", critical.kem.public_key, service="fire-1", tier=Tier.CRITICAL, sequence=1)
    with pytest.raises(PolicyViolation):
        seal(
            b"alarm",
            critical.kem.public_key,
            service="fire-1",
            tier=Tier.CRITICAL,
            sequence=1,
            sign_with=key_pair(Profile.PQC).signing,
        )
    message = sealed_pair(Profile.CRITICAL, Tier.CRITICAL)
    with pytest.raises(CryptoError, match=REJECTED):
        open_pair(message, Profile.CRITICAL, Tier.CRITICAL, verify_with=None)


def test_stripping_the_signature_and_re_signing_breaks_the_message() -> None:
    pair, attacker = key_pair(Profile.PQC), key_pair(Profile.PQC, "attacker")
    message = sealed_pair(Profile.PQC, Tier.IMPORTANT)
    header = inspect_sealed(message)
    forged = header.signed_bytes + attacker.signing.sign(header.signed_bytes, SIGNATURE_CONTEXT)
    with pytest.raises(CryptoError, match=REJECTED):
        open_sealed(
            forged,
            pair.kem,
            service="water-1",
            tier=Tier.IMPORTANT,
            replay=ReplayWindow(),
            verify_with=attacker.signing.verifying_key,
        )


def test_unsigned_pqc_message_round_trips_and_a_verifier_demands_a_signature() -> None:
    pair = key_pair(Profile.PQC)
    message = seal(
        b"open data", pair.kem.public_key, service="park-1", tier=Tier.IMPORTANT, sequence=0
    )
    opened = open_sealed(
        message, pair.kem, service="park-1", tier=Tier.IMPORTANT, replay=ReplayWindow()
    )
    assert (opened.plaintext, opened.signature_verified) == (b"open data", False)
    with pytest.raises(CryptoError):
        open_sealed(
            message,
            pair.kem,
            service="park-1",
            tier=Tier.IMPORTANT,
            replay=ReplayWindow(),
            verify_with=pair.signing.verifying_key,
        )


@pytest.mark.parametrize(
    "message",
    [b"", b"QS", b"QS\x02", b"\x00" * 40, b"QS\x03" + bytes(60), b"garbage" * 1000],
    ids=["empty", "magic", "version", "zeros", "future-version", "garbage"],
)
def test_malformed_messages_are_rejected_opaquely(message: bytes) -> None:
    with pytest.raises(CryptoError, match=REJECTED):
        open_pair(message, Profile.PQC, Tier.IMPORTANT)
    with pytest.raises(CryptoError, match="not a well-formed"):
        inspect_sealed(message)


def test_every_truncation_is_rejected() -> None:
    message = sealed_pair(Profile.PQC, Tier.IMPORTANT)
    for length in list(range(0, 200)) + list(range(200, len(message), 211)):
        with pytest.raises(CryptoError, match=REJECTED):
            open_pair(message[:length], Profile.PQC, Tier.IMPORTANT)
    with pytest.raises(CryptoError):
        open_pair(message + b"\x00", Profile.PQC, Tier.IMPORTANT)


def test_header_describes_without_secrets() -> None:
    message = sealed_pair(Profile.CRITICAL, Tier.CRITICAL, plaintext=b"TOP-SECRET")
    described = inspect_sealed(message).describe()
    assert described["profile"] == "critical"
    assert described["signature"] == "ML-DSA-87"
    assert "TOP-SECRET" not in repr(described)


@pytest.mark.parametrize(
    ("field", "value"),
    [("service", ""), ("service", "x" * 256), ("sequence", -1), ("sequence", 2**64)],
)
def test_out_of_range_fields_raise_value_error(field: str, value: object) -> None:
    pair = key_pair(Profile.PQC)
    arguments: dict[str, object] = {"service": "s", "tier": Tier.IMPORTANT, "sequence": 1}
    arguments[field] = value
    with pytest.raises(ValueError, match=field.replace("service", "service id")):
        seal(b"", pair.kem.public_key, **arguments)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), profile=st.sampled_from(list(Profile)))
def test_a_bit_flipped_anywhere_is_rejected(data: st.DataObject, profile: Profile) -> None:
    message = sealed_pair(profile, Tier.IMPORTANT, plaintext=b"meter 42", sequence=3)
    position = data.draw(st.integers(0, len(message) - 1), label="byte")
    bit = data.draw(st.integers(0, 7), label="bit")
    damaged = bytearray(message)
    damaged[position] ^= 1 << bit
    with pytest.raises(CryptoError, match=REJECTED):
        open_pair(bytes(damaged), profile, Tier.IMPORTANT)


def test_only_the_current_format_version_opens() -> None:
    message = sealed_pair(Profile.PQC, Tier.IMPORTANT)
    assert message[2] == 2
    for version in (0, 1, 3, 255):
        older = bytearray(message)
        older[2] = version
        with pytest.raises(CryptoError, match=REJECTED):
            open_pair(older, Profile.PQC, Tier.IMPORTANT)


def test_seal_returns_the_buffer_it_built_and_open_takes_bytes_or_bytearray() -> None:
    message = sealed_pair(Profile.PQC, Tier.IMPORTANT, plaintext=b"flow=3.2")
    assert isinstance(message, bytearray)
    assert open_pair(message, Profile.PQC, Tier.IMPORTANT) == b"flow=3.2"
    assert open_pair(bytes(message), Profile.PQC, Tier.IMPORTANT) == b"flow=3.2"


@pytest.mark.parametrize("profile", list(Profile))
def test_large_messages_round_trip(profile: Profile) -> None:
    tier = Tier.CRITICAL if profile is Profile.CRITICAL else Tier.IMPORTANT
    payload = bytes(range(256)) * 4096 + b"tail"
    assert open_pair(sealed_pair(profile, tier, plaintext=payload), profile, tier) == payload


def test_payloads_cannot_be_swapped_between_messages() -> None:
    """The content key encrypts one payload only: a payload moved to another message fails."""
    first = sealed_pair(Profile.PQC, Tier.IMPORTANT, plaintext=b"A" * 64, sequence=1)
    second = sealed_pair(Profile.PQC, Tier.IMPORTANT, plaintext=b"B" * 64, sequence=1)
    header = inspect_sealed(first)
    tail = 3309 + 64 + 16  # signature, payload and its tag
    mixed = first[: len(first) - tail] + second[len(second) - tail : len(second) - 3309]
    mixed += first[len(first) - 3309 :]
    assert len(mixed) == len(first)
    assert header.signed
    with pytest.raises(CryptoError, match=REJECTED):
        open_pair(mixed, Profile.PQC, Tier.IMPORTANT)
    # Even unsigned (no signature to break), the payload does not open under another key.
    pair = key_pair(Profile.PQC)
    plain = [
        seal(text, pair.kem.public_key, service="water-1", tier=Tier.IMPORTANT, sequence=1)
        for text in (b"A" * 64, b"B" * 64)
    ]
    mixed = plain[0][:-80] + plain[1][-80:]
    with pytest.raises(CryptoError, match=REJECTED):
        open_sealed(mixed, pair.kem, service="water-1", tier=Tier.IMPORTANT, replay=None)
