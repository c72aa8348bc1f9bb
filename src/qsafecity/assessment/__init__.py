"""The assessment service: composes city, policy and risk into one result per service and operator."""

from qsafecity.assessment.service import (
    CityAssessment,
    OperatorAssessment,
    QuantumRisk,
    RiskBound,
    RiskOverTime,
    ServiceAssessment,
    assess,
    resolve_forecast,
)

__all__ = [
    "CityAssessment",
    "OperatorAssessment",
    "QuantumRisk",
    "RiskBound",
    "RiskOverTime",
    "ServiceAssessment",
    "assess",
    "resolve_forecast",
]
