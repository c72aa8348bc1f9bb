"""Conformance of the ETSI GS QKD 014 API: every endpoint, error code and validation rule.

The KMEs run in insecure-dev mode here (caller named by ``X-SAE-ID``); ``tests/kms/test_mtls.py``
runs the same API over real mutual TLS.
"""

from __future__ import annotations

import base64
import threading
import uuid
from typing import Any

import pytest
from tests.kms_testbed import APIBed

STATUS_FIELDS = {
    "source_KME_ID",
    "target_KME_ID",
    "master_SAE_ID",
    "slave_SAE_ID",
    "key_size",
    "stored_key_count",
    "max_key_count",
    "max_key_per_request",
    "max_key_size",
    "min_key_size",
    "max_SAE_ID_count",
}


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _expect_error(response: Any, status: int, contains: str = "") -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    # The spec's error body and nothing else: a message, optionally details (a list of objects).
    assert set(body) <= {"message", "details"}
    assert isinstance(body["message"], str)
    assert body["message"]
    assert "Traceback" not in response.text
    for detail in body.get("details", []):
        assert isinstance(detail, dict)
    assert contains in body["message"] + str(body.get("details", ""))
    return body


def _enc(api: APIBed, body: object = None, slave: str = "video@b", **kw: Any) -> Any:
    if body is None:
        return api.call("a", "video@a", "POST", f"/api/v1/keys/{slave}/enc_keys", **kw)
    return api.call("a", "video@a", "POST", f"/api/v1/keys/{slave}/enc_keys", json=body, **kw)


def test_status_has_exactly_the_specs_fields(api: APIBed) -> None:
    body = _ok(api.call("a", "video@a", "GET", "/api/v1/keys/video@b/status"))
    assert set(body) == STATUS_FIELDS
    assert body["source_KME_ID"] == "a"
    assert body["target_KME_ID"] == "b"
    assert body["master_SAE_ID"] == "video@a"
    assert body["slave_SAE_ID"] == "video@b"
    assert (body["key_size"], body["min_key_size"], body["max_key_size"]) == (256, 64, 1024)
    assert body["stored_key_count"] == 1000
    assert body["max_SAE_ID_count"] == 4
    assert all(isinstance(v, int) for k, v in body.items() if not k.endswith("_ID"))


def test_enc_keys_then_dec_keys_post_forms(api: APIBed) -> None:
    container = _ok(_enc(api, {"number": 2, "size": 512}))
    assert set(container) == {"keys"}
    keys = container["keys"]
    assert len(keys) == 2
    for key in keys:
        assert set(key) == {"key_ID", "key"}
        assert str(uuid.UUID(key["key_ID"])) == key["key_ID"]
        assert len(base64.b64decode(key["key"], validate=True)) == 64
    ids = {"key_IDs": [{"key_ID": k["key_ID"]} for k in keys]}
    fetched = _ok(api.call("b", "video@b", "POST", "/api/v1/keys/video@a/dec_keys", json=ids))
    assert fetched == container
    # Delivered once: the second time the key id is unknown.
    _expect_error(
        api.call("b", "video@b", "POST", "/api/v1/keys/video@a/dec_keys", json=ids),
        400,
        "already delivered",
    )
    status = _ok(api.call("a", "video@a", "GET", "/api/v1/keys/video@b/status"))
    assert status["stored_key_count"] == 1000 - 4


def test_enc_keys_defaults_with_no_body_and_get_forms(api: APIBed) -> None:
    container = _ok(_enc(api))
    assert len(container["keys"]) == 1
    assert len(base64.b64decode(container["keys"][0]["key"])) == 32
    got = _ok(api.call("a", "video@a", "GET", "/api/v1/keys/video@b/enc_keys?number=3&size=64"))
    assert [len(base64.b64decode(k["key"])) for k in got["keys"]] == [8, 8, 8]
    key_id = got["keys"][1]["key_ID"]
    fetched = _ok(api.call("b", "video@b", "GET", f"/api/v1/keys/video@a/dec_keys?key_ID={key_id}"))
    assert fetched["keys"] == [got["keys"][1]]


def test_the_specs_example_body_is_refused_for_its_mandatory_extensions(api: APIBed) -> None:
    body = {
        "number": 3,
        "size": 1024,
        "extension_mandatory": [{"abc_route_type": "direct"}, {"abc_transfer_method": "qkd"}],
        "extension_optional": [{"abc_max_age": 30000}],
    }
    _expect_error(_enc(api, body), 400, "abc_route_type")
    del body["extension_mandatory"]
    assert len(_ok(_enc(api, body))["keys"]) == 3  # optional extensions may be ignored


@pytest.mark.parametrize(
    ("body", "contains"),
    [
        ({"number": 0}, "number"),
        ({"number": -1}, "number"),
        ({"number": 129}, "max_key_per_request"),
        ({"number": 10**30}, "number"),
        ({"number": "3"}, "number"),
        ({"number": 2.0}, "number"),
        ({"number": True}, "number"),
        ({"size": 56}, "min_key_size"),
        ({"size": 1032}, "max_key_size"),
        ({"size": 260}, "multiple of 8"),
        ({"size": "big"}, "size"),
        ({"additional_slave_SAE_IDs": ["x"] * 5}, "max_SAE_ID_count"),
        ({"additional_slave_SAE_IDs": "video@b"}, "additional_slave_SAE_IDs"),
        ({"additional_slave_SAE_IDs": ["nobody@z"]}, "unknown SAE"),
        ({"extension_mandatory": [{}]}, "extension"),
        ({"unknown_field": 1}, "unknown_field"),
        ([1, 2], "request"),
        ("text", "request"),
    ],
)
def test_enc_keys_rejects_what_breaks_the_rules_with_400(
    api: APIBed, body: object, contains: str
) -> None:
    _expect_error(_enc(api, body), 400, contains)


def test_malformed_json_is_a_400(api: APIBed) -> None:
    response = api.call(
        "a",
        "video@a",
        "POST",
        "/api/v1/keys/video@b/enc_keys",
        content=b'{"number": 1,',
        headers={"content-type": "application/json", "X-SAE-ID": "video@a"},
    )
    _expect_error(response, 400)
    response = api.call("a", "video@a", "GET", "/api/v1/keys/video@b/enc_keys?number=two&size=256")
    _expect_error(response, 400, "number")


@pytest.mark.parametrize(
    "case",
    [
        ("a", None, "/api/v1/keys/video@b/status", 401, "X-SAE-ID"),
        ("a", "video@b", "/api/v1/keys/video@a/status", 401, "not an SAE served by KME a"),
        ("a", "nobody", "/api/v1/keys/video@b/status", 401, "not an SAE"),
        ("a", "video@a", "/api/v1/keys/dispatch@b/status", 401, "may not share keys"),
        ("a", "video@a", "/api/v1/keys/video@a/status", 401, "may not share keys"),
        ("a", "video@a", "/api/v1/keys/nobody@x/status", 400, "unknown SAE"),
        ("a", "video@a", "/api/v1/keys/video@b/enc_keys", 400, ""),  # PUT: no such method
    ],
)
def test_status_authorisation(api: APIBed, case: tuple[str, str | None, str, int, str]) -> None:
    site, sae, path, status, contains = case
    method = "PUT" if status == 400 and not contains else "GET"
    _expect_error(api.call(site, sae, method, path), status, contains)


def test_unknown_paths_inside_the_api_are_400_not_404(api: APIBed) -> None:
    _expect_error(api.call("a", "video@a", "GET", "/api/v1/keys/video@b/other"), 400)
    _expect_error(api.call("a", "video@a", "GET", "/api/v1/keys"), 400)


def test_dec_keys_authorisation_and_key_id_rules(api: APIBed) -> None:
    issued = _ok(
        api.call(
            "a",
            "dispatch@a",
            "POST",
            "/api/v1/keys/dispatch@b/enc_keys",
            json={"number": 1, "additional_slave_SAE_IDs": ["dispatch@c"]},
        )
    )["keys"][0]
    ids = {"key_IDs": [{"key_ID": issued["key_ID"]}]}

    def dec(site: str, sae: str, master: str, body: object) -> Any:
        return api.call(site, sae, "POST", f"/api/v1/keys/{master}/dec_keys", json=body)

    # The master may not fetch its own key; another service's SAE may not either.
    _expect_error(dec("a", "dispatch@a", "dispatch@b", ids), 401)
    _expect_error(dec("b", "video@b", "video@a", ids), 401)
    # Wrong master named, malformed and unknown ids.
    _expect_error(dec("b", "dispatch@b", "dispatch@c", ids), 400, "not issued by dispatch@c")
    _expect_error(dec("b", "dispatch@b", "dispatch@a", {"key_IDs": []}), 400)
    _expect_error(dec("b", "dispatch@b", "dispatch@a", {"key_IDs": [{"key_ID": "x" * 65}]}), 400)
    _expect_error(
        dec("b", "dispatch@b", "dispatch@a", {"key_IDs": [{"key_ID": "abc"}]}), 400, "UUID"
    )
    _expect_error(
        dec("b", "dispatch@b", "dispatch@a", {"key_IDs": [{"key_ID": str(uuid.uuid4())}]}),
        400,
        "unknown",
    )
    _expect_error(dec("b", "dispatch@b", "dispatch@a", None), 400)
    _expect_error(dec("b", "dispatch@b", "dispatch@a", {"key_IDs": [{"key_ID": 5}]}), 400)
    # Each multicast slave gets the key once, at its own KME.
    assert _ok(dec("b", "dispatch@b", "dispatch@a", ids))["keys"] == [issued]
    _expect_error(dec("b", "dispatch@b", "dispatch@a", ids), 400)
    assert _ok(dec("c", "dispatch@c", "dispatch@a", ids))["keys"] == [issued]
    _expect_error(dec("c", "dispatch@c", "dispatch@a", ids), 400)


def test_no_key_material_gives_503_with_a_reason(api: APIBed) -> None:
    api.bed.network.down.update({"b", "d"})
    body = _expect_error(
        api.call("a", "dispatch@a", "POST", "/api/v1/keys/dispatch@c/enc_keys", json={}),
        503,
        "no route from KME a to KME c",
    )
    assert "link" in body["message"]


def test_a_relayed_key_through_the_api(api: APIBed) -> None:
    issued = _ok(api.call("a", "dispatch@a", "POST", "/api/v1/keys/dispatch@c/enc_keys", json={}))
    ids = {"key_IDs": [{"key_ID": issued["keys"][0]["key_ID"]}]}
    assert (
        _ok(api.call("c", "dispatch@c", "POST", "/api/v1/keys/dispatch@a/dec_keys", json=ids))
        == issued
    )


def test_health_readiness_and_metrics(api: APIBed) -> None:
    assert _ok(api.call("a", None, "GET", "/healthz"))["status"] == "ok"
    ready = _ok(api.call("a", None, "GET", "/readyz"))
    assert ready["pools"] == {"a~b": 1000, "a~d": 1000}
    _ok(_enc(api, {"number": 2}))
    _expect_error(_enc(api, {"number": 0}), 400)
    response = api.call("a", None, "GET", "/metrics")
    text = response.text
    assert 'qsafecity_kme_pool_blocks{link="a~b"} 998.0' in text
    assert 'qsafecity_kme_requests_total{endpoint="enc_keys",status="200"} 1.0' in text
    assert 'qsafecity_kme_requests_total{endpoint="enc_keys",status="400"} 1.0' in text
    assert "qsafecity_kme_request_seconds_bucket" in text
    assert "qsafecity_kme_relay_hops_total 1.0" in text


def test_the_openapi_document_describes_the_014_surface(api: APIBed) -> None:
    schema = _ok(api.call("a", None, "GET", "/openapi.json"))
    paths = schema["paths"]
    assert set(paths) == {
        "/api/v1/keys/{slave_SAE_ID}/status",
        "/api/v1/keys/{slave_SAE_ID}/enc_keys",
        "/api/v1/keys/{master_SAE_ID}/dec_keys",
    }
    assert set(schema["components"]["schemas"]["Error"]["properties"]) == {"message", "details"}


def test_a_large_body_sent_in_one_piece_is_answered_not_awaited(api: APIBed) -> None:
    # Over the fast layer's 128 KiB it goes to the framework; it must not then wait for more
    # of a body that has already ended (a fuzzing case that hung once).
    body = {"number": 1, "extension_optional": [{"padding": "x" * 140_000}]}
    answers: list[Any] = []
    worker = threading.Thread(target=lambda: answers.append(_enc(api, body)), daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert answers, "no answer within 30 s"
    assert answers[0].status_code in (200, 400)
    assert isinstance(answers[0].json(), dict)
