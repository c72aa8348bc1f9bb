"""The ETSI GS QKD 014 API: its JSON bodies (pydantic models, field names to the letter) and routes.

``GET /api/v1/keys/{slave_SAE_ID}/status``, ``POST|GET /api/v1/keys/{slave_SAE_ID}/enc_keys`` and
``POST|GET /api/v1/keys/{master_SAE_ID}/dec_keys``. The caller is the SAE named by its client
certificate (``api.identity``); the SAE id in the path names the *other* party.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from qsafecity.api.errors import error_body
from qsafecity.api.identity import caller_identity
from qsafecity.api.metrics import KMEMetrics
from qsafecity.kms.kme import KME, DeliveredKey, KeyRequest

Extension = dict[str, Any]
StrictCount = Annotated[int, Field(strict=True)]
SAEIdText = Annotated[str, Field(min_length=1, max_length=200)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Status(_Body):
    """Status: the limits and the key stock of a master/slave pair (014 §"Status")."""

    source_KME_ID: str
    target_KME_ID: str
    master_SAE_ID: str
    slave_SAE_ID: str
    key_size: int
    stored_key_count: int
    max_key_count: int
    max_key_per_request: int
    max_key_size: int
    min_key_size: int
    max_SAE_ID_count: int
    status_extension: Extension | None = None


class KeyRequestBody(_Body):
    """Key request: the POST body of "Get key"."""

    number: StrictCount | None = None
    size: StrictCount | None = None
    additional_slave_SAE_IDs: Annotated[list[SAEIdText], Field(max_length=1000)] | None = None
    extension_mandatory: Annotated[list[Extension], Field(max_length=100)] | None = None
    extension_optional: Annotated[list[Extension], Field(max_length=100)] | None = None


class Key(_Body):
    key_ID: str
    key_ID_extension: Extension | None = None
    key: str
    key_extension: Extension | None = None


class KeyContainer(_Body):
    """Key container: the answer of "Get key" and "Get key with key IDs"."""

    keys: list[Key]
    key_container_extension: Extension | None = None


class KeyID(_Body):
    key_ID: Annotated[str, Field(max_length=64)]
    key_ID_extension: Extension | None = None


class KeyIDs(_Body):
    """Key IDs: the POST body of "Get key with key IDs"."""

    key_IDs: Annotated[list[KeyID], Field(min_length=1, max_length=1024)]
    key_IDs_extension: Extension | None = None


class Error(_Body):
    """Error: the body of every 400, 401 and 503 answer."""

    message: str
    details: list[Extension] | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": Error, "description": "Bad request format"},
    401: {"model": Error, "description": "Unauthorized"},
    503: {"model": Error, "description": "Error on server side"},
}


def _sae_caller(request: Request) -> str:
    return caller_identity(request, "sae", insecure_dev=bool(request.app.state.insecure_dev))


Caller = Annotated[str, Depends(_sae_caller)]
SlavePath = Annotated[str, Path(min_length=1, max_length=200)]


def _container(keys: list[DeliveredKey]) -> KeyContainer:
    return KeyContainer(
        keys=[Key(key_ID=k.key_id, key=base64.b64encode(k.key.value).decode("ascii")) for k in keys]
    )


def etsi014_router(kme: KME, metrics: KMEMetrics, *, insecure_dev: bool) -> APIRouter:
    router = APIRouter(prefix="/api/v1/keys", tags=["ETSI GS QKD 014"], responses=ERROR_RESPONSES)

    def timed(endpoint: str, call: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            return call()
        finally:
            metrics.observe(endpoint, time.perf_counter() - started)

    @router.get("/{slave_SAE_ID}/status", response_model=Status, response_model_exclude_none=True)
    def get_status(slave_SAE_ID: SlavePath, sae: Caller) -> Status:
        status = timed("status", lambda: kme.status(sae, slave_SAE_ID))
        return Status(
            source_KME_ID=status.source_kme_id,
            target_KME_ID=status.target_kme_id,
            master_SAE_ID=status.master_sae_id,
            slave_SAE_ID=status.slave_sae_id,
            key_size=status.key_size,
            stored_key_count=status.stored_key_count,
            max_key_count=status.max_key_count,
            max_key_per_request=status.max_key_per_request,
            max_key_size=status.max_key_size,
            min_key_size=status.min_key_size,
            max_SAE_ID_count=status.max_sae_id_count,
        )

    def enc(sae: str, slave: str, body: KeyRequestBody) -> KeyContainer:
        request = KeyRequest(
            number=body.number,
            size_bits=body.size,
            additional_slave_sae_ids=tuple(body.additional_slave_SAE_IDs or ()),
            extension_mandatory=tuple(body.extension_mandatory or ()),
        )
        return _container(timed("enc_keys", lambda: kme.enc_keys(sae, slave, request)))

    @router.post(
        "/{slave_SAE_ID}/enc_keys", response_model=KeyContainer, response_model_exclude_none=True
    )
    def post_enc_keys(
        slave_SAE_ID: SlavePath,
        sae: Caller,
        body: KeyRequestBody | None = None,
    ) -> KeyContainer:
        return enc(sae, slave_SAE_ID, body or KeyRequestBody())

    @router.get(
        "/{slave_SAE_ID}/enc_keys", response_model=KeyContainer, response_model_exclude_none=True
    )
    def get_enc_keys(
        slave_SAE_ID: SlavePath,
        sae: Caller,
        number: Annotated[int | None, Query()] = None,
        size: Annotated[int | None, Query()] = None,
    ) -> KeyContainer:
        return enc(sae, slave_SAE_ID, KeyRequestBody(number=number, size=size))

    def dec(sae: str, master: str, key_ids: list[str]) -> KeyContainer:
        return _container(timed("dec_keys", lambda: kme.dec_keys(sae, master, key_ids)))

    @router.post(
        "/{master_SAE_ID}/dec_keys", response_model=KeyContainer, response_model_exclude_none=True
    )
    def post_dec_keys(
        master_SAE_ID: SlavePath,
        sae: Caller,
        body: KeyIDs,
    ) -> KeyContainer:
        return dec(sae, master_SAE_ID, [k.key_ID for k in body.key_IDs])

    @router.get(
        "/{master_SAE_ID}/dec_keys", response_model=KeyContainer, response_model_exclude_none=True
    )
    def get_dec_keys(
        master_SAE_ID: SlavePath,
        sae: Caller,
        key_ID: Annotated[list[str], Query(min_length=1, max_length=1024)],
    ) -> KeyContainer:
        return dec(sae, master_SAE_ID, key_ID)

    return router


__all__ = [
    "Error",
    "KeyContainer",
    "KeyIDs",
    "KeyRequestBody",
    "Status",
    "error_body",
    "etsi014_router",
]
