"""From what a scan saw to what the assessment judges: ``ObservedCrypto`` per service (pure).

Names are the registry's canonical names (``qsafecity.algorithms``); a component whose algorithm
the registry does not know stays ``None`` ("not observed") rather than being guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from qsafecity.algorithms import Role, canonical, lookup
from qsafecity.inventory.results import EndpointScan, EndpointStatus, GroupSupport
from qsafecity.policy.observed import ObservedCrypto

#: Substrings of cipher suite names (IANA and OpenSSL spellings) mapped to registry ciphers,
#: checked in order (the first match wins).
_CIPHER_PATTERNS: Final = (
    ("CHACHA20", "ChaCha20-Poly1305"),
    ("AES_256_GCM", "AES-256-GCM"),
    ("AES256-GCM", "AES-256-GCM"),
    ("AES_128_GCM", "AES-128-GCM"),
    ("AES128-GCM", "AES-128-GCM"),
    ("AES_128_CBC", "AES-128-CBC"),
    ("AES128-SHA", "AES-128-CBC"),
    ("3DES", "3DES"),
    ("DES-CBC3", "3DES"),
)
#: The order in which OpenSSL 3.0 clients offer TLS 1.2 curves: the first one a server accepts is
#: the one it negotiates with such a client.
_TLS12_CURVE_ORDER: Final = ("X25519", "ECDHE-P256", "ECDHE-P384")


def cipher_of_suite(suite: str | None) -> str | None:
    """The registry cipher of a cipher suite name, or ``None`` when unknown."""
    if not suite:
        return None
    upper = suite.upper()
    for pattern, name in _CIPHER_PATTERNS:
        if pattern in upper:
            return name
    return None


def observed_key_exchange(scan: EndpointScan) -> str | None:
    """The key exchange a modern client gets from this endpoint (registry name, or ``None``)."""
    if scan.preferred_group is not None:
        return canonical(Role.KEY_EXCHANGE, scan.preferred_group)
    suite = (scan.negotiated_cipher_suite or "").upper()
    if not suite:
        return None
    if suite.startswith("TLS_AES") or suite.startswith("TLS_CHACHA20"):
        return None  # TLS 1.3 without a known group: nothing to say
    if suite.startswith(("ECDHE", "TLS_ECDHE")):
        for curve in _TLS12_CURVE_ORDER:
            if scan.groups.get(curve) is GroupSupport.ACCEPTED:
                return curve
        return None
    if suite.startswith(("DHE", "TLS_DHE", "EDH")):
        # OpenSSL servers default to 2048-bit DH parameters; the size is not visible via ``ssl``.
        return "DH-2048"
    # No (EC)DHE prefix: RSA key transport, as strong as the certificate's RSA key.
    if scan.certificates and scan.certificates[0].key_algorithm == "RSA":
        return canonical(Role.KEY_EXCHANGE, f"RSA-{scan.certificates[0].key_bits}")
    return None


def observed_crypto(scan: EndpointScan, evidence: str | None = None) -> ObservedCrypto | None:
    """What one endpoint of a service was seen to use; ``None`` if it did not answer TLS."""
    if scan.status is not EndpointStatus.TLS or scan.service_id is None:
        return None
    leaf = scan.certificates[0] if scan.certificates else None
    return ObservedCrypto(
        service_id=scan.service_id,
        evidence=evidence or f"TLS scan of {scan.target} on {scan.scanned_at.date().isoformat()}",
        key_exchange=observed_key_exchange(scan),
        signature=leaf.signature_name if leaf else None,
        cipher=cipher_of_suite(scan.negotiated_cipher_suite),
    )


def _strength(role: Role, name: str) -> tuple[int, int, bool]:
    algorithm = lookup(role, name)
    # At equal levels a cipher without integrity (CBC) is the weaker one.
    return (
        algorithm.nist_quantum_level,
        algorithm.classical_bits,
        algorithm.authenticated_encryption,
    )


def weakest(role: Role, names: Iterable[str | None]) -> str | None:
    """The weakest of ``names`` in ``role``: lowest NIST quantum level, then classical bits,
    then no authenticated encryption before authenticated encryption.

    A service is as strong as its weakest endpoint or code path (an attacker records the weakest
    connection). ``None`` entries (not observed) are ignored; ``None`` when nothing is left.
    """
    known = [n for n in names if n is not None]
    if not known:
        return None
    return min(known, key=lambda name: _strength(role, name))


def observations_by_service(scans: Iterable[EndpointScan]) -> dict[str, ObservedCrypto]:
    """One ``ObservedCrypto`` per service; where endpoints differ, the weakest one speaks for it."""
    grouped: dict[str, list[ObservedCrypto]] = {}
    for scan in scans:
        observed = observed_crypto(scan)
        if observed is not None:
            grouped.setdefault(observed.service_id, []).append(observed)
    return {
        service_id: ObservedCrypto(
            service_id=service_id,
            evidence="; ".join(dict.fromkeys(o.evidence for o in seen)),
            key_exchange=weakest(Role.KEY_EXCHANGE, (o.key_exchange for o in seen)),
            signature=weakest(Role.SIGNATURE, (o.signature for o in seen)),
            cipher=weakest(Role.CIPHER, (o.cipher for o in seen)),
        )
        for service_id, seen in grouped.items()
    }
