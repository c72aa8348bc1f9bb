"""What a certificate chain says about a service's signatures (pyca/cryptography x509, no I/O).

A TLS server authenticates with the key in its leaf certificate, so the leaf key's algorithm and
size is the service's observed ``signature`` algorithm; each certificate's own signature algorithm
(the issuer's) and validity go into the CBOM as certificate assets.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, mldsa, rsa
from pydantic import BaseModel, ConfigDict

from qsafecity.algorithms import Role, canonical

#: Curve names of pyca mapped to the registry's ECDSA names.
_ECDSA_BY_CURVE = {"secp256r1": "ECDSA-P256", "secp384r1": "ECDSA-P384"}
_MLDSA_BY_CLASS = (
    (mldsa.MLDSA44PublicKey, "ML-DSA-44"),
    (mldsa.MLDSA65PublicKey, "ML-DSA-65"),
    (mldsa.MLDSA87PublicKey, "ML-DSA-87"),
)


class CertificateFacts(BaseModel):
    """The facts of one certificate that matter for a quantum-safety inventory.

    ``key_algorithm`` is a descriptive name (``RSA``, ``EC``, ``Ed25519``, ``ML-DSA-65``…),
    ``key_bits`` its size (RSA modulus bits, curve bits), ``signature_name`` the registry's
    signature algorithm for that key (``None`` when the registry has no such algorithm),
    ``signed_with`` the dotted OID and name of the algorithm the issuer signed it with.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str
    issuer: str
    serial_hex: str
    not_before: dt.datetime
    not_after: dt.datetime
    key_algorithm: str
    key_bits: int | None
    curve: str | None = None
    signature_name: str | None
    signed_with_oid: str
    signed_with_name: str
    sha256_fingerprint: str
    self_signed: bool

    def days_left(self, now: dt.datetime) -> float:
        """Days from ``now`` until the certificate expires (negative once expired)."""
        return (self.not_after - now).total_seconds() / 86_400.0


def describe_certificate(der: bytes) -> CertificateFacts:
    """Facts of the DER certificate ``der``. Raises ``ValueError`` when it cannot be parsed."""
    certificate = x509.load_der_x509_certificate(der)
    key_algorithm, key_bits, curve, signature_name = _describe_key(certificate)
    oid = certificate.signature_algorithm_oid
    fingerprint = certificate.fingerprint(hashes.SHA256()).hex()
    return CertificateFacts(
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        serial_hex=format(certificate.serial_number, "x"),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        key_algorithm=key_algorithm,
        key_bits=key_bits,
        curve=curve,
        signature_name=signature_name,
        signed_with_oid=oid.dotted_string,
        signed_with_name=getattr(oid, "_name", None) or oid.dotted_string,
        sha256_fingerprint=fingerprint,
        self_signed=certificate.subject == certificate.issuer,
    )


def _describe_key(certificate: x509.Certificate) -> tuple[str, int | None, str | None, str | None]:
    try:
        key = certificate.public_key()
    except (ValueError, TypeError) as error:  # unknown or malformed key: still a finding
        return f"unsupported ({error})", None, None, None
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size, None, canonical(Role.SIGNATURE, f"RSA-{key.key_size}")
    if isinstance(key, ec.EllipticCurvePublicKey):
        name = key.curve.name
        return "EC", key.curve.key_size, name, _ECDSA_BY_CURVE.get(name)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256, None, "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456, None, None
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size, None, None
    for key_class, name in _MLDSA_BY_CLASS:
        if isinstance(key, key_class):
            return name, None, None, name
    return type(key).__name__, None, None, None
