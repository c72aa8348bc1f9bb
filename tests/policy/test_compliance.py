"""Judging current cryptography against the profile: every rule, its severity and its remedy."""

from __future__ import annotations

from typing import Any

import pytest

from qsafecity.city import Service, Tier
from qsafecity.manifests import load_city
from qsafecity.policy import ObservedCrypto, Severity, judge_crypto, profile_for

BASE = load_city().services_by_id["video-surveillance"]


def service(kex: str, sig: str, cipher: str, **changes: Any) -> Service:
    crypto = BASE.crypto.model_copy(
        update={"key_exchange": kex, "signature": sig, "cipher": cipher}
    )
    return BASE.model_copy(update={"crypto": crypto, **changes})


def judge(
    s: Service,
    tier: Tier,
    *,
    at_risk: bool = True,
    now: int = 2026,
    observed: ObservedCrypto | None = None,
) -> dict[str, Severity]:
    result = judge_crypto(
        s, tier, profile_for(tier), now_year=now, at_risk=at_risk, observed=observed
    )
    return {f.code: f.severity for f in result.findings}


def compliant(s: Service, tier: Tier, now: int = 2026) -> bool:
    return judge_crypto(s, tier, profile_for(tier), now_year=now, at_risk=True).compliant


def test_critical_service_on_classical_crypto() -> None:
    found = judge(service("ECDHE-P256", "RSA-2048", "AES-128-GCM"), Tier.CRITICAL)
    assert found["KEX-QUANTUM-VULNERABLE"] is Severity.CRITICAL
    assert found["SIG-QUANTUM-VULNERABLE"] is Severity.HIGH
    assert found["CIPHER-BELOW-PROFILE"] is Severity.MEDIUM
    assert not compliant(service("ECDHE-P256", "RSA-2048", "AES-128-GCM"), Tier.CRITICAL)


def test_critical_service_with_qkd_and_pqc_is_compliant() -> None:
    s = service("QKD+ML-KEM-1024", "ML-DSA-87", "AES-256-GCM")
    assert judge(s, Tier.CRITICAL) == {}
    assert compliant(s, Tier.CRITICAL)


def test_qkd_alone_is_refused_by_regulators_advice() -> None:
    found = judge(service("QKD", "ML-DSA-87", "AES-256-GCM"), Tier.CRITICAL)
    assert found == {"QKD-WITHOUT-PQC": Severity.HIGH}


def test_pqc_only_critical_service_needs_qkd() -> None:
    found = judge(service("X25519MLKEM768", "ML-DSA-65", "AES-256-GCM"), Tier.CRITICAL)
    assert found == {"QKD-REQUIRED": Severity.HIGH}


def test_especially_important_hybrid_is_compliant_and_pure_mlkem_gets_advice() -> None:
    assert compliant(
        service("X25519MLKEM768", "ML-DSA-65", "AES-256-GCM"), Tier.ESPECIALLY_IMPORTANT
    )
    found = judge(service("ML-KEM-768", "ML-DSA-65", "AES-256-GCM"), Tier.ESPECIALLY_IMPORTANT)
    assert found == {"KEX-NOT-HYBRID": Severity.LOW}


def test_especially_important_classical_is_high() -> None:
    found = judge(service("X25519", "Ed25519", "ChaCha20-Poly1305"), Tier.ESPECIALLY_IMPORTANT)
    assert found["KEX-QUANTUM-VULNERABLE"] is Severity.HIGH
    assert found["SIG-QUANTUM-VULNERABLE"] is Severity.MEDIUM


def test_important_service_may_stay_classical_but_gets_advice() -> None:
    s = service("X25519", "Ed25519", "AES-128-GCM")
    found = judge(s, Tier.IMPORTANT, at_risk=False)
    assert found["KEX-PQC-RECOMMENDED"] is Severity.LOW
    assert found["SIG-PQC-RECOMMENDED"] is Severity.INFO
    assert compliant(s, Tier.IMPORTANT)
    assert judge(s, Tier.IMPORTANT, at_risk=True)["KEX-PQC-RECOMMENDED"] is Severity.MEDIUM


def test_absent_cryptography() -> None:
    found = judge(service("none", "none", "none"), Tier.ESPECIALLY_IMPORTANT)
    assert found == {
        "NO-KEY-EXCHANGE": Severity.HIGH,
        "NO-AUTHENTICATION": Severity.HIGH,
        "NO-ENCRYPTION": Severity.HIGH,
    }
    public = service(
        "none", "none", "none", data=BASE.data.model_copy(update={"categories": ("public",)})
    )
    assert judge(public, Tier.IMPORTANT)["NO-ENCRYPTION"] is Severity.LOW
    assert not compliant(public, Tier.IMPORTANT)


@pytest.mark.parametrize(
    ("kex", "migration", "now", "code", "severity"),
    [
        ("RSA-2048", 3, 2026, "DEPRECATED-2030", Severity.LOW),  # ends 2029: inside, no finding
        ("RSA-2048", 5, 2026, "DEPRECATED-2030", Severity.LOW),  # ends 2031 > 2030
        ("ECDHE-P256", 10, 2026, "MIGRATION-AFTER-DISALLOWANCE", Severity.MEDIUM),
        ("ECDHE-P256", 1, 2036, "ALGORITHM-DISALLOWED", Severity.HIGH),
    ],
)
def test_nist_ir_8547_dates(
    kex: str, migration: float, now: int, code: str, severity: Severity
) -> None:
    found = judge(
        service(kex, "ML-DSA-65", "AES-256-GCM", migration_years=migration), Tier.IMPORTANT, now=now
    )
    if migration == 3 and now == 2026:
        assert code not in found
    else:
        assert found[code] is severity


def test_3des_is_disallowed_and_not_aead() -> None:
    found = judge(service("X25519MLKEM768", "ML-DSA-65", "3DES"), Tier.ESPECIALLY_IMPORTANT)
    assert found["ALGORITHM-DISALLOWED"] is Severity.HIGH
    assert found["CIPHER-NO-AEAD"] is Severity.MEDIUM
    assert "CIPHER-BELOW-PROFILE" in found


def test_observed_beats_declared_and_a_mismatch_is_a_finding() -> None:
    s = service("X25519MLKEM768", "ML-DSA-65", "AES-256-GCM")
    seen = ObservedCrypto("video-surveillance", "TLS scan of 127.0.0.1:443", key_exchange="X25519")
    result = judge_crypto(
        s,
        Tier.ESPECIALLY_IMPORTANT,
        profile_for(Tier.ESPECIALLY_IMPORTANT),
        now_year=2026,
        at_risk=True,
        observed=seen,
    )
    codes = {f.code: f for f in result.findings}
    assert result.effective.key_exchange.name == "X25519"
    assert result.effective.observed_components == ("key_exchange",)
    assert codes["DECLARED-OBSERVED-MISMATCH"].severity is Severity.HIGH
    assert "TLS scan" in codes["DECLARED-OBSERVED-MISMATCH"].reason
    assert "KEX-QUANTUM-VULNERABLE" in codes
    assert not result.compliant


def test_every_finding_has_reason_and_remedy() -> None:
    for s in load_city().services:
        for tier in Tier:
            for f in judge_crypto(s, tier, profile_for(tier), now_year=2026, at_risk=True).findings:
                assert f.reason
                assert f.remedy
                assert f.subject == s.id
