"""The seam between the live city and the cryptography that protects its traffic.

A sensor opens a *stream* to the gateway of its receiving site with a handshake (one KEM exchange,
signed by the sender, naming a QKD key id for the critical tier) and then seals each reading with
one AEAD call; the gateway accepts the handshake and opens the readings. What each tier gets:

================== ============================================================================
tier               protection of the stream
================== ============================================================================
critical           ``critical`` profile (ML-KEM-1024 + P-384, ML-DSA-87, AES-256-GCM) and the
                   session key combined from a QKD key (by key id from the KMEs) and the PQC
                   secret; without a QKD route: the same profile without the QKD key, and a
                   critical alert (the response policy: PQC, never classical)
especially imp.    ``pqc`` profile (X-Wing = ML-KEM-768 + X25519, ML-DSA-65, AES-256-GCM), signed
important          ``pqc`` profile, signed when its manifest names a signature (the crypto layer
                   offers nothing weaker than hybrid PQC, so "as the manifest says" never means
                   classical)
================== ============================================================================

:class:`Protector` is implemented over ``qsafecity.crypto`` (``qsafecity.live.crypto_protection``);
everything else in the live city sees only this protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from qsafecity.city.vocabulary import Tier


@dataclass(frozen=True, slots=True)
class HandshakeInfo:
    """The public header of a handshake, readable without opening it (safe to log)."""

    profile: str
    tier: Tier
    service: str
    sender: str
    sequence: int
    signer_key_id: bytes | None
    qkd_key_id: str | None


class StreamSender(Protocol):
    """The sensor's end of a stream."""

    @property
    def session_id(self) -> bytes: ...

    def seal(self, plaintext: bytes) -> bytes: ...

    def open(self, message: bytes) -> bytes: ...


class StreamReceiver(Protocol):
    """The gateway's end of a stream."""

    @property
    def session_id(self) -> bytes: ...

    @property
    def qkd_key_id(self) -> str | None: ...

    def open(self, message: bytes) -> bytes: ...

    def seal(self, plaintext: bytes) -> bytes: ...


class Protector(Protocol):
    """Keys of every gateway and sender, and the stream operations of the crypto layer."""

    def enrol_gateway(self, site: str) -> None:
        """Give the gateway at ``site`` its KEM key pairs (one per profile)."""

    def enrol_sender(self, sender: str, *, critical: bool) -> None:
        """Give ``sender`` a signing key; the gateways trust it for that sender id only."""

    def signer_key_id(self, sender: str) -> bytes:
        """The key id of the signing key enrolled for ``sender``."""

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
    ) -> tuple[StreamSender, bytes]:
        """Start a stream; return it and the handshake to publish.

        ``tier`` is the tier claimed in the handshake; ``sign_as`` names the enrolled key that
        signs it (``None``: unsigned); with ``qkd_key_id`` the session key combines that QKD key.
        """

    def inspect(self, handshake: bytes) -> HandshakeInfo:
        """Read a handshake's public header; ``CryptoError`` when it is not one."""

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
    ) -> StreamReceiver:
        """Accept a handshake after every check; ``CryptoError``/``PolicyViolation`` otherwise."""

    def stream_id(self, message: bytes) -> bytes | None:
        """The session id a stream message names, or ``None`` when it is no stream message."""

    def message_sequence(self, message: bytes) -> tuple[int, int] | None:
        """(epoch, sequence) of a stream message, or ``None`` when it is no stream message."""
