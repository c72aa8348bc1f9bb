"""Where a link's key comes from: the QKD link engine's rates and the simulated device pairs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qsafecity.errors import InputError
from qsafecity.kms.model import BLOCK_BYTES
from qsafecity.kms.rate import PresetRateModel, SimulatedQKDDevice
from qsafecity.qkd import physics


@pytest.mark.parametrize(
    ("distance_km", "bits_per_pulse"),
    # REFERENCE.md §5: GLLP with infinitely many decoys, GYS parameters, mu = 0.48. The model
    # optimises mu, whose optimum is close to 0.48, so the rate is at least the published one
    # and within 2 % of it.
    [(0, 2.5546e-3), (25, 7.5439e-4), (50, 2.2260e-4), (100, 1.7184e-5)],
)
def test_pools_fill_at_the_link_engines_published_gys_rates(
    distance_km: float, bits_per_pulse: float
) -> None:
    rate_bps = PresetRateModel("gys").secret_key_rate_bps(distance_km)
    published_bps = bits_per_pulse * physics.GYS.source_rate_hz
    assert published_bps * 0.999 <= rate_bps <= published_bps * 1.02


def test_the_metro_preset_gives_a_city_link_megabits_and_nothing_far_beyond_range() -> None:
    model = PresetRateModel()
    assert model.secret_key_rate_bps(14.0) > 1e6
    assert model.secret_key_rate_bps(14.0) == model.secret_key_rate_bps(14.0)  # cached
    assert model.secret_key_rate_bps(400.0) == 0.0


def test_an_unknown_preset_is_an_input_error() -> None:
    with pytest.raises(InputError, match="known presets"):
        PresetRateModel("warp")


@given(st.floats(0, 200), st.floats(0, 200))
def test_the_rate_never_rises_with_distance(first: float, second: float) -> None:
    model = PresetRateModel("gys")
    near, far = sorted((first, second))
    assert model.secret_key_rate_bps(far) <= model.secret_key_rate_bps(near) * (1 + 1e-9)


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
