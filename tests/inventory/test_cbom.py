"""The CycloneDX 1.6 CBOM: export validates against the official schema, import maps components
to services, and export-then-import gives the same facts."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inventory_servers import hybrid_server, python_tls_server, scripted_server

from qsafecity.algorithms import Role, lookup, names
from qsafecity.city import CityManifest
from qsafecity.errors import InputError
from qsafecity.inventory.cbom import (
    build_cbom,
    cbom_json,
    import_cbom,
    parse_cbom_text,
    validate_cbom_text,
)
from qsafecity.inventory.observe import observations_by_service
from qsafecity.inventory.probe import ProbeSettings, scan_endpoint
from qsafecity.manifests import load_city

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
SERIAL = uuid.UUID("12345678-1234-5678-1234-567812345678")


@pytest.fixture(scope="module")
def city():  # type: ignore[no-untyped-def]
    return load_city(None)


def test_the_sample_city_cbom_validates_and_lists_every_algorithm(city) -> None:  # type: ignore[no-untyped-def]
    text = cbom_json(build_cbom(city, now=NOW, serial=SERIAL))
    assert validate_cbom_text(text) is None
    document = json.loads(text)
    assert document["specVersion"] == "1.6"
    algorithms = {
        c["bom-ref"]: c
        for c in document["components"]
        if c.get("cryptoProperties", {}).get("assetType") == "algorithm"
    }
    declared = {
        (role, getattr(s.crypto, role.value))
        for s in city.services
        for role in (Role.KEY_EXCHANGE, Role.SIGNATURE, Role.CIPHER)
    }
    assert len(algorithms) == len(declared)
    # Each algorithm carries the registry's facts.
    rsa = algorithms["crypto/algorithm/signature/RSA-2048"]["cryptoProperties"]
    assert rsa["algorithmProperties"] == {
        "primitive": "signature",
        "parameterSetIdentifier": "2048",
        "nistQuantumSecurityLevel": 0,
        "classicalSecurityLevel": 112,
    }
    assert rsa["oid"] == "1.2.840.113549.1.1.11"
    hybrid = algorithms.get("crypto/algorithm/key_exchange/X25519MLKEM768")
    assert hybrid is not None
    assert hybrid["cryptoProperties"]["algorithmProperties"]["nistQuantumSecurityLevel"] == 3
    # Every service depends on exactly its three algorithms.
    dependencies = {d["ref"]: set(d.get("dependsOn", [])) for d in document["dependencies"]}
    for service in city.services:
        assert dependencies[f"service/{service.id}"] == {
            f"crypto/algorithm/key_exchange/{service.crypto.key_exchange}",
            f"crypto/algorithm/signature/{service.crypto.signature}",
            f"crypto/algorithm/cipher/{service.crypto.cipher}",
        }


def test_export_then_import_gives_the_declared_facts_back(city) -> None:  # type: ignore[no-untyped-def]
    text = cbom_json(build_cbom(city, now=NOW, serial=SERIAL))
    result = import_cbom(parse_cbom_text(text, "city.cbom.json"), city, source="city.cbom.json")
    assert result.unmapped == ()
    assert set(result.observations) == {s.id for s in city.services}
    for service in city.services:
        seen = result.observations[service.id]
        assert (seen.key_exchange, seen.signature, seen.cipher) == (
            service.crypto.key_exchange,
            service.crypto.signature,
            service.crypto.cipher,
        )
        assert seen.evidence == "CBOM import city.cbom.json"


def test_a_cbom_with_scans_has_certificates_and_protocols_and_round_trips(
    city,  # type: ignore[no-untyped-def]
    certificates: dict[str, tuple[Path, Path]],
) -> None:
    cert, key = certificates["rsa"]
    settings = ProbeSettings(timeout_s=2.0)
    with python_tls_server(cert, key) as port, scripted_server(hybrid_server) as hybrid_port:
        scans = [
            scan_endpoint("127.0.0.1", port, settings, now=NOW, service_id="video-surveillance"),
            scan_endpoint("127.0.0.1", hybrid_port, settings, now=NOW, service_id="city-sso"),
        ]
    text = cbom_json(build_cbom(city, scans, now=NOW, serial=SERIAL))
    document = json.loads(text)
    kinds = [c.get("cryptoProperties", {}).get("assetType") for c in document["components"]]
    assert kinds.count("certificate") == 1
    assert kinds.count("protocol") == 2
    certificate = next(
        c
        for c in document["components"]
        if c.get("cryptoProperties", {}).get("assetType") == "certificate"
    )
    properties = certificate["cryptoProperties"]["certificateProperties"]
    assert properties["subjectName"] == "CN=test.qsafecity.invalid"
    assert (
        properties["signatureAlgorithmRef"]
        == "crypto/algorithm/certificate-signature/1.2.840.113549.1.1.11"
    )
    protocol = next(
        c for c in document["components"] if c.get("name") == f"TLS at 127.0.0.1:{port}"
    )
    protocol_properties = protocol["cryptoProperties"]["protocolProperties"]
    assert protocol_properties["version"] == "1.3"
    assert {s["name"] for s in protocol_properties["cipherSuites"]} >= {"TLS_AES_256_GCM_SHA384"}
    # Round trip: what the scans observed comes back for the scanned services.
    observed = observations_by_service(scans)
    result = import_cbom(parse_cbom_text(text, "x"), city, source="x")
    for service_id in ("video-surveillance", "city-sso"):
        want, got = observed[service_id], result.observations[service_id]
        declared = city.services_by_id[service_id].crypto
        assert (got.key_exchange, got.signature, got.cipher) == (
            want.key_exchange or declared.key_exchange,
            want.signature or declared.signature,
            want.cipher or declared.cipher,
        )
    assert result.observations["city-sso"].key_exchange == "X25519MLKEM768"
    assert result.observations["video-surveillance"].key_exchange == "X25519"


CBOMKIT_STYLE = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.6",
    "serialNumber": "urn:uuid:2f7b3c7e-0000-4000-8000-000000000001",
    "version": 1,
    "metadata": {"component": {"type": "application", "name": "traffic-controller-firmware"}},
    "components": [
        {
            "type": "cryptographic-asset",
            "bom-ref": "a1",
            "name": "RSA-2048",
            "cryptoProperties": {
                "assetType": "algorithm",
                "algorithmProperties": {"primitive": "signature", "parameterSetIdentifier": "2048"},
                "oid": "1.2.840.113549.1.1.1",
            },
        },
        {
            "type": "cryptographic-asset",
            "bom-ref": "a2",
            "name": "AES128-GCM",
            "cryptoProperties": {
                "assetType": "algorithm",
                "algorithmProperties": {
                    "primitive": "ae",
                    "parameterSetIdentifier": "128",
                    "mode": "gcm",
                },
            },
        },
        {
            "type": "cryptographic-asset",
            "bom-ref": "a3",
            "name": "ML-KEM",
            "cryptoProperties": {
                "assetType": "algorithm",
                "algorithmProperties": {"primitive": "kem", "parameterSetIdentifier": "768"},
            },
        },
        {
            "type": "cryptographic-asset",
            "bom-ref": "a4",
            "name": "ECDH",
            "cryptoProperties": {
                "assetType": "algorithm",
                "algorithmProperties": {
                    "primitive": "key-agree",
                    "curve": "secp256r1",
                    "parameterSetIdentifier": "256",
                },
            },
        },
        {
            # CBOMkit names an EC key generation by its curve, with the primitive "pke".
            "type": "cryptographic-asset",
            "bom-ref": "a6",
            "name": "EC-secp384r1",
            "cryptoProperties": {
                "assetType": "algorithm",
                "oid": "1.2.840.10045.2.1",
                "algorithmProperties": {"primitive": "pke", "curve": "secp384r1"},
            },
        },
        {
            # JCA spelling of AES-128 in CBC mode with PKCS#5 padding.
            "type": "cryptographic-asset",
            "bom-ref": "a9",
            "name": "AES128-CBC-PKCS5",
            "cryptoProperties": {
                "assetType": "algorithm",
                "algorithmProperties": {"primitive": "block-cipher", "mode": "cbc"},
            },
        },
        {
            # A block cipher without a mode cannot be named by the registry (CBC or GCM?).
            "type": "cryptographic-asset",
            "bom-ref": "a7",
            "name": "AES",
            "cryptoProperties": {
                "assetType": "algorithm",
                "oid": "2.16.840.1.101.3.4.1",
                "algorithmProperties": {
                    "primitive": "block-cipher",
                    "parameterSetIdentifier": "128",
                },
            },
        },
        {
            "type": "cryptographic-asset",
            "bom-ref": "a8",
            "name": "key@e2d2c23c",
            "cryptoProperties": {
                "assetType": "related-crypto-material",
                "relatedCryptoMaterialProperties": {"type": "secret-key"},
            },
        },
        {
            "type": "cryptographic-asset",
            "bom-ref": "a5",
            "name": "SHA256",
            "cryptoProperties": {
                "assetType": "algorithm",
                "algorithmProperties": {"primitive": "hash"},
            },
        },
    ],
}


def test_a_cbomkit_style_cbom_is_attached_to_the_service_named_on_the_command_line(city) -> None:  # type: ignore[no-untyped-def]
    document = parse_cbom_text(json.dumps(CBOMKIT_STYLE), "firmware.cbom.json")
    with pytest.raises(InputError, match="--service"):
        import_cbom(document, city, source="firmware.cbom.json")
    result = import_cbom(
        document, city, source="firmware.cbom.json", service="traffic-light-control"
    )
    seen = result.observations["traffic-light-control"]
    # ECDH on P-256 and ML-KEM-768 both appear: the weakest (quantum-vulnerable) one speaks;
    # AES-128-CBC and AES-128-GCM both appear: CBC, without integrity, is the weaker.
    assert (seen.key_exchange, seen.signature, seen.cipher) == (
        "ECDHE-P256",
        "RSA-2048",
        "AES-128-CBC",
    )
    assert result.unmapped == ("AES (cipher)", "SHA256 (unknown role)")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not valid JSON"),
        ("[1, 2]", "not a CycloneDX"),
        ('{"bomFormat": "SPDX"}', "not a CycloneDX"),
        ('{"bomFormat": "CycloneDX", "specVersion": "1.4"}', "1.6 or 1.7"),
        ('{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": {}}', "must be a list"),
        ('{"bomFormat": "CycloneDX", "bomFormat": "CycloneDX"}', "duplicate key"),
        ("[" * 100_000, "not valid JSON"),
    ],
)
def test_hostile_cbom_documents_are_input_errors(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_cbom_text(text, "bad.json")


def test_garbage_inside_a_valid_envelope_is_skipped_not_fatal(city) -> None:  # type: ignore[no-untyped-def]
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "components": [
            None,
            17,
            {"type": "cryptographic-asset", "cryptoProperties": "nonsense"},
            {
                "type": "cryptographic-asset",
                "name": 5,
                "cryptoProperties": {"assetType": "algorithm"},
            },
            {"type": "application", "name": "video-surveillance", "bom-ref": "s"},
        ],
        "dependencies": [None, {"ref": "s", "dependsOn": "not a list"}, {"ref": 3}],
    }
    result = import_cbom(document, city, source="odd.json")
    assert result.observations == {}
    assert result.algorithms_found == 0


def test_unknown_service_on_the_command_line_is_an_input_error(city) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="no service"):
        import_cbom(CBOMKIT_STYLE, city, source="x", service="no-such-service")


def test_registry_levels_are_what_the_cbom_says() -> None:
    # The CBOM's quantum level of the hybrid group is the registry's (NIST category 3 of ML-KEM-768).
    assert lookup(Role.KEY_EXCHANGE, "X25519MLKEM768").nist_quantum_level == 3


kex_names = st.sampled_from(names(Role.KEY_EXCHANGE))
sig_names = st.sampled_from(names(Role.SIGNATURE))
cipher_names = st.sampled_from(names(Role.CIPHER))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(kex_names, sig_names, cipher_names), min_size=1, max_size=8))
def test_round_trip_holds_for_any_assignment_of_algorithms(
    assignment: list[tuple[str, str, str]],
) -> None:
    """Export then import gives back every service's three algorithms, whatever they are."""
    document = load_city(None).model_dump(mode="json")
    services = document["services"][: len(assignment)]
    for service, (kex, sig, cipher) in zip(services, assignment, strict=True):
        service["crypto"] = {"key_exchange": kex, "signature": sig, "cipher": cipher}
    document["services"] = services
    used_operators = {s["operator"] for s in services}
    document["operators"] = [o for o in document["operators"] if o["id"] in used_operators]
    city = CityManifest.model_validate(document)
    text = cbom_json(build_cbom(city, now=NOW, serial=SERIAL))
    result = import_cbom(parse_cbom_text(text, "x"), city, source="x")
    assert result.unmapped == ()
    for service in city.services:
        seen = result.observations[service.id]
        assert (seen.key_exchange, seen.signature, seen.cipher) == (
            service.crypto.key_exchange,
            service.crypto.signature,
            service.crypto.cipher,
        )
