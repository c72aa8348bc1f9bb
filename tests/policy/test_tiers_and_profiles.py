"""Classification by the paper's criterion, and profiles that never weaken with a higher tier."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qsafecity.algorithms import Role, lookup
from qsafecity.city import FUNCTIONS_BY_TIER, Tier
from qsafecity.manifests import load_city
from qsafecity.policy import PROFILES, RequiredProtection, classify, profile_for


@pytest.mark.parametrize(
    ("tier", "function"), [(t, f) for t, fs in FUNCTIONS_BY_TIER.items() for f in fs]
)
def test_every_function_gets_its_papers_tier(tier: Tier, function: str) -> None:
    base = load_city().services[0]
    service = base.model_copy(update={"function": function, "tier": None, "tier_reason": None})
    result = classify(service)
    assert result.tier is tier
    assert not result.overridden
    assert result.reason.startswith(f"{tier.value}: {function} serves")


def test_reason_reads_like_the_paper() -> None:
    dispatch = load_city().services_by_id["emergency-dispatch-112"]
    assert classify(dispatch).reason == (
        "critical: emergency-dispatch serves the physical and virtual security of residents"
    )


def test_overrides_are_honoured_and_shown() -> None:
    city = load_city()
    drones = classify(city.services_by_id["medical-drones"])
    assert drones.tier is Tier.CRITICAL
    assert drones.overridden
    assert drones.computed_tier is None
    assert "(override)" in drones.reason
    assert "outside the vocabulary" in drones.reason
    diary = classify(city.services_by_id["school-e-diary"])
    assert diary.tier is Tier.ESPECIALLY_IMPORTANT
    assert diary.computed_tier is Tier.IMPORTANT
    assert "would be important" in diary.reason


def test_profiles_map_tiers_to_the_papers_protection() -> None:
    assert profile_for(Tier.CRITICAL).required_protection is RequiredProtection.QKD_PQC
    assert profile_for(Tier.ESPECIALLY_IMPORTANT).required_protection is RequiredProtection.PQC
    assert profile_for(Tier.IMPORTANT).required_protection is RequiredProtection.CLASSICAL_ALLOWED
    critical = profile_for(Tier.CRITICAL)
    assert critical.accepted_key_exchange == {"QKD+ML-KEM-768", "QKD+ML-KEM-1024"}
    assert "ML-DSA-87" in critical.accepted_signature
    assert critical.accepted_cipher == {"AES-256-GCM"}
    assert "X25519MLKEM768" in profile_for(Tier.ESPECIALLY_IMPORTANT).accepted_key_exchange


def _weakest_level(tier: Tier, role: Role) -> int:
    profile = PROFILES[tier]
    accepted = {
        Role.KEY_EXCHANGE: profile.accepted_key_exchange,
        Role.SIGNATURE: profile.accepted_signature,
        Role.CIPHER: profile.accepted_cipher,
    }[role]
    if not accepted:
        return 0
    return min(lookup(role, name).nist_quantum_level for name in accepted)


@given(st.sampled_from(list(Tier)), st.sampled_from(list(Tier)), st.sampled_from(list(Role)))
def test_a_higher_tier_never_gets_weaker_protection(a: Tier, b: Tier, role: Role) -> None:
    higher, lower = (a, b) if a.rank >= b.rank else (b, a)
    assert _weakest_level(higher, role) >= _weakest_level(lower, role)
    if (
        PROFILES[higher].accepted_key_exchange
        and PROFILES[lower].accepted_key_exchange
        and role is Role.KEY_EXCHANGE
    ):
        assert PROFILES[higher].accepted_key_exchange <= PROFILES[lower].accepted_key_exchange
