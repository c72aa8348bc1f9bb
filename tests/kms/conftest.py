"""Fixtures of the key management tests: stores of every kind, a private PostgreSQL database."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.kms_testbed import KMEBed, create_database, drop_database, make_testbed

from qsafecity.kms.sql import SQLKeyStore
from qsafecity.kms.store import KeyStore, MemoryKeyStore


@pytest.fixture(scope="session")
def kms_pg_server(postgres_url: str) -> str:
    """The PostgreSQL server URL (skips or fails through ``postgres_url``)."""
    return postgres_url


@pytest.fixture(scope="session")
def pg_database(kms_pg_server: str) -> Iterator[str]:
    """A uniquely named database on the shared server for this session, dropped afterwards."""
    name = f"qsafecity_kms_{secrets.token_hex(6)}"
    url = create_database(kms_pg_server, name)
    try:
        yield url
    finally:
        drop_database(kms_pg_server, name)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KeyStore]:
    """Each store implementation in turn: every test using it runs against all three."""
    made: KeyStore
    if request.param == "memory":
        made = MemoryKeyStore()
    elif request.param == "sqlite":
        made = SQLKeyStore(f"sqlite:///{tmp_path / 'kme.db'}")
    else:
        url = request.getfixturevalue("pg_database")
        made = SQLKeyStore(url)
        with made.engine.begin() as connection:
            connection.exec_driver_sql("TRUNCATE kms_link_state, kms_blocks, kms_holds, kms_keys")
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def testbed() -> KMEBed:
    """The mini city's KMEs on in-memory stores, 1,000 blocks in every link's pool."""
    return make_testbed()
