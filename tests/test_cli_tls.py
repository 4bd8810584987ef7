"""The setup tool over HTTPS as the functions do it: Signify-style certificates, pinning, trust-cert."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from devstack.bridge import SimulatedBridge
from devstack.bridge.tls import TestPKI
from tests.support.cli import one_error_line, run, serve_with_certificate
from tests.support.servers import APP_KEY

WRONG_KEY = "wrong-key-0123456789abcdef"
TLS_BRIDGE_ID = "001788fffe6a2b3c"


# ----- TLS, as the functions do it ----------------------------------------------------------------------


@dataclass
class TLSSim:
    url: str
    bridge: SimulatedBridge
    test_root: Path
    pki: TestPKI


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return TestPKI(TLS_BRIDGE_ID)


@pytest.fixture
def tls_sim(pki: TestPKI, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[TLSSim]:
    """The simulated bridge over TLS with the certificate variant `request.param` (default: a gen-2 bridge's).

    /api/config names the same bridge id as the certificate, as on a real bridge.
    """
    bridge = SimulatedBridge(config={"bridge": {"bridgeid": TLS_BRIDGE_ID.upper()}}, app_key=APP_KEY)
    with serve_with_certificate(bridge, pki, getattr(request, "param", "gen2")) as url:
        yield TLSSim(url, bridge, pki.write_root(tmp_path / "root.pem"), pki)


def test_lights_and_check_over_tls_with_ca_bundle_and_bridge_id(
    tls_sim: TLSSim, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ["--bridge", tls_sim.url, "--ca-bundle", str(tls_sim.test_root), "--bridge-id", TLS_BRIDGE_ID]
    status, out, err = run(capsys, ["lights", *flags, "--key", APP_KEY], {})
    assert status == 0, err
    assert "Sofa lamp" in out
    status, out, err = run(capsys, ["check", *flags], {"HUE_APP_KEY": APP_KEY})
    assert status == 0, err
    assert "note  TLS verified against Signify's Hue roots or HUE_CA_BUNDLE, certificate CN = HUE_BRIDGE_ID" in out
    assert f"id {TLS_BRIDGE_ID}" in out
    assert "pin this bridge" not in out
    assert "serves https" not in out and "No problems found (0 warning(s))." in out, "https to a square bridge"


def test_check_without_a_bridge_id_confirms_it_and_says_how_to_pin_it(
    tls_sim: TLSSim, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"HUE_BRIDGE": tls_sim.url, "HUE_CA_BUNDLE": str(tls_sim.test_root), "HUE_APP_KEY": APP_KEY}
    status, out, err = run(capsys, ["check"], env)
    assert status == 0, err
    assert "certificate CN = the bridgeid of /api/config" in out
    assert f"note  pin this bridge: HUE_BRIDGE_ID={TLS_BRIDGE_ID}" in out


def test_pair_over_https_prints_the_bridge_id_to_pin(tls_sim: TLSSim, capsys: pytest.CaptureFixture[str]) -> None:
    tls_sim.bridge.press_link_button()
    status, out, err = run(capsys, ["pair", "--ca-bundle", str(tls_sim.test_root)], {"HUE_BRIDGE": tls_sim.url})
    assert status == 0, err
    assert out.strip() and out.strip() != APP_KEY  # a new key
    assert f"certificate is verified: issued for bridge {TLS_BRIDGE_ID}" in err
    (post,) = [r for r in tls_sim.bridge.requests() if r["method"] == "POST"]
    assert post["body"] == {"devicetype": "huelights#gohome", "generateclientkey": True}
    # The bridge also hands out an Entertainment client key (32 hex digits): not ours to show or keep.
    assert not re.search(r"[0-9A-F]{32}", out + err)
    assert f"export HUE_BRIDGE={tls_sim.url} HUE_BRIDGE_ID={TLS_BRIDGE_ID} and HUE_APP_KEY" in err


def test_config_reads_the_bridge_id_over_verified_tls(tls_sim: TLSSim, capsys: pytest.CaptureFixture[str]) -> None:
    bare = tls_sim.url.removeprefix("https://")
    env = {"HUE_BRIDGE": bare, "HUE_CA_BUNDLE": str(tls_sim.test_root), "HUE_APP_KEY": "never-sent-0123456789"}
    status, out, err = run(capsys, ["config"], env)
    assert status == 0, err
    data = yaml.safe_load(out)["data"]
    assert (data["HUE_BRIDGE"], data["HUE_BRIDGE_ID"]) == (tls_sim.url, TLS_BRIDGE_ID)
    assert "huelights-ca-bundle" in err and "knative/components/ca-bundle" in err
    assert [r["path"] for r in tls_sim.bridge.requests()] == ["/api/config"]


@pytest.mark.parametrize("tls_sim", ["foreign-ca"], indirect=True)
def test_a_wrong_certificate_is_a_clear_error_without_the_key(
    tls_sim: TLSSim, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {
        "HUE_BRIDGE": tls_sim.url,
        "HUE_APP_KEY": APP_KEY,
        "HUE_CA_BUNDLE": str(tls_sim.test_root),
        "HUE_BRIDGE_ID": TLS_BRIDGE_ID,
    }
    status, out, err = run(capsys, ["groups"], env)
    assert status == 1
    assert out == ""
    line = one_error_line(err)
    assert "TLS verification of the bridge failed: the certificate is not issued by Signify's Hue roots" in line
    assert APP_KEY not in line
    assert tls_sim.bridge.requests() == []


@pytest.mark.parametrize("tls_sim", ["self-signed"], indirect=True)
def test_trust_cert_shows_and_saves_a_self_signed_certificate_that_then_works(
    tls_sim: TLSSim, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, _, err = run(capsys, ["groups"], {"HUE_BRIDGE": tls_sim.url, "HUE_APP_KEY": APP_KEY})
    assert status == 1
    assert "self-signed certificate" in err and "trust-cert --save" in err
    saved = tmp_path / "bridge-cert.pem"
    status, out, err = run(capsys, ["trust-cert", "--save", str(saved)], {"HUE_BRIDGE": tls_sim.url})
    assert (status, saved.exists()) == (1, False), "not a terminal and no --yes: nothing is trusted"
    assert tls_sim.pki.credentials("self-signed").leaf.fingerprint() in err
    status, out, err = run(capsys, ["trust-cert", "--save", str(saved), "--yes"], {"HUE_BRIDGE": tls_sim.url})
    assert status == 0, err
    assert f"CN (bridge id)      {TLS_BRIDGE_ID}" in err
    assert saved.read_bytes() == tls_sim.pki.credentials("self-signed").leaf.cert_pem
    env = {"HUE_BRIDGE": tls_sim.url, "HUE_APP_KEY": APP_KEY, "HUE_CA_BUNDLE": str(saved)}
    status, out, err = run(capsys, ["lights", "--bridge-id", TLS_BRIDGE_ID], env)
    assert status == 0, err
    assert "Sofa lamp" in out


@pytest.mark.parametrize("tls_sim", ["expired"], indirect=True)
def test_trust_cert_saves_nothing_that_would_not_work(
    tls_sim: TLSSim, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    saved = tmp_path / "bridge-cert.pem"
    status, _, err = run(capsys, ["trust-cert", "--save", str(saved), "--yes"], {"HUE_BRIDGE": tls_sim.url})
    assert status == 1
    assert not saved.exists()
    assert "nothing saved: TLS verification of the bridge failed: the certificate has expired" in one_error_line(err)
    assert tls_sim.bridge.requests() == []
