"""The city manifest: its models, vocabularies, validation and the bundled sample city (pure)."""

from qsafecity.city.loader import load_manifest_text, parse_document, validate_document
from qsafecity.city.model import (
    Assumptions,
    CityInfo,
    CityManifest,
    Contract,
    Finance,
    Link,
    Location,
    Operator,
    Service,
    ServiceCrypto,
    ServiceData,
    Site,
)
from qsafecity.city.vocabulary import (
    DATA_CATEGORIES,
    FUNCTIONS_BY_TIER,
    TIER_OF_FUNCTION,
    Clause,
    FibreKind,
    OperatorType,
    SiteKind,
    Tier,
)

__all__ = [
    "DATA_CATEGORIES",
    "FUNCTIONS_BY_TIER",
    "TIER_OF_FUNCTION",
    "Assumptions",
    "CityInfo",
    "CityManifest",
    "Clause",
    "Contract",
    "FibreKind",
    "Finance",
    "Link",
    "Location",
    "Operator",
    "OperatorType",
    "Service",
    "ServiceCrypto",
    "ServiceData",
    "Site",
    "SiteKind",
    "Tier",
    "load_manifest_text",
    "parse_document",
    "validate_document",
]
