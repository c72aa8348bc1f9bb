"""Finite-size key rate (Lim et al. 2014): tends to the asymptotic rate, grows with the block."""

from __future__ import annotations

import numpy as np
import pytest

from qsafecity.errors import InputError
from qsafecity.qkd.finite import (
    DecoySettings,
    expected_counts,
    finite_key_bounds,
    finite_key_rate_per_pulse,
    finite_key_rates,
)
from qsafecity.qkd.physics import GYS, key_rate_per_pulse


def test_reduces_to_the_asymptotic_vacuum_weak_rate() -> None:
    # With mu3 = 0, Lim 2014's s1 bound is Ma 2005's Y1_L, so for N -> infinity the finite rate
    # tends to p_x^2 * p1 * R_vw(mu1, mu2) / q (signal pulses' share; q = 1/2 in physics). What is
    # left at N = 1e22: the vacuum detections s0 (not in Ma's formula, ~Y0 e^-mu / R ~ 0.1 % at
    # 25 km), the key from decoy pulses (p2 = p3 = 1e-3 of the pulses, ~0.1 %) and Hoeffding terms
    # of relative size sqrt(ln(21/eps)/n) / p2 ~ 1e-4. Hence 0.5 %.
    settings = DecoySettings((0.5, 0.1, 0.0), (0.998, 0.001, 0.001), 0.9)
    asymptotic = key_rate_per_pulse(GYS, 25.0, "vacuum-weak", mu=0.5, nu=0.1) / 0.5 * 0.81 * 0.998
    assert finite_key_rate_per_pulse(GYS, 25.0, 1e22, settings) == pytest.approx(
        asymptotic, rel=5e-3
    )


def test_rate_grows_with_block_size_and_stays_below_asymptotic() -> None:
    blocks = np.array([1e9, 1e10, 1e11, 1e12, 1e13])
    rates = finite_key_rates(GYS, 25.0, blocks)
    assert np.all(np.diff(rates) >= 0.0)
    assert rates[-1] > 0.0
    settings = DecoySettings()
    ceiling = (
        key_rate_per_pulse(GYS, 25.0, "infinite-decoy") / 0.5 * settings.basis_x_probability**2
    )
    assert np.all(rates < ceiling)


def test_short_blocks_give_no_key() -> None:
    assert finite_key_rate_per_pulse(GYS, 25.0, 1e6) == 0.0


def test_bounds_from_expected_counts_are_physical() -> None:
    settings = DecoySettings()
    bounds = finite_key_bounds(settings, expected_counts(GYS, 25.0, 1e12, settings))
    assert bounds.single_photon_x > 0.0
    assert 0.033 < bounds.phase_error_upper < 0.06  # e1 ~ e_d = 3.3 % plus the statistical term


@pytest.mark.parametrize(
    ("intensities", "probabilities", "p_x"),
    [
        ((0.1, 0.2, 0.0), (0.5, 0.3, 0.2), 0.8),
        ((0.5, 0.1, -0.1), (0.5, 0.3, 0.2), 0.8),
        ((0.5, 0.1, 0.0), (0.5, 0.3, 0.3), 0.8),
        ((0.5, 0.1, 0.0), (0.5, 0.3, 0.2), 1.0),
    ],
)
def test_bad_settings_are_input_errors(
    intensities: tuple[float, float, float], probabilities: tuple[float, float, float], p_x: float
) -> None:
    with pytest.raises(InputError):
        DecoySettings(intensities, probabilities, p_x)


def test_absurd_pulse_counts_are_input_errors() -> None:
    with pytest.raises(InputError, match="pulses"):
        finite_key_rate_per_pulse(GYS, 25.0, 0.5)
    with pytest.raises(InputError, match="pulses"):
        finite_key_rate_per_pulse(GYS, 25.0, float("inf"))
