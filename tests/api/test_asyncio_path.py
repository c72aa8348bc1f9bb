"""The asyncio path of a served KME on PostgreSQL (``api.fast`` with ``kms.sql.PostgresHotPath``).

The conformance suite runs on PostgreSQL too (``conftest.api``); these tests check that the common
requests really take the event-loop path, that it hands each key out once, and that it fails
cleanly when PostgreSQL does.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from tests.kms_testbed import APIBed

from qsafecity.api.app import _KMEApp
from qsafecity.errors import KeyManagementError
from qsafecity.kms.model import StoredKey, StoredRole
from qsafecity.kms.sql import PostgresHotPath, SQLKeyStore

ENC = "/api/v1/keys/video@b/enc_keys"
DEC = "/api/v1/keys/video@a/dec_keys"


def _hot_path(api: APIBed, site: str) -> PostgresHotPath:
    app = api.clients[site].app
    assert isinstance(app, _KMEApp)
    assert app._fast is not None
    assert app._fast.hot_path is not None
    return app._fast.hot_path


def _count_calls(monkeypatch: pytest.MonkeyPatch, hot: PostgresHotPath) -> dict[str, int]:
    """Count the hot path's store calls (the methods still run)."""
    counts = {"issue": 0, "deliver": 0}

    def counted(name: str, method: Any) -> Any:
        async def wrapper(*args: Any) -> Any:
            counts[name] += 1
            return await method(*args)

        return wrapper

    monkeypatch.setattr(hot, "issue_stock_at_once", counted("issue", hot.issue_stock_at_once))
    monkeypatch.setattr(hot, "deliver_at_once", counted("deliver", hot.deliver_at_once))
    return counts


def _stock(api: APIBed, number: int = 1) -> None:
    """Let the pair video@a -> video@b ask once (a relayed key), then agree keys in advance."""
    api.bed.fill(20.0)
    first = api.call("a", "video@a", "POST", ENC, json={"number": number})
    assert first.status_code == 200  # type: ignore[attr-defined]
    assert api.bed.kmes["a"].restock() > 0


def test_common_requests_take_the_event_loop_path_and_keys_match(
    postgres_api: APIBed, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stock(postgres_api)
    calls_a = _count_calls(monkeypatch, _hot_path(postgres_api, "a"))
    calls_b = _count_calls(monkeypatch, _hot_path(postgres_api, "b"))
    issued = postgres_api.call("a", "video@a", "POST", ENC, json={"number": 3, "size": 256})
    assert issued.status_code == 200, issued.text  # type: ignore[attr-defined]
    keys = issued.json()["keys"]  # type: ignore[attr-defined]
    assert calls_a["issue"] == 1
    assert postgres_api.bed.kmes["a"].stats["keys_issued_from_stock"] == 3
    ids = [{"key_ID": k["key_ID"]} for k in keys]
    fetched = postgres_api.call("b", "video@b", "POST", DEC, json={"key_IDs": ids})
    assert fetched.status_code == 200, fetched.text  # type: ignore[attr-defined]
    assert calls_b["deliver"] == 1
    assert fetched.json()["keys"] == keys  # type: ignore[attr-defined]
    assert all(len(base64.b64decode(k["key"])) == 32 for k in keys)
    # Exactly once: asking again is refused, through the slow path's precise reason.
    again = postgres_api.call("b", "video@b", "POST", DEC, json={"key_IDs": ids[:1]})
    assert again.status_code == 400  # type: ignore[attr-defined]
    assert "already delivered" in again.json()["message"]  # type: ignore[attr-defined]
    assert calls_b["deliver"] == 2  # tried first, found nothing, fell back
    # The master's records go when the batched notice arrives.
    store_a = postgres_api.bed.kmes["a"].store
    assert isinstance(store_a, SQLKeyStore)
    key_ids = [k["key_ID"] for k in keys]
    with store_a.transaction() as tx:
        assert {r.role for r in tx.lock_keys(key_ids).values()} == {StoredRole.ORIGIN}
    assert postgres_api.bed.kmes["b"].send_delivery_notices() == 3
    with store_a.transaction() as tx:
        assert tx.lock_keys(key_ids) == {}


def test_refusals_on_the_event_loop_path_match_the_kmes_own(postgres_api: APIBed) -> None:
    _stock(postgres_api)
    key = postgres_api.call("a", "video@a", "POST", ENC, json={"number": 1}).json()["keys"][0]  # type: ignore[attr-defined]
    one = {"key_IDs": [{"key_ID": key["key_ID"]}]}
    # Another slave of the service may not read it; the master may not fetch its own key.
    wrong = postgres_api.call("b", "dispatch@b", "POST", DEC, json=one)
    assert wrong.status_code in (400, 401)  # type: ignore[attr-defined]
    own = postgres_api.call("a", "video@a", "POST", "/api/v1/keys/video@b/dec_keys", json=one)
    assert own.status_code in (400, 401)  # type: ignore[attr-defined]
    unknown = {"key_IDs": [{"key_ID": "00000000-0000-4000-8000-000000000000"}]}
    missing = postgres_api.call("b", "video@b", "POST", DEC, json=unknown)
    assert missing.status_code == 400  # type: ignore[attr-defined]
    assert "unknown" in missing.json()["message"]  # type: ignore[attr-defined]
    # None of that consumed the key: its slave still gets it, once.
    got = postgres_api.call("b", "video@b", "POST", DEC, json=one)
    assert got.status_code == 200  # type: ignore[attr-defined]
    assert got.json()["keys"] == [key]  # type: ignore[attr-defined]


def _delivery(key_id: str) -> StoredKey:
    return StoredKey(
        key_id=key_id,
        role=StoredRole.DELIVERY,
        master_sae="m",
        slave_saes=("s",),
        pending_saes=("s",),
        size_bits=256,
        origin_kme="a",
        created_s=1.0,
        sealed=b"sealed-" + key_id.encode(),
    )


def test_concurrent_deliveries_on_the_loop_hand_a_key_out_once(
    site_databases: dict[str, str],
) -> None:
    store = SQLKeyStore(site_databases["a"], pool_size=2)
    with store.engine.begin() as connection:
        connection.exec_driver_sql("TRUNCATE kms_keys")
    ids = [f"k{i:02}" for i in range(10)]
    with store.transaction() as tx:
        tx.add_keys([_delivery(k) for k in ids])
    hot = store.hot_path()
    assert hot is not None
    announced: list[str] = []

    async def race() -> list[list[StoredKey] | None]:
        # Eight deliveries of every key at once, over the pool's connections.
        attempts = [
            hot.deliver_at_once([key_id], "m", "s", lambda: announced.append("committing"))
            for key_id in ids
            for _ in range(8)
        ]
        return await asyncio.gather(*attempts)

    results = asyncio.run(race())
    won = [r[0].key_id for r in results if r is not None]
    assert sorted(won) == ids  # each key once, none lost
    assert len(announced) == 80  # announced before every attempt that might commit
    # A new event loop (a second asyncio.run) gets connections of its own.
    with store.transaction() as tx:
        tx.add_keys([_delivery("again")])
    taken = asyncio.run(hot.deliver_at_once(["again"], "m", "s", lambda: None))
    assert taken is not None
    assert taken[0].sealed == b"sealed-again"
    hot.close()
    store.close()


def test_a_database_that_is_down_is_a_key_management_error() -> None:
    hot = PostgresHotPath("postgresql://postgres@127.0.0.1:1/nowhere")
    with pytest.raises(KeyManagementError, match="key store database failed"):
        asyncio.run(hot.issue_stock_at_once("m", "s", 1, 256, 1.0))
    hot.close()


def test_a_database_that_fails_gives_the_specs_503_not_a_traceback(
    postgres_api: APIBed,
) -> None:
    _stock(postgres_api)
    hot = _hot_path(postgres_api, "a")
    hot._conninfo = "postgresql://postgres@127.0.0.1:1/nowhere"
    hot.close()  # the idle connections go: the next request must connect, and fails
    answer = postgres_api.call("a", "video@a", "POST", ENC, json={"number": 1})
    assert answer.status_code == 503  # type: ignore[attr-defined]
    body = answer.json()  # type: ignore[attr-defined]
    assert set(body) <= {"message", "details"}
    assert "Traceback" not in answer.text  # type: ignore[attr-defined]
