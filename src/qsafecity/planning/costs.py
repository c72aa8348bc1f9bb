"""What things cost: the documented, overridable money inputs of the planner.

No public figure exists for the cost of a QKD link (REFERENCE.md §9), so every figure here is an
assumption with a stated basis. The defaults are set in euros and converted into the city's
currency with the approximate exchange rates below; a city should give its own figures (a costs
file, ``qsafecity plan --costs``), and its manifest's ``assumptions.qkd_line_cost`` always wins
for the device pair.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field

from qsafecity.city import CityManifest
from qsafecity.errors import InputError
from qsafecity.policy.support import DEFAULT_QKD_LINE_COST, qkd_line_cost

#: Units of each currency per euro, taken from the support programme's default QKD line costs
#: (``qsafecity.policy.support``), so that the planner and the assessment convert alike.
UNITS_PER_EUR: Final[dict[str, float]] = {
    currency: cost / DEFAULT_QKD_LINE_COST["EUR"]
    for currency, cost in DEFAULT_QKD_LINE_COST.items()
}

_Money = Annotated[float, Field(ge=0.0, le=1e13, allow_inf_nan=False)]


class CostInputs(BaseModel):
    """Unit costs, in the city's currency. Capital costs are paid in year 0; yearly costs from
    year 1 to the horizon, discounted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: A QKD device pair (transmitter and receiver with their key management entities), installed.
    #: Default: the support programme's QKD line cost (300,000 EUR, ``qsafecity.policy.support``).
    qkd_device_pair: _Money = 300_000.0
    #: A trusted node: a secured room, its key management system and relay hardware.
    #: Default 200,000 EUR (assumed: physical security fit-out plus servers and HSMs).
    trusted_node: _Money = 200_000.0
    #: New urban fibre, per km (trench or duct and cable). Default 25,000 EUR/km, the middle of the
    #: 15,000-40,000 EUR/km usual for urban micro-trenching and duct reuse.
    new_fibre_per_km: _Money = 25_000.0
    #: A leased dark fibre core, per km and year. Default 1,000 EUR/km/year (assumed).
    leased_fibre_per_km_year: _Money = 1_000.0
    #: Yearly operation and maintenance of devices and nodes, as a percentage of their capital
    #: cost. Default 10 % (assumed: support contracts of network equipment run 8-15 %).
    operation_percent_per_year: Annotated[float, Field(ge=0.0, le=100.0, allow_inf_nan=False)] = (
        10.0
    )
    #: Moving one service to hybrid post-quantum cryptography (software, certificates, testing).
    #: Default 50,000 EUR per service (assumed).
    pqc_migration_per_service: _Money = 50_000.0
    #: Yearly fee for drawing key from an existing QKD trunk line. Default 20,000 EUR (assumed).
    trunk_access_per_link_year: _Money = 20_000.0
    #: The support programme's preferential trunk access, as a discount on that fee. The paper
    #: (§5 item 4) names the measure without a figure; 50 % is an assumption.
    preferential_trunk_discount_percent: Annotated[
        float, Field(ge=0.0, le=100.0, allow_inf_nan=False)
    ] = 50.0
    #: At most this many device pairs share one fibre segment (wavelengths or cores).
    max_device_pairs_per_segment: Annotated[int, Field(ge=1, le=64)] = 4

    @property
    def operation_fraction_per_year(self) -> float:
        return self.operation_percent_per_year / 100.0

    @property
    def trunk_discount_fraction(self) -> float:
        return self.preferential_trunk_discount_percent / 100.0


_MONEY_FIELDS: Final = (
    "qkd_device_pair",
    "trusted_node",
    "new_fibre_per_km",
    "leased_fibre_per_km_year",
    "pqc_migration_per_service",
    "trunk_access_per_link_year",
)


def default_costs(city: CityManifest, overrides: dict[str, object] | None = None) -> CostInputs:
    """The default costs converted into the city's currency, then ``overrides`` on top.

    Raises ``InputError`` when the currency has no conversion and the overrides do not give every
    money figure, or when an override is malformed.
    """
    given = dict(overrides or {})
    currency = city.city.currency
    rate = UNITS_PER_EUR.get(currency)
    base = CostInputs()
    values: dict[str, object] = {}
    missing = [name for name in _MONEY_FIELDS if name not in given]
    if rate is None and missing:
        raise InputError(
            f"no default costs in {currency}: give {', '.join(missing)} in a costs file "
            f"(defaults exist for {', '.join(sorted(UNITS_PER_EUR))})"
        )
    for name in _MONEY_FIELDS:
        values[name] = float(getattr(base, name)) * (rate or 1.0)
    line_cost = qkd_line_cost(city)
    if line_cost is not None:
        values["qkd_device_pair"] = line_cost
    values.update(given)
    try:
        return CostInputs.model_validate(values)
    except ValueError as error:
        raise InputError(f"invalid costs: {_first_line(error)}") from None


def _first_line(error: ValueError) -> str:
    errors = getattr(error, "errors", None)
    if callable(errors):
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors()]
        return "; ".join(parts)
    return str(error).splitlines()[0]
