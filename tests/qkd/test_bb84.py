"""Monte-Carlo BB84: statistics match the model; attacks leave their signatures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qsafecity.errors import InputError
from qsafecity.qkd.bb84 import AttackKind, Eavesdropper, simulate
from qsafecity.qkd.finite import DecoySettings, expected_counts
from qsafecity.qkd.physics import PRESETS

METRO = PRESETS["metro"]


def test_counts_match_the_expected_counts_of_the_model() -> None:
    # Each count is a sum of independent Bernoulli trials, so its standard deviation is at most
    # sqrt(expected); 5 sigma with a fixed seed leaves no room for flakiness and still catches any
    # modelling error above ~1 % for the signal counts (~4e5 events).
    settings = DecoySettings()
    data = simulate(METRO, 25.0, 10**8, np.random.default_rng(42), settings=settings)
    expected = expected_counts(METRO, 25.0, 1e8, settings)
    for observed, model in (
        (data.counts.detections_x, expected.detections_x),
        (data.counts.errors_x, expected.errors_x),
        (data.counts.detections_z, expected.detections_z),
        (data.counts.errors_z, expected.errors_z),
    ):
        for o, m in zip(observed, model, strict=True):
            assert abs(o - m) <= 5.0 * math.sqrt(m) + 1.0
    assert data.sifted_bits == round(sum(data.counts.detections_x))
    assert data.double_clicks > 0


def test_intercept_resend_on_every_photon_gives_about_25_percent() -> None:
    # QBER = 1/4 (Eve's wrong basis half the time, then Bob's bit random) plus misalignment on the
    # rest: 0.25 + 0.75 e_d (1 - 2 * 0.25)... computed from the model: 0.25 + e_d / 2 = 26.25 %
    # for e_d = 2.5 %. With ~5e5 sifted bits the standard error is 0.06 %; we allow 0.5 %.
    data = simulate(
        METRO,
        25.0,
        10**8,
        np.random.default_rng(7),
        eve=Eavesdropper(AttackKind.INTERCEPT_RESEND, 1.0),
    )
    qber = float(np.mean(data.alice_key != data.bob_key))
    assert qber == pytest.approx(0.25 + METRO.misalignment_error / 2.0, abs=5e-3)


def test_noisy_channel_adds_its_error_rate() -> None:
    data = simulate(
        METRO, 25.0, 10**8, np.random.default_rng(8), eve=Eavesdropper(AttackKind.NOISY, 0.05)
    )
    e_d = METRO.misalignment_error
    qber = float(np.mean(data.alice_key != data.bob_key))
    assert qber == pytest.approx(e_d + 0.05 * (1 - 2 * e_d), abs=5e-3)


def test_pns_keeps_the_signal_gain_but_starves_the_decoy() -> None:
    settings = DecoySettings()
    honest = simulate(METRO, 25.0, 10**8, np.random.default_rng(9), settings=settings)
    attacked = simulate(
        METRO,
        25.0,
        10**8,
        np.random.default_rng(9),
        settings=settings,
        eve=Eavesdropper(AttackKind.PNS),
    )
    signal_ratio = attacked.counts.detections_x[0] / honest.counts.detections_x[0]
    decoy_ratio = attacked.counts.detections_x[1] / honest.counts.detections_x[1]
    # ~3e5 signal and ~1.5e5 decoy detections: relative standard errors below 0.3 %. Eve matches
    # the signal gain exactly (the 2 % allows for statistics); the decoy (mu2 = 0.2, mostly single
    # photons, which she blocks) loses about 16 % of its detections in the model.
    assert signal_ratio == pytest.approx(1.0, abs=0.02)
    assert decoy_ratio < 0.9


def test_same_seed_same_run() -> None:
    first = simulate(METRO, 10.0, 10**6, np.random.default_rng(3))
    second = simulate(METRO, 10.0, 10**6, np.random.default_rng(3))
    np.testing.assert_array_equal(first.alice_key, second.alice_key)
    np.testing.assert_array_equal(first.bob_key, second.bob_key)


def test_progress_is_reported() -> None:
    seen: list[tuple[int, int]] = []
    simulate(
        METRO,
        10.0,
        25_000_000,
        np.random.default_rng(1),
        on_progress=lambda d, t: seen.append((d, t)),
    )
    assert seen[-1] == (25_000_000, 25_000_000)
    assert len(seen) == 3


@pytest.mark.parametrize("pulses", [0, -5, 10**14])
def test_absurd_pulse_counts(pulses: int) -> None:
    with pytest.raises(InputError, match="pulses"):
        simulate(METRO, 10.0, pulses, np.random.default_rng(1))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("intercept-resend:1.5", "fraction"),
        ("intercept-resend:x", "number"),
        ("noisy:0.7", "noise"),
        ("laser-blinding", "unknown eavesdropper"),
        ("pns:0.3", "no strength"),
        ("noisy:nan", "finite"),
    ],
)
def test_bad_eavesdroppers(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Eavesdropper.parse(text)


def test_eavesdropper_parsing() -> None:
    assert Eavesdropper.parse("intercept-resend:0.2") == Eavesdropper(
        AttackKind.INTERCEPT_RESEND, 0.2
    )
    assert Eavesdropper.parse(None) == Eavesdropper()
    assert Eavesdropper.parse("PNS").kind is AttackKind.PNS
