"""``ETSI014Client``: an SAE's client for any KME that implements ETSI GS QKD 014.

It authenticates with the SAE's certificate over mutual TLS and returns the spec's bodies as the
pydantic models of ``api.etsi014``. A KME's 400, 401 and 503 answers raise ``KeyRequestError``,
``AccessDenied`` and ``KeyManagementError`` with the KME's message; anything else the KME answers
is reported as a ``KeyManagementError`` naming the status.

>>> client = ETSI014Client("https://kme-a.city:8014", certificate=Path("sae.pem"),
...                        key=Path("sae-key.pem"), ca=Path("ca.pem"))  # doctest: +SKIP
>>> keys = client.get_key("video@police-hq", number=2)                 # doctest: +SKIP
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from qsafecity.api.etsi014 import Error, KeyContainer, KeyIDs, KeyRequestBody, Status
from qsafecity.api.identity import SAE_HEADER
from qsafecity.errors import AccessDenied, InputError, KeyManagementError, KeyRequestError

_M = TypeVar("_M", bound=BaseModel)


class ETSI014Client:
    """A client of one KME. ``sae_id`` is only for a KME in insecure development mode."""

    def __init__(
        self,
        base_url: str,
        *,
        certificate: Path | None = None,
        key: Path | None = None,
        ca: Path | None = None,
        sae_id: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise InputError(f"{base_url!r} is not an http(s):// URL")
        verify: ssl.SSLContext | bool = True
        if base_url.startswith("https://"):
            if certificate is None or key is None or ca is None:
                raise InputError("mutual TLS needs the SAE's certificate, its key and the CA")
            try:
                context = ssl.create_default_context(cafile=str(ca))
                context.minimum_version = ssl.TLSVersion.TLSv1_2
                context.load_cert_chain(str(certificate), str(key))
            except (OSError, ssl.SSLError) as error:
                raise InputError(f"cannot load the TLS files: {error}") from None
            verify = context
        elif sae_id is None:
            raise InputError("plain HTTP is only for a KME in --insecure-dev mode: give the SAE id")
        else:
            verify = False  # plain HTTP: no TLS context to build (loading the CA bundle is slow)
        headers = {SAE_HEADER: sae_id} if sae_id and base_url.startswith("http://") else {}
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") + "/api/v1/keys/",
            verify=verify,
            headers=headers,
            timeout=timeout_s,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ETSI014Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, answer: type[_M], **kwargs: Any) -> _M:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise KeyManagementError(f"the KME cannot be reached: {type(error).__name__}") from None
        if response.status_code == 200:
            try:
                return answer.model_validate_json(response.content)
            except ValidationError:
                raise KeyManagementError("the KME answered a body that is not ETSI 014") from None
        try:
            message = Error.model_validate_json(response.content).message
        except ValidationError:
            message = f"HTTP {response.status_code} without an ETSI 014 error body"
        if response.status_code == 400:
            raise KeyRequestError(f"the KME refused the request: {message}")
        if response.status_code == 401:
            raise AccessDenied(f"the KME refused this SAE: {message}")
        raise KeyManagementError(f"the KME cannot deliver (HTTP {response.status_code}): {message}")

    def status(self, slave_sae_id: str) -> Status:
        return self._call("GET", f"{quote(slave_sae_id, safe='@')}/status", Status)

    def get_key(
        self,
        slave_sae_id: str,
        *,
        number: int | None = None,
        size: int | None = None,
        additional_slave_sae_ids: list[str] | None = None,
    ) -> KeyContainer:
        body = KeyRequestBody(
            number=number, size=size, additional_slave_SAE_IDs=additional_slave_sae_ids
        )
        return self._call(
            "POST",
            f"{quote(slave_sae_id, safe='@')}/enc_keys",
            KeyContainer,
            content=body.model_dump_json(exclude_none=True),
            headers={"content-type": "application/json"},
        )

    def get_key_with_ids(self, master_sae_id: str, key_ids: list[str]) -> KeyContainer:
        try:
            body = KeyIDs.model_validate({"key_IDs": [{"key_ID": k} for k in key_ids]})
        except ValidationError:
            raise KeyRequestError(
                "give between 1 and 1024 key IDs of at most 64 characters"
            ) from None
        return self._call(
            "POST",
            f"{quote(master_sae_id, safe='@')}/dec_keys",
            KeyContainer,
            content=body.model_dump_json(exclude_none=True),
            headers={"content-type": "application/json"},
        )
