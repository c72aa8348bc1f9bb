"""Sealed messages: one-shot HPKE (RFC 9180) in a versioned wire format, optionally signed.

Wire format, version 2 (all integers big-endian)::

    offset size  field
    0      2     magic "QS"
    2      1     format version (2; version 1 is no longer opened)
    3      1     kind: 1 = sealed message, 2 = session handshake
    4      1     profile code (1 = pqc, 2 = critical)
    5      1     tier code (0 = important, 1 = especially important, 2 = critical)
    6      1     flags: bit 0 = signed, bit 1 = carries a QKD key id
    7      8     sequence number
    15     16    recipient key id (SHA-256 of the recipient's public key, first 16 bytes)
    31     1+n   service id (length byte, UTF-8, 1-255 bytes)
    .      1+n   sender id (length byte, UTF-8, 0-255 bytes)
    .      16    signer key id                       (only when signed)
    .      1+n   QKD key id (length byte, 1-255 bytes) (only with the QKD flag)
    ------       end of the header
    .      4     length of the body
    .      w     HPKE ciphertext (base mode, single shot) of a fresh 32-byte content key:
                 enc ‖ AES-256-GCM(key) ‖ tag; w = 1168 (pqc) or 1713 (critical)
    .      n+16  the payload: AES-256-GCM under the content key, nonce 0^96, AAD = HPKE info
    .      rest  ML-DSA signature over every byte before it (only when signed)

The whole header, prefixed by a domain label, is the HPKE ``info``: it enters the HPKE key
schedule, so a message whose service, tier, sender, sequence number, recipient or signer was
changed decrypts to nothing; the same bytes are the payload's AAD. HPKE carries a content key
rather than the payload itself so that the payload is encrypted straight into the message buffer
(``AESGCM.encrypt_into``): pyca's HPKE returns its ciphertext as a new object, and copying a
large one into a frame doubled the cost of sealing 1 MiB (docs/crypto.md). The content key is
used for exactly one payload, so its fixed nonce never repeats under a key.

The signature (FIPS 204 context ``qsafecity/sealed/v2``) covers the header and the body
(encrypt-then-sign); because the signer's key id is inside the HPKE ``info``, stripping the
signature and signing again with another key also breaks decryption.

:func:`open_sealed` checks everything and raises one opaque :class:`CryptoError`
("message rejected") on any failure, whatever the cause, so that a caller cannot serve as an
oracle; :func:`inspect_sealed` describes a message without opening it.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from qsafecity.city.vocabulary import Tier
from qsafecity.crypto.keys import KEMPrivateKey, KEMPublicKey, SigningKey, VerifyingKey
from qsafecity.crypto.profiles import (
    TIER_CODES,
    Profile,
    required_profile,
    satisfies,
    tier_from_code,
)
from qsafecity.crypto.replay import MAX_SEQUENCE, ReplayWindow
from qsafecity.errors import CryptoError, PolicyViolation

MAGIC: Final = b"QS"
FORMAT_VERSION: Final = 2
#: The FIPS 204 context string of message signatures.
SIGNATURE_CONTEXT: Final = b"qsafecity/sealed/v2"
#: Prefix of the HPKE ``info`` (and of the payload's AAD): separates this use of the key.
INFO_LABEL: Final = b"qsafecity/sealed/v2 "
#: Largest plaintext one sealed message carries (the length field allows 4 GiB; memory does not).
MAX_PLAINTEXT_BYTES: Final = 1 << 30

_FLAG_SIGNED: Final = 0x01
_FLAG_QKD: Final = 0x02
_FIXED: Final = struct.Struct(">2sBBBBBQ16s")
_LENGTH: Final = struct.Struct(">I")
_SIGNATURE_BYTES: Final[dict[Profile, int]] = {Profile.PQC: 3309, Profile.CRITICAL: 4627}
#: The one-time content key that HPKE carries, and the AES-256-GCM tag.
_CONTENT_KEY_BYTES: Final = 32
_TAG_BYTES: Final = 16
#: The content key encrypts exactly one payload, so a fixed nonce is safe.
_PAYLOAD_NONCE: Final = bytes(12)
#: Size of the HPKE ciphertext of the content key: enc ‖ key ‖ tag.
_WRAPPED_BYTES: Final = {
    profile: profile.spec.hpke_kem.enc_length() + _CONTENT_KEY_BYTES + _TAG_BYTES
    for profile in Profile
}
_REJECTED: Final = "message rejected"
#: One HPKE suite object per profile, made once (they are immutable).
_SUITES: Final = {profile: profile.spec.hpke_suite() for profile in Profile}
#: The policy facts the sealing path asks for every message, looked up once.
_SATISFIES: Final = frozenset((p, t) for p in Profile for t in Tier if satisfies(p, t))
_REQUIRES_SIGNATURE: Final = frozenset(p for p in Profile if p.spec.requires_signature)


class Kind(IntEnum):
    """What a sealed message carries."""

    MESSAGE = 1
    HANDSHAKE = 2


@dataclass(frozen=True, slots=True)
class SealedHeader:
    """The public, authenticated part of a sealed message (safe to log)."""

    kind: Kind
    profile: Profile
    tier: Tier
    sequence: int
    recipient_key_id: bytes
    service: str
    sender: str
    signer_key_id: bytes | None
    qkd_key_id: str | None
    header_bytes: bytes = field(repr=False)
    message: bytes = field(repr=False)
    ciphertext_start: int = field(repr=False)
    ciphertext_end: int = field(repr=False)

    @property
    def signed(self) -> bool:
        return self.signer_key_id is not None

    @property
    def ciphertext(self) -> bytes:
        """The HPKE ciphertext (``enc`` ‖ AEAD ciphertext)."""
        return self.message[self.ciphertext_start : self.ciphertext_end]

    @property
    def signature(self) -> bytes | None:
        return self.message[self.ciphertext_end :] if self.signed else None

    @property
    def signed_bytes(self) -> bytes:
        """The bytes the signature covers: header, ciphertext length and ciphertext."""
        return self.message[: self.ciphertext_end]

    def describe(self) -> dict[str, str | int | bool]:
        """What an operator may see: no plaintext, no key material."""
        spec = self.profile.spec
        described: dict[str, str | int | bool] = {
            "kind": self.kind.name.lower(),
            "format_version": FORMAT_VERSION,
            "profile": self.profile.value,
            "kem": spec.kem_name,
            "aead": spec.cipher_name,
            "kdf": spec.kdf_name,
            "tier": self.tier.value,
            "service": self.service,
            "sender": self.sender,
            "sequence": self.sequence,
            "recipient_key": self.recipient_key_id.hex(),
            "signed": self.signed,
            "ciphertext_bytes": self.ciphertext_end - self.ciphertext_start,
        }
        if self.signer_key_id is not None:
            described["signature"] = spec.signature_name
            described["signer_key"] = self.signer_key_id.hex()
        if self.qkd_key_id is not None:
            described["qkd_key_id"] = self.qkd_key_id
        return described


@dataclass(frozen=True, slots=True)
class Opened:
    """An opened message: the plaintext and the authenticated header it came with."""

    plaintext: bytes = field(repr=False)
    header: SealedHeader
    signature_verified: bool


@functools.lru_cache(maxsize=4096)
def _encode_id(text: str, what: str, *, allow_empty: bool) -> bytes:
    """``len ‖ UTF-8``; cached, since a sender seals under the same few ids again and again."""
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str, got {type(text).__name__}")
    raw = text.encode("utf-8")
    if len(raw) > 255 or (not raw and not allow_empty):
        raise ValueError(f"{what} must be {0 if allow_empty else 1}-255 bytes of UTF-8")
    return bytes([len(raw)]) + raw


def _build_header(
    *,
    kind: Kind,
    profile: Profile,
    tier: Tier,
    sequence: int,
    recipient_key_id: bytes,
    service: str,
    sender: str,
    signer_key_id: bytes | None,
    qkd_key_id: str | None,
) -> bytes:
    """The header bytes (see the module docstring); ``ValueError`` for out-of-range fields."""
    if not 0 <= sequence <= MAX_SEQUENCE:
        raise ValueError(f"sequence must be in [0, 2^64), got {sequence}")
    flags = (_FLAG_SIGNED if signer_key_id is not None else 0) | (
        _FLAG_QKD if qkd_key_id is not None else 0
    )
    parts = [
        _FIXED.pack(
            MAGIC,
            FORMAT_VERSION,
            kind,
            profile.code,
            TIER_CODES[tier],
            flags,
            sequence,
            recipient_key_id,
        ),
        _encode_id(service, "service id", allow_empty=False),
        _encode_id(sender, "sender id", allow_empty=True),
    ]
    if signer_key_id is not None:
        parts.append(signer_key_id)
    if qkd_key_id is not None:
        parts.append(_encode_id(qkd_key_id, "QKD key id", allow_empty=False))
    return b"".join(parts)


def _seal_frame(
    plaintext: bytes,
    to: KEMPublicKey,
    *,
    kind: Kind,
    service: str,
    tier: Tier,
    sequence: int,
    sender: str,
    sign_with: SigningKey | None,
    qkd_key_id: str | None = None,
) -> tuple[bytearray, bytes]:
    """Seal and return ``(message, header_bytes)``; the building block of sessions too."""
    profile = to.profile
    if (profile, tier) not in _SATISFIES:
        raise PolicyViolation(
            f"a {tier.value} service needs the {required_profile(tier).value} profile; "
            f"the recipient key is {profile.value}"
        )
    if sign_with is None and profile in _REQUIRES_SIGNATURE:
        raise PolicyViolation(f"the {profile.value} profile demands a signed sender")
    if sign_with is not None and sign_with.profile is not profile:
        raise PolicyViolation(
            f"a {profile.value} message is signed with {profile.spec.signature_name}, "
            f"not {sign_with.algorithm}"
        )
    if len(plaintext) > MAX_PLAINTEXT_BYTES:
        raise ValueError(f"plaintext longer than {MAX_PLAINTEXT_BYTES} bytes")
    header = _build_header(
        kind=kind,
        profile=profile,
        tier=tier,
        sequence=sequence,
        recipient_key_id=to.key_id,
        service=service,
        sender=sender,
        signer_key_id=None if sign_with is None else sign_with.key_id,
        qkd_key_id=qkd_key_id,
    )
    info = INFO_LABEL + header
    content_key = AESGCM.generate_key(256)
    wrapped = _SUITES[profile].encrypt(content_key, to._hpke, info)
    # One buffer for the whole message: the payload is encrypted into place, never copied.
    body_bytes = len(wrapped) + len(plaintext) + _TAG_BYTES
    start = len(header) + _LENGTH.size
    end = start + body_bytes
    message = bytearray(end + (0 if sign_with is None else _SIGNATURE_BYTES[profile]))
    message[: len(header)] = header
    _LENGTH.pack_into(message, len(header), body_bytes)
    payload_start = start + len(wrapped)
    message[start:payload_start] = wrapped
    view = memoryview(message)
    AESGCM(content_key).encrypt_into(_PAYLOAD_NONCE, plaintext, info, view[payload_start:end])
    if sign_with is not None:
        # External mu over the message in place: no copy of a large message.
        view[end:] = sign_with.sign_parts((view[:end],), SIGNATURE_CONTEXT)
    return message, header


def seal(
    plaintext: bytes,
    to: KEMPublicKey,
    *,
    service: str,
    tier: Tier,
    sequence: int,
    sender: str = "",
    sign_with: SigningKey | None = None,
) -> bytearray:
    """Seal ``plaintext`` for the holder of ``to``, bound to service, tier, sender and sequence.

    The message is returned as the ``bytearray`` it was built in, so that a large payload is
    encrypted into place and never copied (``bytes(message)`` makes an immutable copy).

    Raises :class:`PolicyViolation` when the key's profile is weaker than ``tier`` demands, or
    when the profile demands a signature and ``sign_with`` is missing or of another profile.

    >>> from qsafecity.crypto import KeyPair, Profile, ReplayWindow
    >>> alice = KeyPair.generate(Profile.PQC)
    >>> box = seal(b"22.5 C", alice.kem.public_key, service="air-1", tier=Tier.IMPORTANT,
    ...            sequence=1)
    >>> open_sealed(box, alice.kem, service="air-1", tier=Tier.IMPORTANT,
    ...             replay=ReplayWindow()).plaintext
    b'22.5 C'
    """
    message, _ = _seal_frame(
        plaintext,
        to,
        kind=Kind.MESSAGE,
        service=service,
        tier=tier,
        sequence=sequence,
        sender=sender,
        sign_with=sign_with,
    )
    return message


def inspect_sealed(message: bytes | bytearray) -> SealedHeader:
    """Parse a sealed message without opening it; :class:`CryptoError` when it is malformed."""
    data = bytes(message)
    try:
        magic, version, kind, profile_code, tier_code, flags, sequence, recipient = (
            _FIXED.unpack_from(data, 0)
        )
        if magic != MAGIC or version != FORMAT_VERSION or flags & ~(_FLAG_SIGNED | _FLAG_QKD):
            raise ValueError("not a sealed message of a known version")
        message_kind = Kind(kind)
        profile = Profile.from_code(profile_code)
        tier = tier_from_code(tier_code)
        offset = _FIXED.size
        service, offset = _read_id(data, offset, allow_empty=False)
        sender, offset = _read_id(data, offset, allow_empty=True)
        signer: bytes | None = None
        if flags & _FLAG_SIGNED:
            signer = data[offset : offset + 16]
            if len(signer) != 16:
                raise ValueError("truncated")
            offset += 16
        qkd_key_id: str | None = None
        if flags & _FLAG_QKD:
            qkd_key_id, offset = _read_id(data, offset, allow_empty=False)
        header_bytes = data[:offset]
        (length,) = _LENGTH.unpack_from(data, offset)
        start = offset + _LENGTH.size
        end = start + length
        if length < _WRAPPED_BYTES[profile] + _TAG_BYTES:
            raise ValueError("ciphertext too short")
        expected_rest = _SIGNATURE_BYTES[profile] if signer is not None else 0
        if len(data) != end + expected_rest:
            raise ValueError("wrong length")
    except (ValueError, struct.error, UnicodeDecodeError) as error:
        raise CryptoError("not a well-formed qsafecity sealed message") from error
    return SealedHeader(
        message_kind,
        profile,
        tier,
        sequence,
        recipient,
        service,
        sender,
        signer,
        qkd_key_id,
        header_bytes,
        data,
        start,
        end,
    )


def _read_id(data: bytes, offset: int, *, allow_empty: bool) -> tuple[str, int]:
    if offset >= len(data):
        raise ValueError("truncated")
    length = data[offset]
    raw = data[offset + 1 : offset + 1 + length]
    if len(raw) != length or (length == 0 and not allow_empty):
        raise ValueError("truncated or empty id")
    return raw.decode("utf-8"), offset + 1 + length


def _open_frame(
    message: bytes | bytearray,
    key: KEMPrivateKey,
    *,
    kind: Kind,
    service: str,
    tier: Tier,
    replay: ReplayWindow | None,
    sender: str | None,
    verify_with: VerifyingKey | None,
) -> Opened:
    """Check and open; every failure raises the same :class:`CryptoError`."""
    try:
        header = inspect_sealed(message)
    except CryptoError:
        raise CryptoError(_REJECTED) from None
    profile = header.profile
    checks = (
        header.kind is kind,
        header.service == service,
        header.tier is tier,
        sender is None or header.sender == sender,
        satisfies(profile, tier),  # no downgrade below the tier's profile
        profile is key.profile,
        header.recipient_key_id == key.key_id,
        header.signed or not (profile.spec.requires_signature or verify_with is not None),
    )
    if not all(checks):
        raise CryptoError(_REJECTED)
    verified = False
    if header.signed:
        if verify_with is None:
            if profile.spec.requires_signature:
                raise CryptoError(_REJECTED)
        else:
            if verify_with.profile is not profile or verify_with.key_id != header.signer_key_id:
                raise CryptoError(_REJECTED)
            # Memoryviews: a large message is hashed and decrypted in place, never copied.
            view = memoryview(header.message)
            try:
                verify_with.verify(
                    view[header.ciphertext_end :], view[: header.ciphertext_end], SIGNATURE_CONTEXT
                )
            except CryptoError:
                raise CryptoError(_REJECTED) from None
            verified = True
    if replay is not None and not replay.is_fresh(header.sequence):
        raise CryptoError(_REJECTED)
    info = INFO_LABEL + header.header_bytes
    view = memoryview(header.message)
    payload_start = header.ciphertext_start + _WRAPPED_BYTES[profile]
    try:
        content_key = _SUITES[profile].decrypt(
            view[header.ciphertext_start : payload_start], key._hpke, info
        )
        if len(content_key) != _CONTENT_KEY_BYTES:
            raise ValueError("not a content key")
        plaintext = AESGCM(content_key).decrypt(
            _PAYLOAD_NONCE, view[payload_start : header.ciphertext_end], info
        )
    except (InvalidTag, ValueError):
        raise CryptoError(_REJECTED) from None
    if replay is not None:
        replay.record(header.sequence)
    return Opened(plaintext, header, verified)


def open_sealed(
    message: bytes | bytearray,
    key: KEMPrivateKey,
    *,
    service: str,
    tier: Tier,
    replay: ReplayWindow | None,
    sender: str | None = None,
    verify_with: VerifyingKey | None = None,
) -> Opened:
    """Open a message sealed by :func:`seal`, checking everything it claims.

    It must be addressed to ``key``, for ``service`` and ``tier`` (and ``sender`` if given),
    under a profile at least as strong as the tier demands, signed by ``verify_with`` when given
    or when the profile demands it, and fresh in ``replay`` (pass ``None`` only where replays do
    not matter). Any failure raises :class:`CryptoError` with the same message.
    """
    return _open_frame(
        message,
        key,
        kind=Kind.MESSAGE,
        service=service,
        tier=tier,
        replay=replay,
        sender=sender,
        verify_with=verify_with,
    )
