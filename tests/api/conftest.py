"""Fixtures of the API tests: the mini city's KMEs behind their apps, in insecure-dev mode."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from kms_testbed import KMEBed, make_testbed
from qsafecity.api import create_app


@dataclass
class APIBed:
    bed: KMEBed
    clients: dict[str, TestClient]

    def call(self, site: str, sae: str | None, method: str, path: str, **kwargs: object) -> object:
        headers = dict(kwargs.pop("headers", {}))  # type: ignore[call-overload]
        if sae:
            headers["X-SAE-ID"] = sae
        return self.clients[site].request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]


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
