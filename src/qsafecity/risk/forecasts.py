"""Forecasts of when a cryptographically relevant quantum computer (CRQC) appears.

A forecast is a cumulative distribution over calendar years: ``P(CRQC exists by year Y)``, as two
curves, ``low`` and ``high``, that bound it. The Global Risk Institute's Quantum Threat Timeline
Reports (REFERENCE.md §3, ``data/crqc_forecast_gri.csv``) give, for horizons of 5 to 30 years after
the report, the average of the experts' answers read pessimistically and optimistically; the
``low`` curve is the GRI's "pessimistic" column (the smaller probability of a CRQC) and ``high``
its "optimistic" column. A defender reads the ``high`` curve as the conservative one.

Interpolation (the rule the reports say nothing about, so it is ours, stated here):

* between two horizons the cumulative probability is linear in the year;
* before the first horizon it rises linearly from 0 in the report's year (for a user table, from 0
  in the year before its first year);
* after the last horizon it stays at its last value: the remaining probability is "not within
  the forecast", never silently "never".

At the horizons themselves the curve gives the report's values exactly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from qsafecity.errors import ForecastError

FloatArray = npt.NDArray[np.float64]

#: The shipped forecasts: name → the year the report was published (its horizons count from it).
GRI_REPORT_YEARS: Final[dict[str, int]] = {"gri-2024": 2024, "gri-2025": 2025}


@dataclass(frozen=True, slots=True, eq=False)
class CRQCForecast:
    """A cumulative CRQC forecast: at ``years``, probabilities ``low`` ≤ ``high``."""

    name: str
    years: FloatArray
    low: FloatArray
    high: FloatArray
    description: str

    def probability_by(self, year: npt.ArrayLike, bound: str = "high") -> FloatArray:
        """P(CRQC exists by ``year``), vectorised over any array of (fractional) years."""
        curve = self._curve(bound)
        return np.interp(np.asarray(year, dtype=np.float64), self.years, curve, left=0.0)

    def year_reaching(self, probability: float, bound: str = "high") -> float | None:
        """The first year by which the cumulative probability reaches ``probability``.

        ``None`` when the forecast never reaches it (beyond its last horizon).
        """
        curve = self._curve(bound)
        if probability <= 0.0:
            return float(self.years[0])
        if curve[-1] < probability:
            return None
        index = int(np.searchsorted(curve, probability, side="left"))
        if index == 0:
            return float(self.years[0])
        y0, y1 = self.years[index - 1], self.years[index]
        p0, p1 = curve[index - 1], curve[index]
        if p1 == p0:
            return float(y1)
        return float(y0 + (probability - p0) * (y1 - y0) / (p1 - p0))

    def _curve(self, bound: str) -> FloatArray:
        if bound == "high":
            return self.high
        if bound == "low":
            return self.low
        raise ValueError(f"bound must be 'low' or 'high', not {bound!r}")


def _build(
    name: str, points: Mapping[float, tuple[float, float]], start_year: float, description: str
) -> CRQCForecast:
    years = [start_year, *sorted(points)]
    low = [0.0, *(points[y][0] for y in sorted(points))]
    high = [0.0, *(points[y][1] for y in sorted(points))]
    forecast = CRQCForecast(
        name,
        np.array(years, dtype=np.float64),
        np.array(low, dtype=np.float64),
        np.array(high, dtype=np.float64),
        description,
    )
    _check(forecast)
    return forecast


def _check(forecast: CRQCForecast) -> None:
    if np.any(np.diff(forecast.years) <= 0):
        raise ForecastError(f"forecast {forecast.name}: years must increase")
    for label, curve in (("low", forecast.low), ("high", forecast.high)):
        if np.any((curve < 0) | (curve > 1)) or np.any(~np.isfinite(curve)):
            raise ForecastError(f"forecast {forecast.name}: {label} probabilities must lie in 0..1")
        if np.any(np.diff(curve) < 0):
            raise ForecastError(
                f"forecast {forecast.name}: {label} probabilities must not fall with time"
            )
    if np.any(forecast.low > forecast.high + 1e-12):
        raise ForecastError(f"forecast {forecast.name}: the low bound exceeds the high bound")


def parse_gri_csv(text: str) -> dict[str, CRQCForecast]:
    """Parse the GRI table (``report,experts,horizon_years,probability_pessimistic,...``)."""
    forecasts: dict[str, dict[float, tuple[float, float]]] = {}
    experts: dict[str, str] = {}
    try:
        for row in csv.DictReader(io.StringIO(text)):
            report = row["report"].strip()
            horizon = float(row["horizon_years"])
            forecasts.setdefault(report, {})[horizon] = (
                float(row["probability_pessimistic"]),
                float(row["probability_optimistic"]),
            )
            experts[report] = row.get("experts", "?") or "?"
    except (KeyError, ValueError, TypeError) as error:
        raise ForecastError(f"not a GRI forecast table: {error}") from None
    result = {}
    for report, horizons in forecasts.items():
        base = GRI_REPORT_YEARS.get(report) or _year_in_name(report)
        points = {base + h: p for h, p in horizons.items()}
        result[report] = _build(
            report,
            points,
            base,
            f"Global Risk Institute Quantum Threat Timeline Report {base} ({experts[report]} experts); "
            "low = pessimistic, high = optimistic average",
        )
    return result


def _year_in_name(report: str) -> int:
    digits = report[-4:]
    if digits.isdigit() and 1990 <= int(digits) <= 2200:
        return int(digits)
    raise ForecastError(f"report {report!r}: its name must end with the year it was published")


def forecast_from_table(
    table: Mapping[int, float] | Mapping[int, tuple[float, float]], name: str = "manifest table"
) -> CRQCForecast:
    """A forecast from a table {year: probability} or {year: (low, high)}."""
    if not table:
        raise ForecastError(f"forecast {name}: the table is empty")
    points: dict[float, tuple[float, float]] = {}
    for year, value in table.items():
        if isinstance(value, tuple):
            points[float(year)] = (float(value[0]), float(value[1]))
        else:
            points[float(year)] = (float(value), float(value))
    first = min(points)
    return _build(name, points, first - 1.0, f"{name}: cumulative probability by year (one curve)")


def parse_forecast_csv(text: str, name: str) -> CRQCForecast:
    """A user forecast from CSV: ``year,probability``, ``year,low,high`` or the GRI format."""
    header = text.lstrip().split("\n", 1)[0].strip().lower().replace(" ", "")
    if header.startswith("report,"):
        forecasts = parse_gri_csv(text)
        if len(forecasts) != 1:
            raise ForecastError(f"{name}: a GRI-format file must hold exactly one report")
        return next(iter(forecasts.values()))
    try:
        rows = list(csv.DictReader(io.StringIO(text)))
        if header == "year,probability":
            table: dict[int, float] | dict[int, tuple[float, float]] = {
                int(r["year"]): float(r["probability"]) for r in rows
            }
        elif header == "year,low,high":
            table = {int(r["year"]): (float(r["low"]), float(r["high"])) for r in rows}
        else:
            raise ForecastError(
                f"{name}: the header must be 'year,probability', 'year,low,high' or the GRI format"
            )
    except (KeyError, ValueError, TypeError) as error:
        raise ForecastError(f"{name}: malformed row: {error}") from None
    return forecast_from_table(table, name)
