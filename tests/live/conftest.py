"""Fixtures of the live city's tests: the sample city on the in-memory bus, real crypto.

The fixture city runs QKD on every dark fibre (a richer mesh than the plan), so that relays
around a failed link exist; the planned network is tested on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qsafecity.live.city import LiveCity
from qsafecity.live.clock import ManualClock
from qsafecity.live.options import QKDScope
from qsafecity.live.storage import Store
from tests.live.harness import running_city


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    db = Store(f"sqlite:///{tmp_path / 'live.sqlite'}")
    yield db
    db.close()


@pytest.fixture
def fake_city(store: Store) -> Iterator[tuple[LiveCity, ManualClock]]:
    with running_city(store, scope=QKDScope.DARK_FIBRE) as started:
        yield started
