"""The FastAPI application of one KME: the ETSI 014 API, the KME-to-KME routes, health,
readiness and metrics, with the pools refilled in the background while it runs."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from qsafecity.api.errors import install_error_handlers
from qsafecity.api.etsi014 import etsi014_router
from qsafecity.api.fast import FastKeyRoutes
from qsafecity.api.metrics import KMEMetrics
from qsafecity.api.peer import peer_router
from qsafecity.errors import QSafeCityError
from qsafecity.kms.kme import KME

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]

_ENDPOINTS = ("status", "enc_keys", "dec_keys")


class _CountRequests:
    """Counts 014 requests by endpoint and status (a plain ASGI wrapper: cheap on the hot path)."""

    def __init__(self, app: ASGIApp, metrics: KMEMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/api/v1/keys/"):
            await self.app(scope, receive, send)
            return
        endpoint = path.rsplit("/", 1)[-1]
        endpoint = endpoint if endpoint in _ENDPOINTS else "other"

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.metrics.count(endpoint, int(message["status"]))
            await send(message)

        await self.app(scope, receive, counting_send)


#: How often leftover holds and keys past their lifetime are looked for (``kms.kme.HOLD_TTL_S``,
#: ``KEY_TTL_S``, ``STOCK_TTL_S``).
HOLD_SWEEP_S = 10.0


class _Refiller:
    """Adds the key each link's device produced, every ``interval_s``, and erases expired holds,
    until stopped; a second thread keeps the stock of keys agreed in advance topped up."""

    def __init__(self, kme: KME, interval_s: float) -> None:
        self.kme = kme
        self.interval_s = interval_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="kme-refill", daemon=True)
        self.stocker = threading.Thread(target=self._stock, name="kme-stock", daemon=True)
        self.notifier = threading.Thread(target=self._notify, name="kme-notices", daemon=True)
        self.healthy = False

    def start(self) -> None:
        self.thread.start()
        self.stocker.start()
        self.notifier.start()

    def join(self) -> None:
        self.stop.set()
        self.kme.stock_wanted.set()
        self.kme.notices_wanted.set()
        self.thread.join(timeout=5)
        self.stocker.join(timeout=5)
        self.notifier.join(timeout=5)
        # What the notifier had not sent yet: the master KMEs erase their records now.
        self.kme.send_delivery_notices()

    def _notify(self) -> None:
        """Sends the delivery notices ``dec_keys`` queued (``KME.notice_delay_s``), in batches."""
        while not self.stop.is_set():
            self.kme.notices_wanted.wait(0.5)
            # Gather what comes in meanwhile into the same requests.
            self.stop.wait(self.kme.notice_delay_s)
            self.kme.send_delivery_notices()

    def _run(self) -> None:
        swept = time.monotonic()
        while not self.stop.is_set():
            try:
                self.kme.refill()
                if time.monotonic() - swept > HOLD_SWEEP_S:
                    swept = time.monotonic()
                    self.kme.expire_holds()
                    self.kme.expire_keys()
                self.healthy = True
            except QSafeCityError:
                self.healthy = False
            self.stop.wait(self.interval_s)

    def _stock(self) -> None:
        while not self.stop.is_set():
            # Woken when a pair's stock ran low; otherwise checks now and then.
            self.kme.stock_wanted.wait(0.5)
            if self.stop.is_set():
                return
            try:
                self.kme.restock()
            except QSafeCityError:
                self.stop.wait(0.5)
            # Every key issued from stock wakes this thread; looking at most 20 times a second
            # keeps the stock counts off the request path (a batch lasts longer than 50 ms).
            self.stop.wait(0.05)


def create_app(
    kme: KME,
    *,
    insecure_dev: bool = False,
    refill_interval_s: float | None = 0.2,
    on_shutdown: Callable[[], None] | None = None,
) -> FastAPI:
    """The app of ``kme``. ``refill_interval_s=None`` leaves refilling to the caller (tests)."""
    metrics = KMEMetrics(kme)
    refiller = _Refiller(kme, refill_interval_s) if refill_interval_s else None

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if refiller is not None:
            refiller.start()
        try:
            yield
        finally:
            # Graceful shutdown: uvicorn has finished the requests in flight; stop refilling,
            # then release the store and the peer connections.
            if refiller is not None:
                refiller.join()
            app.close_fast_path()
            if on_shutdown is not None:
                on_shutdown()

    mode = " (INSECURE DEVELOPMENT MODE: callers named by header)" if insecure_dev else ""
    app = _KMEApp(
        kme,
        metrics,
        insecure_dev,
        title=f"qsafecity KME {kme.site_id}{mode}",
        summary="ETSI GS QKD 014 key delivery",
        version="1.1.1",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.insecure_dev = insecure_dev
    install_error_handlers(app)
    app.include_router(etsi014_router(kme, metrics, insecure_dev=insecure_dev))
    app.include_router(peer_router(kme, insecure_dev=insecure_dev))

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok", "kme": kme.site_id}

    @app.get("/readyz", include_in_schema=False)
    def ready() -> Response:
        try:
            levels = kme.pool_levels()
        except QSafeCityError as error:
            return JSONResponse({"status": "not ready", "reason": str(error)}, status_code=503)
        return JSONResponse({"status": "ready", "pools": levels})

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


class _KMEApp(FastAPI):
    """The KME's FastAPI app, with the hot ``enc_keys``/``dec_keys`` requests answered before
    the framework's middleware stack (``api.fast``), and every 014 request counted."""

    def __init__(self, kme: KME, metrics: KMEMetrics, insecure_dev: bool, **settings: Any) -> None:
        super().__init__(**settings)
        self._fast_layers = (kme, metrics, insecure_dev)
        self._fast: FastKeyRoutes | None = None

    def close_fast_path(self) -> None:
        if self._fast is not None and self._fast.hot_path is not None:
            self._fast.hot_path.close()

    def build_middleware_stack(self) -> ASGIApp:
        # Outside Starlette's error middleware and FastAPI's own layers, which cost a plain
        # request about a tenth of its CPU; FastKeyRoutes answers its own errors (503 at worst).
        kme, metrics, insecure_dev = self._fast_layers
        stack = super().build_middleware_stack()
        self._fast = FastKeyRoutes(stack, kme, metrics, insecure_dev=insecure_dev)
        return _CountRequests(self._fast, metrics)
