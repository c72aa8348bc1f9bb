"""Satellite downlink geometry and key per pass."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qsafecity.errors import InputError
from qsafecity.qkd.satellite import (
    EARTH_GM_KM3_S2,
    EARTH_RADIUS_KM,
    SatellitePass,
    central_angle_rad,
    channel_loss_db,
    key_per_pass,
    pass_duration_s,
    slant_range_km,
)


def test_slant_range_obeys_the_law_of_cosines() -> None:
    assert float(slant_range_km(500.0, 90.0)) == pytest.approx(500.0)
    for elevation in (10.0, 30.0, 60.0):
        d = float(slant_range_km(500.0, elevation))
        phi = float(central_angle_rad(500.0, elevation))
        orbit = EARTH_RADIUS_KM + 500.0
        # Station, Earth centre and satellite: d^2 = R^2 + (R + h)^2 - 2 R (R + h) cos(phi).
        assert d**2 == pytest.approx(
            EARTH_RADIUS_KM**2 + orbit**2 - 2 * EARTH_RADIUS_KM * orbit * math.cos(phi)
        )


def test_loss_grows_as_the_satellite_sinks() -> None:
    losses = channel_loss_db(SatellitePass(), np.array([90.0, 60.0, 40.0, 20.0, 10.0]))
    assert np.all(np.diff(losses) > 0.0)


def test_pass_duration_is_the_orbit_fraction_above_the_horizon_mask() -> None:
    satellite = SatellitePass()
    period = 2 * math.pi * math.sqrt((EARTH_RADIUS_KM + 500.0) ** 3 / EARTH_GM_KM3_S2)
    fraction = 2 * float(central_angle_rad(500.0, 10.0)) / (2 * math.pi)
    assert pass_duration_s(satellite) == pytest.approx(period * fraction)
    assert 5 * 60 < pass_duration_s(satellite) < 10 * 60  # a LEO pass lasts minutes


def test_key_per_pass_peaks_at_zenith() -> None:
    result = key_per_pass(SatellitePass())
    assert result.secret_bits > 0.0
    assert result.duration_s == pytest.approx(pass_duration_s(SatellitePass()), rel=1e-9)
    middle = result.rates_bps.size // 2
    assert result.rates_bps[middle] == pytest.approx(result.rates_bps.max(), rel=1e-3)
    assert result.elevations_deg.max() == pytest.approx(90.0, abs=0.5)


@pytest.mark.parametrize(
    "changes",
    [{"altitude_km": 50.0}, {"min_elevation_deg": 0.0}, {"receiver_aperture_m": -1.0}],
)
def test_bad_pass_parameters(changes: dict[str, float]) -> None:
    with pytest.raises(InputError, match="satellite pass"):
        SatellitePass(**changes)  # type: ignore[arg-type]


def test_bad_elevation() -> None:
    with pytest.raises(InputError, match="elevation"):
        channel_loss_db(SatellitePass(), -5.0)
