"""The :class:`~qsafecity.live.protection.Protector` of the live city, over ``qsafecity.crypto``.

Streams are :class:`qsafecity.crypto.Session` objects: one signed handshake (HPKE with the
profile's hybrid KEM, sealed to the gateway's key; ML-DSA signature of the device), then one
AES-256-GCM call per reading, ratcheted forward by count and time. For the critical tier the
handshake names a QKD key id and both ends derive the session key with
:func:`qsafecity.crypto.combine_qkd_pqc` from the QKD key and the PQC secret (CatKDF).

The keys of every gateway and device of the simulated city live here, in one process; in a real
city each device holds its own signing key and each gateway its own KEM keys, and only public
keys are exchanged (enrolment).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Final

from qsafecity.city.vocabulary import Tier
from qsafecity.crypto import (
    KEMPrivateKey,
    Profile,
    QKDKey,
    RekeyPolicy,
    ReplayWindow,
    Session,
    SigningKey,
    inspect_sealed,
)
from qsafecity.crypto.sealed import Kind
from qsafecity.errors import CryptoError
from qsafecity.live.clock import Clock
from qsafecity.live.protection import HandshakeInfo

#: Session messages: "QS" ‖ version ‖ direction (3 or 4) ‖ session id (16) ‖ epoch (4) ‖ seq (8).
_STREAM_DIRECTIONS: Final = (3, 4)
_HEADER_BYTES: Final = 32
#: Readings may arrive out of order by this much (MQTT QoS 1 resends) without being refused.
REPLAY_WIDTH: Final = 256
#: Ratchet each stream forward after this many readings or simulated seconds.
REKEY: Final = RekeyPolicy(max_messages=1_000, max_age_s=30.0)


def _profile(critical: bool) -> Profile:
    return Profile.CRITICAL if critical else Profile.PQC


class _SessionStream:
    """A :class:`Session` seen through the stream protocols."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @property
    def session_id(self) -> bytes:
        return bytes(self._session.session_id)

    @property
    def qkd_key_id(self) -> str | None:
        return self._session.qkd_key_id

    def seal(self, plaintext: bytes) -> bytes:
        return self._session.seal(plaintext)

    def open(self, message: bytes) -> bytes:
        return self._session.open(message)


class CryptoProtector:
    """Keys of gateways and devices; streams through ``qsafecity.crypto`` sessions."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._gateway_keys: dict[tuple[str, Profile], KEMPrivateKey] = {}
        self._signing: dict[str, SigningKey] = {}
        self._lock = threading.Lock()

    def enrol_gateway(self, site: str) -> None:
        with self._lock:
            for profile in Profile:
                if (site, profile) not in self._gateway_keys:
                    self._gateway_keys[(site, profile)] = KEMPrivateKey.generate(profile)

    def enrol_sender(self, sender: str, *, critical: bool) -> None:
        with self._lock:
            if sender not in self._signing:
                self._signing[sender] = SigningKey.generate(_profile(critical))

    def signer_key_id(self, sender: str) -> bytes:
        return self._signing[sender].key_id

    def initiate(
        self,
        *,
        gateway_site: str,
        service: str,
        tier: Tier,
        sender: str,
        sequence: int,
        critical_profile: bool,
        sign_as: str | None,
        qkd_key_id: str | None,
        qkd_material: bytes | None,
    ) -> tuple[_SessionStream, bytes]:
        profile = _profile(critical_profile)
        qkd_key = (
            QKDKey(qkd_key_id, qkd_material)
            if qkd_key_id is not None and qkd_material is not None
            else None
        )
        session, handshake = Session.initiate(
            self._gateway_keys[(gateway_site, profile)].public_key,
            service=service,
            tier=tier,
            sequence=sequence,
            sender=sender,
            sign_with=self._signing[sign_as] if sign_as is not None else None,
            qkd_key=qkd_key,
            policy=REKEY,
            clock=self._clock.now_s,
            replay_width=REPLAY_WIDTH,
        )
        return _SessionStream(session), handshake

    def inspect(self, handshake: bytes) -> HandshakeInfo:
        header = inspect_sealed(handshake)
        if header.kind is not Kind.HANDSHAKE:
            raise CryptoError("message rejected")
        return HandshakeInfo(
            profile=header.profile.value,
            tier=header.tier,
            service=header.service,
            sender=header.sender,
            sequence=header.sequence,
            signer_key_id=header.signer_key_id,
            qkd_key_id=header.qkd_key_id,
        )

    def accept(
        self,
        handshake: bytes,
        *,
        gateway_site: str,
        service: str,
        tier: Tier,
        sender: str,
        signed_by: str | None,
        qkd_material: Callable[[str], bytes] | None,
        require_qkd: bool,
    ) -> _SessionStream:
        header = inspect_sealed(handshake)
        key = self._gateway_keys.get((gateway_site, header.profile))
        if key is None:
            raise CryptoError("message rejected")

        def qkd_keys(key_id: str) -> QKDKey:
            if qkd_material is None:
                raise CryptoError("message rejected")
            return QKDKey(key_id, qkd_material(key_id))

        session = Session.accept(
            handshake,
            key,
            service=service,
            tier=tier,
            replay=ReplayWindow(),
            sender=sender,
            verify_with=self._signing[signed_by].verifying_key if signed_by is not None else None,
            qkd_keys=qkd_keys,
            require_qkd=require_qkd,
            policy=REKEY,
            clock=self._clock.now_s,
            replay_width=REPLAY_WIDTH,
        )
        return _SessionStream(session)

    def stream_id(self, message: bytes) -> bytes | None:
        if len(message) < _HEADER_BYTES + 16 or message[:2] != b"QS":
            return None
        if message[3] not in _STREAM_DIRECTIONS:
            return None
        return bytes(message[4:20])

    def message_sequence(self, message: bytes) -> tuple[int, int] | None:
        if self.stream_id(message) is None:
            return None
        return (
            int.from_bytes(message[20:24], "big"),
            int.from_bytes(message[24:32], "big"),
        )
