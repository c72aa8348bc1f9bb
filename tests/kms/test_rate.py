"""The documented stand-in rate model and the simulated QKD device pairs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qsafecity.kms.model import BLOCK_BYTES
from qsafecity.kms.rate import DecoyBB84RateModel, SimulatedQKDDevice


@pytest.mark.parametrize(
    ("distance_km", "bits_per_pulse"),
    # REFERENCE.md §5: GLLP with infinitely many decoys, GYS parameters, mu = 0.48 (Ma et al.,
    # PRA 72, 012326, 2005). The published figures have 5 significant digits: 0.05 % tolerance.
    [(0, 2.5546e-3), (25, 7.5439e-4), (50, 2.2260e-4), (100, 1.7184e-5)],
)
def test_the_rate_model_reproduces_the_published_decoy_bb84_rates(
    distance_km: float, bits_per_pulse: float
) -> None:
    assert DecoyBB84RateModel().bits_per_pulse(distance_km) == pytest.approx(
        bits_per_pulse, rel=5e-4
    )


def test_the_rate_vanishes_near_the_published_maximum_distance() -> None:
    model = DecoyBB84RateModel()
    assert model.bits_per_pulse(140) > 0
    assert model.bits_per_pulse(145) == 0
    assert model.secret_key_rate_bps(14) == pytest.approx(model.bits_per_pulse(14) * 1e9)


@given(st.floats(0, 200), st.floats(0, 200))
def test_the_rate_never_rises_with_distance(first: float, second: float) -> None:
    model = DecoyBB84RateModel()
    near, far = sorted((first, second))
    assert model.bits_per_pulse(far) <= model.bits_per_pulse(near)


@given(st.integers(0, 10_000), st.integers(0, 20), st.integers(0, 20))
def test_both_ends_of_a_device_pair_read_the_same_block_whatever_the_range(
    start: int, before: int, count: int
) -> None:
    device = SimulatedQKDDevice(b"\x01" * 32)
    whole = device.blocks("a~b", start, before + count + 1)
    assert device.blocks("a~b", start + before, 1)[0] == whole[before]
    assert all(len(block) == BLOCK_BYTES for block in whole)


def test_links_and_secrets_give_unrelated_key() -> None:
    device = SimulatedQKDDevice(b"\x01" * 32)
    assert device.blocks("a~b", 0, 1) != device.blocks("a~c", 0, 1)
    assert device.blocks("a~b", 0, 1) != SimulatedQKDDevice(b"\x02" * 32).blocks("a~b", 0, 1)
    assert "redacted" in repr(device)
    with pytest.raises(ValueError, match="at least 32"):
        SimulatedQKDDevice(b"short")
