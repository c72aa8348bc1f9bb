"""The physics behind link capacities, the cost defaults and the horizon's discounting."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from qsafecity.errors import InputError
from qsafecity.manifests import load_city
from qsafecity.planning import default_costs, present_value_factor
from qsafecity.planning.keyrates import PhysicsKeyRateModel
from qsafecity.qkd import preset, secret_key_rate_bps


def test_physics_model_matches_the_physics_module() -> None:
    model = PhysicsKeyRateModel.from_preset("gys")
    for distance in (0.0, 25.0, 50.0, 100.0):
        assert model.secret_key_rate_bps(distance) == pytest.approx(
            secret_key_rate_bps(preset("gys"), distance), rel=1e-9
        )
    assert model.secret_key_rate_bps(model.max_distance_km + 1.0) == 0.0
    # REFERENCE.md §5: GYS reaches about 142 km with infinite decoys.
    assert model.max_distance_km == pytest.approx(142.0, abs=1.5)


def test_batch_rates_equal_single_rates() -> None:
    model = PhysicsKeyRateModel.from_preset("metro")
    distances = list(np.linspace(0.5, 150.0, 12))
    batch = model.secret_key_rates_bps(distances)
    single = PhysicsKeyRateModel.from_preset("metro")
    assert batch == pytest.approx([single.secret_key_rate_bps(d) for d in distances], rel=1e-9)
    assert all(a >= b for a, b in itertools.pairwise(batch))  # never rises with length


def test_unknown_preset_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown link preset"):
        PhysicsKeyRateModel.from_preset("warp")


def test_present_value_factor() -> None:
    assert present_value_factor(0.0, 10) == 10.0
    # 5 % over 10 years: (1 - 1.05^-10) / 0.05 = 7.7217.
    assert present_value_factor(5.0, 10) == pytest.approx(7.7217, abs=1e-4)


def test_default_costs_follow_the_city() -> None:
    city = load_city(None)  # RUB, with a QKD line cost of 30 M in its assumptions
    costs = default_costs(city)
    assert costs.qkd_device_pair == 30_000_000.0
    assert costs.trusted_node == pytest.approx(20_000_000.0)  # 200,000 EUR at 100 RUB/EUR
    override = default_costs(city, {"trusted_node": 1.0})
    assert override.trusted_node == 1.0
    with pytest.raises(InputError, match="invalid costs"):
        default_costs(city, {"trusted_node": -1.0})


def test_a_currency_without_defaults_needs_every_money_figure() -> None:
    city = load_city(None).model_copy(
        update={"city": load_city(None).city.model_copy(update={"currency": "XTS"})}
    )
    with pytest.raises(InputError, match="no default costs in XTS"):
        default_costs(
            city.model_copy(
                update={"assumptions": city.assumptions.model_copy(update={"qkd_line_cost": None})}
            )
        )
