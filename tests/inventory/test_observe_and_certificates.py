"""Certificate facts (pyca x509) and the step from scans to ``ObservedCrypto``."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, rsa
from cryptography.x509.oid import NameOID

from qsafecity.algorithms import Role
from qsafecity.inventory.certificates import describe_certificate
from qsafecity.inventory.observe import (
    cipher_of_suite,
    observations_by_service,
    observed_key_exchange,
    weakest,
)
from qsafecity.inventory.probe import judge_endpoint
from qsafecity.inventory.results import (
    EndpointScan,
    EndpointStatus,
    GroupSupport,
    ProtocolVersionResult,
)

NOW = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)


def certificate_der(key: object, algorithm: hashes.HashAlgorithm | None) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "svc.city.example")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())  # type: ignore[attr-defined]
        .serial_number(7)
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=90))
        .sign(key, algorithm)  # type: ignore[arg-type]
    )
    return certificate.public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize(
    ("key", "algorithm", "facts"),
    [
        (rsa.generate_private_key(65537, 3072), hashes.SHA256(), ("RSA", 3072, "RSA-3072")),
        (ec.generate_private_key(ec.SECP384R1()), hashes.SHA384(), ("EC", 384, "ECDSA-P384")),
        (ec.generate_private_key(ec.SECP521R1()), hashes.SHA512(), ("EC", 521, None)),
        (ed25519.Ed25519PrivateKey.generate(), None, ("Ed25519", 256, "Ed25519")),
        (mldsa.MLDSA65PrivateKey.generate(), None, ("ML-DSA-65", None, "ML-DSA-65")),
    ],
)
def test_certificate_keys_are_named_by_the_registry(
    key: object, algorithm: hashes.HashAlgorithm | None, facts: tuple[str, int | None, str | None]
) -> None:
    described = describe_certificate(certificate_der(key, algorithm))
    assert (described.key_algorithm, described.key_bits, described.signature_name) == facts
    assert described.self_signed
    assert described.serial_hex == "7"
    assert described.days_left(NOW) == pytest.approx(90)


def test_a_garbage_certificate_is_a_value_error() -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - pyca's message varies between versions
        describe_certificate(b"\x30\x03\x02\x01\x00")


def test_a_post_quantum_certificate_is_no_quantum_finding() -> None:
    facts = describe_certificate(certificate_der(mldsa.MLDSA87PrivateKey.generate(), None))
    scan = scan_with(certificates=(facts,))
    codes = {f.code for f in judge_endpoint(scan, NOW)}
    assert "quantum-vulnerable-certificate" not in codes


def scan_with(**fields: object) -> EndpointScan:
    base: dict[str, object] = {
        "target": "h:443",
        "host": "h",
        "port": 443,
        "service_id": "svc",
        "scanned_at": NOW,
        "status": EndpointStatus.TLS,
        "versions": (ProtocolVersionResult(version="TLSv1.2", supported=True),),
    }
    base.update(fields)
    return EndpointScan.model_validate(base)


@pytest.mark.parametrize(
    ("suite", "groups", "expected"),
    [
        ("ECDHE-RSA-AES128-GCM-SHA256", {"ECDHE-P256": GroupSupport.ACCEPTED}, "ECDHE-P256"),
        ("ECDHE-RSA-AES128-GCM-SHA256", {"X25519": GroupSupport.ACCEPTED}, "X25519"),
        ("ECDHE-RSA-AES128-GCM-SHA256", {}, None),
        ("DHE-RSA-AES256-GCM-SHA384", {}, "DH-2048"),
        ("TLS_AES_128_GCM_SHA256", {}, None),
    ],
)
def test_tls12_key_exchange_from_the_suite(
    suite: str, groups: dict[str, GroupSupport], expected: str | None
) -> None:
    scan = scan_with(
        versions=(ProtocolVersionResult(version="TLSv1.2", supported=True, cipher_suite=suite),),
        groups=groups,
    )
    assert observed_key_exchange(scan) == expected


@pytest.mark.parametrize(
    ("suite", "cipher"),
    [
        ("TLS_AES_256_GCM_SHA384", "AES-256-GCM"),
        ("TLS_CHACHA20_POLY1305_SHA256", "ChaCha20-Poly1305"),
        ("ECDHE-ECDSA-AES128-GCM-SHA256", "AES-128-GCM"),
        ("AES128-SHA", "AES-128-CBC"),
        ("DES-CBC3-SHA", "3DES"),
        ("AES256-SHA", None),  # AES-256-CBC is not in the registry: not observed, not guessed
        (None, None),
    ],
)
def test_ciphers_of_suites(suite: str | None, cipher: str | None) -> None:
    assert cipher_of_suite(suite) == cipher


def test_the_weakest_endpoint_speaks_for_the_service() -> None:
    # Both classical groups are quantum level 0; X25519 has the fewer classical bits (128).
    assert weakest(Role.KEY_EXCHANGE, ["X25519MLKEM768", None, "ECDHE-P384", "X25519"]) == "X25519"
    assert weakest(Role.CIPHER, [None, None]) is None
    strong = scan_with(
        target="a:443",
        preferred_group="X25519MLKEM768",
        versions=(
            ProtocolVersionResult(
                version="TLSv1.3", supported=True, cipher_suite="TLS_AES_256_GCM_SHA384"
            ),
        ),
    )
    weak = scan_with(
        target="b:443",
        versions=(
            ProtocolVersionResult(version="TLSv1.2", supported=True, cipher_suite="AES128-SHA"),
        ),
    )
    refused = scan_with(target="c:443", status=EndpointStatus.REFUSED, versions=())
    merged = observations_by_service([strong, weak, refused])["svc"]
    assert (merged.key_exchange, merged.cipher) == ("X25519MLKEM768", "AES-128-CBC")
    assert "a:443" in merged.evidence
    assert "b:443" in merged.evidence
