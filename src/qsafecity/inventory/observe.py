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


def observations_by_service(scans: Iterable[EndpointScan]) -> dict[str, ObservedCrypto]:
    """One ``ObservedCrypto`` per service: where endpoints differ, the weakest one speaks for it.

    A service is as strong as its weakest endpoint (an attacker records the weakest connection),
    so for each role we keep the algorithm with the lowest NIST quantum level, then the lowest
    classical strength.
    """

    def strength(role: Role, name: str | None) -> tuple[int, int]:
        if name is None:
            return (99, 99_999)  # unobserved never wins over an observation
        algorithm = lookup(role, name)
        return (algorithm.nist_quantum_level, algorithm.classical_bits)

    merged: dict[str, ObservedCrypto] = {}
    for scan in scans:
        observed = observed_crypto(scan)
        if observed is None:
            continue
        previous = merged.get(observed.service_id)
        if previous is None:
            merged[observed.service_id] = observed
            continue
        picks: dict[str, str | None] = {}
        for role, attribute in (
            (Role.KEY_EXCHANGE, "key_exchange"),
            (Role.SIGNATURE, "signature"),
            (Role.CIPHER, "cipher"),
        ):
            ours, theirs = getattr(observed, attribute), getattr(previous, attribute)
            picks[attribute] = ours if strength(role, ours) < strength(role, theirs) else theirs
        merged[observed.service_id] = ObservedCrypto(
            service_id=observed.service_id,
            evidence=f"{previous.evidence}; {observed.evidence}",
            key_exchange=picks["key_exchange"],
            signature=picks["signature"],
            cipher=picks["cipher"],
        )
    return merged
