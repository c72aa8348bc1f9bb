"""Contracts (the paper's duties) and the support programme (annuity of REFERENCE.md §9)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qsafecity.city import Clause, Tier
from qsafecity.manifests import load_city
from qsafecity.policy import (
    DEFAULT_FINANCE,
    Severity,
    annuity,
    check_contract,
    qkd_lines_needed,
    support_for,
)

CITY = load_city()


def codes(operator_id: str, tiers: list[Tier]) -> dict[str, Severity]:
    return {f.code: f.severity for f in check_contract(CITY.operators_by_id[operator_id], tiers)}


def test_municipal_operators_need_no_contract() -> None:
    assert codes("city-it", [Tier.CRITICAL]) == {}


def test_contractor_without_contract() -> None:
    assert codes("heat-grid-co", [Tier.CRITICAL]) == {"CONTRACT-MISSING": Severity.CRITICAL}
    assert codes("heat-grid-co", [Tier.IMPORTANT]) == {"CONTRACT-MISSING": Severity.HIGH}


def test_critical_contractor_must_have_the_quantum_clause() -> None:
    assert codes("transit-co", [Tier.CRITICAL]) == {"CONTRACT-NO-QUANTUM-CLAUSE": Severity.CRITICAL}
    assert codes("transit-co", [Tier.ESPECIALLY_IMPORTANT]) == {
        "CONTRACT-QUANTUM-CLAUSE-RECOMMENDED": Severity.INFO
    }
    assert codes("safe-city-integrator", [Tier.CRITICAL]) == {}


def test_liability_and_cost_recovery_are_checked() -> None:
    assert codes("med-it", [Tier.CRITICAL])["CONTRACT-NO-LIABILITY"] is Severity.HIGH
    assert codes("vodokanal", [Tier.CRITICAL])["CONTRACT-NO-COST-RECOVERY"] is Severity.HIGH
    assert codes("vodokanal", [Tier.IMPORTANT])["CONTRACT-NO-COST-RECOVERY"] is Severity.MEDIUM
    clauses = {c.value for c in Clause}
    assert {"quantum-secure-crypto", "liability", "cost-recovery"} <= clauses


def test_reference_annuity_example() -> None:
    # REFERENCE.md §9: 100 M at 16 % a year over 7 years, monthly: A = 1,986,206; interest 66.84 M.
    loan = annuity(100e6, 16.0, 7)
    assert round(loan.payment) == 1_986_206
    assert loan.total_interest == pytest.approx(66.84e6, abs=0.005e6)
    # With no discounting, the present value of the interest parts is the total interest.
    assert loan.interest_present_value == pytest.approx(loan.total_interest, rel=1e-9)


def test_present_value_matches_a_plain_loop() -> None:
    loan = annuity(5e6, 12.0, 3, discount_rate_percent=8.0)
    balance, present_value = 5e6, 0.0
    for k in range(1, 37):
        interest = balance * 0.01
        balance -= loan.payment - interest
        present_value += interest / (1 + 0.08 / 12) ** k
    assert loan.interest_present_value == pytest.approx(present_value, rel=1e-9)
    assert balance == pytest.approx(0.0, abs=1e-3)


@given(
    st.floats(min_value=1e3, max_value=1e10),
    st.floats(min_value=0.0, max_value=40.0),
    st.integers(min_value=1, max_value=30),
)
def test_annuity_invariants(principal: float, rate: float, years: int) -> None:
    loan = annuity(principal, rate, years)
    # Float tolerance: payment x n - principal loses ~1e-15 of the principal to rounding.
    tolerance = 1e-9 * principal
    assert loan.total_interest >= -tolerance
    assert loan.payment * years * 12 == pytest.approx(principal + loan.total_interest, rel=1e-9)
    assert loan.interest_present_value <= loan.total_interest + tolerance


def test_annuity_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="principal"):
        annuity(-1.0, 5.0, 3)


def test_support_for_a_contractor_with_terms() -> None:
    operator = CITY.operators_by_id["safe-city-integrator"]
    runs = [(s, Tier.CRITICAL) for s in CITY.services if s.operator == operator.id]
    entry = support_for(operator, runs, CITY)
    assert entry.qualifies
    assert entry.qkd_lines == (("dc-main", "police-hq"),)
    assert entry.loan is not None
    assert entry.loan.principal == 30e6
    assert entry.subsidy == pytest.approx(annuity(30e6, 16.0, 7).total_interest)
    assert not entry.terms_assumed


def test_support_uses_default_terms_and_says_so() -> None:
    operator = CITY.operators_by_id["heat-grid-co"]
    runs = [(s, Tier.CRITICAL) for s in CITY.services if s.operator == operator.id]
    entry = support_for(operator, runs, CITY)
    assert entry.terms_assumed
    assert entry.loan is not None
    assert entry.loan.annual_rate_percent == DEFAULT_FINANCE.loan_rate_percent
    assert "assumed" in entry.note


def test_operators_without_qkd_duty_do_not_qualify() -> None:
    operator = CITY.operators_by_id["parking-co"]
    runs = [(s, Tier.ESPECIALLY_IMPORTANT) for s in CITY.services if s.operator == operator.id]
    assert not support_for(operator, runs, CITY).qualifies


def test_existing_qkd_links_need_no_new_line() -> None:
    soc = CITY.services_by_id["soc-siem"]
    assert qkd_lines_needed([soc], CITY.links) == ()
