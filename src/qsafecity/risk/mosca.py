"""Mosca's inequality with a probabilistic CRQC forecast, vectorised over services and years.

Mosca (IEEE S&P 16(5), 2018): data is at risk if x + y > z, with x the years it must stay secret
(shelf life), y the years to migrate and z the years until a CRQC. With a forecast F(year) =
P(CRQC exists by year), for a service assessed in year ``now``:

* P(shelf life) = F(now + x): data sent today is still secret-worthy when a CRQC appears;
* P(exposed) = F(now + x + y): the last data sent under classical cryptography, at the end of the
  migration, is still secret-worthy when a CRQC appears (Mosca's x + y > z as a probability);
* slack = (year_q − now) − (x + y), with year_q the year by which F reaches the city's risk
  tolerance q: how many years the city could still wait; negative means it is already late.

A service whose key exchange is already quantum-safe has nothing to harvest: its exposure is 0 and
its slack undefined. Everything is computed for all services at once with numpy (one call per
bound), never with a Python loop over services or years.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from qsafecity.risk.forecasts import CRQCForecast

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

BOUNDS = ("low", "high")


@dataclass(frozen=True, slots=True, eq=False)
class Exposure:
    """Exposure of n services under one bound of a forecast (arrays of length n).

    ``slack_years`` is NaN where the forecast never reaches the tolerance or the service is
    already quantum-safe.
    """

    bound: str
    probability_shelf_life: FloatArray
    probability_exposed: FloatArray
    slack_years: FloatArray
    at_risk: BoolArray


def exposure(
    forecast: CRQCForecast,
    *,
    now_year: float,
    shelf_life_years: npt.ArrayLike,
    migration_years: npt.ArrayLike,
    vulnerable: npt.ArrayLike,
    tolerance: float,
    bound: str,
) -> Exposure:
    """Mosca exposure of every service at once under ``bound`` ("low" or "high")."""
    if not 0.0 < tolerance < 1.0:
        raise ValueError("tolerance must lie strictly between 0 and 1")
    shelf = np.asarray(shelf_life_years, dtype=np.float64)
    migration = np.asarray(migration_years, dtype=np.float64)
    harvestable = np.asarray(vulnerable, dtype=np.bool_)
    if shelf.shape != migration.shape or shelf.shape != harvestable.shape:
        raise ValueError("shelf_life_years, migration_years and vulnerable must have one shape")
    p_shelf = np.where(harvestable, forecast.probability_by(now_year + shelf, bound), 0.0)
    p_exposed = np.where(
        harvestable, forecast.probability_by(now_year + shelf + migration, bound), 0.0
    )
    tolerance_year = forecast.year_reaching(tolerance, bound)
    if tolerance_year is None:
        slack = np.full(shelf.shape, np.nan)
    else:
        slack = np.where(harvestable, (tolerance_year - now_year) - (shelf + migration), np.nan)
    return Exposure(bound, p_shelf, p_exposed, slack, harvestable & (p_exposed > tolerance))


def exposure_over_time(
    forecast: CRQCForecast,
    *,
    now_year: float,
    years: npt.ArrayLike,
    shelf_life_years: npt.ArrayLike,
    migration_years: npt.ArrayLike,
    vulnerable: npt.ArrayLike,
    bound: str,
) -> FloatArray:
    """P(data sent in each year is decrypted within its shelf life), services × years.

    Data sent in year t by a vulnerable service is exposed with probability F(t + x) while the
    service has not finished migrating (t < now + y), and 0 after it has. The result shows how
    risk builds up and falls away as migrations complete.
    """
    t = np.asarray(years, dtype=np.float64)[np.newaxis, :]
    shelf = np.asarray(shelf_life_years, dtype=np.float64)[:, np.newaxis]
    migration = np.asarray(migration_years, dtype=np.float64)[:, np.newaxis]
    harvestable = np.asarray(vulnerable, dtype=np.bool_)[:, np.newaxis]
    still_classical = harvestable & (t < now_year + migration)
    return np.where(still_classical, forecast.probability_by(t + shelf, bound), 0.0)
