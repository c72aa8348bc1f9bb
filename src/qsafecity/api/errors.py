"""The one table from the exception tree to HTTP, and the error body of ETSI GS QKD 014.

The 014 API answers 200, 400, 401 or 503 and nothing else, each error with the spec's body
``{"message": …, "details": [{…}]}``. Unexpected failures become a 503 with an opaque message:
never a traceback, never key material.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from qsafecity.errors import AccessDenied, InputError, KeyManagementError, QSafeCityError

_log = logging.getLogger("qsafecity.api")

#: Exception class -> HTTP status, most specific first (the first match wins).
ERROR_STATUS: Final[tuple[tuple[type[QSafeCityError], int], ...]] = (
    (AccessDenied, 401),
    (InputError, 400),
    (KeyManagementError, 503),
    (QSafeCityError, 503),
)


def status_for(error: QSafeCityError) -> int:
    for kind, status in ERROR_STATUS:
        if isinstance(error, kind):
            return status
    return 503


def error_body(message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message}
    if details:
        body["details"] = details
    return body


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else "error"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(QSafeCityError)
    async def _tree(request: Request, error: QSafeCityError) -> JSONResponse:
        return JSONResponse(error_body(_first_line(str(error))), status_code=status_for(error))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        details: list[dict[str, Any]] = []
        for problem in error.errors()[:20]:
            where = ".".join(str(part) for part in problem.get("loc", ()) if part != "body")
            details.append({where or "request": str(problem.get("msg", "invalid"))[:200]})
        return JSONResponse(error_body("bad request format", details), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        # Inside the 014 API a wrong path or method is a bad request (the spec has no 404/405).
        status = error.status_code
        if request.url.path.startswith("/api/v1/keys") and status not in (401, 503):
            status = 400
        return JSONResponse(
            error_body(str(error.detail) if error.detail else "bad request"),
            status_code=status,
            headers=getattr(error, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        _log.error("unexpected %s on %s", type(error).__name__, request.url.path)
        return JSONResponse(error_body("the KME is not operational"), status_code=503)
