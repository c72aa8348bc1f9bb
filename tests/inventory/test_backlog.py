"""The migration backlog: what to change, the deadline rules, the order, and the sample city."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsafecity.algorithms import Role
from qsafecity.assessment import assess
from qsafecity.city.vocabulary import Tier
from qsafecity.inventory.backlog import (
    BacklogInput,
    DeadlineSource,
    build_backlog,
    changes_for,
    migration_backlog,
)
from qsafecity.manifests import load_city
from qsafecity.policy import ObservedCrypto, profile_for

NOW = 2026


def entry(
    service_id: str,
    tier: Tier,
    kex: str = "ECDHE-P256",
    sig: str = "ECDSA-P256",
    cipher: str = "AES-256-GCM",
    *,
    slack: float | None = None,
    migration: float = 3.0,
) -> BacklogInput:
    return BacklogInput(
        service_id=service_id,
        service_name=service_id.title(),
        tier=tier,
        profile=profile_for(tier),
        current={Role.KEY_EXCHANGE: kex, Role.SIGNATURE: sig, Role.CIPHER: cipher},
        migration_years=migration,
        slack_years=slack,
    )


def test_what_to_change_follows_the_tier_profile() -> None:
    critical = changes_for(entry("a", Tier.CRITICAL, "X25519MLKEM768", "ML-DSA-65"))
    assert [(c.role, c.current, c.target) for c in critical] == [
        (Role.KEY_EXCHANGE, "X25519MLKEM768", "QKD+ML-KEM-1024")
    ]
    hybrid_ok = changes_for(entry("b", Tier.ESPECIALLY_IMPORTANT, "X25519MLKEM768", "ML-DSA-65"))
    assert hybrid_ok == ()
    important = changes_for(entry("c", Tier.IMPORTANT, "X25519", "Ed25519", "AES-128-GCM"))
    # Important: classical allowed, but NIST IR 8547 retires ECC by 2035; AES-128-GCM stays.
    assert [(c.role, c.target) for c in important] == [
        (Role.KEY_EXCHANGE, "X25519MLKEM768"),
        (Role.SIGNATURE, "ML-DSA-65"),
    ]
    weak_cipher = changes_for(entry("d", Tier.IMPORTANT, "ML-KEM-768", "ML-DSA-65", "3DES"))
    assert [(c.role, c.current) for c in weak_cipher] == [(Role.CIPHER, "3DES")]


def test_the_earliest_rule_sets_the_deadline() -> None:
    backlog = build_backlog(
        [
            # Mosca: slack 1 year, 3 years to migrate: finished by 2026 + 1 + 3 = 2030 -> 2030;
            # ties with the roadmap's 2030 are won by Mosca (the more specific rule).
            entry("mosca", Tier.ESPECIALLY_IMPORTANT, slack=1.0),
            # RSA-2048 is deprecated after 2030 (NIST IR 8547) but the tier's roadmap says 2030.
            entry("nist", Tier.IMPORTANT, "RSA-2048", "RSA-2048"),
            # Important + ECC, no Mosca: roadmap 2035 and NIST disallowance 2035 tie; NIST wins.
            entry("roadmap", Tier.IMPORTANT),
            entry("critical", Tier.CRITICAL, slack=-4.0, migration=2.0),
        ],
        now_year=NOW,
    )
    by_id = {item.service_id: item for item in backlog.items}
    assert (by_id["mosca"].due_year, by_id["mosca"].deadline_source) == (2030, DeadlineSource.MOSCA)
    assert (by_id["nist"].due_year, by_id["nist"].deadline_source) == (
        2030,
        DeadlineSource.NIST_IR_8547,
    )
    assert by_id["roadmap"].due_year == 2035
    assert by_id["roadmap"].deadline_source is DeadlineSource.NIST_IR_8547
    critical = by_id["critical"]
    assert (critical.due_year, critical.start_by_year, critical.late) == (2024, 2022, True)
    assert [item.service_id for item in backlog.items] == ["critical", "mosca", "nist", "roadmap"]
    assert [item.rank for item in backlog.items] == [1, 2, 3, 4]


def test_a_longer_migration_starts_earlier_and_comes_first() -> None:
    backlog = build_backlog(
        [
            entry("quick", Tier.CRITICAL, migration=1.0),
            entry("slow", Tier.IMPORTANT, "RSA-2048", "RSA-2048", migration=8.0),
        ],
        now_year=NOW,
    )
    assert [i.service_id for i in backlog.items] == ["slow", "quick"]
    assert backlog.items[0].start_by_year == 2022


def test_compliant_services_are_listed_apart() -> None:
    backlog = build_backlog(
        [entry("ok", Tier.CRITICAL, "QKD+ML-KEM-1024", "ML-DSA-87", "AES-256-GCM")], now_year=NOW
    )
    assert backlog.items == ()
    assert backlog.compliant_services == ("ok",)


tiers = st.sampled_from(list(Tier))
kexes = st.sampled_from(["RSA-2048", "ECDHE-P256", "X25519", "X25519MLKEM768", "QKD+ML-KEM-1024"])
slacks = st.one_of(st.none(), st.floats(-80, 80, allow_nan=False))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(tiers, kexes, slacks, st.floats(0, 20)), min_size=1, max_size=30))
def test_the_order_is_by_start_year_then_tier_and_every_deadline_is_met_by_its_start(
    rows: list[tuple[Tier, str, float | None, float]],
) -> None:
    backlog = build_backlog(
        [
            entry(f"s{i}", tier, kex, slack=slack, migration=migration)
            for i, (tier, kex, slack, migration) in enumerate(rows)
        ],
        now_year=NOW,
    )
    keys = [(i.start_by_year, -i.tier.rank) for i in backlog.items]
    assert keys == sorted(keys)
    for item in backlog.items:
        assert item.start_by_year == math.floor(item.due_year - item.migration_years)
        assert item.due_year <= {Tier.IMPORTANT: 2035}.get(item.tier, 2030)
        assert item.late == (item.start_by_year < NOW)
    assert len(backlog.items) + len(backlog.compliant_services) == len(rows)


def test_the_sample_city_backlog() -> None:
    city = load_city(None)
    assessment = assess(city, now_year=NOW)
    backlog = migration_backlog(assessment)
    compliant = {s.service.id for s in assessment.services if s.judgement.compliant}
    # Every service either needs a change or is compliant with a mandatory profile or, if
    # important, uses nothing the NIST dates retire.
    assert len(backlog.items) + len(backlog.compliant_services) == len(city.services)
    assert set(backlog.compliant_services) >= compliant - {
        s.service.id for s in assessment.services if s.classification.tier is Tier.IMPORTANT
    }
    first = backlog.items[0]
    assert first.late
    assert first.deadline_source is DeadlineSource.MOSCA
    data = backlog.as_data()
    assert data["items"][0]["service"] == first.service_id  # type: ignore[index]
    # Critical services all move to QKD combined with ML-KEM.
    for item in backlog.items:
        if item.tier is Tier.CRITICAL:
            targets = {c.target for c in item.changes if c.role is Role.KEY_EXCHANGE}
            assert targets <= {"QKD+ML-KEM-1024"}


def test_observed_crypto_changes_the_backlog() -> None:
    city = load_city(None)
    declared = migration_backlog(assess(city, now_year=NOW))
    assert "e-gov-portal" in {i.service_id for i in declared.items}
    seen = ObservedCrypto("e-gov-portal", "TLS scan", signature="ML-DSA-65")
    observed = migration_backlog(assess(city, now_year=NOW, observations={"e-gov-portal": seen}))
    assert "e-gov-portal" in observed.compliant_services


@pytest.mark.parametrize("tier", list(Tier))
def test_a_service_with_no_cryptography_must_change_everything(tier: Tier) -> None:
    steps = changes_for(entry("open", tier, "none", "none", "none"))
    assert {s.role for s in steps} == set(Role)
