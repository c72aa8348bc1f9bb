"""The bytes of a TLS 1.3 ClientHello probe and a defensive parser of what a server answers (pure).

Why our own probe: the maintained scanners (sslyze 6.3, nassl) are built on an OpenSSL that knows no
ML-KEM group, so they cannot tell whether a server accepts X25519MLKEM768 and friends
(``REFERENCE.md`` §8). The technique: a TLS 1.3 ClientHello (RFC 8446 §4.1.2) that offers only the
group under test in ``supported_groups`` and an *empty* ``key_share``. A server that supports the
group cannot finish the handshake without a share, so it must answer with a HelloRetryRequest whose
``key_share`` extension names the group (RFC 8446 §4.1.4, §4.2.8); a server that does not support it
answers with a ``handshake_failure`` alert (or another alert). No key material is ever generated, so
this module needs no cryptography at all.

Everything a server sends is treated as hostile: every length is checked against what is left, and
any inconsistency becomes a :class:`ServerAnswer` of kind ``MALFORMED`` instead of an exception.
"""

from __future__ import annotations

import ipaddress
import os
import struct
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

#: TLS named groups (IANA "TLS Supported Groups" registry) by the registry's canonical name.
#: The hybrid code points are from draft-ietf-tls-ecdhe-mlkem; the pure ML-KEM ones from
#: draft-ietf-tls-mlkem.
GROUP_CODES: Final[dict[str, int]] = {
    "X25519MLKEM768": 0x11EC,
    "SecP256r1MLKEM768": 0x11EB,
    "SecP384r1MLKEM1024": 0x11ED,
    "ML-KEM-768": 0x0201,
    "ML-KEM-1024": 0x0202,
    "X25519": 0x001D,
    "ECDHE-P256": 0x0017,
    "ECDHE-P384": 0x0018,
    "ECDHE-P521": 0x0019,
    "X448": 0x001E,
    "DH-2048": 0x0100,
    "DH-3072": 0x0101,
    "DH-4096": 0x0102,
}
GROUP_NAMES: Final[dict[int, str]] = {code: name for name, code in GROUP_CODES.items()}

#: The groups the scanner cannot learn from Python's ssl (system OpenSSL 3.0) and always probes.
POST_QUANTUM_GROUPS: Final[tuple[str, ...]] = (
    "X25519MLKEM768",
    "SecP256r1MLKEM768",
    "SecP384r1MLKEM1024",
    "ML-KEM-768",
    "ML-KEM-1024",
)
#: Classical groups probed the same way (TLS 1.3 servers), so that one technique reports all.
CLASSICAL_GROUPS: Final[tuple[str, ...]] = (
    "X25519",
    "ECDHE-P256",
    "ECDHE-P384",
    "ECDHE-P521",
    "X448",
    "DH-2048",
    "DH-3072",
    "DH-4096",
)

#: TLS 1.3 cipher suites (RFC 8446 §B.4) and the registry's name of their AEAD.
TLS13_CIPHER_SUITES: Final[dict[int, str]] = {
    0x1301: "TLS_AES_128_GCM_SHA256",
    0x1302: "TLS_AES_256_GCM_SHA384",
    0x1303: "TLS_CHACHA20_POLY1305_SHA256",
}

#: The fixed ``random`` of a HelloRetryRequest: SHA-256("HelloRetryRequest"), RFC 8446 §4.1.3.
HELLO_RETRY_REQUEST_RANDOM: Final = bytes.fromhex(
    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
)

#: Alert descriptions (RFC 8446 §6) worth naming in a finding.
ALERT_NAMES: Final[dict[int, str]] = {
    0: "close_notify",
    10: "unexpected_message",
    40: "handshake_failure",
    47: "illegal_parameter",
    50: "decode_error",
    51: "decrypt_error",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    109: "missing_extension",
    110: "unsupported_extension",
    112: "unrecognized_name",
    120: "no_application_protocol",
}

_RECORD_HANDSHAKE: Final = 0x16
_RECORD_ALERT: Final = 0x15
_HANDSHAKE_CLIENT_HELLO: Final = 1
_HANDSHAKE_SERVER_HELLO: Final = 2
_EXT_SERVER_NAME: Final = 0x0000
_EXT_SUPPORTED_GROUPS: Final = 0x000A
_EXT_SIGNATURE_ALGORITHMS: Final = 0x000D
_EXT_SUPPORTED_VERSIONS: Final = 0x002B
_EXT_PSK_MODES: Final = 0x002D
_EXT_KEY_SHARE: Final = 0x0033
_TLS13: Final = 0x0304

#: Signature schemes offered (RFC 8446 §4.2.3 plus ML-DSA, draft-ietf-tls-mldsa), so that a server
#: with any common certificate can go on to its HelloRetryRequest.
_SIGNATURE_SCHEMES: Final = (
    0x0904,  # mldsa44
    0x0905,  # mldsa65
    0x0906,  # mldsa87
    0x0403,  # ecdsa_secp256r1_sha256
    0x0503,  # ecdsa_secp384r1_sha384
    0x0603,  # ecdsa_secp521r1_sha512
    0x0807,  # ed25519
    0x0808,  # ed448
    0x0804,  # rsa_pss_rsae_sha256
    0x0805,  # rsa_pss_rsae_sha384
    0x0806,  # rsa_pss_rsae_sha512
    0x0809,  # rsa_pss_pss_sha256
    0x0401,  # rsa_pkcs1_sha256
    0x0501,  # rsa_pkcs1_sha384
    0x0601,  # rsa_pkcs1_sha512
)

#: A server hello is a few hundred bytes; a HelloRetryRequest even less. Reading more than this
#: before the first handshake message is complete means the peer is not talking TLS to us.
MAX_HANDSHAKE_BYTES: Final = 64 * 1024
#: TLS records carry at most 2^14 bytes of plaintext plus expansion (RFC 8446 §5.2).
MAX_RECORD_BYTES: Final = 2**14 + 256


class AnswerKind(StrEnum):
    """What the first message of a server's answer was."""

    HELLO_RETRY_REQUEST = "hello-retry-request"
    SERVER_HELLO = "server-hello"
    ALERT = "alert"
    NOT_TLS = "not-tls"
    MALFORMED = "malformed"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True, slots=True)
class ServerAnswer:
    """The parsed first answer of a server to a probe.

    ``selected_group`` is the group the server named (HelloRetryRequest or ServerHello key_share),
    ``selected_version`` the negotiated version code (``0x0304`` for TLS 1.3, else the legacy
    version of a TLS 1.2-or-older ServerHello), ``alert`` the alert description. ``detail`` says in
    words what was wrong when ``kind`` is ``NOT_TLS`` or ``MALFORMED``.
    """

    kind: AnswerKind
    selected_group: int | None = None
    selected_version: int | None = None
    cipher_suite: int | None = None
    alert: int | None = None
    detail: str = ""

    @property
    def alert_name(self) -> str | None:
        if self.alert is None:
            return None
        return ALERT_NAMES.get(self.alert, f"alert {self.alert}")


def _vector(data: bytes, length_bytes: int) -> bytes:
    return len(data).to_bytes(length_bytes, "big") + data


def _extension(kind: int, body: bytes) -> bytes:
    return struct.pack(">H", kind) + _vector(body, 2)


def is_ip_literal(host: str) -> bool:
    """True for an IPv4 or IPv6 address (brackets allowed), which SNI must not carry."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _sni_bytes(server_name: str) -> bytes:
    """The host name as SNI bytes: ASCII as given, else IDNA; ``ValueError`` if neither works."""
    try:
        return server_name.encode("ascii")
    except UnicodeEncodeError:
        return server_name.encode("idna")  # UnicodeError is a ValueError


def build_client_hello(
    groups: tuple[int, ...],
    *,
    server_name: str | None = None,
    cipher_suites: tuple[int, ...] = tuple(TLS13_CIPHER_SUITES),
    random: bytes | None = None,
) -> bytes:
    """One TLS record holding a TLS 1.3 ClientHello that offers ``groups`` with an empty key_share.

    ``server_name`` is sent as SNI unless it is an IP literal (RFC 6066 §3 forbids those).
    ``random`` (32 bytes) defaults to fresh random bytes; tests pass a fixed one.
    """
    if not groups:
        raise ValueError("a ClientHello must offer at least one group")
    if not cipher_suites:
        raise ValueError("a ClientHello must offer at least one cipher suite")
    client_random = os.urandom(32) if random is None else random
    if len(client_random) != 32:
        raise ValueError("random must be 32 bytes")
    # A 32-byte legacy session id makes middleboxes treat this like a TLS 1.2 resumption
    # (RFC 8446 §D.4); some servers behind them would otherwise drop the connection.
    session_id = os.urandom(32) if random is None else client_random
    extensions = b"".join(
        (
            (
                _extension(
                    _EXT_SERVER_NAME,
                    _vector(b"\x00" + _vector(_sni_bytes(server_name), 2), 2),
                )
                if server_name and not is_ip_literal(server_name)
                else b""
            ),
            _extension(
                _EXT_SUPPORTED_GROUPS, _vector(b"".join(struct.pack(">H", g) for g in groups), 2)
            ),
            _extension(
                _EXT_SIGNATURE_ALGORITHMS,
                _vector(b"".join(struct.pack(">H", s) for s in _SIGNATURE_SCHEMES), 2),
            ),
            _extension(_EXT_SUPPORTED_VERSIONS, _vector(struct.pack(">H", _TLS13), 1)),
            _extension(_EXT_PSK_MODES, _vector(b"\x01", 1)),  # psk_dhe_ke
            _extension(_EXT_KEY_SHARE, _vector(b"", 2)),  # empty: forces a HelloRetryRequest
        )
    )
    body = b"".join(
        (
            struct.pack(">H", 0x0303),  # legacy_version: TLS 1.2, as RFC 8446 §4.1.2 requires
            client_random,
            _vector(session_id, 1),
            _vector(b"".join(struct.pack(">H", c) for c in cipher_suites), 2),
            _vector(b"\x00", 1),  # legacy_compression_methods: null only
            _vector(extensions, 2),
        )
    )
    handshake = bytes([_HANDSHAKE_CLIENT_HELLO]) + _vector(body, 3)
    return bytes([_RECORD_HANDSHAKE]) + struct.pack(">H", 0x0301) + _vector(handshake, 2)


class _Reader:
    """A cursor over untrusted bytes; every read checks the length first."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    @property
    def left(self) -> int:
        return len(self._data) - self._at

    def take(self, count: int) -> bytes:
        if count < 0 or count > self.left:
            raise _Truncated(f"needs {count} bytes, {self.left} left")
        chunk = self._data[self._at : self._at + count]
        self._at += count
        return chunk

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def vector(self, length_bytes: int) -> bytes:
        return self.take(self.uint(length_bytes))


class _Truncated(Exception):
    """A length field points past the end of its container."""


def split_records(stream: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """Split ``stream`` into complete TLS records ``(content type, fragment)`` and the rest.

    Raises ``ValueError`` for bytes that cannot be TLS records (unknown content type, a version
    byte other than 3, a record larger than TLS allows).
    """
    records: list[tuple[int, bytes]] = []
    at = 0
    while len(stream) - at >= 5:
        content_type, major, _minor, length = struct.unpack_from(">BBBH", stream, at)
        if content_type not in (0x14, _RECORD_ALERT, _RECORD_HANDSHAKE, 0x17):
            raise ValueError(f"first byte {content_type:#04x} is not a TLS record type")
        if major != 3:
            raise ValueError(f"record version {major}.x is not TLS")
        if length > MAX_RECORD_BYTES:
            raise ValueError(f"record of {length} bytes is larger than TLS allows")
        if len(stream) - at - 5 < length:
            break
        records.append((content_type, stream[at + 5 : at + 5 + length]))
        at += 5 + length
    return records, stream[at:]


def parse_server_answer(stream: bytes) -> ServerAnswer:
    """Parse what a server sent after the probe, as far as its first handshake message or alert.

    Returns ``INCOMPLETE`` when more bytes are needed; never raises on any input.
    """
    if not stream:
        return ServerAnswer(AnswerKind.INCOMPLETE)
    if stream[0] not in (_RECORD_HANDSHAKE, _RECORD_ALERT):
        return ServerAnswer(AnswerKind.NOT_TLS, detail=_describe_non_tls(stream))
    try:
        records, _rest = split_records(stream)
    except ValueError as error:
        return ServerAnswer(AnswerKind.NOT_TLS, detail=str(error))
    handshake = b""
    for content_type, fragment in records:
        if content_type == _RECORD_ALERT:
            if handshake:
                return ServerAnswer(AnswerKind.MALFORMED, detail="alert inside a handshake message")
            if len(fragment) != 2:
                return ServerAnswer(AnswerKind.MALFORMED, detail="alert record is not 2 bytes")
            return ServerAnswer(AnswerKind.ALERT, alert=fragment[1])
        if content_type != _RECORD_HANDSHAKE:
            return ServerAnswer(
                AnswerKind.MALFORMED, detail=f"record type {content_type:#04x} before ServerHello"
            )
        handshake += fragment
        if len(handshake) >= 4:
            declared = int.from_bytes(handshake[1:4], "big")
            if declared > MAX_HANDSHAKE_BYTES:
                return ServerAnswer(
                    AnswerKind.MALFORMED, detail=f"handshake message of {declared} bytes"
                )
            if len(handshake) >= 4 + declared:
                return _parse_handshake(handshake[0], handshake[4 : 4 + declared])
    if len(stream) > MAX_HANDSHAKE_BYTES:
        return ServerAnswer(AnswerKind.MALFORMED, detail="no complete message in 64 KiB")
    return ServerAnswer(AnswerKind.INCOMPLETE)


def _describe_non_tls(stream: bytes) -> str:
    head = stream[:24]
    printable = all(32 <= b < 127 or b in (9, 10, 13) for b in head)
    if printable:
        text = head.decode("ascii").splitlines()[0] if head.strip() else ""
        return f"plain-text answer {text!r}"
    return f"answer starts with bytes {head[:8].hex()}"


def _parse_handshake(message_type: int, body: bytes) -> ServerAnswer:
    if message_type != _HANDSHAKE_SERVER_HELLO:
        return ServerAnswer(
            AnswerKind.MALFORMED, detail=f"first handshake message has type {message_type}"
        )
    reader = _Reader(body)
    try:
        legacy_version = reader.uint(2)
        server_random = reader.take(32)
        reader.vector(1)  # legacy_session_id_echo
        cipher_suite = reader.uint(2)
        reader.take(1)  # legacy_compression_method
        extensions = _parse_extensions(reader.vector(2)) if reader.left else {}
    except _Truncated as error:
        return ServerAnswer(AnswerKind.MALFORMED, detail=f"truncated ServerHello: {error}")
    except ValueError as error:
        return ServerAnswer(AnswerKind.MALFORMED, detail=str(error))
    is_retry = server_random == HELLO_RETRY_REQUEST_RANDOM
    version = legacy_version
    raw_versions = extensions.get(_EXT_SUPPORTED_VERSIONS)
    if raw_versions is not None:
        if len(raw_versions) != 2:
            return ServerAnswer(AnswerKind.MALFORMED, detail="supported_versions is not 2 bytes")
        version = int.from_bytes(raw_versions, "big")
    group: int | None = None
    raw_share = extensions.get(_EXT_KEY_SHARE)
    if raw_share is not None:
        if is_retry and len(raw_share) != 2:
            return ServerAnswer(
                AnswerKind.MALFORMED, detail="HelloRetryRequest key_share is not 2 bytes"
            )
        if len(raw_share) < 2:
            return ServerAnswer(AnswerKind.MALFORMED, detail="key_share too short")
        group = int.from_bytes(raw_share[:2], "big")
    return ServerAnswer(
        AnswerKind.HELLO_RETRY_REQUEST if is_retry else AnswerKind.SERVER_HELLO,
        selected_group=group,
        selected_version=version,
        cipher_suite=cipher_suite,
    )


def _parse_extensions(block: bytes) -> dict[int, bytes]:
    reader = _Reader(block)
    found: dict[int, bytes] = {}
    while reader.left:
        kind = reader.uint(2)
        if kind in found:
            raise ValueError(f"extension {kind:#06x} appears twice")
        found[kind] = reader.vector(2)
    return found


def build_hello_retry_request(
    selected_group: int,
    *,
    cipher_suite: int = 0x1301,
    session_id: bytes = b"",
    version: int = _TLS13,
) -> bytes:
    """A HelloRetryRequest record naming ``selected_group`` (RFC 8446 §4.1.4).

    Used by the tests' scripted server that stands in for a hybrid-capable server on machines whose
    OpenSSL knows no ML-KEM group, and by the parser's round-trip tests.
    """
    extensions = _extension(_EXT_SUPPORTED_VERSIONS, struct.pack(">H", version)) + _extension(
        _EXT_KEY_SHARE, struct.pack(">H", selected_group)
    )
    body = b"".join(
        (
            struct.pack(">H", 0x0303),
            HELLO_RETRY_REQUEST_RANDOM,
            _vector(session_id, 1),
            struct.pack(">H", cipher_suite),
            b"\x00",
            _vector(extensions, 2),
        )
    )
    handshake = bytes([_HANDSHAKE_SERVER_HELLO]) + _vector(body, 3)
    return bytes([_RECORD_HANDSHAKE]) + struct.pack(">H", 0x0303) + _vector(handshake, 2)


def parse_client_hello_offer(record: bytes) -> tuple[tuple[int, ...], tuple[int, ...], bytes]:
    """The groups, cipher suites and session id a ClientHello record offers.

    Raises ``ValueError`` for anything that is not one complete ClientHello. Used by the tests'
    scripted server; kept beside the builder so that both follow the same layout.
    """
    records, _rest = split_records(record)
    if not records or records[0][0] != _RECORD_HANDSHAKE:
        raise ValueError("not a handshake record")
    data = b"".join(fragment for kind, fragment in records if kind == _RECORD_HANDSHAKE)
    reader = _Reader(data)
    try:
        if reader.uint(1) != _HANDSHAKE_CLIENT_HELLO:
            raise ValueError("not a ClientHello")
        body = _Reader(reader.vector(3))
        body.take(2 + 32)
        session_id = body.vector(1)
        suites_raw = body.vector(2)
        body.vector(1)
        extensions = _parse_extensions(body.vector(2))
    except _Truncated as error:
        raise ValueError(f"truncated ClientHello: {error}") from None
    groups_raw = _Reader(extensions.get(_EXT_SUPPORTED_GROUPS, b"\x00\x00"))
    try:
        group_list = groups_raw.vector(2)
    except _Truncated as error:
        raise ValueError(f"truncated supported_groups: {error}") from None
    groups = tuple(
        int.from_bytes(group_list[i : i + 2], "big") for i in range(0, len(group_list) - 1, 2)
    )
    suites = tuple(
        int.from_bytes(suites_raw[i : i + 2], "big") for i in range(0, len(suites_raw) - 1, 2)
    )
    return groups, suites, session_id
