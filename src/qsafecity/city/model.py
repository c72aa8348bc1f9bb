"""Validated, immutable models of a city manifest (format 1, ``shared/spec/city-manifest.md``).

Field-level rules (types, ranges, vocabularies, unknown keys) live here as pydantic constraints so
that pydantic reports all of them at once with their paths. Rules that relate several fields or
several records (duplicate ids, dangling references, tier overrides) live in
``qsafecity.city.validation`` and run on the raw document, so they are reported even when some
fields are wrong too.

The bounds on numbers reject what is absurd for a city, not what is merely unusual; each bound says
why in a comment.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from qsafecity.algorithms import Role, canonical, names
from qsafecity.city.vocabulary import (
    DATA_CATEGORIES,
    Clause,
    FibreKind,
    OperatorType,
    SiteKind,
    Tier,
)

#: Identifiers: lower-case letters, digits and hyphens, as the spec says; 64 characters is ample.
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]

#: The largest city on Earth has about 37 million people; 100 million is beyond any city.
MAX_POPULATION: Final = 100_000_000
#: A city's fibre segment longer than this is a long-haul line, not a city link.
MAX_LINK_KM: Final = 2_000.0
#: Moscow's 160,000 cameras produce about 5.6 PB a day; ten times that is the ceiling.
MAX_VOLUME_GB_PER_DAY: Final = 60_000_000.0
#: Archives of record (land registers, court files) are kept for about a century.
MAX_SHELF_LIFE_YEARS: Final = 200.0
MAX_MIGRATION_YEARS: Final = 50.0


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class CityInfo(_Model):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    country: Annotated[str | None, Field(pattern=r"^[A-Z]{2}$")] = None
    population: Annotated[int | None, Field(ge=1, le=MAX_POPULATION)] = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"


class Assumptions(_Model):
    """The planning assumptions of a city. Everything is optional and has a documented default.

    ``start_year`` defaults to the current year (read by the caller, not here). ``crqc_forecast``
    is the name of a shipped forecast or a table {year: cumulative probability}.
    ``risk_tolerance`` is the probability of exposure the city accepts before it calls a service
    "at risk" (default 0.10). ``discount_rate_percent`` discounts money over time (default 5 %).
    ``qkd_line_cost`` is the cost of building one QKD line (a device pair with its installation),
    in the city's currency; when absent a documented default is converted into it.
    """

    start_year: Annotated[int | None, Field(ge=2000, le=2100)] = None
    crqc_forecast: str | dict[int, float] = "gri-2024"
    risk_tolerance: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.10
    discount_rate_percent: Annotated[float, Field(ge=0.0, le=50.0)] = 5.0
    qkd_line_cost: Annotated[float | None, Field(gt=0.0, le=1e13)] = None

    @field_validator("crqc_forecast")
    @classmethod
    def _forecast_table_is_cumulative(cls, value: str | dict[int, float]) -> str | dict[int, float]:
        if isinstance(value, str):
            if not value.strip():
                raise ValueError("must name a forecast or give a table {year: probability}")
            return value.strip()
        if len(value) < 1:
            raise ValueError("a forecast table needs at least one year")
        previous = -1.0
        for year in sorted(value):
            probability = value[year]
            if not 1900 <= year <= 2300:
                raise ValueError(f"year {year} is outside 1900..2300")
            if not 0.0 <= probability <= 1.0:
                raise ValueError(f"probability {probability} for {year} is outside 0..1")
            if probability < previous:
                raise ValueError(
                    f"probabilities must not fall with time (cumulative), but {year} has "
                    f"{probability} after {previous}"
                )
            previous = probability
        return dict(sorted(value.items()))


class Location(_Model):
    lat: Annotated[float, Field(ge=-90.0, le=90.0)]
    lon: Annotated[float, Field(ge=-180.0, le=180.0)]


class Site(_Model):
    id: Identifier
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: SiteKind = SiteKind.OTHER
    location: Location


class Link(_Model):
    """A fibre that exists today between two sites (``qkd: true`` when a QKD link runs over it)."""

    a: Identifier
    b: Identifier
    length_km: Annotated[float, Field(gt=0.0, le=MAX_LINK_KM)]
    fibre: FibreKind = FibreKind.DARK
    qkd: bool = False


class Contract(_Model):
    id: Annotated[str, Field(min_length=1, max_length=100)]
    signed: dt.date | None = None
    clauses: tuple[Clause, ...] = ()

    @field_validator("clauses", mode="before")
    @classmethod
    def _normalise_clauses(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            return tuple(v.strip().lower() if isinstance(v, str) else v for v in value)
        return value


class Finance(_Model):
    """An operator's loan terms, used by the state support programme for QKD lines."""

    loan_rate_percent: Annotated[float, Field(ge=0.0, le=100.0)]
    loan_years: Annotated[int, Field(ge=1, le=50)]


class Operator(_Model):
    id: Identifier
    name: Annotated[str, Field(min_length=1, max_length=200)]
    type: OperatorType
    contract: Contract | None = None
    finance: Finance | None = None


class ServiceData(_Model):
    categories: Annotated[tuple[str, ...], Field(min_length=1)]
    shelf_life_years: Annotated[float, Field(ge=0.0, le=MAX_SHELF_LIFE_YEARS)]
    volume_gb_per_day: Annotated[float, Field(ge=0.0, le=MAX_VOLUME_GB_PER_DAY)] = 0.0

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        normalised = tuple(v.lower() for v in value)
        unknown = [v for v in normalised if v not in DATA_CATEGORIES]
        if unknown:
            raise ValueError(f"unknown data categories {unknown}; use {', '.join(DATA_CATEGORIES)}")
        return normalised


class ServiceCrypto(_Model):
    """What a service uses today, by the manifest's names (matched case-insensitively)."""

    key_exchange: str
    signature: str
    cipher: str

    @field_validator("key_exchange")
    @classmethod
    def _known_key_exchange(cls, value: str) -> str:
        return _canonical_or_raise(Role.KEY_EXCHANGE, value)

    @field_validator("signature")
    @classmethod
    def _known_signature(cls, value: str) -> str:
        return _canonical_or_raise(Role.SIGNATURE, value)

    @field_validator("cipher")
    @classmethod
    def _known_cipher(cls, value: str) -> str:
        return _canonical_or_raise(Role.CIPHER, value)


def _canonical_or_raise(role: Role, value: str) -> str:
    name = canonical(role, value)
    if name is None:
        raise ValueError(f"unknown {role.value} '{value}'; use one of {', '.join(names(role))}")
    return name


class Service(_Model):
    id: Identifier
    name: Annotated[str, Field(min_length=1, max_length=200)]
    operator: Identifier
    function: Annotated[str, Field(min_length=1, max_length=64)]
    description: Annotated[str, Field(max_length=2000)] = ""
    data: ServiceData
    endpoints: Annotated[tuple[Identifier, ...], Field(min_length=1, max_length=100)]
    crypto: ServiceCrypto
    #: How long moving this system to new cryptography takes. The default of 3 years is an
    #: assumption (typical of large public IT systems); the manifest should say.
    migration_years: Annotated[float, Field(ge=0.0, le=MAX_MIGRATION_YEARS)] = 3.0
    tier: Tier | None = None
    tier_reason: Annotated[str | None, Field(min_length=1, max_length=2000)] = None

    @field_validator("function")
    @classmethod
    def _lower_function(cls, value: str) -> str:
        return value.lower()

    @field_validator("tier", mode="before")
    @classmethod
    def _parse_tier(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return Tier.parse(value)
            except ValueError:
                return value
        return value


class CityManifest(_Model):
    """A whole city: the root of a manifest file."""

    format: Literal[1]
    city: CityInfo
    assumptions: Assumptions = Assumptions()
    sites: Annotated[tuple[Site, ...], Field(min_length=1)]
    links: tuple[Link, ...] = ()
    operators: Annotated[tuple[Operator, ...], Field(min_length=1)]
    services: Annotated[tuple[Service, ...], Field(min_length=1)]

    @cached_property
    def sites_by_id(self) -> dict[str, Site]:
        return {s.id: s for s in self.sites}

    @cached_property
    def operators_by_id(self) -> dict[str, Operator]:
        return {o.id: o for o in self.operators}

    @cached_property
    def services_by_id(self) -> dict[str, Service]:
        return {s.id: s for s in self.services}
