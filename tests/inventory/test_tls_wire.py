"""The ClientHello probe's bytes and the defensive parser of server answers."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsafecity.inventory.tls_wire import (
    GROUP_CODES,
    HELLO_RETRY_REQUEST_RANDOM,
    AnswerKind,
    build_client_hello,
    build_hello_retry_request,
    parse_client_hello_offer,
    parse_server_answer,
)


def test_client_hello_offers_only_the_group_under_test_with_an_empty_key_share() -> None:
    hello = build_client_hello((0x11EC,), server_name="city.example", random=bytes(32))
    groups, suites, _session = parse_client_hello_offer(hello)
    assert groups == (0x11EC,)
    assert suites == (0x1301, 0x1302, 0x1303)
    # The key_share extension (0x0033) is present with an empty client_shares vector.
    assert b"\x00\x33\x00\x02\x00\x00" in hello
    # supported_versions offers TLS 1.3 only.
    assert b"\x00\x2b\x00\x03\x02\x03\x04" in hello
    assert b"city.example" in hello


def test_no_sni_for_an_ip_address() -> None:
    hello = build_client_hello((0x001D,), server_name="127.0.0.1", random=bytes(32))
    assert b"127.0.0.1" not in hello


def test_the_record_lengths_are_consistent() -> None:
    hello = build_client_hello(tuple(GROUP_CODES.values()), random=bytes(32))
    assert hello[0] == 0x16
    (record_length,) = struct.unpack(">H", hello[3:5])
    assert record_length == len(hello) - 5
    assert hello[5] == 1
    assert int.from_bytes(hello[6:9], "big") == len(hello) - 9


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"groups": ()}, "group"), ({"groups": (0x1D,), "cipher_suites": ()}, "cipher")],
)
def test_empty_offers_are_refused(kwargs: dict[str, tuple[int, ...]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_client_hello(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("group", [0x11EC, 0x11EB, 0x11ED, 0x0201, 0x0202, 0x001D])
def test_a_recorded_hello_retry_request_is_read_back(group: int) -> None:
    answer = parse_server_answer(build_hello_retry_request(group, cipher_suite=0x1302))
    assert answer.kind is AnswerKind.HELLO_RETRY_REQUEST
    assert answer.selected_group == group
    assert answer.selected_version == 0x0304
    assert answer.cipher_suite == 0x1302


def test_a_hello_retry_request_split_over_records_and_reads_is_reassembled() -> None:
    record = build_hello_retry_request(0x11EC)
    handshake = record[5:]
    first, second = handshake[:10], handshake[10:]
    split = (
        b"\x16\x03\x03"
        + struct.pack(">H", len(first))
        + first
        + b"\x16\x03\x03"
        + struct.pack(">H", len(second))
        + second
    )
    for cut in range(1, len(split)):
        assert parse_server_answer(split[:cut]).kind is AnswerKind.INCOMPLETE
    assert parse_server_answer(split).selected_group == 0x11EC


def test_an_alert_is_named() -> None:
    answer = parse_server_answer(b"\x15\x03\x03\x00\x02\x02\x28")
    assert answer.kind is AnswerKind.ALERT
    assert answer.alert_name == "handshake_failure"


@pytest.mark.parametrize(
    ("stream", "kind"),
    [
        (b"SSH-2.0-OpenSSH_9.2p1\r\n", AnswerKind.NOT_TLS),
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", AnswerKind.NOT_TLS),
        (b"\x16\x07\x03\x00\x01\x00", AnswerKind.NOT_TLS),  # record version 7.x
        (b"\x16\x03\x03\xff\xff", AnswerKind.NOT_TLS),  # a record larger than TLS allows
        (b"\x15\x03\x03\x00\x03\x02\x28\x00", AnswerKind.MALFORMED),  # 3-byte alert
        (b"\x16\x03\x03\x00\x04\x0b\x00\x00\x00", AnswerKind.MALFORMED),  # Certificate first
        (b"\x16\x03\x03\x00\x06\x02\x00\x00\x02\x03\x03", AnswerKind.MALFORMED),  # truncated
        (b"\x16\x03\x03\x00\x04\x02\xff\xff\xff", AnswerKind.MALFORMED),  # 16 MiB message
    ],
)
def test_hostile_answers_become_verdicts(stream: bytes, kind: AnswerKind) -> None:
    assert parse_server_answer(stream).kind is kind


def test_a_tls12_server_hello_reports_the_legacy_version() -> None:
    body = struct.pack(">H", 0x0303) + bytes(32) + b"\x00" + struct.pack(">H", 0xC02F) + b"\x00"
    record = (
        b"\x16\x03\x03"
        + struct.pack(">H", len(body) + 4)
        + b"\x02"
        + len(body).to_bytes(3, "big")
        + body
    )
    answer = parse_server_answer(record)
    assert answer.kind is AnswerKind.SERVER_HELLO
    assert answer.selected_version == 0x0303
    assert answer.selected_group is None
    assert answer.cipher_suite == 0xC02F


def test_duplicate_extensions_are_malformed() -> None:
    record = build_hello_retry_request(0x11EC)
    # Append the supported_versions extension a second time and fix the three lengths.
    extension = b"\x00\x2b\x00\x02\x03\x04"
    handshake_body = record[9:]
    extensions_length = struct.unpack(">H", handshake_body[-12 - 2 : -12])[0]
    assert extensions_length == 12
    new_body = handshake_body[:-14] + struct.pack(">H", 18) + handshake_body[-12:] + extension
    new_record = (
        b"\x16\x03\x03"
        + struct.pack(">H", len(new_body) + 4)
        + b"\x02"
        + len(new_body).to_bytes(3, "big")
        + new_body
    )
    answer = parse_server_answer(new_record)
    assert answer.kind is AnswerKind.MALFORMED
    assert "twice" in answer.detail


def test_the_retry_random_is_sha256_of_its_name() -> None:
    import hashlib

    assert hashlib.sha256(b"HelloRetryRequest").digest() == HELLO_RETRY_REQUEST_RANDOM


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_the_parser_never_raises(stream: bytes) -> None:
    answer = parse_server_answer(stream)
    assert answer.kind in AnswerKind


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_the_parser_never_raises_on_tls_looking_garbage(tail: bytes) -> None:
    stream = b"\x16\x03\x03" + struct.pack(">H", len(tail)) + tail
    answer = parse_server_answer(stream)
    assert answer.kind in AnswerKind
