"""Concurrency and crash tests on the real servers: several KME worker processes on one
PostgreSQL database hand out no block and no key twice, and a worker killed with SIGKILL
mid-load loses no key that was committed; the same on SQLite with one process per KME.

The KMEs run in insecure-dev mode (plain HTTP on loopback) so that the load measures the key
management, not TLS; ``test_mtls.py`` covers mutual TLS.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.kms_testbed import (
    MINI_CITY,
    LoadResult,
    create_database,
    drop_database,
    free_port,
    kme_log,
    make_pki,
    run_pair_load,
    start_kme,
    stop_all,
    wait_for_workers,
    wait_until_ready,
)

pytestmark = pytest.mark.timeout(600)


@dataclass
class Pair:
    """KMEs a and b of the mini city, running; ``restart`` starts one again on its database."""

    urls: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]]
    restart: Callable[[str], None]


@pytest.fixture
def kme_pair(tmp_path: Path) -> Iterator[Callable[..., Pair]]:
    city = tmp_path / "city.yaml"
    city.write_text(MINI_CITY, encoding="utf-8")
    pki = tmp_path / "pki"
    make_pki(pki, city, ["a", "b"], [])
    started: list[subprocess.Popen[bytes]] = []
    databases: list[tuple[str, str]] = []

    def start(*, backend: str, workers: dict[str, int], server: str | None = None) -> Pair:
        ports = {"a": free_port(), "b": free_port()}
        urls = {site: f"http://127.0.0.1:{port}" for site, port in ports.items()}
        dbs: dict[str, str] = {}
        for site in ports:
            if backend == "postgresql":
                assert server is not None
                name = f"qsafecity_kms_{site}_{secrets.token_hex(5)}"
                dbs[site] = create_database(server, name)
                databases.append((server, name))
            else:
                dbs[site] = f"sqlite:///{tmp_path / f'{site}.db'}"
        processes: dict[str, subprocess.Popen[bytes]] = {}

        def launch(site: str) -> None:
            peer = "b" if site == "a" else "a"
            process = start_kme(
                city,
                site,
                ports[site],
                pki,
                "--insecure-dev",
                "--workers",
                str(workers[site]),
                "--rate-bps",
                # SQLite serialises writers: a slower link keeps the refill's share small.
                "2000000" if backend == "postgresql" else "200000",
                db=dbs[site],
                peers={peer: ports[peer]},
            )
            started.append(process)
            processes[site] = process

        for site in ports:
            launch(site)
        for site, url in urls.items():
            wait_until_ready(url, timeout_s=120)  # eight workers start slowly on a busy machine
            if workers[site] > 1:
                wait_for_workers(processes[site].pid, workers[site])
        time.sleep(1.0)  # let the pools fill
        return Pair(urls, processes, launch)

    yield start
    stop_all(started)
    for server, name in databases:
        drop_database(server, name)


def _assert_exactly_once(result: LoadResult) -> None:
    assert result.duplicates == [], "a key was handed out twice"
    assert result.mismatches == [], "a slave got different bytes than its master"
    assert len(set(result.issued.values())) == len(result.issued)


def _audited_deliveries(process: subprocess.Popen[bytes]) -> set[str]:
    """Key ids the KME's audit log says it delivered or was committing the delivery of (the
    second is logged before the commit, so a kill between commit and log still leaves a trace)."""
    delivered: set[str] = set()
    for line in kme_log(process).splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("event") in ("dec_keys", "dec_keys-committing"):
                delivered.update(event["key_ids"])
    return delivered


def _deliver_the_rest(
    result: LoadResult, slave_url: str, slave_kme: subprocess.Popen[bytes]
) -> None:
    """Keys the master got but the slave did not fetch during the load: each must come now,
    unless the slave's KME delivered it and its answer was lost to the crash (its audit log,
    written after the commit, says so): exactly once means such a key is gone, as it must be."""
    missing = [k for k in result.issued if k not in result.delivered]
    answered_lost = _audited_deliveries(slave_kme)
    with httpx.Client(base_url=slave_url, headers={"X-SAE-ID": "video@b"}, timeout=30) as client:
        for key_id in missing:
            response = client.post(
                "/api/v1/keys/video@a/dec_keys", json={"key_IDs": [{"key_ID": key_id}]}
            )
            if response.status_code == 400 and key_id in answered_lost:
                result.delivered[key_id] = result.issued[key_id]
                continue
            assert response.status_code == 200, f"committed key {key_id} was lost: {response.text}"
            assert response.json()["keys"][0]["key"] == result.issued[key_id]
            result.delivered[key_id] = result.issued[key_id]
            again = client.post(
                "/api/v1/keys/video@a/dec_keys", json={"key_IDs": [{"key_ID": key_id}]}
            )
            assert again.status_code == 400


@pytest.mark.services
def test_two_workers_per_kme_on_postgresql_never_hand_out_a_key_twice(
    kme_pair: Callable[..., Pair], kms_pg_server: str
) -> None:
    pair = kme_pair(backend="postgresql", workers={"a": 2, "b": 2}, server=kms_pg_server)
    result = run_pair_load(pair.urls["a"], pair.urls["b"], clients=8, pairs=300)
    assert not result.failures, result.failures
    _assert_exactly_once(result)
    assert len(result.issued) == len(result.delivered) == 300


@pytest.mark.slow
@pytest.mark.services
def test_four_workers_32_clients_20000_requests_on_postgresql(
    kme_pair: Callable[..., Pair], kms_pg_server: str
) -> None:
    pair = kme_pair(backend="postgresql", workers={"a": 4, "b": 4}, server=kms_pg_server)
    result = run_pair_load(pair.urls["a"], pair.urls["b"], clients=32, pairs=10_000)
    assert not result.failures, result.failures
    _assert_exactly_once(result)
    assert len(result.issued) == len(result.delivered) == 10_000


def _load_in_background(
    pair: Pair, pairs: int, *, before_crash: int, clients: int = 8
) -> tuple[threading.Thread, list[LoadResult]]:
    """Start the load; return once ``before_crash`` keys were issued (then the test kills)."""
    result = LoadResult({}, {}, [], [], Counter())
    thread = threading.Thread(
        target=lambda: run_pair_load(
            pair.urls["a"],
            pair.urls["b"],
            clients=clients,
            pairs=pairs,
            result=result,
            # After the crash every request fails until the load gives up: a bounded tail.
            stop_after_failures=300,
        )
    )
    thread.start()
    deadline = time.monotonic() + 120
    while len(result.issued) < before_crash and thread.is_alive():
        assert time.monotonic() < deadline, "the load made too little progress"
        time.sleep(0.05)
    return thread, [result]


@pytest.mark.services
def test_a_worker_killed_mid_load_loses_no_committed_key_on_postgresql(
    kme_pair: Callable[..., Pair], kms_pg_server: str
) -> None:
    pair = kme_pair(backend="postgresql", workers={"a": 2, "b": 2}, server=kms_pg_server)
    thread, results = _load_in_background(pair, 600, before_crash=100)
    for site in ("a", "b"):  # one worker of the master's KME and one of the slave's
        victim = wait_for_workers(pair.processes[site].pid, 2)[0]
        os.kill(victim, signal.SIGKILL)
    thread.join()
    result = results[0]
    _assert_exactly_once(result)
    _deliver_the_rest(result, pair.urls["b"], pair.processes["b"])
    assert len(result.issued) >= 100
    _assert_exactly_once(result)


def test_a_kme_killed_mid_load_loses_no_committed_key_on_sqlite(
    kme_pair: Callable[..., Pair],
) -> None:
    pair = kme_pair(backend="sqlite", workers={"a": 1, "b": 1})
    thread, results = _load_in_background(pair, 2000, before_crash=40, clients=4)
    killed = pair.processes["b"]
    killed.send_signal(signal.SIGKILL)  # the slave's KME, holding the keys
    killed.wait()
    thread.join()
    pair.restart("b")
    wait_until_ready(pair.urls["b"], timeout_s=120)
    result = results[0]
    _assert_exactly_once(result)
    _deliver_the_rest(result, pair.urls["b"], killed)
    _assert_exactly_once(result)
    assert len(result.issued) >= 40
