"""Fixtures of the API tests: the mini city's KMEs behind their apps, in insecure-dev mode."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.kms_testbed import APIBed, make_testbed

from qsafecity.api import create_app


@pytest.fixture
def api() -> Iterator[APIBed]:
    bed = make_testbed()
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
