"""Fixtures of the API tests: the mini city's KMEs behind their apps, in insecure-dev mode.

Every API test runs twice: on in-memory stores (the KME's methods, in threads) and on PostgreSQL
as a served KME runs it (delivery notices sent in batches, and the common ``enc_keys`` and
``dec_keys`` answered on the event loop by the store's asyncio path, ``kms.sql.PostgresHotPath``).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.kms_testbed import MINI_CITY_SITES, APIBed, create_database, drop_database, make_testbed

from qsafecity.api import create_app
from qsafecity.api.server import NOTICE_DELAY_S
from qsafecity.kms.sql import SQLKeyStore
from qsafecity.kms.store import KeyStore


@pytest.fixture(scope="session")
def site_databases(postgres_url: str) -> Iterator[dict[str, str]]:
    """A PostgreSQL database per KME of the mini city, for the session; dropped afterwards."""
    names = {site: f"qsafecity_api_{site}_{secrets.token_hex(4)}" for site in MINI_CITY_SITES}
    urls = {site: create_database(postgres_url, name) for site, name in names.items()}
    try:
        yield urls
    finally:
        for name in names.values():
            drop_database(postgres_url, name)


def _postgres_stores(urls: dict[str, str]) -> dict[str, KeyStore]:
    stores: dict[str, KeyStore] = {}
    for site, url in urls.items():
        store = SQLKeyStore(url, pool_size=2)
        with store.engine.begin() as connection:
            connection.exec_driver_sql("TRUNCATE kms_link_state, kms_blocks, kms_holds, kms_keys")
        stores[site] = store
    return stores


@contextlib.contextmanager
def _served(stores: dict[str, KeyStore] | None) -> Iterator[APIBed]:
    bed = make_testbed(stores)
    if stores is not None:
        for kme in bed.kmes.values():
            kme.notice_delay_s = NOTICE_DELAY_S  # as served: notices queued, asyncio path on
    clients = {
        site: TestClient(create_app(kme, insecure_dev=True, refill_interval_s=None))
        for site, kme in bed.kmes.items()
    }
    for client in clients.values():
        client.__enter__()
    try:
        yield APIBed(bed, clients)
    finally:
        for client in clients.values():
            client.__exit__(None, None, None)
        for store in (stores or {}).values():
            store.close()


@pytest.fixture(params=["memory", "postgresql"])
def api(request: pytest.FixtureRequest) -> Iterator[APIBed]:
    if request.param == "memory":
        with _served(None) as bed:
            yield bed
    else:
        with _served(_postgres_stores(request.getfixturevalue("site_databases"))) as bed:
            yield bed


@pytest.fixture
def postgres_api(site_databases: dict[str, str]) -> Iterator[APIBed]:
    """The KMEs on PostgreSQL, as served (the asyncio path on)."""
    with _served(_postgres_stores(site_databases)) as bed:
        yield bed
