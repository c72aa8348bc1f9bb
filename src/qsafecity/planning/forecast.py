"""What a CRQC forecast changes in a plan: which critical services a budget covers first.

The tier policy decides *that* every critical service needs QKD keys; it does not say which to
leave out when the budget cannot cover them all. A CRQC forecast does, through Mosca's inequality
(``qsafecity.risk.mosca``, as in the assessment): a service whose data must stay secret for
``x`` years and whose migration takes ``y`` years is exposed with probability
``F(now + x + y)``, the forecast's cumulative probability that a CRQC exists by then (the
``high`` curve, the defender's conservative reading). Data already under a quantum-safe key
exchange has nothing to harvest (probability 0); data sent in clear is exposed whatever happens
(probability 1).

With a forecast, the planner weighs each critical service left without QKD by
``RISK_FLOOR + P(exposed)`` instead of 1: under a budget it covers the most *risk*, not the most
services, and an earlier CRQC moves money towards services with long-lived data. Every service
keeps a positive weight (the floor), so with money to spare every coverable service is still
covered, and without a budget the plan is the same whatever the forecast: only the exposure
left differs.

Each service also gets the year by which QKD must protect its traffic: the year the forecast
reaches the city's risk tolerance ``q`` minus the shelf life (data sent later under classical key
exchange would still be worth decrypting when a CRQC exists with probability ``q``), and the year
its migration must start (that deadline less its migration time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from qsafecity.algorithms import Family, Role, lookup
from qsafecity.city import CityManifest
from qsafecity.risk import CRQCForecast, exposure

#: Weight of an uncovered critical service whose data a CRQC cannot expose: small, so that risk
#: decides under a tight budget, but positive, so that spare money still covers every service.
RISK_FLOOR: Final = 0.01
#: The forecast curve the planner reads (the assessment's "at risk" uses the same one).
BOUND: Final = "high"


@dataclass(frozen=True, slots=True)
class ServiceRisk:
    service_id: str
    #: Mosca: P(a CRQC exists while the data sent at the end of the migration is still secret).
    probability_exposed: float
    #: The year by which QKD+PQC must protect the service's traffic; None when the forecast never
    #: reaches the tolerance or the data cannot be harvested.
    deadline_year: float | None
    #: The year its migration must start to meet the deadline (deadline less migration time).
    start_by_year: float | None
    #: Exposure above the city's risk tolerance (as the assessment's "at risk").
    at_risk: bool

    @property
    def weight(self) -> float:
        return RISK_FLOOR + self.probability_exposed


@dataclass(frozen=True)
class ForecastRisk:
    """The exposure of a city's critical services under one forecast."""

    forecast: str
    now_year: int
    tolerance: float
    #: The year the forecast reaches the tolerance (None: never within the forecast).
    tolerance_year: float | None
    services: dict[str, ServiceRisk]

    def weight(self, service_id: str) -> float:
        risk = self.services.get(service_id)
        return 1.0 if risk is None else risk.weight


def forecast_risk(
    city: CityManifest,
    forecast: CRQCForecast,
    *,
    now_year: int,
    service_ids: set[str] | None = None,
) -> ForecastRisk:
    """The exposure of the services ``service_ids`` (default: all) of ``city`` under ``forecast``.

    ``now_year`` is used when the manifest gives no ``assumptions.start_year``.
    """
    year = city.assumptions.start_year or now_year
    tolerance = city.assumptions.risk_tolerance
    services = [s for s in city.services if service_ids is None or s.id in service_ids]
    shelf = np.array([s.data.shelf_life_years for s in services], dtype=np.float64)
    migration = np.array([s.migration_years for s in services], dtype=np.float64)
    kex = [lookup(Role.KEY_EXCHANGE, s.crypto.key_exchange) for s in services]
    cipher = [lookup(Role.CIPHER, s.crypto.cipher) for s in services]
    vulnerable = np.array([k.quantum_vulnerable for k in kex], dtype=np.bool_)
    found = exposure(
        forecast,
        now_year=year,
        shelf_life_years=shelf,
        migration_years=migration,
        vulnerable=vulnerable,
        tolerance=tolerance,
        bound=BOUND,
    )
    tolerance_year = forecast.year_reaching(tolerance, BOUND)
    result = {}
    for i, service in enumerate(services):
        in_clear = kex[i].family is Family.NONE or cipher[i].family is Family.NONE
        probability = 1.0 if in_clear else float(found.probability_exposed[i])
        harvestable = in_clear or bool(vulnerable[i])
        deadline = None
        start_by = None
        if harvestable and tolerance_year is not None:
            deadline = tolerance_year - float(shelf[i])
            start_by = deadline - float(migration[i])
        result[service.id] = ServiceRisk(
            service_id=service.id,
            probability_exposed=probability,
            deadline_year=deadline,
            start_by_year=start_by,
            at_risk=probability > tolerance if harvestable else False,
        )
    return ForecastRisk(
        forecast=forecast.name,
        now_year=year,
        tolerance=tolerance,
        tolerance_year=tolerance_year,
        services=result,
    )
