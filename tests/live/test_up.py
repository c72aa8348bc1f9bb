"""``qsafecity up`` end to end: embedded broker and SQLite, or Mosquitto and PostgreSQL; the HTTP
API, the drills over HTTP and the command line's handling of bad input."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from qsafecity.cli import main
from qsafecity.live.kmes import _Databases, _run_lock
from qsafecity.live.runner import LiveRunner, UpOptions
from qsafecity.manifests import load_city

#: Wall seconds any condition below may take; generous for a shared 2-core machine.
PATIENCE_S = 60.0


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = PATIENCE_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def state(runner: LiveRunner) -> dict[str, Any]:
    return httpx.get(runner.url + "api/state", timeout=10).json()


def start(options: UpOptions) -> LiveRunner:
    runner = LiveRunner(load_city(None), options)
    runner.start()
    return runner


def exercise(runner: LiveRunner) -> None:
    """Every service delivers; an eavesdropper is caught within bounded simulated time."""
    wait_for(
        lambda: all(s["accepted"] > 0 for s in state(runner)["services"]),
        "every service to store a reading",
    )
    # Critical keys came from the KMEs over ETSI 014: their dec_keys counters say so.
    kmes = state(runner)["kmes"]
    assert sum(k["keys_delivered"] for k in kmes.values()) > 0
    assert all(link["pool_keys"] > 0 for link in state(runner)["links"] if link["qkd"])
    assert httpx.get(runner.url + "api/health", timeout=5).json()["status"] == "ok"
    before = state(runner)["simulated_s"]
    response = httpx.post(
        runner.url + "api/drills/eavesdrop", json={"link": "dc-main-dc-reserve"}, timeout=10
    )
    assert response.status_code == 200, response.text

    def caught() -> bool:
        return any(
            a["cause"] == "qber-abort" and a["subject"] == "dc-main-dc-reserve"
            for a in state(runner)["alerts"]
        )

    wait_for(caught, "the eavesdropper to be caught")
    alert = next(a for a in state(runner)["alerts"] if a["cause"] == "qber-abort")
    # Detected at the first key block after the drill: within a few steps of simulated time.
    assert alert["at_s"] - before <= 10 * runner.options.speed * runner.options.tick_s + 5
    for bad in (
        {"link": "no-such-link"},
        {"link": "dc-main-dc-reserve", "fraction": 2},
        {"link": "x" * 1000},
        {"service": "video-surveillance"},
    ):
        reply = httpx.post(runner.url + "api/drills/eavesdrop", json=bad, timeout=10)
        assert reply.status_code in (400, 422), bad
        assert "Traceback" not in reply.text
    reply = httpx.post(runner.url + "api/drills/flood", content=b"{not json", timeout=10)
    assert reply.status_code == 422
    # A plain-text body (what a cross-site form could send) is refused, and so is a foreign Host.
    body = b'{"link": "dc-main-dc-reserve"}'
    reply = httpx.post(
        runner.url + "api/drills/cut", content=body, headers={"content-type": "text/plain"}
    )
    assert reply.status_code == 422
    reply = httpx.post(
        runner.url + "api/drills/cut",
        json={"link": "dc-main-dc-reserve"},
        headers={"host": "attacker.example"},
    )
    assert reply.status_code == 400


def stop_and_check(runner: LiveRunner) -> None:
    runner.stop()
    summary = runner.summary()
    assert summary["sent"] > 0
    assert summary["stored"] == summary["sent"]
    assert summary["pending"] == 0


def test_up_with_the_embedded_broker_and_sqlite(capsys) -> None:
    runner = start(UpOptions(port=0, speed=20.0, tick_s=0.25))
    try:
        exercise(runner)
        # The command line's drills reach the same running city.
        main_exit = None
        try:
            main(["drill", "flood", "--service", "air-quality", "--url", runner.url])
        except SystemExit as done:
            main_exit = done.code
        assert main_exit == 0
        assert "flood on air-quality" in capsys.readouterr().out
        wait_for(
            lambda: any(a["cause"] == "flood" for a in state(runner)["alerts"]),
            "the flood to be alerted",
        )
        with pytest.raises(SystemExit) as refused:
            main(["drill", "downgrade", "--service", "no-such-service", "--url", runner.url])
        assert refused.value.code == 2
        assert "no-such-service" in capsys.readouterr().err
        # Live updates: the event stream pushes the state.
        with httpx.stream("GET", runner.url + "api/events", timeout=10) as events:
            assert events.headers["content-type"].startswith("text/event-stream")
            lines = events.iter_lines()
            assert next(lines) == "event: state"
            assert next(lines).startswith('data: {"city":"Voronezh"')
        assessment = httpx.get(runner.url + "api/assessment", timeout=10).json()
        assert len(assessment["services"]) == len(state(runner)["services"])
        page = httpx.get(runner.url, timeout=10)
        assert page.status_code == 200
        assert '<svg id="map"' in page.text
    finally:
        stop_and_check(runner)


@pytest.fixture
def postgres_database(postgres_url: str) -> Iterator[str]:
    """A database of our own on the shared server, dropped afterwards."""
    name = f"qsafecity_live_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    base = postgres_url.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.services
def test_up_with_mosquitto_and_postgresql(mqtt_url: str, postgres_database: str) -> None:
    runner = start(
        UpOptions(port=0, speed=20.0, tick_s=0.25, mqtt_url=mqtt_url, db_url=postgres_database)
    )
    try:
        exercise(runner)
        assert runner.store is not None
        assert runner.store.backend == "postgresql"
        assert runner.city is not None
        # Each KME keeps its pools in a schema of its own, none shared.
        schemas = kme_schemas(postgres_database)
        assert len(schemas) == len(runner.city.keys.kmes)
        engine = create_engine(postgres_database.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as connection:
            for schema in schemas:
                blocks = connection.execute(text(f'SELECT count(*) FROM "{schema}".kms_blocks'))
                assert blocks.scalar_one() > 0, schema
        engine.dispose()
    finally:
        stop_and_check(runner)
    assert kme_schemas(postgres_database) == []  # dropped when the city stopped


def kme_schemas(url: str) -> list[str]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT schema_name FROM information_schema.schemata "
                "WHERE schema_name LIKE 'qsafecity_kme_%' ORDER BY 1"
            )
        )
        names = [str(row[0]) for row in rows]
    engine.dispose()
    return names


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["up", "--host", "0.0.0.0", "--duration", "1"], "loopback"),
        (["up", "--speed", "-1", "--duration", "1"], "--speed"),
        (["up", "--duration", "0"], "--duration"),
        (["up", "--duration", "nan"], "--duration"),
        (["up", "--port", "70000", "--duration", "1"], "--port"),
        (["up", "--mqtt", "http://x", "--port", "0", "--duration", "1"], "--mqtt"),
        (["up", "--db", "mysql://x/y", "--port", "0", "--duration", "1"], "--db"),
        (["up", "/no/such/city.yaml"], ""),
        (["drill", "eavesdrop", "--link", "a-b", "--fraction", "1.5"], "--fraction"),
        (["drill", "flood", "--service", "s", "--count", "0"], "--count"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv: list[str], needle: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert needle in err


def test_a_drill_without_a_running_city_says_so(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["drill", "cut", "--link", "a-b", "--url", "http://127.0.0.1:9"])
    assert exit_info.value.code == 1
    assert "qsafecity up" in capsys.readouterr().err


@pytest.mark.services
def test_a_new_run_drops_the_schemas_a_killed_run_left_and_keeps_a_live_runs(
    postgres_database: str,
) -> None:
    url = postgres_database.replace("postgresql://", "postgresql+psycopg://")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    alive = engine.connect()  # another run, alive: it holds its advisory lock
    alive.execute(text("SELECT pg_advisory_lock(:k, :r)"), _run_lock("0badcafe"))
    with engine.connect() as connection:
        for schema in ("qsafecity_kme_deadbeef_a", "qsafecity_kme_0badcafe_a"):
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    databases = _Databases(postgres_database, "12345678")
    try:
        databases.url_for("a")
        assert kme_schemas(postgres_database) == [
            "qsafecity_kme_0badcafe_a",  # alive: kept
            "qsafecity_kme_12345678_a",  # this run's
        ]  # the killed run's is gone
    finally:
        databases.drop()
    assert kme_schemas(postgres_database) == ["qsafecity_kme_0badcafe_a"]
    with engine.connect() as connection:  # this run's lock went with its stop
        lock = _run_lock("12345678")
        assert connection.execute(text("SELECT pg_try_advisory_lock(:k, :r)"), lock).scalar_one()
        connection.execute(text("SELECT pg_advisory_unlock(:k, :r)"), lock)
    alive.close()
    engine.dispose()
