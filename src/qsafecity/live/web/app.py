"""The dashboard and the operator's HTTP API of a running :class:`~qsafecity.live.city.LiveCity`.

==========================  ===================================================================
``GET /``                   the dashboard (static HTML, CSS and JS shipped as package data)
``GET /api/state``          everything the dashboard shows, as JSON
``GET /api/events``         the same, pushed once a second as Server-Sent Events
``GET /api/assessment``     the city's assessment document (``qsafecity assess --format json``)
``GET /api/health``         ``{"status": "ok"}`` while the city runs
``POST /api/drills/{name}`` start a drill: ``eavesdrop`` ``{link, fraction}``, ``cut`` ``{link}``,
                            ``clear`` ``{link}``, ``flood`` ``{service, count}``,
                            ``downgrade`` ``{service}``
==========================  ===================================================================

Errors are mapped in one place: bad input (``InputError``, validation) is 400/422 with a
``detail`` message, anything else from the exception tree 409, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from importlib.resources import files
from typing import Annotated, Any, Final

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.middleware.trustedhost import TrustedHostMiddleware

from qsafecity.errors import InputError, QSafeCityError
from qsafecity.live.city import LiveCity
from qsafecity.live.options import FLOOD_MESSAGES

#: Seconds between two pushes of the state to each dashboard.
PUSH_INTERVAL_S: Final = 1.0

_Name = Annotated[str, Field(min_length=1, max_length=200)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LinkDrill(_Body):
    link: _Name


class EavesdropDrill(_Body):
    link: _Name
    fraction: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0


class FloodDrill(_Body):
    service: _Name
    count: Annotated[int, Field(ge=1, le=10_000)] = FLOOD_MESSAGES


class ServiceDrill(_Body):
    service: _Name


def create_app(city: LiveCity, stopping: threading.Event | None = None) -> FastAPI:
    """The app of ``city``; SSE streams end when ``stopping`` is set."""
    stop = stopping or threading.Event()
    app = FastAPI(title=f"qsafecity live: {city.city.city.name}", docs_url="/api/docs")
    # Only loopback names: a page elsewhere cannot reach the drill API by rebinding its own name
    # to 127.0.0.1 (DNS rebinding), and JSON bodies need a preflight no origin passes.
    app.add_middleware(
        TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost", "::1", "[::1]"]
    )
    static = files("qsafecity.live.web").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.exception_handler(InputError)
    async def _input_error(request: Request, error: InputError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=400)

    @app.exception_handler(QSafeCityError)
    async def _runtime_error(request: Request, error: QSafeCityError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=409)

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return static.joinpath("index.html").read_text(encoding="utf-8")

    @app.get("/api/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "city": city.city.city.name, "run_id": city.run_id}

    @app.get("/api/state")
    def state() -> dict[str, Any]:
        return city.snapshot()

    @app.get("/api/assessment")
    def assessment() -> dict[str, Any]:
        return city.assessment.model_dump(mode="json")

    @app.get("/api/events")
    async def events(request: Request) -> StreamingResponse:
        async def stream() -> AsyncIterator[str]:
            while not stop.is_set() and not await request.is_disconnected():
                snapshot = await asyncio.to_thread(city.snapshot)
                yield f"event: state\ndata: {json.dumps(snapshot, separators=(',', ':'))}\n\n"
                await asyncio.sleep(PUSH_INTERVAL_S)

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    @app.post("/api/drills/eavesdrop")
    def eavesdrop(body: EavesdropDrill) -> dict[str, str]:
        return city.drill_eavesdrop(body.link, body.fraction).to_json()

    @app.post("/api/drills/cut")
    def cut(body: LinkDrill) -> dict[str, str]:
        return city.drill_cut(body.link).to_json()

    @app.post("/api/drills/clear")
    def clear(body: LinkDrill) -> dict[str, str]:
        return city.drill_clear(body.link).to_json()

    @app.post("/api/drills/flood")
    def flood(body: FloodDrill) -> dict[str, str]:
        return city.drill_flood(body.service, body.count).to_json()

    @app.post("/api/drills/downgrade")
    def downgrade(body: ServiceDrill) -> dict[str, str]:
        return city.drill_downgrade(body.service).to_json()

    return app
