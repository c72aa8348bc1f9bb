"""The bundled sample city meets the brief: size, tiers, sites, operators, contracts, crypto."""

from __future__ import annotations

from collections import Counter

from qsafecity.city import TIER_OF_FUNCTION, OperatorType, Tier
from qsafecity.manifests import load_city


def test_sample_city_is_a_realistic_mid_sized_city() -> None:
    city = load_city()
    assert city.city.population is not None
    assert 500_000 <= city.city.population <= 2_000_000
    assert len(city.services) >= 40
    assert len(city.sites) >= 15
    assert len(city.operators) >= 6
    assert city.links, "the sample city has a fibre plan"


def test_sample_city_has_all_tiers_and_missing_clauses() -> None:
    city = load_city()
    tiers = Counter(s.tier or TIER_OF_FUNCTION.get(s.function) for s in city.services)
    assert all(tiers[t] >= 5 for t in Tier)
    kinds = {o.type for o in city.operators}
    assert kinds == {OperatorType.MUNICIPAL, OperatorType.CONTRACTOR}
    contractors = [o for o in city.operators if o.type is OperatorType.CONTRACTOR]
    assert any(o.contract is None for o in contractors)
    assert any(
        o.contract and "quantum-secure-crypto" not in o.contract.clauses for o in contractors
    )


def test_sample_city_cryptography_is_mostly_classical() -> None:
    from qsafecity.algorithms import Role, lookup

    city = load_city()
    vulnerable = sum(
        lookup(Role.KEY_EXCHANGE, s.crypto.key_exchange).quantum_vulnerable for s in city.services
    )
    assert vulnerable / len(city.services) > 0.6
