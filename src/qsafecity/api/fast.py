"""The hot path of the ETSI 014 API: ``POST …/enc_keys`` and ``POST …/dec_keys`` with a plain body.

A KME's time per request went mostly to the web framework (routing, dependency resolution, pydantic
validation of the body and of the answer, JSON encoding), not to key management. This ASGI layer
answers the two requests that SAEs make all the time, when their body has the plain, valid shape
(``{"number": 1, "size": 256}`` with integers; ``{"key_IDs": [{"key_ID": "…"}, …]}`` with
strings), with the same checks, the same answers and the same error bodies as the FastAPI routes
of ``api.etsi014``. Every other request, and every body of another shape (extensions, additional
slaves, a wrong type, malformed JSON, …), goes to the FastAPI routes unchanged, so that what they
refuse and how is decided in one place. The answer is built with orjson, byte for byte the body the
routes send (``{"keys":[{"key_ID":…,"key":…}]}``).

On PostgreSQL the common case of each (a key agreed in advance for ``enc_keys``; keys issued by
the named master and waiting for the caller alone for ``dec_keys``) is answered on the event loop
itself, with the store's asyncio path (``kms.sql.PostgresHotPath``): one statement, no thread.
Anything else, and every request on SQLite, runs the KME's own method in a thread.
"""

from __future__ import annotations

import base64
import logging
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

import anyio
import anyio.to_thread
import orjson
from starlette.requests import HTTPConnection

from qsafecity.api.errors import error_body, status_for
from qsafecity.api.identity import caller_identity
from qsafecity.api.metrics import KMEMetrics
from qsafecity.errors import QSafeCityError
from qsafecity.kms.kme import KME, DeliveredKey, KeyRequest
from qsafecity.kms.sql import POOL_SIZE, PostgresHotPath, SQLKeyStore

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_PATH: Final = re.compile(r"^/api/v1/keys/([^/]{1,200})/(enc_keys|dec_keys)$")
#: Larger bodies go the general way (the largest plain dec_keys body is about 70 kB).
_MAX_BODY: Final = 128 * 1024
_MAX_KEY_IDS: Final = 1024
_log = logging.getLogger("qsafecity.api")
_JSON_HEADERS: Final = [(b"content-type", b"application/json")]


def _plain_enc_body(body: Any) -> KeyRequest | None:
    if not isinstance(body, dict) or not set(body) <= {"number", "size"}:
        return None
    number, size = body.get("number"), body.get("size")
    # Strict integers, as the pydantic model (bool is an int in Python: not here).
    if any(v is not None and type(v) is not int for v in (number, size)):
        return None
    if ("number" in body and number is None) or ("size" in body and size is None):
        return None
    return KeyRequest(number=number, size_bits=size)


def _plain_dec_body(body: Any) -> list[str] | None:
    if not isinstance(body, dict) or set(body) != {"key_IDs"}:
        return None
    entries = body["key_IDs"]
    if not isinstance(entries, list) or not 1 <= len(entries) <= _MAX_KEY_IDS:
        return None
    key_ids: list[str] = []
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != {"key_ID"}:
            return None
        key_id = entry["key_ID"]
        if type(key_id) is not str or len(key_id) > 64:
            return None
        key_ids.append(key_id)
    return key_ids


def _plain_request(endpoint: str, raw: bytes) -> tuple[str, KeyRequest | list[str]] | None:
    """The request of a plain body (see the module docstring), or ``None``."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    request = _plain_enc_body(body) if endpoint == "enc_keys" else _plain_dec_body(body)
    return None if request is None else (endpoint, request)


def _container(keys: list[DeliveredKey]) -> bytes:
    return orjson.dumps(
        {
            "keys": [
                {"key_ID": k.key_id, "key": base64.b64encode(k.key.value).decode("ascii")}
                for k in keys
            ]
        }
    )


class FastKeyRoutes:
    """ASGI layer in front of the FastAPI app (see the module docstring)."""

    def __init__(self, app: ASGIApp, kme: KME, metrics: KMEMetrics, *, insecure_dev: bool) -> None:
        self.app = app
        self.kme = kme
        self.metrics = metrics
        self.insecure_dev = insecure_dev
        # As many requests in threads at once as the store has connections: more would only
        # wait for one, holding a thread.
        self.limiter = anyio.CapacityLimiter(POOL_SIZE)
        # The asyncio path needs a store that has one, and delivery notices that dec_keys only
        # queues (sent at once, a notice is a network call, which must not block the loop).
        store = kme.store
        self.hot_path: PostgresHotPath | None = (
            store.hot_path() if isinstance(store, SQLKeyStore) and kme.notice_delay_s > 0 else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = None
        if scope["type"] == "http" and scope["method"] == "POST":
            match = _PATH.match(scope["path"])
        if match is None or not self._json_body(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            more = bool(message.get("more_body", False))
            if size > _MAX_BODY or not more:
                break
        raw = b"".join(chunks)
        call = None if size > _MAX_BODY else _plain_request(match[2], raw)
        if call is None:
            # The rest of the stream, if the client is still sending (a large body that came in
            # one piece has none: the app must not wait for more).
            await self.app(scope, _replay(raw, receive, more=more), send)
            return
        endpoint, request = call
        started = time.perf_counter()
        try:
            status, body = 200, _container(await self._answer(scope, match[1], request))
        except QSafeCityError as error:
            text = str(error)
            status = status_for(error)
            body = orjson.dumps(error_body(text.splitlines()[0] if text else "error"))
        except Exception as error:  # the same opaque 503 as the app's last-resort handler
            _log.error("unexpected %s on %s", type(error).__name__, scope["path"])
            status, body = 503, orjson.dumps(error_body("the KME is not operational"))
        finally:
            self.metrics.observe(endpoint, time.perf_counter() - started)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _json_body(scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"content-type":
                return bool(value.split(b";", 1)[0].strip().lower() == b"application/json")
        return False

    async def _answer(
        self, scope: Scope, other_sae: str, request: KeyRequest | list[str]
    ) -> list[DeliveredKey]:
        """The keys for a plain request: on the event loop when the store has an asyncio path
        and the request is the common case, else in a thread through the KME's own method."""
        kme, caller = self.kme, self._caller(scope)
        hot = self.hot_path
        if isinstance(request, KeyRequest):
            plan = None if hot is None else kme.plan_from_stock(caller, other_sae, request)
            if plan is not None:
                assert hot is not None
                taken = await hot.issue_stock_at_once(
                    plan.master, plan.slave, plan.number, plan.size_bits, kme.clock()
                )
                keys = kme.issued_from_stock(plan, taken)
                if keys is not None:
                    return keys
            return await self._in_thread(lambda: kme.enc_keys(caller, other_sae, request))
        key_ids = request
        if hot is not None:
            kme.check_delivery(caller, other_sae, key_ids)
            rows = await hot.deliver_at_once(
                key_ids, other_sae, caller, kme.committing(caller, key_ids)
            )
            if rows is not None:
                return kme.delivered_at_once(caller, other_sae, key_ids, rows)
        return await self._in_thread(lambda: kme.dec_keys(caller, other_sae, key_ids))

    async def _in_thread(self, work: Callable[[], list[DeliveredKey]]) -> list[DeliveredKey]:
        return await anyio.to_thread.run_sync(work, limiter=self.limiter)

    def _caller(self, scope: Scope) -> str:
        return caller_identity(HTTPConnection(scope), "sae", insecure_dev=self.insecure_dev)


def _replay(raw: bytes, receive: Receive, *, more: bool) -> Receive:
    """A ``receive`` that gives the body read so far again, then the rest of the stream."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": more}
        return await receive()

    return replayed
