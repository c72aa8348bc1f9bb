"""Fixtures of the inventory tests: certificates and real local servers (127.0.0.1 only)."""

from __future__ import annotations

from pathlib import Path

import pytest
from inventory_servers import write_certificate


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Self-signed certificates by kind: RSA-2048, ECDSA P-256, one expiring in 5 days."""
    folder = tmp_path_factory.mktemp("certificates")
    return {
        "rsa": write_certificate(folder, key_kind="rsa-2048"),
        "p256": write_certificate(folder, key_kind="p256"),
        "expiring": write_certificate(folder, key_kind="p384", days=5),
    }
