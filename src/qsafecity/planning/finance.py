"""Money over time: discounting over the planning horizon.

The support programme's loan interest subsidy is ``qsafecity.policy.support.annuity`` (the
annuity of REFERENCE.md §9); this module only adds the horizon's present-value factor.
"""

from __future__ import annotations


def present_value_factor(discount_rate_percent: float, years: int) -> float:
    """Present value of 1 paid at the end of each year for ``years`` years."""
    if years < 0:
        raise ValueError(f"years must be >= 0, got {years}")
    rate = discount_rate_percent / 100.0
    if rate == 0.0:
        return float(years)
    return (1.0 - (1.0 + rate) ** -years) / rate
