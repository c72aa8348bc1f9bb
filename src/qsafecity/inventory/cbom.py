"""CycloneDX 1.6 CBOMs of a city: export with cyclonedx-python-lib, import from other tools.

**Export** (``build_cbom``). One ``cryptographic-asset`` component per algorithm in use per role
(``assetType: algorithm`` with primitive, parameter set, NIST quantum level and classical level
from ``qsafecity.algorithms``), one per certificate and per TLS endpoint (``protocol``) seen by a
scan, and one ``application`` component per city service. Dependencies say which service uses
which algorithm and protocol. A service's algorithms are the observed ones where a scan saw them,
the declared ones otherwise; each service component says which in ``qsafecity:evidence``. The
document is validated against the official CycloneDX 1.6 JSON schema shipped with the library
before it is returned.

**Import** (``import_cbom``). Any CycloneDX 1.6/1.7 CBOM: ours, or another tool's such as
CBOMkit's, which describes one code base and has no services. Algorithms are recognised by the
role property we write, else by the CycloneDX primitive, and named by the registry through their
name, name plus parameter set, or OID. Each algorithm is attached to the services that depend on it
(directly or through a protocol), or to ``--service`` when the CBOM names no service. When a
service uses several algorithms for one role, the weakest one speaks for it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from cyclonedx.model import Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.bom_ref import BomRef
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.crypto import (
    AlgorithmProperties,
    CertificateProperties,
    CryptoAssetType,
    CryptoPrimitive,
    CryptoProperties,
    ProtocolProperties,
    ProtocolPropertiesCipherSuite,
    ProtocolPropertiesType,
)
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import SchemaVersion

from qsafecity.algorithms import ALGORITHMS, Algorithm, Role, canonical, lookup
from qsafecity.city import CityManifest
from qsafecity.errors import InputError, InventoryError
from qsafecity.inventory.certificates import CertificateFacts
from qsafecity.inventory.observe import cipher_of_suite, observations_by_service, weakest
from qsafecity.inventory.results import EndpointScan, EndpointStatus
from qsafecity.inventory.tls_wire import TLS13_CIPHER_SUITES
from qsafecity.policy.observed import ObservedCrypto

#: Property names this project writes (CycloneDX asks for a namespace prefix).
ROLE_PROPERTY: Final = "qsafecity:role"
SERVICE_PROPERTY: Final = "qsafecity:service-id"
EVIDENCE_PROPERTY: Final = "qsafecity:evidence"
#: A CBOM larger than this is not a city's inventory.
MAX_CBOM_BYTES: Final = 64 * 1024 * 1024

_PRIMITIVE_ROLE: Final[dict[str, Role]] = {
    "signature": Role.SIGNATURE,
    "key-agree": Role.KEY_EXCHANGE,
    "kem": Role.KEY_EXCHANGE,
    "pke": Role.KEY_EXCHANGE,
    "ae": Role.CIPHER,
    "block-cipher": Role.CIPHER,
    "stream-cipher": Role.CIPHER,
}
_AES_SPELLING: Final = re.compile(
    r"^AES[-_/]?(?P<bits>128|192|256)[-_/](?P<mode>GCM|CBC)\b", re.IGNORECASE
)
_SUITE_CODES: Final = {name: code for code, name in TLS13_CIPHER_SUITES.items()}


def algorithm_ref(role: Role, name: str) -> str:
    return f"crypto/algorithm/{role.value}/{name}"


def _algorithm_component(algorithm: Algorithm) -> Component:
    primitive = CryptoPrimitive(algorithm.cbom_primitive)
    return Component(
        type=ComponentType.CRYPTOGRAPHIC_ASSET,
        name=algorithm.name,
        bom_ref=algorithm_ref(algorithm.role, algorithm.name),
        description=algorithm.note or None,
        crypto_properties=CryptoProperties(
            asset_type=CryptoAssetType.ALGORITHM,
            algorithm_properties=AlgorithmProperties(
                primitive=primitive,
                parameter_set_identifier=algorithm.cbom_parameter_set,
                nist_quantum_security_level=algorithm.nist_quantum_level,
                classical_security_level=algorithm.classical_bits,
            ),
            oid=algorithm.oid,
        ),
        properties=[Property(name=ROLE_PROPERTY, value=algorithm.role.value)],
    )


def _certificate_signature_component(facts: CertificateFacts) -> Component:
    """The algorithm an issuer signed a certificate with (by its OID, e.g. sha256WithRSAEncryption)."""
    return Component(
        type=ComponentType.CRYPTOGRAPHIC_ASSET,
        name=facts.signed_with_name,
        bom_ref=f"crypto/algorithm/certificate-signature/{facts.signed_with_oid}",
        crypto_properties=CryptoProperties(
            asset_type=CryptoAssetType.ALGORITHM,
            algorithm_properties=AlgorithmProperties(primitive=CryptoPrimitive.SIGNATURE),
            oid=facts.signed_with_oid,
        ),
    )


@dataclass
class _Builder:
    bom: Bom
    components: dict[str, Component] = field(default_factory=dict)
    depends: dict[str, set[str]] = field(default_factory=dict)

    def add(self, component: Component, *, listed: bool = True) -> str:
        ref = str(component.bom_ref)
        if ref not in self.components:
            self.components[ref] = component
            if listed:
                self.bom.components.add(component)
        return ref

    def depend(self, ref: str, on: Iterable[str]) -> None:
        self.depends.setdefault(ref, set()).update(on)

    def ref(self, ref: str) -> BomRef:
        """The library's reference object of a component already added."""
        return self.components[ref].bom_ref

    def algorithm(self, role: Role, name: str) -> str:
        return self.add(_algorithm_component(lookup(role, name)))

    def finish(self) -> None:
        for ref, targets in self.depends.items():
            self.bom.register_dependency(
                self.components[ref], [self.components[t] for t in sorted(targets)]
            )


def build_cbom(
    city: CityManifest,
    scans: Sequence[EndpointScan] = (),
    *,
    now: dt.datetime,
    serial: uuid.UUID | None = None,
) -> Bom:
    """The CycloneDX 1.6 CBOM of ``city``, with what ``scans`` observed."""
    bom = Bom(serial_number=serial or uuid.uuid4())
    bom.metadata.timestamp = now
    root = Component(
        type=ComponentType.PLATFORM,
        name=city.city.name,
        bom_ref="city",
        description="smart city information systems (qsafecity city manifest)",
    )
    bom.metadata.component = root
    builder = _Builder(bom)
    service_refs: set[str] = set()
    observed = observations_by_service(scans)
    protocol_refs: dict[str, set[str]] = {}
    for scan in scans:
        if scan.status is not EndpointStatus.TLS:
            continue
        ref = _add_protocol(builder, scan)
        if scan.service_id is not None:
            protocol_refs.setdefault(scan.service_id, set()).add(ref)
    for service in city.services:
        seen = observed.get(service.id)
        chosen = {}
        for role, declared in (
            (Role.KEY_EXCHANGE, service.crypto.key_exchange),
            (Role.SIGNATURE, service.crypto.signature),
            (Role.CIPHER, service.crypto.cipher),
        ):
            value = getattr(seen, role.value) if seen is not None else None
            chosen[role] = value if value is not None else declared
        evidence = seen.evidence if seen is not None else "declared in the city manifest"
        component = Component(
            type=ComponentType.APPLICATION,
            name=service.name,
            bom_ref=f"service/{service.id}",
            description=service.description or None,
            properties=[
                Property(name=SERVICE_PROPERTY, value=service.id),
                Property(name=EVIDENCE_PROPERTY, value=evidence),
            ],
        )
        ref = builder.add(component)
        refs = {builder.algorithm(role, name) for role, name in chosen.items()}
        builder.depend(ref, refs | protocol_refs.get(service.id, set()))
        service_refs.add(ref)
    builder.add(root, listed=False)  # the root lives in metadata, not in components
    builder.depend("city", service_refs)
    builder.finish()
    return bom


def _add_protocol(builder: _Builder, scan: EndpointScan) -> str:
    algorithm_refs = set()
    for group in scan.accepted_groups:
        name = canonical(Role.KEY_EXCHANGE, group)
        if name is not None:
            algorithm_refs.add(builder.algorithm(Role.KEY_EXCHANGE, name))
    suites = []
    suite_names = list(scan.tls13_cipher_suites)
    for version in scan.versions:
        if version.supported and version.cipher_suite and version.cipher_suite not in suite_names:
            suite_names.append(version.cipher_suite)
    for suite in suite_names:
        cipher = cipher_of_suite(suite)
        refs = [builder.algorithm(Role.CIPHER, cipher)] if cipher else []
        algorithm_refs.update(refs)
        code = _SUITE_CODES.get(suite)
        suites.append(
            ProtocolPropertiesCipherSuite(
                name=suite,
                algorithms=[builder.ref(r) for r in refs],
                identifiers=[f"{code:#06x}"] if code else [],
            )
        )
    certificate_refs = []
    for position, facts in enumerate(scan.certificates):
        certificate_refs.append(_add_certificate(builder, facts, position))
    versions = scan.supported_versions
    ref = builder.add(
        Component(
            type=ComponentType.CRYPTOGRAPHIC_ASSET,
            name=f"TLS at {scan.target}",
            bom_ref=f"crypto/protocol/tls/{scan.target}",
            crypto_properties=CryptoProperties(
                asset_type=CryptoAssetType.PROTOCOL,
                protocol_properties=ProtocolProperties(
                    type=ProtocolPropertiesType.TLS,
                    version=versions[0].removeprefix("TLSv") if versions else None,
                    cipher_suites=suites,
                    crypto_refs=[
                        builder.ref(r) for r in sorted(algorithm_refs | set(certificate_refs))
                    ],
                ),
            ),
            properties=[
                Property(name="qsafecity:tls-versions", value=" ".join(versions) or "none"),
                Property(name="qsafecity:scanned-at", value=scan.scanned_at.isoformat()),
            ],
        )
    )
    builder.depend(ref, algorithm_refs | set(certificate_refs))
    return ref


def _add_certificate(builder: _Builder, facts: CertificateFacts, position: int) -> str:
    signed_with = builder.add(_certificate_signature_component(facts))
    key_ref = (
        builder.algorithm(Role.SIGNATURE, facts.signature_name)
        if facts.signature_name is not None
        else None
    )
    ref = builder.add(
        Component(
            type=ComponentType.CRYPTOGRAPHIC_ASSET,
            name=facts.subject or f"certificate {facts.sha256_fingerprint[:16]}",
            bom_ref=f"crypto/certificate/{facts.sha256_fingerprint}",
            crypto_properties=CryptoProperties(
                asset_type=CryptoAssetType.CERTIFICATE,
                certificate_properties=CertificateProperties(
                    subject_name=facts.subject,
                    issuer_name=facts.issuer,
                    not_valid_before=facts.not_before,
                    not_valid_after=facts.not_after,
                    signature_algorithm_ref=builder.ref(signed_with),
                    subject_public_key_ref=builder.ref(key_ref) if key_ref else None,
                    certificate_format="X.509",
                ),
            ),
            properties=[
                Property(name="qsafecity:chain-position", value=str(position)),
                Property(
                    name="qsafecity:public-key",
                    value=f"{facts.key_algorithm} {facts.key_bits or ''}".strip(),
                ),
            ],
        )
    )
    builder.depend(ref, {signed_with} | ({key_ref} if key_ref else set()))
    return ref


def cbom_json(bom: Bom) -> str:
    """The CBOM as CycloneDX 1.6 JSON, validated against the official 1.6 schema."""
    text = JsonV1Dot6(bom).output_as_string(indent=2)
    error = validate_cbom_text(text)
    if error is not None:
        raise InventoryError(f"the CBOM does not validate against CycloneDX 1.6: {error}")
    return text


def validate_cbom_text(text: str) -> str | None:
    """``None`` when ``text`` validates against the CycloneDX 1.6 schema, else the first error."""
    # Imported here: jsonschema's format checkers take seconds to import, and every other
    # command of the CLI (which imports this module) would pay for them.
    from cyclonedx.validation.json import JsonStrictValidator  # noqa: PLC0415

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    return None if error is None else str(error)


# --- import ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CBOMImport:
    """What an imported CBOM says about the city's services.

    ``observations`` maps service ids to what the CBOM shows them using; ``unmapped`` lists the
    algorithm components the registry could not name (with their role guess), ``unknown_services``
    the services the CBOM names that the city does not have.
    """

    observations: dict[str, ObservedCrypto]
    unmapped: tuple[str, ...]
    unknown_services: tuple[str, ...]
    algorithms_found: int


def _text(value: object, limit: int = 500) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def _properties(component: Mapping[str, Any]) -> dict[str, str]:
    found = {}
    for entry in component.get("properties") or []:
        if isinstance(entry, Mapping):
            name, value = _text(entry.get("name")), _text(entry.get("value"))
            if name is not None and value is not None:
                found[name] = value
    return found


def _role_of(component: Mapping[str, Any], crypto: Mapping[str, Any]) -> Role | None:
    declared = _properties(component).get(ROLE_PROPERTY)
    if declared in {r.value for r in Role}:
        return Role(declared)
    props = crypto.get("algorithmProperties")
    primitive = _text(props.get("primitive")) if isinstance(props, Mapping) else None
    return _PRIMITIVE_ROLE.get(primitive or "")


def _name_algorithm(
    role: Role, component: Mapping[str, Any], crypto: Mapping[str, Any]
) -> str | None:
    """The registry name of an algorithm component, tried by name, name+parameter set, OID."""
    name = _text(component.get("name"), 200) or ""
    props = crypto.get("algorithmProperties")
    parameter = (
        _text(props.get("parameterSetIdentifier"), 100) if isinstance(props, Mapping) else None
    )
    curve = _text(props.get("curve"), 100) if isinstance(props, Mapping) else None
    mode = _text(props.get("mode"), 50) if isinstance(props, Mapping) else None
    candidates = [name]
    if parameter:
        candidates += [f"{name}-{parameter}", f"{name}{parameter}"]
        if mode:
            candidates.append(f"{name}-{parameter}-{mode}")
    spelled = _AES_SPELLING.match(name)
    if spelled is not None:
        # JCA-style names: AES128-CBC-PKCS5, AES_256/GCM/NoPadding.
        candidates.append(f"AES-{spelled['bits']}-{spelled['mode'].upper()}")
    for candidate in candidates:
        found = canonical(role, candidate)
        if found is not None:
            return found
    if curve:
        # A named curve decides the algorithm within a role (ECDH on secp256r1 is ECDHE-P256).
        by_curve = [a for a in ALGORITHMS if a.role is role and a.cbom_parameter_set == curve]
        if len(by_curve) == 1:
            return by_curve[0].name
    oid = _text(crypto.get("oid"), 200)
    if oid:
        matches = [a for a in ALGORITHMS if a.role is role and a.oid == oid]
        if parameter:
            narrowed = [a for a in matches if a.cbom_parameter_set == parameter]
            matches = narrowed or matches
        if len(matches) == 1:
            return matches[0].name
    return None


def parse_cbom_text(text: str, source: str) -> Mapping[str, Any]:
    """Parse a CycloneDX JSON document, refusing what is not one (``InputError``)."""
    if len(text) > MAX_CBOM_BYTES:
        raise InputError(f"{source}: larger than {MAX_CBOM_BYTES} bytes")

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise ValueError(f"duplicate key {key!r}")
            result[key] = value
        return result

    try:
        document = json.loads(text, object_pairs_hook=no_duplicates)
    except (ValueError, RecursionError) as error:
        raise InputError(f"{source}: not valid JSON ({error})") from None
    if not isinstance(document, Mapping) or document.get("bomFormat") != "CycloneDX":
        raise InputError(f'{source}: not a CycloneDX document (no "bomFormat": "CycloneDX")')
    version = document.get("specVersion")
    if version not in ("1.6", "1.7"):
        raise InputError(
            f"{source}: CycloneDX {version!r} has no cryptographic assets; a CBOM needs 1.6 or 1.7"
        )
    components = document.get("components", [])
    if not isinstance(components, list):
        raise InputError(f'{source}: "components" must be a list')
    return document


def import_cbom(
    document: Mapping[str, Any],
    city: CityManifest,
    *,
    source: str,
    service: str | None = None,
) -> CBOMImport:
    """Attach the algorithms of a parsed CBOM to the services of ``city``."""
    if service is not None and service not in city.services_by_id:
        raise InputError(f"--service {service!r}: no service has this id in {city.city.name}")
    components = [
        c for c in _walk_components(document.get("components", [])) if isinstance(c, Mapping)
    ]
    algorithms: dict[str, tuple[Role, str]] = {}
    unmapped: list[str] = []
    services: dict[str, str] = {}  # bom-ref -> service id
    unknown_services: list[str] = []
    for component in components:
        ref = _text(component.get("bom-ref"), 1000)
        crypto = component.get("cryptoProperties")
        if isinstance(crypto, Mapping) and crypto.get("assetType") == "algorithm":
            role = _role_of(component, crypto)
            name = _name_algorithm(role, component, crypto) if role is not None else None
            label = _text(component.get("name"), 200) or ref or "(unnamed)"
            if role is None or name is None:
                if not (ref or "").startswith("crypto/algorithm/certificate-signature/"):
                    unmapped.append(f"{label} ({role.value if role else 'unknown role'})")
                continue
            if ref is not None:
                algorithms[ref] = (role, name)
            else:
                algorithms[f"(no bom-ref) {len(algorithms)}"] = (role, name)
            continue
        if component.get("type") in ("application", "service", "platform", "firmware", "device"):
            service_id = _service_of(component, city)
            if service_id is not None and ref is not None:
                services[ref] = service_id
            elif _properties(component).get(SERVICE_PROPERTY):
                unknown_services.append(_properties(component)[SERVICE_PROPERTY])
    for entry in document.get("services", []) or []:
        if isinstance(entry, Mapping):
            service_id = _service_of(entry, city)
            ref = _text(entry.get("bom-ref"), 1000)
            if service_id is not None and ref is not None:
                services[ref] = service_id
    graph = _dependency_graph(document.get("dependencies", []))
    used: dict[str, dict[Role, list[str]]] = {}
    if services:
        for ref, service_id in services.items():
            # Algorithms a service depends on directly are its own; those reached only through a
            # protocol are what its endpoint also accepts, used for a role with no direct one.
            direct = _by_role(algorithms, set(graph.get(ref, [])))
            reached = _by_role(algorithms, _reachable(graph, ref))
            roles = used.setdefault(service_id, {})
            for role in Role:
                roles.setdefault(role, []).extend(direct.get(role) or reached.get(role, []))
    else:
        target = service or _service_of_metadata(document, city)
        if target is None:
            raise InputError(
                f"{source}: the CBOM names no service of {city.city.name} (it describes one code "
                "base, as CBOMkit's do): say which service it belongs to with --service ID"
            )
        for role, name in algorithms.values():
            used.setdefault(target, {}).setdefault(role, []).append(name)
    evidence = f"CBOM import {source}"
    observations = {
        service_id: ObservedCrypto(
            service_id=service_id,
            evidence=evidence,
            key_exchange=weakest(Role.KEY_EXCHANGE, roles.get(Role.KEY_EXCHANGE, [])),
            signature=weakest(Role.SIGNATURE, roles.get(Role.SIGNATURE, [])),
            cipher=weakest(Role.CIPHER, roles.get(Role.CIPHER, [])),
        )
        for service_id, roles in sorted(used.items())
        if any(roles.values())
    }
    return CBOMImport(
        observations=observations,
        unmapped=tuple(dict.fromkeys(unmapped)),
        unknown_services=tuple(dict.fromkeys(unknown_services)),
        algorithms_found=len(algorithms),
    )


def _by_role(algorithms: Mapping[str, tuple[Role, str]], refs: set[str]) -> dict[Role, list[str]]:
    grouped: dict[Role, list[str]] = {}
    for ref in sorted(refs):
        if ref in algorithms:
            role, name = algorithms[ref]
            grouped.setdefault(role, []).append(name)
    return grouped


def _walk_components(components: object, depth: int = 0) -> Iterable[Any]:
    """Components and their nested ``components``, to a bounded depth (hostile nesting)."""
    if not isinstance(components, list) or depth > 16:
        return
    for component in components:
        yield component
        if isinstance(component, Mapping):
            yield from _walk_components(component.get("components"), depth + 1)


def _service_of(component: Mapping[str, Any], city: CityManifest) -> str | None:
    declared = _properties(component).get(SERVICE_PROPERTY)
    if declared in city.services_by_id:
        return declared
    name = (_text(component.get("name"), 200) or "").strip()
    if name in city.services_by_id:
        return name
    by_name = {s.name.lower(): s.id for s in city.services}
    return by_name.get(name.lower())


def _service_of_metadata(document: Mapping[str, Any], city: CityManifest) -> str | None:
    metadata = document.get("metadata")
    if not isinstance(metadata, Mapping):
        return None
    component = metadata.get("component")
    return _service_of(component, city) if isinstance(component, Mapping) else None


def _dependency_graph(dependencies: object) -> dict[str, list[str]]:
    graph: dict[str, list[str]] = {}
    if not isinstance(dependencies, list):
        return graph
    for entry in dependencies:
        if not isinstance(entry, Mapping):
            continue
        ref = _text(entry.get("ref"), 1000)
        targets = entry.get("dependsOn") or entry.get("provides") or []
        if ref is None or not isinstance(targets, list):
            continue
        graph.setdefault(ref, []).extend(t for t in targets if isinstance(t, str))
    return graph


def _reachable(graph: Mapping[str, list[str]], start: str) -> set[str]:
    seen: set[str] = set()
    stack = [start]
    while stack:
        node = stack.pop()
        for target in graph.get(node, []):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen
