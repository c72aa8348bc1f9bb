"""A test double of the ``Protector`` seam: it checks integrity with SHA-256 and encrypts nothing.

It exists so that the live city's plumbing (bus, gateways, storage, drills) is tested fast and
independently of the crypto layer; the product uses ``qsafecity.live.crypto_protection``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import struct
from collections.abc import Callable

from qsafecity.city.vocabulary import Tier
from qsafecity.errors import CryptoError, PolicyViolation
from qsafecity.live.protection import HandshakeInfo

_PREFIX = b"QS\x01"


def _tag(*parts: bytes) -> bytes:
    return hashlib.sha256(b"".join(parts)).digest()[:16]


class _FakeStream:
    def __init__(self, session_id: bytes, qkd_key_id: str | None, send: int, receive: int) -> None:
        self._session_id = session_id
        self._qkd_key_id = qkd_key_id
        self._send, self._receive = send, receive
        self._sequence = 0

    @property
    def session_id(self) -> bytes:
        return self._session_id

    @property
    def qkd_key_id(self) -> str | None:
        return self._qkd_key_id

    def seal(self, plaintext: bytes) -> bytes:
        head = (
            _PREFIX + bytes([self._send]) + self._session_id + struct.pack(">IQ", 0, self._sequence)
        )
        self._sequence += 1
        return head + plaintext + _tag(head, plaintext)

    def open(self, message: bytes) -> bytes:
        if len(message) < 48 or message[3] != self._receive or message[4:20] != self._session_id:
            raise CryptoError("message rejected")
        head, body, tag = message[:32], message[32:-16], message[-16:]
        if not hmac.compare_digest(tag, _tag(head, body)):
            raise CryptoError("message rejected")
        return body


class FakeProtector:
    def __init__(self) -> None:
        self.gateways: set[str] = set()
        self.signers: dict[str, bytes] = {}

    def enrol_gateway(self, site: str) -> None:
        self.gateways.add(site)

    def enrol_sender(self, sender: str, *, critical: bool) -> None:
        self.signers.setdefault(sender, os.urandom(16))

    def signer_key_id(self, sender: str) -> bytes:
        return self.signers[sender]

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
    ) -> tuple[_FakeStream, bytes]:
        session_id = os.urandom(16)
        header = {
            "profile": "critical" if critical_profile else "pqc",
            "tier": tier.value,
            "service": service,
            "sender": sender,
            "sequence": sequence,
            "signer": self.signers[sign_as].hex() if sign_as else None,
            "qkd": qkd_key_id,
            "session": session_id.hex(),
            "to": gateway_site,
        }
        body = json.dumps(header).encode()
        signature = _tag(self.signers[sign_as], body) if sign_as else b""
        return _FakeStream(session_id, qkd_key_id, 3, 4), b"HS" + body + b"\x00" + signature

    def _header(self, handshake: bytes) -> tuple[dict[str, object], bytes, bytes]:
        if not handshake.startswith(b"HS") or b"\x00" not in handshake:
            raise CryptoError("message rejected")
        body, _, signature = handshake[2:].partition(b"\x00")
        try:
            return json.loads(body), body, signature
        except ValueError:
            raise CryptoError("message rejected") from None

    def inspect(self, handshake: bytes) -> HandshakeInfo:
        header, _, _ = self._header(handshake)
        try:
            signer = header["signer"]
            return HandshakeInfo(
                profile=str(header["profile"]),
                tier=Tier(str(header["tier"])),
                service=str(header["service"]),
                sender=str(header["sender"]),
                sequence=int(str(header["sequence"])),
                signer_key_id=bytes.fromhex(str(signer)) if signer else None,
                qkd_key_id=str(header["qkd"]) if header["qkd"] else None,
            )
        except (KeyError, ValueError) as error:
            raise CryptoError("message rejected") from error

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
    ) -> _FakeStream:
        header, body, signature = self._header(handshake)
        info = self.inspect(handshake)
        if header["to"] != gateway_site or info.service != service or info.sender != sender:
            raise CryptoError("message rejected")
        if signed_by is not None and not hmac.compare_digest(
            signature, _tag(self.signers[signed_by], body)
        ):
            raise CryptoError("message rejected")
        if info.qkd_key_id is not None:
            if qkd_material is None:
                raise CryptoError("message rejected")
            qkd_material(info.qkd_key_id)
        elif require_qkd:
            raise PolicyViolation("QKD required")
        return _FakeStream(bytes.fromhex(str(header["session"])), info.qkd_key_id, 4, 3)

    def stream_id(self, message: bytes) -> bytes | None:
        if len(message) < 48 or not message.startswith(_PREFIX):
            return None
        return message[4:20]

    def message_sequence(self, message: bytes) -> tuple[int, int] | None:
        if len(message) < 48 or not message.startswith(_PREFIX):
            return None
        epoch, sequence = struct.unpack(">IQ", message[20:32])
        return epoch, sequence
