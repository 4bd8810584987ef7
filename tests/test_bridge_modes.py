"""The simulated bridge's three kinds of bridge (devstack/bridge/modes.py), over real TLS on 127.0.0.1.

A gen-2 bridge serves HTTPS and HTTP, a Bridge Pro HTTPS only (HTTP answers 301), a round bridge HTTP only.
Its certificate is shaped like a real bridge's and chains to a per-run test root that the functions trust
only through HUE_CA_BUNDLE, as a user adds a CA. Functions run through functions-framework's test client;
the simulator runs in this process (its request log shows what reached it).
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.bridge.modes import serve_bridge
from devstack.bridge.tls import OTHER_BRIDGE_ID
from devstack.stack.runner import function_env
from devstack.stack.simulated import SIM_APP_KEY, bridge_ports, start_simulated_bridge
from devstack.web import WsgiServer
from huelights.bridge import Deadline, HueBridge
from huelights.config import load_settings
from tests.support.servers import APP_KEY, RunningBridge, bridge_pki, function_client

TIMEOUT = 10


def _lights_on(sim: RunningBridge) -> bool:
    return all(light["state"]["on"] for light in sim.bridge.snapshot()["lights"].values())


def _switch_off(sim: RunningBridge) -> None:
    for light_id in sim.bridge.lights():
        sim.bridge.set_light_state(light_id, on=False)


def _peer_certificate(sim: RunningBridge) -> dict[str, Any]:
    """The leaf as a client trusting only the test root verifies it."""
    assert sim.ca_bundle is not None and sim.served.https is not None
    context = ssl.create_default_context(cafile=str(sim.ca_bundle))
    context.check_hostname = False  # a bridge certificate names the bridge id, not the address
    with (
        socket.create_connection(("127.0.0.1", sim.served.https.port), timeout=TIMEOUT) as raw,
        context.wrap_socket(raw) as tls,
    ):
        return tls.getpeercert() or {}


# ----- the certificate and /api/config ------------------------------------------------------------------


@pytest.mark.parametrize("sim", ["gen2", "pro"], indirect=True)
def test_the_certificate_names_the_bridge_id_like_a_real_bridges(sim: RunningBridge) -> None:
    certificate = _peer_certificate(sim)
    subject = dict(pair for rdn in certificate["subject"] for pair in rdn)
    assert subject == {"countryName": "NL", "organizationName": "Philips Hue", "commonName": sim.served.bridge_id}
    assert "subjectAltName" not in certificate
    issuer = dict(pair for rdn in certificate["issuer"] for pair in rdn)["commonName"]
    # gen-2: signed by the root directly; Bridge Pro: by an intermediate, which the server must have sent
    # for the chain to verify (the client trusts only the root).
    assert issuer == ("root-bridge" if sim.served.mode == "gen2" else "Hue Bridge CA (test)")
    # /api/config names the same bridge, in upper case as a bridge does; read through the verified client.
    public = HueBridge(load_settings({**sim.hue_env, "HUE_APP_KEY": APP_KEY})).public_config(Deadline(TIMEOUT))
    assert public["bridgeid"] == sim.served.bridge_id.upper()
    admin = requests.get(f"{sim.http_url}/_sim/state", timeout=TIMEOUT)
    assert admin.status_code == 200, "the admin API answers on plain HTTP in every mode"


# ----- each mode through a function ---------------------------------------------------------------------


def test_a_gen2_bridge_answers_https_from_a_bare_address_and_plain_http(
    sim: RunningBridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sim.served.mode == "gen2" and sim.ca_bundle is not None
    bare = {"HUE_BRIDGE": sim.url.removeprefix("https://"), "HUE_CA_BUNDLE": str(sim.ca_bundle)}
    sim.bridge.set_rate_limits(enabled=False)  # two group commands within a second
    for settings in (bare, {"HUE_BRIDGE": sim.http_url}):
        _switch_off(sim)
        client = function_client("lights_on", monkeypatch, **settings)
        response = client.post("/", json={})
        assert response.status_code == 200, (settings, response.get_data(as_text=True))
        assert _lights_on(sim)


@pytest.mark.parametrize("sim", ["pro"], indirect=True)
def test_a_bridge_pro_answers_plain_http_with_use_https_and_works_over_https(
    sim: RunningBridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    _switch_off(sim)
    plain = function_client("lights_on", monkeypatch, HUE_BRIDGE=sim.http_url)
    refused = plain.post("/", json={})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 500, text
    assert f"the bridge redirects to '{sim.url}/api/<app-key>/" in text
    assert "a Hue Bridge Pro serves the API only on https://" in text
    assert APP_KEY not in text
    assert sim.bridge.requests() == [] and not _lights_on(sim), "a 301 is not followed"

    over_https = function_client("lights_on", monkeypatch, **sim.hue_env)
    response = over_https.post("/", json={})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert _lights_on(sim)


@pytest.mark.parametrize("sim", ["round"], indirect=True)
def test_a_round_bridge_works_with_http_and_has_no_https(sim: RunningBridge, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sim.url.startswith("http://") and sim.served.https is None and sim.ca_bundle is None
    _switch_off(sim)
    client = function_client("lights_on", monkeypatch, HUE_BRIDGE=sim.url)
    response = client.post("/", json={})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert _lights_on(sim)


# ----- a wrong certificate: the key stays home ------------------------------------------------------------


@pytest.mark.parametrize("sim", ["gen2", "pro"], indirect=True)
@pytest.mark.parametrize(
    ("settings", "cause"),
    [
        ({"HUE_BRIDGE_ID": OTHER_BRIDGE_ID}, f"the certificate is for bridge {{id}}, not {OTHER_BRIDGE_ID}"),
        ({"HUE_CA_BUNDLE": ""}, "the certificate is not issued by Signify's Hue roots (nor by HUE_CA_BUNDLE)"),
    ],
    ids=["pinned-to-another-bridge", "test-root-not-added"],
)
def test_a_wrong_certificate_is_a_500_naming_the_cause_and_no_request_reaches_the_bridge(
    sim: RunningBridge, monkeypatch: pytest.MonkeyPatch, settings: dict[str, str], cause: str
) -> None:
    env = {**sim.hue_env, **settings}
    client = function_client("lights_off", monkeypatch, **{k: v for k, v in env.items() if v})
    response = client.post("/", json={})
    text = response.get_data(as_text=True)
    assert response.status_code == 500, text
    assert "TLS verification of the bridge failed: " + cause.format(id=sim.served.bridge_id) in text
    assert APP_KEY not in text
    assert sim.bridge.requests() == [], "the handshake was refused before any request, the key's included"
    assert _lights_on(sim)


# ----- make run's wiring ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["gen2", "pro", "round"])
def test_make_run_tells_the_functions_what_a_user_would_set(
    mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A developer's shell pinned to their real bridge must not pin the simulator to it.
    monkeypatch.setenv("HUE_BRIDGE_ID", OTHER_BRIDGE_ID)
    monkeypatch.setenv("HUE_CA_BUNDLE", "/nonexistent/own-bridge.pem")
    ports = {name: 0 for name in bridge_ports(mode)}
    setup = start_simulated_bridge(None, mode, "127.0.0.1", ports, tmp_path)
    try:
        env = function_env({"HUE_TARGET": "all"}, setup.function_settings, "a-trigger-token-0123456789")
        screen = "\n".join(setup.screen_lines())
    finally:
        setup.served.stop()
    assert env["HUE_APP_KEY"] == SIM_APP_KEY and "HUE_BRIDGE_ID" not in env
    assert f"HUE_BRIDGE={env['HUE_BRIDGE']}" in screen and SIM_APP_KEY not in screen
    if mode == "round":
        assert env["HUE_BRIDGE"].startswith("http://") and "HUE_CA_BUNDLE" not in env
    else:
        assert env["HUE_BRIDGE"].startswith("https://")
        assert Path(env["HUE_CA_BUNDLE"]).parent == tmp_path
        assert Path(env["HUE_CA_BUNDLE"]).read_bytes() == setup.served.pki.root_pem  # type: ignore[union-attr]
        assert f"HUE_CA_BUNDLE={env['HUE_CA_BUNDLE']}" in screen and "confirms the id via /api/config" in screen


def test_an_unknown_mode_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown bridge mode 'gen3'; one of gen2, pro, round"):
        serve_bridge(None, "gen3")  # type: ignore[arg-type]


# ----- the HTTPS listener itself --------------------------------------------------------------------------


def test_a_client_that_connects_and_stays_silent_does_not_stall_the_https_bridge(
    sim: RunningBridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sim.served.https is not None
    with socket.create_connection(("127.0.0.1", sim.served.https.port), timeout=TIMEOUT):
        _switch_off(sim)
        client = function_client("lights_on", monkeypatch, **sim.hue_env, HUE_READ_TIMEOUT="2")
        response = client.post("/", json={})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert _lights_on(sim)


def test_the_https_listener_tells_the_app_its_scheme(tmp_path: Path) -> None:
    """What a route that exists only over HTTPS (CLIP v2, as on a real bridge) decides by."""
    pki = bridge_pki(OTHER_BRIDGE_ID)

    def scheme(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.url_scheme"].encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]

    context = ssl.create_default_context(cafile=str(pki.write_root(tmp_path / "root.pem")))
    context.check_hostname = False
    with WsgiServer(scheme, ssl_context=pki.credentials("gen2").server_context()) as server:
        server.start()
        with (
            socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as raw,
            context.wrap_socket(raw) as tls,
        ):
            tls.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            answer = b""
            while chunk := tls.recv(4096):
                answer += chunk
    assert answer.endswith(b"\r\n\r\nhttps")
