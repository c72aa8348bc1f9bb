"""Scans of real local servers: Python's ssl, openssl s_server, a scripted hybrid server, and
servers that answer no TLS, garbage, nothing at all, or refuse the connection."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import time
from pathlib import Path

import pytest
from inventory_servers import (
    free_port,
    hybrid_server,
    openssl_available,
    openssl_server,
    python_tls_server,
    scripted_server,
)

from qsafecity.inventory.observe import observed_crypto
from qsafecity.inventory.probe import ProbeSettings, RateLimiter, scan_endpoint
from qsafecity.inventory.results import EndpointStatus, GroupSupport

NOW = dt.datetime.now(dt.UTC)
FAST = ProbeSettings(timeout_s=2.0)
Certificates = dict[str, tuple[Path, Path]]


def codes(scan_findings: object) -> set[str]:
    return {finding.code for finding in scan_findings}  # type: ignore[attr-defined]


def test_python_ssl_server_tls13_with_rsa(certificates: Certificates) -> None:
    cert, key = certificates["rsa"]
    with python_tls_server(cert, key) as port:
        scan = scan_endpoint("127.0.0.1", port, FAST, now=NOW, service_id="portal")
    assert scan.status is EndpointStatus.TLS
    assert set(scan.supported_versions) == {"TLSv1.3", "TLSv1.2"}
    # OpenSSL 3.0's default groups: X25519, P-256, X448, P-521, P-384; no post-quantum group.
    assert scan.groups["X25519"] is GroupSupport.ACCEPTED
    assert scan.groups["ECDHE-P256"] is GroupSupport.ACCEPTED
    for group in ("X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024", "ML-KEM-768"):
        assert scan.groups[group] is GroupSupport.REJECTED
    assert scan.preferred_group == "X25519"
    assert "TLS_AES_256_GCM_SHA384" in scan.tls13_cipher_suites
    leaf = scan.certificates[0]
    assert (leaf.key_algorithm, leaf.key_bits, leaf.signature_name) == ("RSA", 2048, "RSA-2048")
    assert leaf.signed_with_name == "sha256WithRSAEncryption"
    assert {"quantum-vulnerable-key-exchange", "quantum-vulnerable-certificate"} <= codes(
        scan.findings
    )
    observed = observed_crypto(scan)
    assert observed is not None
    assert (observed.key_exchange, observed.signature, observed.cipher) == (
        "X25519",
        "RSA-2048",
        "AES-256-GCM",
    )
    assert observed.service_id == "portal"
    assert f"127.0.0.1:{port}" in observed.evidence


def test_tls12_only_server_with_ecdsa(certificates: Certificates) -> None:
    cert, key = certificates["p256"]
    with python_tls_server(cert, key, maximum=ssl.TLSVersion.TLSv1_2) as port:
        scan = scan_endpoint("127.0.0.1", port, FAST, now=NOW, service_id="meters")
    assert scan.supported_versions == ("TLSv1.2",)
    assert "no-tls13" in codes(scan.findings)
    assert scan.preferred_group is None
    assert scan.groups["ECDHE-P256"] is GroupSupport.ACCEPTED
    observed = observed_crypto(scan)
    assert observed is not None
    assert observed.signature == "ECDSA-P256"
    # With an ECDSA certificate a TLS 1.2 refusal of X25519 proves nothing (RFC 8422 §5.1).
    assert scan.groups["X25519"] is GroupSupport.INCONCLUSIVE
    assert observed.key_exchange == "ECDHE-P256"
    assert observed.cipher in {"AES-256-GCM", "AES-128-GCM", "ChaCha20-Poly1305"}


def test_rsa_key_transport_is_seen_as_rsa_key_exchange(certificates: Certificates) -> None:
    cert, key = certificates["rsa"]
    with python_tls_server(
        cert, key, maximum=ssl.TLSVersion.TLSv1_2, ciphers="AES128-GCM-SHA256"
    ) as port:
        scan = scan_endpoint("127.0.0.1", port, FAST, now=NOW, service_id="legacy")
    observed = observed_crypto(scan)
    assert observed is not None
    assert (observed.key_exchange, observed.cipher) == ("RSA-2048", "AES-128-GCM")


def test_a_certificate_that_expires_soon_is_a_finding(certificates: Certificates) -> None:
    cert, key = certificates["expiring"]
    with python_tls_server(cert, key) as port:
        scan = scan_endpoint("127.0.0.1", port, FAST, now=NOW)
    assert "certificate-expires-soon" in codes(scan.findings)
    assert scan.certificates[0].signature_name == "ECDSA-P384"
    later = NOW + dt.timedelta(days=10)
    from qsafecity.inventory.probe import judge_endpoint

    assert "certificate-expired" in codes(judge_endpoint(scan, later))


@pytest.mark.skipif(not openssl_available(), reason="no openssl command on this machine")
def test_openssl_classical_only_server_offering_p384_only(certificates: Certificates) -> None:
    cert, key = certificates["rsa"]
    with openssl_server(cert, key, "-groups", "P-384") as port:
        scan = scan_endpoint("127.0.0.1", port, FAST, now=NOW)
    accepted = set(scan.accepted_groups)
    assert accepted == {"ECDHE-P384"}
    assert scan.preferred_group == "ECDHE-P384"
    assert "quantum-vulnerable-key-exchange" in codes(scan.findings)


@pytest.mark.skipif(not openssl_available(), reason="no openssl command on this machine")
def test_openssl_server_with_the_hybrid_group_if_the_local_openssl_has_it(
    certificates: Certificates,
) -> None:
    """OpenSSL >= 3.5 has X25519MLKEM768; the machine's 3.0 does not, so this may skip."""
    cert, key = certificates["rsa"]
    try:
        with openssl_server(cert, key, "-groups", "X25519MLKEM768:X25519") as port:
            scan = scan_endpoint("127.0.0.1", port, FAST, now=NOW)
    except RuntimeError as error:
        pytest.skip(f"the local openssl has no X25519MLKEM768 group ({error})")
    assert scan.groups["X25519MLKEM768"] is GroupSupport.ACCEPTED
    assert scan.preferred_group == "X25519MLKEM768"


def test_a_hybrid_server_is_seen_through_its_hello_retry_request() -> None:
    with scripted_server(hybrid_server) as port:
        scan = scan_endpoint("127.0.0.1", port, FAST, now=NOW, service_id="dispatch")
    assert scan.status is EndpointStatus.TLS
    assert scan.groups["X25519MLKEM768"] is GroupSupport.ACCEPTED
    assert scan.groups["X25519"] is GroupSupport.ACCEPTED
    assert scan.groups["SecP384r1MLKEM1024"] is GroupSupport.REJECTED
    assert scan.preferred_group == "X25519MLKEM768"
    found = codes(scan.findings)
    assert {"post-quantum-key-exchange", "classical-fallback"} <= found
    assert "quantum-vulnerable-key-exchange" not in found
    # The scripted server speaks only the first flight, so no full handshake completes.
    assert "no-handshake" in found
    observed = observed_crypto(scan)
    assert observed is not None
    assert observed.key_exchange == "X25519MLKEM768"


def test_a_refused_connection_is_a_finding() -> None:
    scan = scan_endpoint("127.0.0.1", free_port(), FAST, now=NOW)
    assert scan.status is EndpointStatus.REFUSED
    assert codes(scan.findings) == {"connection-refused"}
    assert observed_crypto(scan) is None


def test_a_silent_server_times_out() -> None:
    def silent(connection: socket.socket) -> None:
        connection.recv(65536)
        connection.recv(65536)  # until the client gives up

    with scripted_server(silent) as port:
        scan = scan_endpoint("127.0.0.1", port, ProbeSettings(timeout_s=0.3), now=NOW)
    assert scan.status is EndpointStatus.TIMEOUT
    assert codes(scan.findings) == {"timeout"}


def test_a_non_tls_service_is_named() -> None:
    def ssh(connection: socket.socket) -> None:
        connection.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
        connection.recv(65536)

    with scripted_server(ssh) as port:
        scan = scan_endpoint("127.0.0.1", port, FAST, now=NOW)
    assert scan.status is EndpointStatus.NOT_TLS
    assert "SSH-2.0" in scan.findings[0].message


def test_an_http_server_is_not_tls() -> None:
    def http(connection: socket.socket) -> None:
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    with scripted_server(http) as port:
        scan = scan_endpoint("127.0.0.1", port, FAST, now=NOW)
    assert scan.status is EndpointStatus.NOT_TLS


def test_a_garbage_answer_is_a_finding() -> None:
    def liar(connection: socket.socket) -> None:
        connection.recv(65536)
        # A handshake record announcing a ServerHello far longer than what follows, then EOF.
        connection.sendall(b"\x16\x03\x03\x00\x06\x02\x00\x10\x00\x03\x03")

    with scripted_server(liar) as port:
        scan = scan_endpoint("127.0.0.1", port, FAST, now=NOW)
    assert scan.status is EndpointStatus.MALFORMED
    assert codes(scan.findings) == {"garbage"}


def test_random_bytes_are_not_tls() -> None:
    import random

    noise = random.Random(8).randbytes(512)

    def noisy(connection: socket.socket) -> None:
        connection.recv(65536)
        connection.sendall(noise)

    with scripted_server(noisy) as port:
        scan = scan_endpoint("127.0.0.1", port, FAST, now=NOW)
    assert scan.status in {EndpointStatus.NOT_TLS, EndpointStatus.MALFORMED}


def test_a_server_that_hangs_up_at_once_is_a_finding() -> None:
    def hang_up(connection: socket.socket) -> None:
        connection.close()

    with scripted_server(hang_up) as port:
        scan = scan_endpoint("127.0.0.1", port, FAST, now=NOW)
    assert scan.status is EndpointStatus.CLOSED


def test_the_rate_limiter_spaces_connection_starts() -> None:
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    limiter = RateLimiter(4.0, clock=lambda: clock[0], sleep=sleep)
    for _ in range(5):
        limiter.wait()
    assert slept == pytest.approx([0.25, 0.25, 0.25, 0.25])
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)


def test_scan_results_round_trip_through_json(certificates: Certificates) -> None:
    from qsafecity.inventory.results import EndpointScan

    cert, key = certificates["rsa"]
    with python_tls_server(cert, key) as port:
        scan = scan_endpoint("127.0.0.1", port, FAST, now=NOW)
    assert EndpointScan.model_validate_json(scan.model_dump_json()) == scan


def test_a_host_name_that_cannot_be_encoded_is_a_finding() -> None:
    scan = scan_endpoint("bad..\u00fc..name", 443, FAST, now=NOW)
    assert scan.status is EndpointStatus.UNREACHABLE
    assert "IDNA" in scan.findings[0].message


def test_a_server_that_refuses_the_probe_but_speaks_tls13_is_flagged(
    certificates: Certificates,
) -> None:
    """A front end that alerts on an empty key_share but completes normal handshakes."""
    cert, key = certificates["rsa"]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def picky(connection: socket.socket) -> None:
        data = b""
        for _ in range(100):  # peek until the whole first record is there
            data = connection.recv(65536, socket.MSG_PEEK)
            if len(data) >= 5 and len(data) >= 5 + int.from_bytes(data[3:5], "big"):
                break
            time.sleep(0.01)
        if data[:1] == b"\x16" and b"\x00\x33\x00\x02\x00\x00" in data:
            connection.recv(65536)
            connection.sendall(b"\x15\x03\x03\x00\x02\x02\x2f")  # illegal_parameter
            return
        with context.wrap_socket(connection, server_side=True) as tls:
            tls.recv(1)

    with scripted_server(picky) as port:
        scan = scan_endpoint("127.0.0.1", port, FAST, now=NOW)
    assert scan.status is EndpointStatus.TLS
    assert "TLSv1.3" in scan.supported_versions
    found = {f.code: f.message for f in scan.findings}
    assert "illegal_parameter" in found["group-probe-refused"]
    assert "quantum-vulnerable-key-exchange" not in found
