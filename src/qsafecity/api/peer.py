"""The KME-to-KME channel over HTTPS with mutual TLS: the routes a KME answers its peers on, and
``HttpPeerChannel``, the client side (the real ``PeerChannel``; ``kms.channel`` has the fake).

Each KME authenticates its peers by their KME certificates from the city CA; a peer message is
accepted only from a KME that the message's rules allow (the other end of the link, the previous
KME of a route, the KME of the slave that fetched a key).
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Final, TypeVar

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from qsafecity.api.identity import KME_HEADER, caller_identity
from qsafecity.errors import QSafeCityError
from qsafecity.kms.directory import link_id
from qsafecity.kms.failures import LinkDown, PeerRejected, PoolExhausted
from qsafecity.kms.kme import KME
from qsafecity.kms.messages import (
    Delivered,
    Hop,
    HopResult,
    PeerError,
    ReserveBlocks,
    ReservedBlocks,
    StockedKeys,
    StockKeys,
)
from qsafecity.kms.store import MissingBlocks

_M = TypeVar("_M", bound=BaseModel)
_log = logging.getLogger("qsafecity.api.peer")
#: How often batched delivery notices go out (each costs a request and a transaction at the
#: master's KME, which only erases records without key material: no hurry).
NOTICE_INTERVAL_S: Final = 0.5


def _error_answer(error: QSafeCityError) -> JSONResponse:
    if isinstance(error, PoolExhausted):
        body = PeerError(kind="exhausted", message=str(error), link_id=error.link_id)
        status = 503
    elif isinstance(error, LinkDown):
        body = PeerError(kind="link-down", message=str(error), link_id=error.link_id)
        status = 503
    elif isinstance(error, MissingBlocks):
        body = PeerError(
            kind="missing-blocks",
            message=str(error),
            link_id=error.link_id,
            indices=list(error.indices[:100]),
        )
        status = 409
    else:
        body = PeerError(kind="rejected", message=str(error).splitlines()[0][:500])
        status = 409
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status)


def _kme_caller(request: Request) -> str:
    return caller_identity(request, "kme", insecure_dev=bool(request.app.state.insecure_dev))


Caller = Annotated[str, Depends(_kme_caller)]


def peer_router(kme: KME, *, insecure_dev: bool) -> APIRouter:
    router = APIRouter(prefix="/kme/v1", tags=["KME to KME"], include_in_schema=False)

    def answer(call: Callable[[], BaseModel | None]) -> Any:
        try:
            result = call()
        except QSafeCityError as error:
            return _error_answer(error)
        return {} if result is None else result.model_dump()

    @router.post("/reserve")
    def reserve(body: ReserveBlocks, peer: Caller) -> Any:
        return answer(lambda: kme.handle_reserve(peer, body))

    @router.post("/hop")
    def hop(body: Hop, peer: Caller) -> Any:
        return answer(lambda: kme.handle_hop(peer, body))

    @router.post("/stock")
    def stock(body: StockKeys, peer: Caller) -> Any:
        return answer(lambda: kme.handle_stock(peer, body))

    @router.post("/delivered")
    def delivered(body: Delivered, peer: Caller) -> Any:
        return answer(lambda: (kme.handle_delivered(peer, body), None)[1])

    return router


class HttpPeerChannel:
    """Talks to peer KMEs at the given base URLs (``https://host:port``), with this KME's
    certificate as client certificate; ``insecure_dev`` uses plain HTTP and the ``X-KME-ID``
    header instead (development only, loopback only)."""

    def __init__(
        self,
        site_id: str,
        peers: Mapping[str, str],
        *,
        certificate: Path | None = None,
        key: Path | None = None,
        ca: Path | None = None,
        insecure_dev: bool = False,
        timeout_s: float = 5.0,
    ) -> None:
        self.site_id = site_id
        self._peers = dict(peers)
        headers = {KME_HEADER: site_id} if insecure_dev else {}
        verify: ssl.SSLContext | bool = False
        if not insecure_dev:
            if certificate is None or key is None or ca is None:
                raise ValueError("mutual TLS needs this KME's certificate, key and the city CA")
            context = ssl.create_default_context(cafile=str(ca))
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(str(certificate), str(key))
            verify = context
        self._client = httpx.Client(
            headers=headers,
            verify=verify,
            timeout=timeout_s,
            # Idle connections are closed by this side first (the server keeps them 30 s), so a
            # request is not sent on a connection the server is closing.
            limits=httpx.Limits(
                max_connections=64, max_keepalive_connections=32, keepalive_expiry=2.0
            ),
        )
        # Delivery notices are batched: the slave already has its key, and the master's KME only
        # erases a record without key material, so they need not cost a round trip per key.
        self._notices: dict[tuple[str, str], list[str]] = {}
        self._notices_lock = threading.Lock()
        self._stop = threading.Event()
        self._sender = threading.Thread(target=self._send_notices, name="kme-notices", daemon=True)
        self._sender.start()

    def close(self) -> None:
        self._stop.set()
        self._sender.join(timeout=5)
        self._flush_notices()
        self._client.close()

    def _send_notices(self) -> None:
        while not self._stop.wait(NOTICE_INTERVAL_S):
            self._flush_notices()

    def _flush_notices(self) -> None:
        with self._notices_lock:
            pending, self._notices = self._notices, {}
        for (peer, slave), key_ids in pending.items():
            for start in range(0, len(key_ids), 1024):
                notice = Delivered(key_ids=key_ids[start : start + 1024], slave_sae=slave)
                try:
                    self._post(peer, "delivered", notice, None)
                except QSafeCityError as error:
                    _log.warning("delivery notice to KME %s failed: %s", peer, error)

    def _post(self, peer_kme: str, path: str, message: BaseModel, answer: type[_M] | None) -> Any:
        base = self._peers.get(peer_kme)
        if base is None:
            raise LinkDown(link_id(self.site_id, peer_kme), f"no address known for KME {peer_kme}")
        url = f"{base.rstrip('/')}/kme/v1/{path}"
        body = message.model_dump_json()
        headers = {"content-type": "application/json"}
        try:
            try:
                response = self._client.post(url, content=body, headers=headers)
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
                # A pooled connection the peer had just closed: try once on a fresh one. A
                # message the peer did act on fails the second time (its blocks or key ids are
                # used), so a retry can waste key but never hand it out twice.
                response = self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise LinkDown(link_id(self.site_id, peer_kme), type(error).__name__) from None
        if response.status_code == 200:
            if answer is None:
                return None
            try:
                return answer.model_validate_json(response.content)
            except ValidationError:
                raise PeerRejected(f"KME {peer_kme} answered a malformed {path}") from None
        try:
            problem = PeerError.model_validate_json(response.content)
        except ValidationError:
            if response.status_code in (401, 403):
                raise PeerRejected(f"KME {peer_kme} refused this KME's certificate") from None
            raise LinkDown(
                link_id(self.site_id, peer_kme), f"HTTP {response.status_code}"
            ) from None
        if problem.kind == "exhausted" and problem.link_id:
            raise PoolExhausted(problem.link_id, 0)
        if problem.kind == "link-down" and problem.link_id:
            raise LinkDown(problem.link_id, problem.message)
        if problem.kind == "missing-blocks" and problem.link_id:
            raise MissingBlocks(problem.link_id, problem.indices or [])
        raise PeerRejected(f"KME {peer_kme}: {problem.message}")

    def reserve(self, peer_kme: str, request: ReserveBlocks) -> ReservedBlocks:
        result: ReservedBlocks = self._post(peer_kme, "reserve", request, ReservedBlocks)
        return result

    def hop(self, peer_kme: str, hop: Hop) -> HopResult:
        result: HopResult = self._post(peer_kme, "hop", hop, HopResult)
        return result

    def stock(self, peer_kme: str, request: StockKeys) -> StockedKeys:
        result: StockedKeys = self._post(peer_kme, "stock", request, StockedKeys)
        return result

    def delivered(self, peer_kme: str, notice: Delivered) -> None:
        with self._notices_lock:
            self._notices.setdefault((peer_kme, notice.slave_sae), []).extend(notice.key_ids)
