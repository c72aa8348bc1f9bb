"""The link pipeline: a key when the link is honest, an abort with the right reason otherwise."""

from __future__ import annotations

import numpy as np
import pytest

from qsafecity.errors import InputError, SecurityAbort
from qsafecity.qkd.authentication import authentication_cost
from qsafecity.qkd.bb84 import Eavesdropper
from qsafecity.qkd.link import parse_pulses, run_link
from qsafecity.qkd.physics import PRESETS

METRO = PRESETS["metro"]


def test_honest_link_gives_a_key_and_a_full_report() -> None:
    report, key = run_link(METRO, 25.0, 3 * 10**8, np.random.default_rng(1), seed=1)
    assert not report.aborted
    assert report.secret_bits == key.size > 0
    assert report.sifted_bits > report.secret_bits
    assert report.leaked_bits > 0
    assert 1.0 < report.f_ec < 1.1
    assert report.qber == pytest.approx(0.0256, abs=0.002)
    assert report.secret_key_rate_bps == pytest.approx(report.secret_bits / 0.3)
    report.raise_if_aborted()  # no exception
    again, same_key = run_link(METRO, 25.0, 3 * 10**8, np.random.default_rng(1), seed=1)
    assert again == report
    np.testing.assert_array_equal(same_key, key)


@pytest.mark.parametrize(
    ("eve", "reason"),
    [
        ("intercept-resend:1", "QBER 26"),
        ("noisy:0.12", "threshold"),
        ("pns", "photon-number-splitting"),
        ("intercept-resend:0.2", "no secret key"),
    ],
)
def test_attacks_abort_with_their_reason(eve: str, reason: str) -> None:
    report, key = run_link(
        METRO, 25.0, 10**8, np.random.default_rng(2), eve=Eavesdropper.parse(eve)
    )
    assert report.aborted
    assert reason in (report.abort_reason or "")
    assert key.size == 0
    assert report.secret_bits == 0
    with pytest.raises(SecurityAbort) as caught:
        report.raise_if_aborted()
    assert caught.value.exit_code == 3


def test_too_few_pulses_is_said_so() -> None:
    report, _ = run_link(PRESETS["gys"], 25.0, 10**7, np.random.default_rng(3))
    assert report.aborted
    assert "too few" in (report.abort_reason or "")


def test_wegman_carter_authentication_costs_key() -> None:
    signed, _ = run_link(METRO, 25.0, 3 * 10**8, np.random.default_rng(4))
    macs, _ = run_link(
        METRO, 25.0, 3 * 10**8, np.random.default_rng(4), authentication="wegman-carter"
    )
    assert signed.secret_bits - macs.secret_bits == authentication_cost("wegman-carter").key_bits
    assert authentication_cost("ml-dsa-65").key_bits == 0
    assert authentication_cost("ml-dsa-65").bytes_sent == 2 * 3309
    with pytest.raises(InputError):
        authentication_cost("hmac")


@pytest.mark.parametrize("text", ["0", "-1", "1.5", "1e20", "abc", "nan", "inf"])
def test_absurd_pulse_text(text: str) -> None:
    with pytest.raises(InputError, match="pulses"):
        parse_pulses(text)


def test_pulse_text() -> None:
    assert parse_pulses("1e9") == 10**9
    assert parse_pulses("250000") == 250_000
