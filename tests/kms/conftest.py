"""Fixtures of the key management tests: stores of every kind, a private PostgreSQL database."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url
from tests.kms_testbed import KMEBed, make_testbed

from qsafecity.kms.sql import SQLKeyStore
from qsafecity.kms.store import KeyStore, MemoryKeyStore


def _admin_conninfo(server_url: str) -> str:
    url = make_url(server_url)
    return (
        f"host={url.host or '127.0.0.1'} port={url.port or 5432} "
        f"user={url.username or 'postgres'} dbname={url.database or 'postgres'}"
    )


def create_database(server_url: str, name: str) -> str:
    with psycopg.connect(_admin_conninfo(server_url), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(_admin_conninfo(server_url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
