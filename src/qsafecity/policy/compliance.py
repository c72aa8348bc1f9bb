"""Judging a service's cryptography against its tier's protection profile.

Each rule says why in its finding's ``reason`` and what to do in its ``remedy``. Severities follow
the tier (a flaw in a critical service matters more) and the Mosca risk: a quantum-vulnerable key
exchange is urgent when data sent today must stay secret past the likely arrival of a quantum
computer ("store now, decrypt later"). Signatures cannot be attacked retroactively (a forgery needs
the quantum computer at the time), so their findings are one step milder than key exchange ones.

NIST IR 8547 dates come from the algorithm registry: an algorithm whose migration, started now,
would end after its deprecation or disallowance year is a finding even for important services.
"""

from __future__ import annotations

from dataclasses import dataclass

from qsafecity.algorithms import Algorithm, Family, Role, lookup
from qsafecity.city.model import Service
from qsafecity.city.vocabulary import Tier
from qsafecity.policy.findings import Finding, Severity
from qsafecity.policy.observed import ObservedCrypto
from qsafecity.policy.profiles import ProtectionProfile, RequiredProtection

_TIER_SEVERITY = {
    Tier.CRITICAL: Severity.CRITICAL,
    Tier.ESPECIALLY_IMPORTANT: Severity.HIGH,
    Tier.IMPORTANT: Severity.LOW,
}


@dataclass(frozen=True, slots=True)
class EffectiveCrypto:
    """The cryptography a service is judged by: observed where known, declared otherwise."""

    key_exchange: Algorithm
    signature: Algorithm
    cipher: Algorithm
    observed_components: tuple[str, ...] = ()

    def component(self, role: Role) -> Algorithm:
        return {
            Role.KEY_EXCHANGE: self.key_exchange,
            Role.SIGNATURE: self.signature,
            Role.CIPHER: self.cipher,
        }[role]


@dataclass(frozen=True, slots=True)
class CryptoJudgement:
    """The verdict on one service's cryptography."""

    effective: EffectiveCrypto
    findings: tuple[Finding, ...]
    compliant: bool

    @property
    def already_hybrid(self) -> bool:
        return self.effective.key_exchange.is_hybrid

    @property
    def uses_qkd(self) -> bool:
        return self.effective.key_exchange.uses_qkd


def effective_crypto(
    service: Service, observed: ObservedCrypto | None
) -> tuple[EffectiveCrypto, list[Finding]]:
    """Observed beats declared; each disagreement is a finding of its own."""
    findings: list[Finding] = []
    chosen: dict[Role, Algorithm] = {}
    seen: list[str] = []
    for role in Role:
        declared = lookup(role, getattr(service.crypto, role.value))
        seen_name = getattr(observed, role.value) if observed is not None else None
        if seen_name is None or observed is None:
            chosen[role] = declared
            continue
        try:
            actual = lookup(role, seen_name)
        except KeyError:
            chosen[role] = declared
            findings.append(
                Finding(
                    "OBSERVED-UNKNOWN-ALGORITHM",
                    Severity.MEDIUM,
                    service.id,
                    role.value,
                    f"{observed.evidence} saw {role.value} {seen_name!r}, which the registry does "
                    f"not know; the declared {declared.name} is assumed",
                    "check the endpoint by hand and correct the manifest or the inventory",
                )
            )
            continue
        chosen[role] = actual
        seen.append(role.value)
        if actual.name != declared.name:
            weaker = actual.nist_quantum_level < declared.nist_quantum_level or (
                actual.classical_bits < declared.classical_bits
            )
            findings.append(
                Finding(
                    "DECLARED-OBSERVED-MISMATCH",
                    Severity.HIGH if weaker else Severity.LOW,
                    service.id,
                    role.value,
                    f"the manifest declares {role.value} {declared.name} but {observed.evidence} "
                    f"observed {actual.name}" + (", which is weaker" if weaker else ""),
                    "judge by what is observed; correct the manifest, or the endpoint if the "
                    "declared algorithm is the intended one",
                )
            )
    effective = EffectiveCrypto(
        chosen[Role.KEY_EXCHANGE], chosen[Role.SIGNATURE], chosen[Role.CIPHER], tuple(seen)
    )
    return effective, findings


def judge_crypto(
    service: Service,
    tier: Tier,
    profile: ProtectionProfile,
    *,
    now_year: int,
    at_risk: bool,
    observed: ObservedCrypto | None = None,
) -> CryptoJudgement:
    """Every finding about ``service``'s cryptography, and whether it meets ``profile``."""
    effective, mismatches = effective_crypto(service, observed)
    return judge_effective(
        service, tier, profile, effective, mismatches, now_year=now_year, at_risk=at_risk
    )


def judge_effective(
    service: Service,
    tier: Tier,
    profile: ProtectionProfile,
    effective: EffectiveCrypto,
    mismatches: list[Finding],
    *,
    now_year: int,
    at_risk: bool,
) -> CryptoJudgement:
    """``judge_crypto`` for a caller that has already resolved the effective cryptography
    (``effective_crypto``) and its mismatch findings, so that it is resolved once per service."""
    findings = list(mismatches)
    all_public = set(service.data.categories) <= {"public"}
    findings += _key_exchange_findings(
        service, tier, profile, effective.key_exchange, at_risk, all_public
    )
    findings += _signature_findings(service, tier, profile, effective.signature, all_public)
    findings += _cipher_findings(service, tier, profile, effective.cipher, all_public)
    for role in Role:
        findings += _date_findings(service, tier, effective.component(role), now_year)
    compliant = _meets_profile(profile, effective, now_year) and not any(
        f.severity.rank >= Severity.HIGH.rank for f in findings
    )
    return CryptoJudgement(effective, tuple(findings), compliant)


def _meets_profile(profile: ProtectionProfile, crypto: EffectiveCrypto, now_year: int) -> bool:
    if profile.required_protection is RequiredProtection.CLASSICAL_ALLOWED:
        return all(
            algorithm.family is not Family.NONE
            and (algorithm.disallowed_after is None or now_year <= algorithm.disallowed_after)
            for algorithm in (crypto.key_exchange, crypto.signature, crypto.cipher)
        )
    return (
        crypto.key_exchange.name in profile.accepted_key_exchange
        and crypto.signature.name in profile.accepted_signature
        and crypto.cipher.name in profile.accepted_cipher
    )


def _absent_severity(tier: Tier, all_public: bool) -> Severity:
    if tier is Tier.IMPORTANT:
        return Severity.LOW if all_public else Severity.MEDIUM
    return _TIER_SEVERITY[tier]


def _key_exchange_findings(
    service: Service,
    tier: Tier,
    profile: ProtectionProfile,
    kex: Algorithm,
    at_risk: bool,
    all_public: bool,
) -> list[Finding]:
    sid, component = service.id, Role.KEY_EXCHANGE.value
    preferred = profile.preferred_key_exchange
    if kex.family is Family.NONE:
        return [
            Finding(
                "NO-KEY-EXCHANGE",
                _absent_severity(tier, all_public),
                sid,
                component,
                "no key exchange: the traffic is not protected by any key",
                f"protect the traffic, with {preferred} key exchange",
            )
        ]
    if kex.family is Family.QKD:
        return [
            Finding(
                "QKD-WITHOUT-PQC",
                Severity.HIGH,
                sid,
                component,
                "QKD is used alone: it gives no authentication of its own, and NCSC, ANSSI, NSA "
                "and the BSI-led joint paper require it to be combined with PQC",
                "combine the QKD key with ML-KEM in one KDF (QKD+ML-KEM-1024) and authenticate "
                "peers with ML-DSA",
            )
        ]
    if kex.quantum_vulnerable:
        harvest = (
            "; its data must stay secret past the likely arrival of a quantum computer, so traffic "
            "recorded today can be decrypted later (store now, decrypt later)"
            if at_risk
            else ""
        )
        severity = _TIER_SEVERITY[tier]
        if tier is Tier.IMPORTANT and at_risk:
            severity = Severity.MEDIUM
        if profile.mandatory:
            reason = (
                f"{kex.name} is broken by a quantum computer (Shor) and the {tier.value} tier "
                f"requires {profile.required_protection.value}{harvest}"
            )
            code = "KEX-QUANTUM-VULNERABLE"
        else:
            reason = (
                f"{kex.name} is broken by a quantum computer (Shor); PQC is recommended{harvest}"
            )
            code = "KEX-PQC-RECOMMENDED"
        return [
            Finding(code, severity, sid, component, reason, f"move the key exchange to {preferred}")
        ]
    if profile.mandatory and kex.name not in profile.accepted_key_exchange:
        if profile.required_protection is RequiredProtection.QKD_PQC:
            return [
                Finding(
                    "QKD-REQUIRED",
                    Severity.HIGH,
                    sid,
                    component,
                    f"{kex.name} is quantum-safe but the critical tier requires a QKD key combined "
                    "with PQC (the paper: quantum communication for critical services)",
                    "connect both endpoints to the city's QKD network and combine its keys with "
                    f"the current exchange ({preferred})",
                )
            ]
        return [
            Finding(
                "KEX-BELOW-PROFILE",
                Severity.MEDIUM,
                sid,
                component,
                f"{kex.name} is not one of the key exchanges the {tier.value} profile accepts",
                f"move the key exchange to {preferred}",
            )
        ]
    if kex.family is Family.LATTICE and tier is not Tier.IMPORTANT:
        return [
            Finding(
                "KEX-NOT-HYBRID",
                Severity.LOW,
                sid,
                component,
                f"{kex.name} alone has no classical hedge; ANSSI and BSI recommend hybrids during "
                "the transition",
                f"use the hybrid {preferred}",
            )
        ]
    return []


def _signature_findings(
    service: Service, tier: Tier, profile: ProtectionProfile, sig: Algorithm, all_public: bool
) -> list[Finding]:
    sid, component = service.id, Role.SIGNATURE.value
    preferred = profile.preferred_signature
    if sig.family is Family.NONE:
        return [
            Finding(
                "NO-AUTHENTICATION",
                _absent_severity(tier, all_public),
                sid,
                component,
                "no signature: peers are not authenticated, so anyone can impersonate them",
                f"authenticate peers with {preferred}",
            )
        ]
    if sig.quantum_vulnerable:
        if profile.mandatory:
            severity = _TIER_SEVERITY[tier].raised(-1)
            return [
                Finding(
                    "SIG-QUANTUM-VULNERABLE",
                    severity,
                    sid,
                    component,
                    f"{sig.name} can be forged with a quantum computer and the {tier.value} tier "
                    "requires post-quantum signatures (forgery needs the computer at the time, so "
                    "this is less urgent than the key exchange)",
                    f"move signatures and certificates to {preferred}",
                )
            ]
        return [
            Finding(
                "SIG-PQC-RECOMMENDED",
                Severity.INFO,
                sid,
                component,
                f"{sig.name} can be forged with a quantum computer; PQC signatures are recommended",
                f"plan the move to {preferred}",
            )
        ]
    if profile.mandatory and sig.name not in profile.accepted_signature:
        return [
            Finding(
                "SIG-BELOW-PROFILE",
                Severity.MEDIUM,
                sid,
                component,
                f"{sig.name} is below the level the {tier.value} profile requires",
                f"use {preferred}",
            )
        ]
    return []


def _cipher_findings(
    service: Service, tier: Tier, profile: ProtectionProfile, cipher: Algorithm, all_public: bool
) -> list[Finding]:
    sid, component = service.id, Role.CIPHER.value
    preferred = profile.preferred_cipher
    if cipher.family is Family.NONE:
        return [
            Finding(
                "NO-ENCRYPTION",
                _absent_severity(tier, all_public),
                sid,
                component,
                "no encryption: the traffic travels in clear",
                f"encrypt the traffic with {preferred}",
            )
        ]
    findings = []
    if not cipher.authenticated_encryption:
        findings.append(
            Finding(
                "CIPHER-NO-AEAD",
                Severity.MEDIUM,
                sid,
                component,
                f"{cipher.name} gives no integrity of its own ({cipher.note})",
                f"use an authenticated cipher ({preferred})",
            )
        )
    if profile.mandatory and cipher.name not in profile.accepted_cipher:
        severity = Severity.MEDIUM if tier is Tier.CRITICAL else Severity.LOW
        findings.append(
            Finding(
                "CIPHER-BELOW-PROFILE",
                severity,
                sid,
                component,
                f"{cipher.name} is below the {tier.value} profile: 256-bit keys keep a margin "
                "against Grover's search (CNSA 2.0 requires AES-256)",
                f"use {preferred}",
            )
        )
    return findings


def _date_findings(
    service: Service, tier: Tier, algorithm: Algorithm, now_year: int
) -> list[Finding]:
    """NIST IR 8547 (and SP 800-131A) dates against the time a migration started now would take."""
    if algorithm.disallowed_after is None:
        return []
    role = algorithm.role.value
    finish = now_year + service.migration_years
    if now_year > algorithm.disallowed_after:
        return [
            Finding(
                "ALGORITHM-DISALLOWED",
                Severity.CRITICAL if tier is Tier.CRITICAL else Severity.HIGH,
                service.id,
                role,
                f"{algorithm.name} has been disallowed since {algorithm.disallowed_after + 1} "
                "(NIST SP 800-131A / IR 8547)",
                "replace it now",
            )
        ]
    if finish > algorithm.disallowed_after:
        return [
            Finding(
                "MIGRATION-AFTER-DISALLOWANCE",
                Severity.MEDIUM,
                service.id,
                role,
                f"a migration started in {now_year} would end in {finish:g}, after NIST IR 8547 "
                f"disallows {algorithm.name} (after {algorithm.disallowed_after})",
                "start the migration now and shorten it",
            )
        ]
    if algorithm.deprecated_after is not None and finish > algorithm.deprecated_after:
        return [
            Finding(
                "DEPRECATED-2030",
                Severity.LOW,
                service.id,
                role,
                f"{algorithm.name} ({algorithm.classical_bits}-bit security) is deprecated after "
                f"{algorithm.deprecated_after} by NIST IR 8547 and the migration would end in {finish:g}",
                "plan the replacement before the deprecation date",
            )
        ]
    return []
