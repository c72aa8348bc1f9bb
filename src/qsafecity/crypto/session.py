"""Sessions for high-rate traffic: one KEM exchange, then one AEAD call per message.

The initiator draws a 32-byte session secret and seals it to the responder in a *handshake*, a
sealed message (``qsafecity.crypto.sealed``, kind 2) bound to service, tier, sender and a handshake
sequence number, signed when the profile demands it. Both sides then derive the root key:

* without QKD: ``root = HKDF(salt = "qsafecity/session/v1", ikm = secret, info = H(handshake))``;
* with a QKD key (critical tier): ``root = combine_qkd_pqc(k_QKD, key_id, secret, transcript =
  handshake)`` (``qsafecity.crypto.combiner``); the handshake names the QKD key id, and the responder
  fetches the same key from its key management service.

From the root, each direction gets its own chain key; epoch ``e`` of a direction encrypts with
``K_e = HKDF-Expand(chain_e, "key")`` (AES-256-GCM) and the chain moves on with
``chain_{e+1} = HKDF-Expand(chain_e, "next")``. The sender ratchets to the next epoch after
``max_messages`` messages or ``max_age_s`` seconds (its clock is injected), and forgets the old
keys, so a key stolen later does not open earlier traffic. The age is checked by reading the
clock at every message, except while the sender bursts: then at checkpoints up to
:data:`CLOCK_CHECK_MAX_EVERY` messages apart, so a key outlives its age by at most that many
messages minus one (:meth:`Session._send_due`); :meth:`Session.expire` rekeys an idle sender.
The receiver follows the epoch number in each message (at most ``max_skipped_epochs`` ahead)
and forgets older epochs once a message of a newer one has been authenticated.

Session message, 48 bytes of overhead::

    prefix (20): "QS" ‖ version 2 ‖ direction (3 = initiator→responder, 4 = back) ‖ session id (16)
    nonce  (12): epoch (4) ‖ sequence number (8)      -- unique per key, never repeats
    AES-256-GCM ciphertext and tag (no AAD)

The prefix needs no AAD: the key is unique to the session and the direction, so a message with a
changed prefix either fails the prefix check or meets the wrong key; GCM authenticates the nonce.
(An AAD would cost pyca about 0.1 µs per message, a tenth of the AEAD call at 1 KiB.) The
sender keeps the nonce as one integer (epoch ‖ sequence) and compares it with one limit that
stands for both the count ratchet and the next clock checkpoint, so the common path is one
comparison, one ``int.to_bytes`` and one AES-GCM call.

Every failure to open raises the same :class:`CryptoError`; replayed sequence numbers are refused
by a :class:`ReplayWindow` kept per direction.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

from qsafecity.city.vocabulary import Tier
from qsafecity.crypto.combiner import QKDKey, combine_qkd_pqc
from qsafecity.crypto.entropy import OSRandom, RandomSource
from qsafecity.crypto.keys import KEMPrivateKey, KEMPublicKey, SigningKey, VerifyingKey
from qsafecity.crypto.profiles import Profile
from qsafecity.crypto.replay import MAX_SEQUENCE, ReplayWindow
from qsafecity.crypto.sealed import FORMAT_VERSION, MAGIC, Kind, _open_frame, _seal_frame
from qsafecity.errors import CryptoError, PolicyViolation

SESSION_LABEL: Final = b"qsafecity/session/v1"
SESSION_SECRET_BYTES: Final = 32
_TO_RESPONDER: Final = 3
_TO_INITIATOR: Final = 4
_NONCE_BYTES: Final = 12
_PREFIX_BYTES: Final = 20
_BODY_START: Final = _PREFIX_BYTES + _NONCE_BYTES
_COPY_LIMIT_BYTES: Final = 64 * 1024
_OVERHEAD: Final = _PREFIX_BYTES + _NONCE_BYTES + 16
_MAX_EPOCH: Final = 2**32 - 1
#: While a sender bursts, it reads its clock at most this many times less often (docs/crypto.md).
CLOCK_CHECK_MAX_EVERY: Final = 64
#: Messages closer together than this count as a burst.
CLOCK_CHECK_BURST_S: Final = 0.01
_REJECTED: Final = "message rejected"

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class RekeyPolicy:
    """When the sender moves to a new epoch key, and how far a receiver follows."""

    max_messages: int = 1 << 20
    max_age_s: float = 600.0
    max_skipped_epochs: int = 1024

    def __post_init__(self) -> None:
        if self.max_messages < 1 or self.max_age_s <= 0 or self.max_skipped_epochs < 1:
            raise ValueError("rekey limits must be positive")


def _expand(algorithm: hashes.HashAlgorithm, key: bytes, info: bytes, length: int) -> bytes:
    return HKDFExpand(algorithm=algorithm, length=length, info=info).derive(key)


@dataclass(slots=True)
class _Direction:
    """One direction's key chain; only the current epoch's chain key and AEAD are kept."""

    algorithm: hashes.HashAlgorithm
    chain: bytes = field(repr=False)
    epoch: int = 0
    aead: AESGCM = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.aead = AESGCM(_expand(self.algorithm, self.chain, SESSION_LABEL + b" key", 32))

    def step(self, chain: bytes) -> bytes:
        return _expand(self.algorithm, chain, SESSION_LABEL + b" next", len(chain))

    def advance_to(self, epoch: int, chain: bytes) -> None:
        self.epoch = epoch
        self.chain = chain
        self.aead = AESGCM(_expand(self.algorithm, chain, SESSION_LABEL + b" key", 32))


class Session:
    """An established session: :meth:`seal` and :meth:`open` messages in both directions.

    Create one with :meth:`initiate` (which also returns the handshake to send) or :meth:`accept`
    (on the receiving side of a handshake). Not safe for concurrent use from several threads.

    >>> from qsafecity.crypto import KeyPair, Profile, ReplayWindow
    >>> gateway = KeyPair.generate(Profile.PQC)
    >>> sensor, hello = Session.initiate(gateway.kem.public_key, service="air-1",
    ...                                  tier=Tier.IMPORTANT, sender="sensor-7", sequence=1)
    >>> server = Session.accept(hello, gateway.kem, service="air-1", tier=Tier.IMPORTANT,
    ...                         replay=ReplayWindow())
    >>> server.open(sensor.seal(b"pm2.5=12"))
    b'pm2.5=12'
    """

    # Slots: the per-message paths read these attributes, and slots make each read cheaper.
    __slots__ = (
        "_clock",
        "_receive",
        "_receive_aead",
        "_receive_epoch",
        "_receive_prefix",
        "_replay",
        "_send",
        "_send_aead",
        "_send_check_every",
        "_send_checked_s",
        "_send_counter",
        "_send_deadline_s",
        "_send_epoch",
        "_send_limit",
        "_send_prefix",
        "_send_rekey_at",
        "policy",
        "profile",
        "qkd_key_id",
        "session_id",
    )

    def __init__(
        self,
        *,
        root: bytes,
        profile: Profile,
        initiator: bool,
        qkd_key_id: str | None,
        policy: RekeyPolicy,
        clock: Clock,
        replay_width: int,
    ) -> None:
        algorithm = profile.spec.hash_algorithm
        self.profile: Final = profile
        self.qkd_key_id: Final = qkd_key_id
        self.policy: Final = policy
        self._clock = clock
        self.session_id: Final = _expand(algorithm, root, SESSION_LABEL + b" id", 16)
        to_responder = _expand(algorithm, root, SESSION_LABEL + b" initiator->responder", 32)
        to_initiator = _expand(algorithm, root, SESSION_LABEL + b" responder->initiator", 32)
        header = MAGIC + bytes([FORMAT_VERSION])
        out_code, in_code = (
            (_TO_RESPONDER, _TO_INITIATOR) if initiator else (_TO_INITIATOR, _TO_RESPONDER)
        )
        self._send_prefix = header + bytes([out_code]) + self.session_id
        self._receive_prefix = header + bytes([in_code]) + self.session_id
        self._send = _Direction(algorithm, to_responder if initiator else to_initiator)
        self._send_counter = 0  # the next nonce as an integer: epoch (32 bits) ‖ sequence (64)
        self._arm_send(self._clock())
        self._receive = _Direction(algorithm, to_initiator if initiator else to_responder)
        self._receive_epoch = 0
        self._receive_aead = self._receive.aead
        self._replay = ReplayWindow(replay_width)

    def __repr__(self) -> str:
        return (
            f"Session(profile={self.profile.value}, id={self.session_id.hex()}, "
            f"send_epoch={self.send_epoch}, receive_epoch={self.receive_epoch}, "
            f"qkd={'yes' if self.qkd_key_id else 'no'})"
        )

    # --- establishment -------------------------------------------------------------------------

    @classmethod
    def initiate(
        cls,
        peer: KEMPublicKey,
        *,
        service: str,
        tier: Tier,
        sequence: int,
        sender: str = "",
        sign_with: SigningKey | None = None,
        qkd_key: QKDKey | None = None,
        require_qkd: bool = False,
        rng: RandomSource | None = None,
        policy: RekeyPolicy | None = None,
        clock: Clock = time.monotonic,
        replay_width: int = 0,
    ) -> tuple[Session, bytes]:
        """Start a session with the holder of ``peer``; send the returned handshake to it.

        ``sequence`` numbers this handshake among the sender's handshakes (the responder's replay
        window refuses a repeated one). With ``qkd_key`` the root key combines QKD and PQC.
        ``require_qkd=True`` refuses to start without one. The rule that critical services
        combine a QKD key is enforced by the responder (:meth:`accept`), which owns the policy.
        """
        if qkd_key is None and require_qkd:
            raise PolicyViolation(f"this {tier.value} session needs a QKD key")
        source = rng if rng is not None else OSRandom()
        secret = source.random_bytes(SESSION_SECRET_BYTES)
        frame, _ = _seal_frame(
            secret,
            peer,
            kind=Kind.HANDSHAKE,
            service=service,
            tier=tier,
            sequence=sequence,
            sender=sender,
            sign_with=sign_with,
            qkd_key_id=None if qkd_key is None else qkd_key.key_id,
        )
        handshake = bytes(frame)  # small: an immutable copy costs nothing worth saving
        root = _root(peer.profile, secret, handshake, peer.fingerprint, qkd_key)
        session = cls(
            root=root,
            profile=peer.profile,
            initiator=True,
            qkd_key_id=None if qkd_key is None else qkd_key.key_id,
            policy=policy or RekeyPolicy(),
            clock=clock,
            replay_width=replay_width,
        )
        return session, handshake

    @classmethod
    def accept(
        cls,
        handshake: bytes,
        key: KEMPrivateKey,
        *,
        service: str,
        tier: Tier,
        replay: ReplayWindow | None,
        sender: str | None = None,
        verify_with: VerifyingKey | None = None,
        qkd_keys: Callable[[str], QKDKey] | None = None,
        require_qkd: bool | None = None,
        policy: RekeyPolicy | None = None,
        clock: Clock = time.monotonic,
        replay_width: int = 0,
    ) -> Session:
        """Accept a handshake made by :meth:`initiate`; every check of ``open_sealed`` applies.

        ``qkd_keys`` looks up a QKD key by id (e.g. from the KMS); it is needed when the handshake
        names one, and ``require_qkd`` (default: what the tier demands, i.e. yes for critical
        services) refuses a handshake that names none. A lookup that fails
        should raise; its error is reported as a rejected handshake.
        """
        opened = _open_frame(
            handshake,
            key,
            kind=Kind.HANDSHAKE,
            service=service,
            tier=tier,
            replay=None,
            sender=sender,
            verify_with=verify_with,
        )
        header = opened.header
        if len(opened.plaintext) != SESSION_SECRET_BYTES:
            raise CryptoError(_REJECTED)
        qkd_key: QKDKey | None = None
        if header.qkd_key_id is not None:
            if qkd_keys is None:
                raise CryptoError(_REJECTED)
            try:
                qkd_key = qkd_keys(header.qkd_key_id)
            except Exception as error:
                raise CryptoError(_REJECTED) from error
            if qkd_key.key_id != header.qkd_key_id:
                raise CryptoError(_REJECTED)
        elif _qkd_required(tier, require_qkd):
            raise PolicyViolation("this service demands a QKD key in the session handshake")
        if replay is not None:
            # Recorded only now that the handshake is authenticated and complete.
            replay.record(header.sequence)
        root = _root(key.profile, opened.plaintext, bytes(handshake), key.fingerprint, qkd_key)
        return cls(
            root=root,
            profile=key.profile,
            initiator=False,
            qkd_key_id=header.qkd_key_id,
            policy=policy or RekeyPolicy(),
            clock=clock,
            replay_width=replay_width,
        )

    # --- traffic -------------------------------------------------------------------------------

    @property
    def key_exchange(self) -> str:
        """The registry name (``qsafecity.algorithms``) of how this session's key was agreed."""
        if self.qkd_key_id is None:
            return self.profile.spec.kem_name
        return "QKD+ML-KEM-1024" if self.profile is Profile.CRITICAL else "QKD+ML-KEM-768"

    @property
    def send_epoch(self) -> int:
        return self._send_epoch

    @property
    def receive_epoch(self) -> int:
        return self._receive_epoch

    @property
    def _send_sequence(self) -> int:
        """The sequence number of the next message sent (it runs on across epochs)."""
        return self._send_counter - (self._send_epoch << 64)

    def rekey(self) -> None:
        """Move the sending direction to the next epoch now (it also happens automatically)."""
        sequence = self._send_sequence
        if self._send.epoch >= _MAX_EPOCH or sequence > MAX_SEQUENCE:
            raise CryptoError("session exhausted: start a new one")
        self._send.advance_to(self._send.epoch + 1, self._send.step(self._send.chain))
        self._send_counter = (self._send.epoch << 64) + sequence
        self._arm_send(self._clock())

    def expire(self) -> bool:
        """Rekey now if the current sending key is past its age; True when it did.

        :meth:`seal` ratchets lazily, when it next sends; a sender that may fall silent for long
        can call this from its timer so that an expired key is forgotten even while idle.
        """
        if self._clock() >= self._send_deadline_s:
            self.rekey()
            return True
        return False

    def _arm_send(self, now_s: float) -> None:
        """Start an epoch: cache its state in flat attributes, which the hot path reads alone."""
        self._send_epoch = self._send.epoch
        self._send_aead = self._send.aead
        self._send_rekey_at = min(self._send_sequence + self.policy.max_messages, MAX_SEQUENCE + 1)
        self._send_deadline_s = now_s + self.policy.max_age_s
        self._send_checked_s = now_s
        self._send_check_every = 1
        # The next message reads the clock (the epoch may have been armed long before it).
        self._set_send_limit(self._send_sequence)

    def _set_send_limit(self, next_check: int) -> None:
        """The counter at which :meth:`seal` leaves its fast path next: to rekey or read the clock."""
        self._send_limit = (self._send_epoch << 64) + min(self._send_rekey_at, next_check)

    def _send_due(self) -> int:
        """The slow path of :meth:`seal`: read the clock, rekey when due; the counter to use.

        The clock is read at a checkpoint every ``k`` messages. ``k`` is 1 at the start of each
        epoch and doubles (up to :data:`CLOCK_CHECK_MAX_EVERY`) while the ``k`` messages since the
        last reading were all sealed within :data:`CLOCK_CHECK_BURST_S`, else falls back to 1. A
        sender that is not bursting thus reads the clock at every message and rekeys exactly on
        time; a bursting one saves the clock call on most messages, and a key outlives its
        ``max_age_s`` by at most ``CLOCK_CHECK_MAX_EVERY - 1`` messages (docs/crypto.md).
        """
        now_s = self._clock()
        sequence = self._send_sequence
        if sequence >= self._send_rekey_at or now_s >= self._send_deadline_s:
            self.rekey()  # re-arms the epoch; raises when the session is exhausted
            return self._send_counter
        if now_s - self._send_checked_s < CLOCK_CHECK_BURST_S:
            self._send_check_every = min(self._send_check_every * 2, CLOCK_CHECK_MAX_EVERY)
        else:
            self._send_check_every = 1
        self._send_checked_s = now_s
        self._set_send_limit(sequence + self._send_check_every)
        return self._send_counter

    def seal(self, plaintext: bytes) -> bytes:
        """Encrypt one message to the peer (one AES-256-GCM call; rekeys when due)."""
        counter = self._send_counter
        if counter >= self._send_limit:
            counter = self._send_due()
        self._send_counter = counter + 1
        nonce = counter.to_bytes(12)  # epoch (4) ‖ sequence (8), big-endian
        # prefix ‖ nonce ‖ ciphertext, built in one allocation.
        return nonce.join((self._send_prefix, self._send_aead.encrypt(nonce, plaintext, None)))

    def open(self, message: bytes) -> bytes:
        """Decrypt one message from the peer; :class:`CryptoError` on any failure or replay."""
        size = len(message)
        if size < _OVERHEAD or not message.startswith(self._receive_prefix):
            raise CryptoError(_REJECTED)
        nonce = message[_PREFIX_BYTES:_BODY_START]
        counter = int.from_bytes(nonce)  # big-endian: epoch (4) ‖ sequence (8)
        sequence = counter & MAX_SEQUENCE
        replay = self._replay
        highest = replay._highest
        if sequence <= highest and not replay.is_fresh(sequence):
            raise CryptoError(_REJECTED)
        epoch = counter >> 64
        if epoch == self._receive_epoch:
            aead, chain = self._receive_aead, None
        else:
            aead, chain = self._receive_ahead(epoch)
        try:
            # A slice copy is cheaper than a memoryview for small messages, dearer for large.
            body = (
                message[_BODY_START:]
                if size < _COPY_LIMIT_BYTES
                else memoryview(message)[_BODY_START:]
            )
            plaintext = aead.decrypt(nonce, body, None)
        except InvalidTag:
            raise CryptoError(_REJECTED) from None
        if chain is not None:
            self._receive.advance_to(epoch, chain)
            self._receive_epoch = epoch
            self._receive_aead = self._receive.aead
        if sequence == highest + 1 and not replay.width:
            replay._highest = sequence  # the common case of a strict window, inline
        else:
            replay.record(sequence)
        return plaintext

    def _receive_ahead(self, epoch: int) -> tuple[AESGCM, bytes]:
        """The key of a later epoch (not yet adopted: only once a message authenticates)."""
        receive = self._receive
        if not receive.epoch < epoch <= receive.epoch + self.policy.max_skipped_epochs:
            raise CryptoError(_REJECTED)
        chain = receive.chain
        for _ in range(epoch - receive.epoch):
            chain = receive.step(chain)
        return AESGCM(_expand(receive.algorithm, chain, SESSION_LABEL + b" key", 32)), chain


def _qkd_required(tier: Tier, require_qkd: bool | None) -> bool:
    """Critical services combine a QKD key unless the caller explicitly allows PQC alone."""
    return tier is Tier.CRITICAL if require_qkd is None else require_qkd


def _root(
    profile: Profile,
    secret: bytes,
    handshake: bytes,
    recipient_fingerprint: str,
    qkd_key: QKDKey | None,
) -> bytes:
    algorithm = profile.spec.hash_algorithm
    if qkd_key is not None:
        return combine_qkd_pqc(
            qkd_key.material,
            qkd_key.key_id,
            secret,
            transcript=handshake,
            pqc_id=recipient_fingerprint,
            profile=profile,
            length=algorithm.digest_size,
        )
    transcript_hash = hashlib.new(algorithm.name, handshake).digest()
    return HKDF(
        algorithm=algorithm, length=algorithm.digest_size, salt=SESSION_LABEL, info=transcript_hash
    ).derive(secret)
