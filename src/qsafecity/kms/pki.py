"""The city's small PKI for key delivery: a CA, KME certificates and SAE certificates (pyca x509).

Identities are SAN URIs, ``urn:qsafecity:kme:<site id>`` and ``urn:qsafecity:sae:<SAE id>``, so a
KME tells a KME from an SAE by the certificate alone. KME certificates serve TLS and authenticate
the KME as a client to its peers (server and client auth); SAE certificates are client-only.

Keys are ECDSA (P-384 for the CA, P-256 for leaves), which Python's ``ssl`` and every TLS stack
accept today. The certificates only authenticate the TLS channels: the keys an SAE gets are QKD
keys, whose secrecy does not rest on these signatures, but a deployment that needs quantum-safe
authentication of the channel must move to ML-DSA certificates once its TLS stack takes them.

Functions here are pure: they take ``now`` and return PEM bytes; the CLI writes the files.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Final, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from qsafecity.errors import InputError

Role = Literal["kme", "sae"]
URN_PREFIX: Final = "urn:qsafecity:"
_ID: Final = re.compile(r"^[a-z0-9][a-z0-9@.-]{0,199}$")


@dataclass(frozen=True, slots=True)
class Issued:
    """A certificate and its private key, PEM-encoded (the key unencrypted: store it 0600)."""

    certificate_pem: bytes
    key_pem: bytes = field(repr=False)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "qsafecity"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
        ]
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def create_ca(city_name: str, now: dt.datetime, valid_days: int = 3650) -> Issued:
    """A self-signed CA for the city's key delivery network."""
    if valid_days < 1:
        raise InputError("a CA must be valid for at least one day")
    key = ec.generate_private_key(ec.SECP384R1())
    name = _name(f"{city_name} key delivery CA")
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA384())
    )
    return Issued(certificate.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def issue(
    ca: Issued,
    role: Role,
    identity: str,
    now: dt.datetime,
    *,
    hosts: tuple[str, ...] = ("localhost", "127.0.0.1"),
    valid_days: int = 825,
) -> Issued:
    """A certificate for a KME (``identity`` = site id) or an SAE (``identity`` = SAE id)."""
    if role not in ("kme", "sae"):
        raise InputError(f"unknown role {role!r}: use kme or sae")
    if not _ID.match(identity):
        raise InputError(f"{identity!r} is not a site or SAE id (lower-case letters, digits, -@.)")
    if valid_days < 1:
        raise InputError("a certificate must be valid for at least one day")
    try:
        ca_certificate = x509.load_pem_x509_certificate(ca.certificate_pem)
        ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    except (ValueError, TypeError):
        raise InputError("the CA certificate or key cannot be read") from None
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise InputError("the CA key is not an EC key made by `qsafecity pki init`")
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [
        x509.UniformResourceIdentifier(f"{URN_PREFIX}{role}:{identity}")
    ]
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
    if role == "kme":
        usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{role.upper()} {identity}"))
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(
            min(now + dt.timedelta(days=valid_days), ca_certificate.not_valid_after_utc)
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return Issued(certificate.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def identities_in(certificate: x509.Certificate) -> dict[str, list[str]]:
    """The qsafecity identities a certificate names, by role: ``{"sae": ["video@a"]}``."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return {}
    found: dict[str, list[str]] = {}
    for uri in san.value.get_values_for_type(x509.UniformResourceIdentifier):
        if uri.startswith(URN_PREFIX):
            role, _, identity = uri[len(URN_PREFIX) :].partition(":")
            if role in ("kme", "sae") and identity:
                found.setdefault(role, []).append(identity)
    return found
