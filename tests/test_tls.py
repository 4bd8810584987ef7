"""TLS to the bridge against a real TLS server on 127.0.0.1 with a Hue-style certificate (tests/support/tls.py).

The client must verify it against the user's CA bundle and the bridge id, and must never fall back to
not verifying.
"""

from __future__ import annotations

import pytest

from huelights.bridge import Deadline, HueBridge
from huelights.config import load_settings
from huelights.errors import PermanentBridgeError
from tests.support.tls import APP_KEY, BRIDGE_ID, TLSBridge


def _bridge(url: str, **env: str) -> HueBridge:
    settings = load_settings({"HUE_BRIDGE": url, "HUE_APP_KEY": APP_KEY, "HUE_MAX_ATTEMPTS": "1", **env})
    return HueBridge(settings)


def test_bridge_id_and_ca_bundle_verify_a_hue_certificate(tls_bridge: TLSBridge) -> None:
    bridge = _bridge(tls_bridge.url, HUE_CA_BUNDLE=str(tls_bridge.ca_bundle), HUE_BRIDGE_ID=BRIDGE_ID)
    lights = bridge.get("lights", Deadline(10))
    assert "1" in lights


@pytest.mark.parametrize(
    "case",
    ["wrong bridge id", "other CA", "no bridge id (hostname is the IP)", "system trust store only"],
)
def test_verification_failures_are_permanent_and_never_fall_back(tls_bridge: TLSBridge, case: str) -> None:
    env = {
        "wrong bridge id": {"HUE_CA_BUNDLE": str(tls_bridge.ca_bundle), "HUE_BRIDGE_ID": "001788fffe000000"},
        "other CA": {"HUE_CA_BUNDLE": str(tls_bridge.other_ca_bundle), "HUE_BRIDGE_ID": BRIDGE_ID},
        "no bridge id (hostname is the IP)": {"HUE_CA_BUNDLE": str(tls_bridge.ca_bundle)},
        "system trust store only": {},
    }[case]
    bridge = _bridge(tls_bridge.url, **env)
    with pytest.raises(PermanentBridgeError, match="TLS verification of the bridge failed") as caught:
        bridge.get("lights", Deadline(10))
    assert APP_KEY not in str(caught.value)
    assert bridge.requests_sent == 1, "a certificate problem is not retried"
