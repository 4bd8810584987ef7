"""TLS to the bridge over real TLS on 127.0.0.1, with certificates minted per run (devstack.bridge.tls).

A Hue bridge certificate names the bridge id as its CN, has no subjectAltName, and chains to Signify's
roots; the client must check the chain and the CN (pinned by HUE_BRIDGE_ID, or confirmed by the bridge's
own /api/config), never fall back to not verifying, and never send the application key before the
certificate passed. The per-run test root stands in for Signify's and is added through HUE_CA_BUNDLE,
exactly as a user adds a CA: the runtime has no test-only door.
"""

from __future__ import annotations

import hashlib
import logging
import re
import ssl
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from devstack.bridge import SimulatedBridge
from devstack.bridge.tls import NOT_A_BRIDGE_ID, OTHER_BRIDGE_ID, TestPKI
from huelights.bridge import Deadline, HueBridge
from huelights.config import load_settings
from huelights.errors import BridgeBusy, BridgeRejected, BridgeUnreachable, PermanentBridgeError
from tests.support.servers import function_client
from tests.support.tls_server import HueLikeServer, serve

BRIDGE_ID = "001788fffe6a2b3c"
APP_KEY = "tls-test-app-key-0123456789"
ROOT = Path(__file__).resolve().parent.parent
CERTS = ROOT / "huelights" / "certs"
# SHA-256 of the DER of Signify's two bridge roots (huelights/certs/README.md; recomputed from the files
# published by Signify and shipped, byte-identical, by openHAB and openhue-go).
SIGNIFY_ROOTS = {
    "root-bridge.pem": "F0BD8E6509E82F774D63BC009D5388C969FE3DCF7D6D541D6351B72B898D8ACF",
    "hue-root-ca-01.pem": "D8B89448B2AF8E1676185AC07219EE9DCBC8F01C122A026A2A4B7B5CFE0328B8",
}


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return TestPKI(BRIDGE_ID)


@pytest.fixture(scope="module")
def test_root(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pki.write_root(tmp_path_factory.mktemp("pki") / "test-root.pem")


@pytest.fixture
def served(pki: TestPKI, request: pytest.FixtureRequest) -> Iterator[HueLikeServer]:
    """A server presenting the credentials variant named by the test's `variant` parameter."""
    variant, reported = request.param if isinstance(request.param, tuple) else (request.param, BRIDGE_ID)
    with serve(pki.credentials(variant).server_context(), app_key=APP_KEY, reported_id=reported) as server:
        yield server


def _bridge(url: str, **env: str) -> HueBridge:
    settings = load_settings({"HUE_BRIDGE": url, "HUE_APP_KEY": APP_KEY, "HUE_MAX_ATTEMPTS": "1", **env})
    return HueBridge(settings)


def _no_key_reached(server: HueLikeServer) -> None:
    assert [r.path for r in server.requests_seen if r.carries(APP_KEY)] == []


# ----- shipped roots ------------------------------------------------------------------------------------


def test_the_shipped_roots_are_signifys() -> None:
    shipped = {path.name: path for path in CERTS.glob("*.pem")}
    assert set(shipped) == set(SIGNIFY_ROOTS)
    for name, fingerprint in SIGNIFY_ROOTS.items():
        der = ssl.PEM_cert_to_DER_cert(shipped[name].read_text())
        assert hashlib.sha256(der).hexdigest().upper() == fingerprint, name
        assert fingerprint in (CERTS / "README.md").read_text()


def test_the_roots_are_package_data() -> None:
    """An installed huelights (pip install .) carries them too, not only the image."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["huelights"]
    for name in SIGNIFY_ROOTS:
        assert any(Path("certs", name).match(pattern) for pattern in patterns), name


# ----- accepted -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("served", ["gen2", "pro"], indirect=True, ids=["gen2-root-signed", "pro-via-intermediate"])
def test_a_pinned_bridge_id_is_checked_without_asking_the_bridge(served: HueLikeServer, test_root: Path) -> None:
    bridge = _bridge(served.url, HUE_CA_BUNDLE=str(test_root), HUE_BRIDGE_ID=BRIDGE_ID)
    assert "1" in bridge.get("lights", Deadline(10))
    assert [r.path for r in served.requests_seen] == [f"/api/{APP_KEY}/lights"]


@pytest.mark.parametrize("served", ["gen2", "pro"], indirect=True, ids=["gen2-root-signed", "pro-via-intermediate"])
def test_without_a_pinned_id_the_certificate_must_agree_with_api_config_before_the_key_goes(
    served: HueLikeServer, test_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="huelights.tls")
    bridge = _bridge(served.url, HUE_CA_BUNDLE=str(test_root))
    assert "1" in bridge.get("lights", Deadline(10))
    assert "1" in bridge.get("lights", Deadline(10))
    paths = [r.path for r in served.requests_seen]
    assert paths == ["/api/config", f"/api/{APP_KEY}/lights", f"/api/{APP_KEY}/lights"]
    assert not served.requests_seen[0].carries(APP_KEY)
    logged = [r.getMessage() for r in caplog.records if r.name == "huelights.tls"]
    assert len(logged) == 1, "logged once per process"
    assert f"HUE_BRIDGE_ID={BRIDGE_ID}" in logged[0]


@pytest.mark.parametrize("served", ["gen2"], indirect=True)
def test_the_bridge_id_is_confirmed_over_the_connection_that_then_carries_the_key(
    served: HueLikeServer, test_root: Path
) -> None:
    bridge = _bridge(served.url, HUE_CA_BUNDLE=str(test_root))
    bridge.get("lights", Deadline(10))
    assert (len(served.requests_seen), served.connections) == (2, 1)


@pytest.mark.parametrize("served", ["gen2"], indirect=True)
def test_a_confirmed_id_holds_for_every_later_connection(served: HueLikeServer, test_root: Path, pki: TestPKI) -> None:
    """Another bridge showing up at the address later (a new connection) is refused, not learned anew."""
    bridge = _bridge(served.url, HUE_CA_BUNDLE=str(test_root))
    bridge.get("lights", Deadline(10))
    served.tls_context = pki.credentials("wrong-id").server_context()
    served.reported_id = OTHER_BRIDGE_ID
    bridge.transport.session.close()  # drops the kept-alive connection: the next call makes a new one
    with pytest.raises(PermanentBridgeError, match=f"is for bridge {OTHER_BRIDGE_ID}, not {BRIDGE_ID} \\(confirmed"):
        bridge.get("lights", Deadline(10))
    assert len(served.requests_seen) == 2


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        ((503, b"busy"), BridgeBusy, "GET lights: HTTP 503 from the bridge"),
        ((200, b"<html>busy</html>"), BridgeBusy, "body that is not JSON"),
        ((200, b"[]"), PermanentBridgeError, "the bridge reports bridgeid None"),
        ((200, b"[" + b" " * 70000 + b"]"), PermanentBridgeError, "/api/config answered with over 64 KiB"),
    ],
    ids=["503", "html", "no-bridgeid", "oversized"],
)
@pytest.mark.parametrize("served", ["gen2"], indirect=True)
def test_an_unusable_api_config_answer_is_reported_and_the_key_stays_home(
    served: HueLikeServer, test_root: Path, answer: tuple[int, bytes], error: type[Exception], message: str
) -> None:
    served.config_answer = answer
    bridge = _bridge(served.url, HUE_CA_BUNDLE=str(test_root))
    with pytest.raises(error, match=re.escape(message)):
        bridge.get("lights", Deadline(10))
    assert [r.path for r in served.requests_seen] == ["/api/config"]


@pytest.mark.parametrize("served", ["gen2"], indirect=True)
def test_a_bare_address_means_https(served: HueLikeServer, test_root: Path) -> None:
    bare = served.url.removeprefix("https://")
    bridge = _bridge(bare, HUE_CA_BUNDLE=str(test_root))
    assert bridge.public_config(Deadline(10))["bridgeid"] == BRIDGE_ID.upper()
    assert [r.path for r in served.requests_seen] == ["/api/config"], "the probe answered the caller's own GET"


@pytest.mark.parametrize("served", ["self-signed"], indirect=True)
def test_a_self_signed_certificate_is_accepted_once_it_is_the_bundle(
    served: HueLikeServer, pki: TestPKI, tmp_path: Path
) -> None:
    bundle = tmp_path / "bridge-cert.pem"
    bundle.write_bytes(pki.credentials("self-signed").leaf.cert_pem)
    for pinned in ({"HUE_BRIDGE_ID": BRIDGE_ID}, {}):
        bridge = _bridge(served.url, HUE_CA_BUNDLE=str(bundle), **pinned)
        assert "1" in bridge.get("lights", Deadline(10))


EMULATOR_ID = "020000fffe000001"


@pytest.mark.parametrize("variant", ["gen2", "self-signed"], ids=["leaf-of-an-unsent-ca", "self-signed"])
def test_an_emulator_works_with_its_own_certificate_as_the_bundle(variant: str, tmp_path: Path) -> None:
    """A bridge emulator serving its own certificate: HUE_CA_BUNDLE=<that certificate>, the id pinned."""
    credentials = TestPKI(EMULATOR_ID).credentials(variant)
    bundle = tmp_path / "emulator.pem"
    bundle.write_bytes(credentials.leaf.cert_pem)
    with serve(credentials.server_context(), app_key=APP_KEY, reported_id=EMULATOR_ID) as server:
        bridge = _bridge(server.url, HUE_CA_BUNDLE=str(bundle), HUE_BRIDGE_ID=EMULATOR_ID)
        assert "1" in bridge.get("lights", Deadline(10))
        wrong = _bridge(server.url, HUE_CA_BUNDLE=str(bundle), HUE_BRIDGE_ID=BRIDGE_ID)
        with pytest.raises(PermanentBridgeError, match=f"the certificate is for bridge {EMULATOR_ID}, not {BRIDGE_ID}"):
            wrong.get("lights", Deadline(10))
    assert len(server.requests_seen) == 1


# ----- refused ------------------------------------------------------------------------------------------

REFUSALS = {
    # id: ((variant, id the bridge reports in /api/config), pin HUE_BRIDGE_ID?, bundle?, message fragment)
    "wrong-id-pinned": (("wrong-id", OTHER_BRIDGE_ID), True, True, f"is for bridge {OTHER_BRIDGE_ID}, not {BRIDGE_ID}"),
    "cert-disagrees-with-api-config": (("gen2", OTHER_BRIDGE_ID), False, True, "reports bridgeid"),
    "not-a-bridge-id": (("not-a-bridge-id", BRIDGE_ID), False, True, f"bridge id (CN {NOT_A_BRIDGE_ID!r}"),
    "not-a-bridge-id-pinned": (("not-a-bridge-id", BRIDGE_ID), True, True, "does not name a Hue bridge id"),
    "san-only-for-the-ip": (("san-only-ip", BRIDGE_ID), False, True, "(no CN, IP Address 127.0.0.1)"),
    "foreign-ca": (("foreign-ca", BRIDGE_ID), True, True, "not issued by Signify's Hue roots"),
    "expired": (("expired", BRIDGE_ID), True, True, "the certificate has expired"),
    "self-signed-without-bundle": (("self-signed", BRIDGE_ID), True, True, "self-signed certificate"),
    "test-root-not-trusted-without-bundle": (("gen2", BRIDGE_ID), False, False, "not issued by Signify's Hue roots"),
}  # fmt: skip


@pytest.mark.parametrize(
    ("served", "pinned", "with_bundle", "fragment"),
    list(REFUSALS.values()),
    ids=list(REFUSALS),
    indirect=["served"],
)
@pytest.mark.parametrize("call", ["get", "pair"])
def test_a_bad_certificate_is_a_permanent_error_and_the_key_never_leaves(
    served: HueLikeServer, test_root: Path, pinned: bool, with_bundle: bool, fragment: str, call: str
) -> None:
    env = {"HUE_CA_BUNDLE": str(test_root)} if with_bundle else {}
    if pinned:
        env["HUE_BRIDGE_ID"] = BRIDGE_ID
    bridge = _bridge(served.url, **env)
    with pytest.raises(PermanentBridgeError, match=r"^TLS verification of the bridge failed: ") as caught:
        if call == "get":
            bridge.get("lights", Deadline(10))
        else:
            bridge.create_app_key("huelights#test", Deadline(10))
    message = str(caught.value)
    assert fragment in message
    assert APP_KEY not in message
    assert bridge.requests_sent == 1, "a certificate problem is not retried"
    _no_key_reached(served)
    assert not [r for r in served.requests_seen if r.method == "POST"], "no pairing before the certificate passed"


def test_an_http_bridge_that_redirects_to_https_says_to_use_https() -> None:
    with serve(None, app_key=APP_KEY, reported_id=BRIDGE_ID, redirect_to_https=True) as server:
        bridge = _bridge(server.url)
        with pytest.raises(BridgeRejected, match=r"redirects to 'https://127\.0\.0\.1:\d+/api/<app-key>/lights'") as e:
            bridge.get("lights", Deadline(10))
    assert "a bare address like 192.168.1.2 means https" in str(e.value)
    assert APP_KEY not in str(e.value)
    assert bridge.requests_sent == 1


@pytest.mark.parametrize("served", ["gen2"], indirect=True)
def test_a_caller_cannot_turn_verification_off_or_widen_the_trust(served: HueLikeServer, test_root: Path) -> None:
    """verify=False or a CA path on the session (REQUESTS_CA_BUNDLE would set one) changes nothing."""
    bridge = _bridge(served.url, HUE_BRIDGE_ID=BRIDGE_ID)
    for verify in (False, str(test_root)):
        bridge.transport.session.verify = verify
        with pytest.raises(PermanentBridgeError, match="not issued by Signify's Hue roots"):
            bridge.get("lights", Deadline(10))
    _no_key_reached(served)


# ----- through a function -------------------------------------------------------------------------------


@pytest.fixture
def simulated_over_tls(pki: TestPKI) -> Iterator[tuple[str, SimulatedBridge]]:
    """The simulated bridge behind a Bridge Pro-style chain (leaf via an intermediate the server sends)."""
    bridge = SimulatedBridge(config={"bridge": {"bridgeid": BRIDGE_ID.upper()}}, app_key=APP_KEY)
    server = make_server("127.0.0.1", 0, bridge, threaded=True, ssl_context=pki.credentials("pro").server_context())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_port}", bridge
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_function_switches_the_lights_over_verified_https_from_a_bare_address(
    simulated_over_tls: tuple[str, SimulatedBridge], test_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address, bridge = simulated_over_tls
    client = function_client("lights_off", monkeypatch, APP_KEY, HUE_BRIDGE=address, HUE_CA_BUNDLE=str(test_root))
    response = client.post("/", json={})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert all(light["state"]["on"] is False for light in bridge.snapshot()["lights"].values())
    assert bridge.requests()[0]["path"] == "/api/config", "the bridge id is confirmed before the key goes out"


@pytest.mark.parametrize("served", ["wrong-id"], indirect=True)
def test_a_function_answers_500_naming_the_certificate_problem(
    served: HueLikeServer, test_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = function_client(
        "lights_on", monkeypatch, APP_KEY, HUE_BRIDGE=served.url, HUE_CA_BUNDLE=str(test_root), HUE_BRIDGE_ID=BRIDGE_ID
    )
    response = client.post("/", json={})
    text = response.get_data(as_text=True)
    assert response.status_code == 500, text
    assert f"TLS verification of the bridge failed: the certificate is for bridge {OTHER_BRIDGE_ID}" in text
    assert APP_KEY not in text
    assert served.requests_seen == []


def test_a_refused_https_connection_mentions_the_round_bridge() -> None:
    with serve(None, app_key=APP_KEY, reported_id=BRIDGE_ID) as server:
        port = server.server_address[1]
    bridge = _bridge(f"127.0.0.1:{port}")  # nothing listens there any more: refused at once
    with pytest.raises(BridgeUnreachable, match="a round first-generation bridge has no https: write HUE_BRIDGE=http"):
        bridge.get("lights", Deadline(10))
