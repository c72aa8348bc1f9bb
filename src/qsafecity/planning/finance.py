"""Money over time: discounting over the planning horizon and the loan interest subsidy.

The support programme (paper §5 item 4) fully subsidises the interest on the loan an operator
takes to build QKD lines. The loan is an annuity (REFERENCE.md §9): a payment
``A = P i / (1 - (1 + i)^-n)`` per month; the state pays the interest part of each payment, and
the subsidy's cost to the state is the discounted sum of those interest parts.
"""

from __future__ import annotations

import math

MONTHS_PER_YEAR = 12


def present_value_factor(discount_rate_percent: float, years: int) -> float:
    """Present value of 1 paid at the end of each year for ``years`` years."""
    if years < 0:
        raise ValueError(f"years must be >= 0, got {years}")
    rate = discount_rate_percent / 100.0
    if rate == 0.0:
        return float(years)
    return (1.0 - (1.0 + rate) ** -years) / rate


def annuity_payment(principal: float, annual_rate_percent: float, years: int) -> float:
    """Monthly payment of an annuity loan (REFERENCE.md §9)."""
    months = years * MONTHS_PER_YEAR
    monthly = annual_rate_percent / 100.0 / MONTHS_PER_YEAR
    if months <= 0:
        raise ValueError(f"loan years must be >= 1, got {years}")
    if monthly == 0.0:
        return principal / months
    return principal * monthly / (1.0 - (1.0 + monthly) ** -months)


def interest_subsidy(
    principal: float, annual_rate_percent: float, years: int, discount_rate_percent: float
) -> tuple[float, float]:
    """(total interest, its present value) of an annuity loan, both paid by the state.

    Interest parts are discounted monthly at the equivalent monthly rate of the yearly discount
    rate.
    """
    if principal <= 0.0:
        return (0.0, 0.0)
    payment = annuity_payment(principal, annual_rate_percent, years)
    monthly = annual_rate_percent / 100.0 / MONTHS_PER_YEAR
    monthly_discount = (1.0 + discount_rate_percent / 100.0) ** (1.0 / MONTHS_PER_YEAR)
    balance = principal
    total = 0.0
    present = 0.0
    for month in range(1, years * MONTHS_PER_YEAR + 1):
        interest = balance * monthly
        balance -= payment - interest
        total += interest
        present += interest / monthly_discount**month
    if not math.isfinite(present):
        raise ValueError("loan terms give a non-finite subsidy")
    return (total, present)
