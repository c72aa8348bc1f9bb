"""Shared fixtures.

Tests that need a real server (PostgreSQL, MQTT) use the ``postgres_url`` and ``mqtt_url``
fixtures: they skip with a visible reason when the server is not reachable, and fail instead when
``QSAFECITY_REQUIRE_SERVICES=1`` (as in ``.ci/run``).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or, with QSAFECITY_REQUIRE_SERVICES=1, fail) when ``host:port`` does not answer."""
    if _reachable(host, port):
        return
    reason = f"{name} is not reachable at {host}:{port}"
    if os.environ.get("QSAFECITY_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}, and QSAFECITY_REQUIRE_SERVICES=1 requires it")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of the real PostgreSQL server (database ``test``, trust auth)."""
    url = os.environ.get(
        "QSAFECITY_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    require_service("PostgreSQL", "127.0.0.1", 5432)
    return url


@pytest.fixture(scope="session")
def mqtt_url() -> str:
    """URL of the real MQTT broker (Mosquitto)."""
    require_service("Mosquitto (MQTT)", "127.0.0.1", 1883)
    return os.environ.get("QSAFECITY_TEST_MQTT", "mqtt://127.0.0.1:1883")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only ``shared/`` folder beside the repository (vectors, data, specs)."""
    if not SHARED.is_dir():
        pytest.skip(f"shared/ not found at {SHARED}")
    return SHARED
