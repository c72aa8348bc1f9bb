"""Fuzzing of the OpenAPI surface with schemathesis: whatever it sends, the KME answers only
the spec's codes (200, 400, 401, 503), always with a JSON body, never a traceback."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from tests.kms_testbed import make_testbed

from qsafecity.api import create_app

_bed = make_testbed()
_app = create_app(_bed.kmes["a"], insecure_dev=True, refill_interval_s=None)
schema = schemathesis.openapi.from_asgi("/openapi.json", _app)

ALLOWED = {200, 400, 401, 503}


@pytest.fixture(autouse=True)
def _refilled() -> None:
    _bed.fill(1.0)


def _check(case: schemathesis.Case) -> None:
    for sae in ("video@a", "dispatch@a"):
        response = case.call(headers={"X-SAE-ID": sae})
        assert response.status_code in ALLOWED, (response.status_code, response.text)
        assert "Traceback" not in response.text
        body = response.json()
        if response.status_code != 200:
            assert set(body) <= {"message", "details"}
            assert isinstance(body["message"], str)


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_only_the_specs_codes_and_bodies(case: schemathesis.Case) -> None:
    _check(case)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_under_a_long_fuzzing_run(case: schemathesis.Case) -> None:
    _check(case)
