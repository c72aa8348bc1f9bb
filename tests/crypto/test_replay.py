"""The replay window against a model: a set of accepted numbers and the highest one."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsafecity.crypto import ReplayWindow
from qsafecity.errors import CryptoError


@settings(deadline=None)  # the machine is shared: time per example varies
@given(
    width=st.integers(0, 70),
    sequences=st.lists(st.integers(0, 200), max_size=120),
)
def test_window_matches_the_model(width: int, sequences: list[int]) -> None:
    window = ReplayWindow(width)
    accepted: set[int] = set()
    for sequence in sequences:
        highest = max(accepted, default=-1)
        expected = sequence not in accepted and (sequence > highest or highest - sequence <= width)
        assert window.is_fresh(sequence) is expected
        if expected:
            window.record(sequence)
            accepted.add(sequence)
        else:
            with pytest.raises(CryptoError):
                window.record(sequence)
    assert window.highest == (max(accepted) if accepted else None)


def test_strict_window_rejects_reordering_and_limits() -> None:
    window = ReplayWindow()
    window.record(10)
    assert not window.is_fresh(9)
    assert not window.is_fresh(10)
    assert window.is_fresh(11)
    assert not window.is_fresh(-1)
    assert not window.is_fresh(2**64)
    window.record(2**64 - 1)
    assert not window.is_fresh(2**64 - 1)


@pytest.mark.parametrize("width", [-1, 4097])
def test_width_out_of_range(width: int) -> None:
    with pytest.raises(ValueError, match="width"):
        ReplayWindow(width)
