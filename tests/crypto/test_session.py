"""Sessions: establishment (with and without QKD), traffic both ways, automatic rekeying."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qsafecity.city.vocabulary import Tier
from qsafecity.crypto import Profile, QKDKey, RekeyPolicy, ReplayWindow, Session, registry
from qsafecity.errors import CryptoError, PolicyViolation

from .keys_fixture import key_pair

REJECTED = r"^message rejected$"


class FakeClock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


def establish(
    profile: Profile = Profile.PQC,
    tier: Tier = Tier.ESPECIALLY_IMPORTANT,
    *,
    qkd: QKDKey | None = None,
    responder_qkd: QKDKey | None = None,
    policy: RekeyPolicy | None = None,
    clock: FakeClock | None = None,
    replay_width: int = 0,
    require_qkd: bool | None = None,
) -> tuple[Session, Session]:
    server, client = key_pair(profile), key_pair(profile, "client")
    lookup_key = responder_qkd or qkd
    clock = clock or FakeClock()
    initiator, handshake = Session.initiate(
        server.kem.public_key,
        service="traffic-lights",
        tier=tier,
        sequence=1,
        sender="node-3",
        sign_with=client.signing,
        qkd_key=qkd,
        policy=policy,
        clock=clock,
        replay_width=replay_width,
    )
    responder = Session.accept(
        handshake,
        server.kem,
        service="traffic-lights",
        tier=tier,
        replay=ReplayWindow(),
        sender="node-3",
        verify_with=client.signing.verifying_key,
        qkd_keys=None if lookup_key is None else (lambda key_id: lookup_key),
        require_qkd=require_qkd,
        policy=policy,
        clock=clock,
        replay_width=replay_width,
    )
    return initiator, responder


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages=st.lists(st.binary(max_size=1500), min_size=1, max_size=20))
def test_messages_round_trip_in_both_directions(messages: list[bytes]) -> None:
    initiator, responder = establish()
    for message in messages:
        assert responder.open(initiator.seal(message)) == message
        assert initiator.open(responder.seal(message[::-1])) == message[::-1]


@pytest.mark.parametrize("profile", list(Profile))
def test_both_sides_agree_on_the_session(profile: Profile) -> None:
    tier = Tier.CRITICAL if profile is Profile.CRITICAL else Tier.IMPORTANT
    initiator, responder = establish(profile, tier, require_qkd=False)
    assert initiator.session_id == responder.session_id
    assert initiator.profile is responder.profile is profile
    assert registry.canonical(registry.Role.KEY_EXCHANGE, responder.key_exchange) is not None
    assert "secret" not in repr(initiator).lower()


def test_rekeying_by_message_count_is_automatic() -> None:
    initiator, responder = establish(policy=RekeyPolicy(max_messages=3))
    epochs = []
    for index in range(10):
        assert responder.open(initiator.seal(b"%d" % index)) == b"%d" % index
        epochs.append(initiator.send_epoch)
    assert epochs == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3]
    assert responder.receive_epoch == 3


def test_rekeying_by_time_is_automatic() -> None:
    clock = FakeClock()
    initiator, responder = establish(policy=RekeyPolicy(max_age_s=60.0), clock=clock)
    responder.open(initiator.seal(b"a"))
    clock.now_s += 59.0
    responder.open(initiator.seal(b"b"))
    assert initiator.send_epoch == 0
    clock.now_s += 1.0
    responder.open(initiator.seal(b"c"))
    assert (initiator.send_epoch, responder.receive_epoch) == (1, 1)


def test_a_new_epoch_uses_a_new_key() -> None:
    initiator, responder = establish()
    first = initiator.seal(b"same")
    initiator.rekey()
    second = initiator.seal(b"same")
    assert first[32:] != second[32:]
    assert responder.open(second) == b"same"
    # The old epoch's key is gone once a newer epoch was authenticated (forward secrecy).
    with pytest.raises(CryptoError):
        responder.open(first)


def test_receiver_follows_skipped_epochs_within_the_limit() -> None:
    initiator, responder = establish(policy=RekeyPolicy(max_skipped_epochs=4))
    for _ in range(4):
        initiator.rekey()
    assert responder.open(initiator.seal(b"x")) == b"x"
    for _ in range(5):
        initiator.rekey()
    with pytest.raises(CryptoError):
        responder.open(initiator.seal(b"too far"))


def test_replay_reflection_and_tampering_are_rejected() -> None:
    initiator, responder = establish()
    message = initiator.seal(b"green")
    assert responder.open(message) == b"green"
    with pytest.raises(CryptoError, match=REJECTED):
        responder.open(message)  # replay
    with pytest.raises(CryptoError, match=REJECTED):
        initiator.open(initiator.seal(b"reflected"))  # sent back to its sender
    for position in range(0, len(message)):
        damaged = bytearray(initiator.seal(b"amber"))
        damaged[position] ^= 0x01
        with pytest.raises(CryptoError, match=REJECTED):
            responder.open(bytes(damaged))
    for garbage in (b"", b"QS", message[:47]):
        with pytest.raises(CryptoError):
            responder.open(garbage)


def test_reordering_is_rejected_by_default_and_tolerated_with_a_window() -> None:
    initiator, responder = establish()
    first, second = initiator.seal(b"1"), initiator.seal(b"2")
    responder.open(second)
    with pytest.raises(CryptoError):
        responder.open(first)
    initiator, responder = establish(replay_width=16)
    first, second = initiator.seal(b"1"), initiator.seal(b"2")
    assert (responder.open(second), responder.open(first)) == (b"2", b"1")


def test_forged_message_does_not_consume_a_sequence_number() -> None:
    initiator, responder = establish()
    message = initiator.seal(b"ok")
    damaged = bytearray(message)
    damaged[-1] ^= 0x80
    with pytest.raises(CryptoError):
        responder.open(bytes(damaged))
    assert responder.open(message) == b"ok"


def test_sessions_with_a_qkd_key_combine_it_into_the_root() -> None:
    qkd = QKDKey("etsi014-key-0001", os.urandom(32))
    initiator, responder = establish(Profile.CRITICAL, Tier.CRITICAL, qkd=qkd)
    assert initiator.qkd_key_id == responder.qkd_key_id == "etsi014-key-0001"
    assert registry.lookup(registry.Role.KEY_EXCHANGE, initiator.key_exchange).uses_qkd
    assert responder.open(initiator.seal(b"siren")) == b"siren"
    # The responder with a different QKD key under the same id derives a different session.
    wrong = QKDKey("etsi014-key-0001", os.urandom(32))
    initiator, responder = establish(Profile.CRITICAL, Tier.CRITICAL, qkd=qkd, responder_qkd=wrong)
    with pytest.raises(CryptoError):
        responder.open(initiator.seal(b"siren"))


def test_qkd_lookup_failures_and_requirements() -> None:
    server, client = key_pair(Profile.CRITICAL), key_pair(Profile.CRITICAL, "client")
    qkd = QKDKey("k-1", os.urandom(32))
    _, handshake = Session.initiate(
        server.kem.public_key,
        service="s",
        tier=Tier.CRITICAL,
        sequence=1,
        sign_with=client.signing,
        qkd_key=qkd,
    )

    def missing(key_id: str) -> QKDKey:
        raise KeyError(key_id)

    common = {"service": "s", "tier": Tier.CRITICAL, "verify_with": client.signing.verifying_key}
    for lookup in (None, missing, lambda key_id: QKDKey("other-id", os.urandom(32))):
        with pytest.raises(CryptoError):
            Session.accept(handshake, server.kem, replay=None, qkd_keys=lookup, **common)
    # The responder of a critical service demands QKD by default; PQC alone must be asked for.
    # The initiator refuses only when told to (the responder owns the policy).
    with pytest.raises(PolicyViolation, match="needs a QKD key"):
        Session.initiate(
            server.kem.public_key,
            service="s",
            tier=Tier.CRITICAL,
            sequence=2,
            sign_with=client.signing,
            require_qkd=True,
        )
    _, plain = Session.initiate(
        server.kem.public_key, service="s", tier=Tier.CRITICAL, sequence=2, sign_with=client.signing
    )
    with pytest.raises(PolicyViolation):
        Session.accept(plain, server.kem, replay=None, **common)
    Session.accept(plain, server.kem, replay=None, require_qkd=False, **common)
    # A lower tier may still demand it.
    pqc = key_pair(Profile.PQC)
    _, lower = Session.initiate(pqc.kem.public_key, service="s", tier=Tier.IMPORTANT, sequence=3)
    with pytest.raises(PolicyViolation):
        Session.accept(
            lower, pqc.kem, service="s", tier=Tier.IMPORTANT, replay=None, require_qkd=True
        )


def test_handshake_replay_and_message_kind_confusion_are_rejected() -> None:
    from qsafecity.crypto import open_sealed, seal

    server = key_pair(Profile.PQC)
    window = ReplayWindow()
    _, handshake = Session.initiate(
        server.kem.public_key, service="s", tier=Tier.IMPORTANT, sequence=1
    )
    Session.accept(handshake, server.kem, service="s", tier=Tier.IMPORTANT, replay=window)
    with pytest.raises(CryptoError):
        Session.accept(handshake, server.kem, service="s", tier=Tier.IMPORTANT, replay=window)
    # A handshake is not a sealed message, and a sealed message is not a handshake.
    with pytest.raises(CryptoError):
        open_sealed(handshake, server.kem, service="s", tier=Tier.IMPORTANT, replay=None)
    box = seal(os.urandom(32), server.kem.public_key, service="s", tier=Tier.IMPORTANT, sequence=5)
    with pytest.raises(CryptoError):
        Session.accept(box, server.kem, service="s", tier=Tier.IMPORTANT, replay=None)


def test_rekey_policy_rejects_nonsense() -> None:
    for arguments in ({"max_messages": 0}, {"max_age_s": 0.0}, {"max_skipped_epochs": 0}):
        with pytest.raises(ValueError, match="positive"):
            RekeyPolicy(**arguments)  # type: ignore[arg-type]


def test_a_sender_that_is_not_bursting_rekeys_exactly_on_time() -> None:
    clock = FakeClock()
    initiator, responder = establish(policy=RekeyPolicy(max_age_s=60.0), clock=clock)
    epochs = []
    for _ in range(130):  # one message a second: the clock is read at every message
        responder.open(initiator.seal(b"tick"))
        epochs.append(initiator.send_epoch)
        clock.now_s += 1.0
    assert epochs == [0] * 60 + [1] * 60 + [2] * 10
    assert responder.receive_epoch == 2


def test_a_bursting_sender_overruns_the_key_age_by_at_most_the_documented_bound() -> None:
    from qsafecity.crypto.session import CLOCK_CHECK_MAX_EVERY

    clock = FakeClock()
    initiator, responder = establish(policy=RekeyPolicy(max_age_s=60.0), clock=clock)
    for _ in range(1000):  # a burst: the clock does not move between messages
        responder.open(initiator.seal(b"burst"))
    assert initiator.send_epoch == 0
    clock.now_s += 60.0  # the key is now due; the burst goes on
    late = 0
    while initiator.send_epoch == 0:
        responder.open(initiator.seal(b"burst"))
        late += 1 if initiator.send_epoch == 0 else 0
    assert late <= CLOCK_CHECK_MAX_EVERY - 1
    # A fresh epoch starts by reading the clock again at every message.
    clock.now_s += 60.0
    initiator.seal(b"after a pause")
    assert initiator.send_epoch == 2


def test_expire_forgets_an_old_key_while_the_sender_is_idle() -> None:
    clock = FakeClock()
    initiator, responder = establish(policy=RekeyPolicy(max_age_s=60.0), clock=clock)
    old = initiator.seal(b"before")
    assert initiator.expire() is False
    clock.now_s += 61.0
    assert initiator.expire() is True
    assert initiator.send_epoch == 1
    assert responder.open(initiator.seal(b"after")) == b"after"
    with pytest.raises(CryptoError):
        responder.open(old)  # its epoch is gone on the receiver too


def test_sequence_numbers_run_on_across_epochs_and_nonces_never_repeat() -> None:
    initiator, responder = establish(policy=RekeyPolicy(max_messages=5))
    nonces = set()
    for index in range(40):
        message = initiator.seal(b"%d" % index)
        nonces.add(message[20:32])
        assert int.from_bytes(message[24:32], "big") == index
        assert responder.open(message) == b"%d" % index
    assert len(nonces) == 40
    assert initiator.send_epoch == 7


def test_a_session_refuses_to_seal_past_the_last_sequence_number() -> None:
    from qsafecity.crypto.replay import MAX_SEQUENCE

    clock = FakeClock()
    initiator, responder = establish(clock=clock)
    # White box: jump to the end of the 64-bit sequence space instead of sealing 2^64 messages.
    initiator._send_counter = MAX_SEQUENCE - 1
    initiator._arm_send(clock())
    for text in (b"second to last", b"last"):
        assert responder.open(initiator.seal(text)) == text
    for _ in range(2):
        with pytest.raises(CryptoError, match="exhausted"):
            initiator.seal(b"one too many")
