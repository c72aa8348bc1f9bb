"""The state support programme for operators who use QKD (the paper, §5 item 4).

The paper proposes that the state support an operator who chooses quantum cryptography with
preferential access to quantum trunk lines and the *full subsidy of the interest* on loans taken to
build QKD lines. The subsidy of an annuity loan is its total interest; its present value discounts
each period's interest part at the city's discount rate (REFERENCE.md §9).

Annuity (REFERENCE.md §9): payment A = P·i / (1 − (1 + i)^−n), i the rate per period, n the number
of periods; total interest n·A − P. Example: 100 M at 16 % a year over 7 years, monthly:
A = 1,986,206 and total interest 66.84 M.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from qsafecity.city.model import CityManifest, Finance, Link, Operator, Service
from qsafecity.city.vocabulary import OperatorType, Tier

#: Loan terms assumed when an operator's manifest entry gives none: the REFERENCE.md §9 example
#: (16 % a year over 7 years, monthly payments), typical of Russian corporate loans in 2024-2025.
DEFAULT_FINANCE: Final = Finance(loan_rate_percent=16.0, loan_years=7)
PAYMENTS_PER_YEAR: Final = 12

#: Default cost of one QKD line (a pair of QKD devices with installation) by currency, used when
#: the manifest gives no ``assumptions.qkd_line_cost``. No public price exists (REFERENCE.md §9):
#: 300,000 EUR is an assumption from the order of magnitude of commercial offers of metro QKD
#: systems; the other currencies convert it at rounded 2025 exchange rates.
DEFAULT_QKD_LINE_COST: Final[dict[str, float]] = {
    "EUR": 300_000.0,
    "USD": 330_000.0,
    "GBP": 260_000.0,
    "CHF": 290_000.0,
    "CNY": 2_400_000.0,
    "RUB": 30_000_000.0,
    "JPY": 50_000_000.0,
}


@dataclass(frozen=True, slots=True)
class Annuity:
    """An annuity loan and its interest schedule."""

    principal: float
    annual_rate_percent: float
    years: int
    periods_per_year: int
    payment: float
    total_interest: float
    interest_present_value: float


def annuity(
    principal: float,
    annual_rate_percent: float,
    years: int,
    *,
    periods_per_year: int = PAYMENTS_PER_YEAR,
    discount_rate_percent: float = 0.0,
) -> Annuity:
    """The annuity of a loan, its total interest and the present value of its interest parts.

    >>> round(annuity(100e6, 16.0, 7).payment)
    1986206
    """
    if principal < 0 or annual_rate_percent < 0 or years < 1 or periods_per_year < 1:
        raise ValueError("principal and rate must be >= 0, years and periods >= 1")
    periods = years * periods_per_year
    rate = annual_rate_percent / 100.0 / periods_per_year
    if principal == 0:
        return Annuity(0.0, annual_rate_percent, years, periods_per_year, 0.0, 0.0, 0.0)
    # log1p/expm1 keep the annuity exact for tiny rates, where 1 - (1 + i)^-n cancels to 0.
    k = np.arange(periods, dtype=np.float64)
    if rate == 0:
        payment = principal / periods
        balance = principal - payment * k
    else:
        log_growth = math.log1p(rate)
        payment = principal * rate / -math.expm1(-periods * log_growth)
        growth_minus_one = np.expm1(k * log_growth)
        # Balance before period k+1, in closed form for all periods at once.
        balance = principal * (1.0 + growth_minus_one) - payment * growth_minus_one / rate
    interest_parts = balance * rate
    discount = discount_rate_percent / 100.0 / periods_per_year
    factors = (1.0 + discount) ** -(k + 1.0)
    return Annuity(
        principal=principal,
        annual_rate_percent=annual_rate_percent,
        years=years,
        periods_per_year=periods_per_year,
        payment=float(payment),
        total_interest=float(payment * periods - principal),
        interest_present_value=float(np.sum(interest_parts * factors)),
    )


@dataclass(frozen=True, slots=True)
class SupportEntry:
    """What the support programme gives one operator."""

    operator_id: str
    qualifies: bool
    basis: str
    qkd_lines: tuple[tuple[str, str], ...]
    loan: Annuity | None
    terms_assumed: bool
    note: str

    @property
    def subsidy(self) -> float:
        """The interest the state pays (all of it, as the paper proposes)."""
        return self.loan.total_interest if self.loan is not None else 0.0

    @property
    def subsidy_present_value(self) -> float:
        return self.loan.interest_present_value if self.loan is not None else 0.0


def qkd_line_cost(city: CityManifest) -> float | None:
    """Cost of one QKD line in the city's currency: the manifest's, or the documented default."""
    if city.assumptions.qkd_line_cost is not None:
        return city.assumptions.qkd_line_cost
    return DEFAULT_QKD_LINE_COST.get(city.city.currency)


def qkd_lines_needed(
    services: Iterable[Service], links: Sequence[Link]
) -> tuple[tuple[str, str], ...]:
    """The site pairs that need a new QKD line: from each service's source to each other end,
    unless a QKD link already joins them. Pairs are unordered and counted once."""
    existing = {frozenset((link.a, link.b)) for link in links if link.qkd}
    pairs: set[tuple[str, str]] = set()
    for service in services:
        source, *others = service.endpoints
        for other in others:
            if frozenset((source, other)) not in existing:
                a, b = sorted((source, other))
                pairs.add((a, b))
    return tuple(sorted(pairs))


def support_for(
    operator: Operator,
    services: Sequence[tuple[Service, Tier]],
    city: CityManifest,
) -> SupportEntry:
    """The support programme entry for ``operator``: does it qualify, and what is its subsidy."""
    must = [s for s, tier in services if tier is Tier.CRITICAL]
    chooses = [
        s
        for s, tier in services
        if tier is not Tier.CRITICAL and "qkd" in s.crypto.key_exchange.lower()
    ]
    if not must and not chooses:
        return SupportEntry(
            operator.id, False, "runs no critical service and uses no QKD", (), None, False, ""
        )
    basis = (
        f"must use QKD: runs {len(must)} critical service(s)"
        if must
        else f"chooses QKD for {len(chooses)} service(s)"
    )
    lines = qkd_lines_needed([*must, *chooses], city.links)
    if not lines:
        return SupportEntry(
            operator.id, True, basis, (), None, False, "its QKD lines already exist"
        )
    cost = qkd_line_cost(city)
    if cost is None:
        note = (
            f"no default QKD line cost for {city.city.currency}: set assumptions.qkd_line_cost "
            "to compute the subsidy"
        )
        return SupportEntry(operator.id, True, basis, lines, None, False, note)
    if operator.type is OperatorType.MUNICIPAL and operator.finance is None:
        return SupportEntry(
            operator.id,
            True,
            basis,
            lines,
            None,
            False,
            "municipal department: its lines are financed from the city budget, not a loan",
        )
    finance = operator.finance or DEFAULT_FINANCE
    loan = annuity(
        cost * len(lines),
        finance.loan_rate_percent,
        finance.loan_years,
        discount_rate_percent=city.assumptions.discount_rate_percent,
    )
    note = "loan terms assumed (16 % over 7 years)" if operator.finance is None else ""
    return SupportEntry(operator.id, True, basis, lines, loan, operator.finance is None, note)
