"""The assessment of the sample city: right answers, explained, on a real-looking city."""

from __future__ import annotations

import pytest

from qsafecity.assessment import CityAssessment, assess
from qsafecity.city import Tier
from qsafecity.manifests import load_city
from qsafecity.policy import ObservedCrypto, Severity
from qsafecity.risk import forecast_from_table, shipped_forecast


@pytest.fixture(scope="module")
def result() -> CityAssessment:
    return assess(load_city(), now_year=2030)


def by_id(result: CityAssessment, service_id: str):  # type: ignore[no-untyped-def]
    return next(s for s in result.services if s.service.id == service_id)


def test_manifest_start_year_wins_over_the_clock(result: CityAssessment) -> None:
    assert result.now_year == 2026


def test_counts(result: CityAssessment) -> None:
    by_tier = result.services_by_tier()
    assert sum(by_tier.values()) == 44
    assert by_tier[Tier.CRITICAL] == 15
    assert result.compliant_by_tier()[Tier.CRITICAL] == 1  # only the QKD+ML-KEM SIEM pilot


def test_the_pilot_is_compliant_and_safe(result: CityAssessment) -> None:
    soc = by_id(result, "soc-siem")
    assert soc.judgement.compliant
    assert soc.judgement.uses_qkd
    assert soc.judgement.already_hybrid
    assert not soc.risk.harvestable
    assert soc.risk.high.probability_exposed == 0.0


def test_long_lived_health_records_are_at_risk(result: CityAssessment) -> None:
    ambulance = by_id(result, "ambulance-dispatch")
    # shelf 25 + migration 3 from 2026 = 2054, the GRI 2024 30-year horizon: 0.77-0.92.
    assert ambulance.risk.low.probability_exposed == pytest.approx(0.77)
    assert ambulance.risk.high.probability_exposed == pytest.approx(0.92)
    assert ambulance.risk.high.at_risk
    assert ambulance.risk.high.slack_years is not None
    assert ambulance.risk.high.slack_years < 0


def test_cleartext_is_certain_exposure(result: CityAssessment) -> None:
    noise = by_id(result, "noise-monitoring")
    assert noise.risk.in_clear
    assert noise.risk.high.probability_exposed == 1.0
    assert noise.risk.high.at_risk  # telemetry is not "public"
    wifi = by_id(result, "park-wifi")
    assert wifi.risk.in_clear


def test_operator_findings(result: CityAssessment) -> None:
    operators = {o.operator.id: {f.code for f in o.findings} for o in result.operators}
    assert operators["heat-grid-co"] == {"CONTRACT-MISSING"}
    assert "CONTRACT-NO-QUANTUM-CLAUSE" in operators["transit-co"]
    assert operators["city-it"] == set()
    support = {o.operator.id: o.support for o in result.operators}
    assert support["safe-city-integrator"].qualifies
    assert not support["parking-co"].qualifies


def test_worst_severity_and_totals(result: CityAssessment) -> None:
    assert result.worst_severity() is Severity.CRITICAL
    counts = result.findings_by_severity()
    assert sum(counts.values()) == len(result.all_findings())


def test_observations_change_the_verdict() -> None:
    city = load_city()
    seen = {"e-gov-portal": ObservedCrypto("e-gov-portal", "TLS scan", key_exchange="ECDHE-P256")}
    result = assess(city, now_year=2026, observations=seen)
    portal = by_id(result, "e-gov-portal")
    assert portal.risk.harvestable
    assert "DECLARED-OBSERVED-MISMATCH" in {f.code for f in portal.findings}
    assert result.observed_services == ("e-gov-portal",)


def test_forecast_choice_matters() -> None:
    city = load_city()
    gentle = assess(city, now_year=2026, forecast=forecast_from_table({2060: 0.05}))
    assert gentle.at_risk_count() == sum(
        s.risk.in_clear and s.risk.high.at_risk for s in gentle.services
    )
    slower = forecast_from_table({2030: 0.05, 2040: 0.3, 2060: 0.8})
    faster = forecast_from_table({2030: 0.2, 2040: 0.6, 2060: 0.9})
    slow, fast = (
        assess(city, now_year=2026, forecast=slower),
        assess(city, now_year=2026, forecast=faster),
    )
    assert fast.at_risk_count() > slow.at_risk_count()
    assert (
        assess(city, now_year=2026, forecast=shipped_forecast("gri-2025")).forecast.name
        == "gri-2025"
    )


def test_unknown_named_forecast_in_manifest_is_an_input_error() -> None:
    from qsafecity.errors import ForecastError

    city = load_city()
    odd = city.model_copy(
        update={
            "assumptions": city.assumptions.model_copy(update={"crqc_forecast": "crystal-ball"})
        }
    )
    with pytest.raises(ForecastError, match="crystal-ball"):
        assess(odd, now_year=2026)


def test_risk_over_time_shape(result: CityAssessment) -> None:
    timeline = result.risk_over_time
    assert timeline.years[0] == 2026
    assert len(timeline.years) == 31
    for tier in Tier:
        assert len(timeline.by_tier_high[tier]) == 31
        assert all(
            lo <= hi + 1e-12
            for lo, hi in zip(timeline.by_tier_low[tier], timeline.by_tier_high[tier], strict=True)
        )
