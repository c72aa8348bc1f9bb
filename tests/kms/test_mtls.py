"""End to end over real mutual TLS: three KME processes of the mini city (a, b, c; d is down),
SAEs with certificates from ``qsafecity pki``, a direct key and a key relayed through b."""

from __future__ import annotations

import base64
import json
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.kms_testbed import (
    MINI_CITY,
    free_port,
    make_pki,
    start_kme,
    stop_all,
    wait_until_listening,
)

from qsafecity.api.client import ETSI014Client
from qsafecity.errors import AccessDenied, InputError, KeyManagementError, KeyRequestError

SAES = ["video@a", "video@b", "dispatch@a", "dispatch@c", "dispatch@b"]


@pytest.fixture(scope="module")
def city_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, int]]]:
    folder = tmp_path_factory.mktemp("mtls")
    city = folder / "city.yaml"
    city.write_text(MINI_CITY, encoding="utf-8")
    pki = folder / "pki"
    make_pki(pki, city, ["a", "b", "c"], SAES)
    ports = {site: free_port() for site in "abcd"}
    neighbours = {"a": ["b", "d"], "b": ["a", "c"], "c": ["b", "d"]}
    processes = {
        site: start_kme(
            city,
            site,
            ports[site],
            pki,
            "--rate-bps",
            "512000",
            db=f"sqlite:///{folder / f'{site}.db'}",
            peers={peer: ports[peer] for peer in neighbours[site]},
        )
        for site in "abc"
    }
    try:
        for site, process in processes.items():
            wait_until_listening(ports[site], process)
        _wait_for_key(pki, ports)
        yield pki, ports
    finally:
        logs = dict(zip(processes, stop_all(list(processes.values())), strict=True))
        for site, log in logs.items():
            events = [json.loads(line).get("event") for line in log.splitlines() if line[:1] == "{"]
            assert "kme-stopped" in events, f"KME {site} did not shut down gracefully"
            assert "Traceback" not in log


def _wait_for_key(pki: Path, ports: dict[str, int], timeout_s: float = 60) -> None:
    """Until the pools of a~b and b~c hold key (the first refills run after the KMEs start)."""
    deadline = time.monotonic() + timeout_s
    for master, slave, site in (("video@a", "video@b", "a"), ("dispatch@c", "dispatch@b", "c")):
        with _client(pki, ports[site], master) as client:
            while client.status(slave).stored_key_count < 100:
                assert time.monotonic() < deadline, "the pools did not fill"
                time.sleep(0.2)


def _client(pki: Path, port: int, sae: str) -> ETSI014Client:
    return ETSI014Client(
        f"https://127.0.0.1:{port}",
        certificate=pki / f"sae-{sae}.pem",
        key=pki / f"sae-{sae}-key.pem",
        ca=pki / "ca.pem",
    )


def test_a_direct_key_over_mutual_tls(city_network: tuple[Path, dict[str, int]]) -> None:
    pki, ports = city_network
    with (
        _client(pki, ports["a"], "video@a") as master,
        _client(pki, ports["b"], "video@b") as slave,
    ):
        status = master.status("video@b")
        assert (status.source_KME_ID, status.target_KME_ID) == ("a", "b")
        issued = master.get_key("video@b", number=2, size=512)
        fetched = slave.get_key_with_ids("video@a", [k.key_ID for k in issued.keys])
        assert fetched == issued
        assert len(base64.b64decode(fetched.keys[0].key)) == 64
        with pytest.raises(KeyRequestError, match="already delivered"):
            slave.get_key_with_ids("video@a", [issued.keys[0].key_ID])


def test_a_key_relayed_through_a_trusted_node_when_the_other_route_is_down(
    city_network: tuple[Path, dict[str, int]],
) -> None:
    pki, ports = city_network
    with (
        _client(pki, ports["a"], "dispatch@a") as master,
        _client(pki, ports["c"], "dispatch@c") as slave,
    ):
        issued = master.get_key("dispatch@c", number=3)
        assert slave.get_key_with_ids("dispatch@a", [k.key_ID for k in issued.keys]) == issued
        # Multicast to a slave at b and one at c.
        issued = master.get_key("dispatch@b", additional_slave_sae_ids=["dispatch@c"])
        assert slave.get_key_with_ids("dispatch@a", [issued.keys[0].key_ID]) == issued
        with _client(pki, ports["b"], "dispatch@b") as other:
            assert other.get_key_with_ids("dispatch@a", [issued.keys[0].key_ID]) == issued


def test_the_caller_is_who_its_certificate_says(city_network: tuple[Path, dict[str, int]]) -> None:
    pki, ports = city_network
    # video@b's certificate at KME a: not an SAE of a, whatever header it sends.
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    context.load_cert_chain(str(pki / "sae-video@b.pem"), str(pki / "sae-video@b-key.pem"))
    response = httpx.get(
        f"https://127.0.0.1:{ports['a']}/api/v1/keys/video@b/status",
        headers={"X-SAE-ID": "video@a"},
        verify=context,
    )
    assert response.status_code == 401
    assert set(response.json()) == {"message"}
    # A KME certificate is not an SAE certificate.
    with (
        ETSI014Client(
            f"https://127.0.0.1:{ports['a']}",
            certificate=pki / "kme-b.pem",
            key=pki / "kme-b-key.pem",
            ca=pki / "ca.pem",
        ) as kme_as_sae,
        pytest.raises(AccessDenied, match="does not name one SAE"),
    ):
        kme_as_sae.status("video@b")
    # No client certificate at all: the TLS handshake fails.
    anonymous = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"https://127.0.0.1:{ports['a']}/healthz", verify=anonymous)
    # An SAE may not pose as a KME on the KME-to-KME channel.
    response = httpx.post(
        f"https://127.0.0.1:{ports['b']}/kme/v1/reserve",
        json={"link_id": "a~b", "hold_id": "h", "count": 1},
        verify=context,
    )
    assert response.status_code == 401


def test_a_certificate_from_another_ca_is_refused(
    city_network: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    _, ports = city_network
    city = tmp_path / "city.yaml"
    city.write_text(MINI_CITY, encoding="utf-8")
    rogue = tmp_path / "rogue"
    make_pki(rogue, city, [], ["video@a"])
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.load_cert_chain(str(rogue / "sae-video@a.pem"), str(rogue / "sae-video@a-key.pem"))
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"https://127.0.0.1:{ports['a']}/api/v1/keys/video@b/status", verify=context)


def test_client_input_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="http"):
        ETSI014Client("ftp://x")
    with pytest.raises(InputError, match="certificate"):
        ETSI014Client("https://127.0.0.1:1")
    with pytest.raises(InputError, match="insecure-dev"):
        ETSI014Client("http://127.0.0.1:1")
    with pytest.raises(InputError, match="cannot load"):
        ETSI014Client(
            "https://127.0.0.1:1", certificate=tmp_path / "x", key=tmp_path / "y", ca=tmp_path / "z"
        )
    with ETSI014Client(f"http://127.0.0.1:{free_port()}", sae_id="video@a") as client:
        with pytest.raises(KeyManagementError, match="cannot be reached"):
            client.status("video@b")
        with pytest.raises(KeyRequestError):
            client.get_key_with_ids("video@b", [])
