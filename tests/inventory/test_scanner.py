"""Targets on the command line and in a targets file, and concurrent scanning of many endpoints."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from inventory_servers import free_port, python_tls_server

from qsafecity.errors import InputError
from qsafecity.inventory.probe import ProbeSettings, RateLimiter
from qsafecity.inventory.results import EndpointStatus
from qsafecity.inventory.scanner import (
    Target,
    load_targets_text,
    parse_target,
    parse_targets,
    scan_targets,
)
from qsafecity.manifests import load_city

NOW = dt.datetime.now(dt.UTC)
SAMPLE_CITY = load_city(None)


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("example.org", "example.org", 443),
        ("example.org:8443", "example.org", 8443),
        (" 10.0.0.5:443 ", "10.0.0.5", 443),
        ("[::1]:8443", "::1", 8443),
        ("[2001:db8::1]", "2001:db8::1", 443),
        ("a", "a", 443),
        ("h:65535", "h", 65535),
    ],
)
def test_targets_parse(text: str, host: str, port: int) -> None:
    assert parse_target(text) == Target(host, port)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        ":443",
        "host:",
        "host:0",
        "host:65536",
        "host:99999999999",
        "host:-1",
        "host:+1",
        "host:１２",  # non-ASCII digits
        "::1",
        "[::1",
        "[::1]x",
        "[not-v6]:1",
        "bad host:1",
        "-host:1",
        "x" * 300,
        "host/path:1",
        "host;rm -rf:1",
        "a..b:1",
        ".a:1",
        "a.:1",
        ("x" * 64) + ".example:1",
    ],
)
def test_bad_targets_are_refused(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - every message is checked in the CLI tests
        parse_target(text)


def test_every_bad_target_is_reported_at_once() -> None:
    with pytest.raises(InputError) as raised:
        parse_targets(["ok:1", "bad:0", ":2"])
    assert "bad:0" in str(raised.value)
    assert "':2'" in str(raised.value)
    with pytest.raises(InputError, match="no targets"):
        parse_targets([])


def test_targets_file_maps_services_to_endpoints() -> None:
    city = load_city(None)
    text = """
format: 1
targets:
  video-surveillance: ["127.0.0.1:8443", "[::1]:443"]
  city-sso: 127.0.0.1:9443
"""
    targets = load_targets_text(text, "targets.yaml", city)
    assert targets == [
        Target("127.0.0.1", 8443, "video-surveillance"),
        Target("::1", 443, "video-surveillance"),
        Target("127.0.0.1", 9443, "city-sso"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not a targets file"),
        ("- a\n- b\n", "not a targets file"),
        ("format: 2\ntargets: {city-sso: [a:1]}\n", "format: must be 1"),
        ("format: 1\ntargets: {}\n", "must map service ids"),
        ("format: 1\ntargets: {nope: [a:1]}\n", "no service has this id"),
        ("format: 1\ntargets: {city-sso: []}\n", "non-empty list"),
        ("format: 1\ntargets: {city-sso: [17]}\n", "must be a string"),
        ("format: 1\ntargets: {city-sso: ['a:0']}\n", "port must be"),
        ("format: 1\nextra: 1\ntargets: {city-sso: [a:1]}\n", "unknown keys"),
        ("format: 1\ntargets: {city-sso: [a:1], city-sso: [b:2]}\n", "not a targets file"),
        ("a: &x [1]\nb: *x\n", "not a targets file"),
        ("format: 1\ntargets: {city-sso: [a:1]\n", "not a targets file"),
    ],
)
def test_bad_targets_files_are_input_errors(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_targets_text(text, "targets.yaml", load_city(None))


def test_many_endpoints_are_scanned_concurrently_in_order(
    certificates: dict[str, tuple[Path, Path]],
) -> None:
    cert, key = certificates["p256"]
    done: list[str] = []
    lock = threading.Lock()

    def record(scan: object) -> None:
        with lock:
            done.append(scan.target)  # type: ignore[attr-defined]

    with python_tls_server(cert, key) as first, python_tls_server(cert, key) as second:
        targets = [
            Target("127.0.0.1", first, "a"),
            Target("127.0.0.1", free_port(), "b"),
            Target("127.0.0.1", second, "c"),
        ]
        settings = ProbeSettings(timeout_s=10.0, limiter=RateLimiter(1000))
        scans = scan_targets(targets, settings, now=NOW, concurrency=3, on_done=record)
    assert [s.service_id for s in scans] == ["a", "b", "c"]
    assert [s.status for s in scans] == [
        EndpointStatus.TLS,
        EndpointStatus.REFUSED,
        EndpointStatus.TLS,
    ]
    assert sorted(done) == sorted(s.target for s in scans)
    with pytest.raises(ValueError, match="concurrency"):
        scan_targets(targets, settings, now=NOW, concurrency=0)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_target_text_parses_or_is_a_value_error(text: str) -> None:
    try:
        target = parse_target(text)
    except ValueError:
        return
    assert 1 <= target.port <= 65535
    assert target.host
    assert parse_target(str(target)) == target


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_any_targets_file_loads_or_is_an_input_error(text: str) -> None:
    city = SAMPLE_CITY
    try:
        targets = load_targets_text(text, "fuzz.yaml", city)
    except InputError:
        return
    assert all(t.service_id in city.services_by_id for t in targets)
