"""TLS to the bridge against a real TLS server on 127.0.0.1 with a Hue-style certificate.

A Hue bridge certificate names the bridge id as its common name, has no subjectAltName, and is issued
by the bridge's own CA; the client must verify it against the user's CA bundle and the bridge id, and
must never fall back to not verifying.
"""

from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from werkzeug.serving import make_server

from devstack.bridge import SimulatedBridge
from huelights.bridge import Deadline, HueBridge
from huelights.config import load_settings
from huelights.errors import PermanentBridgeError

BRIDGE_ID = "001788fffe6a2b3c"
APP_KEY = "tls-test-app-key-0123456789"


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "NL"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Philips Hue"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, issuer_key: ec.EllipticCurvePrivateKey, ca: bool
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass
class TLSBridge:
    url: str
    ca_bundle: Path
    other_ca_bundle: Path


def _pem(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture(scope="module")
def tls_bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSBridge]:
    folder = tmp_path_factory.mktemp("tls")
    ca_key, other_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _certificate("root-bridge", ca_key, "root-bridge", ca_key, ca=True)
    other_ca = _certificate("root-bridge", other_key, "root-bridge", other_key, ca=True)
    leaf = _certificate(BRIDGE_ID, leaf_key, "root-bridge", ca_key, ca=False)  # CN only, no subjectAltName
    _pem(folder / "leaf.pem", leaf)
    (folder / "leaf.key").write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "leaf.pem", folder / "leaf.key")
    server = make_server("127.0.0.1", 0, SimulatedBridge(app_key=APP_KEY), threaded=True, ssl_context=context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield TLSBridge(
            f"https://127.0.0.1:{server.server_port}", _pem(folder / "ca.pem", ca), _pem(folder / "other.pem", other_ca)
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


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
