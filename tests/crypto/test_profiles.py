"""Profiles and tiers: a higher tier never gets weaker protection; facts come from the registry."""

from __future__ import annotations

import pytest

from qsafecity import algorithms
from qsafecity.city.vocabulary import Tier
from qsafecity.crypto import Profile, registry, required_profile, satisfies


def test_higher_tier_never_gets_a_weaker_profile() -> None:
    tiers = sorted(Tier, key=lambda tier: tier.rank)
    ranks = [required_profile(tier).rank for tier in tiers]
    assert ranks == sorted(ranks)
    assert required_profile(Tier.CRITICAL) is Profile.CRITICAL


@pytest.mark.parametrize("tier", list(Tier))
def test_satisfies_is_rank_comparison(tier: Tier) -> None:
    for profile in Profile:
        assert satisfies(profile, tier) is (profile.rank >= required_profile(tier).rank)


def test_profile_algorithms_are_registry_entries() -> None:
    for profile in Profile:
        spec = profile.spec
        assert spec.kem.is_hybrid
        assert spec.kem.is_post_quantum
        assert spec.signature.family is algorithms.Family.LATTICE
        assert spec.cipher.authenticated_encryption
    assert Profile.PQC.spec.nist_quantum_level == 3
    assert Profile.CRITICAL.spec.nist_quantum_level == 5


def test_registry_is_re_exported_not_copied() -> None:
    assert registry.lookup is algorithms.lookup
    assert registry.ALGORITHMS is algorithms.ALGORITHMS
    assert registry.canonical(registry.Role.KEY_EXCHANGE, "xwing") == "X-Wing"
    assert registry.canonical(registry.Role.KEY_EXCHANGE, "MLKEM1024P384") == "MLKEM1024-P384"


def test_profile_parsing() -> None:
    assert Profile.parse(" Critical ") is Profile.CRITICAL
    with pytest.raises(ValueError, match="unknown profile"):
        Profile.parse("rsa")
    with pytest.raises(ValueError, match="code"):
        Profile.from_code(9)


def test_cbom_crypto_functions_follow_the_primitive() -> None:
    kem = registry.lookup(registry.Role.KEY_EXCHANGE, "X-Wing")
    assert kem.cbom_crypto_functions == ("keygen", "encapsulate", "decapsulate")
    assert registry.lookup(registry.Role.SIGNATURE, "ML-DSA-87").cbom_crypto_functions == (
        "keygen",
        "sign",
        "verify",
    )
    assert registry.lookup(registry.Role.CIPHER, "none").cbom_crypto_functions == ("unknown",)
    assert all(a.cbom_crypto_functions for a in registry.ALGORITHMS)
