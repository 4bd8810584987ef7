"""Hue-style certificates and a TLS server on 127.0.0.1 for the tests of TLS to the bridge.

A Hue bridge certificate names the bridge id as its common name, has no subjectAltName, and is issued
by the bridge's own CA.
"""

from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from wsgiref.types import WSGIApplication

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from werkzeug.serving import make_server

BRIDGE_ID = "001788fffe6a2b3c"
APP_KEY = "tls-test-app-key-0123456789"


@dataclass
class TLSBridge:
    url: str
    ca_bundle: Path
    other_ca_bundle: Path
    """A CA that did not issue the bridge's certificate."""


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


def _pem(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@contextmanager
def serve_tls(app: WSGIApplication, folder: Path) -> Iterator[TLSBridge]:
    """`app` over HTTPS on an ephemeral 127.0.0.1 port with a certificate for BRIDGE_ID (CN only, no
    subjectAltName) issued by a fresh bridge CA, until the block ends."""
    ca_key, other_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _certificate("root-bridge", ca_key, "root-bridge", ca_key, ca=True)
    other_ca = _certificate("root-bridge", other_key, "root-bridge", other_key, ca=True)
    leaf = _certificate(BRIDGE_ID, leaf_key, "root-bridge", ca_key, ca=False)
    _pem(folder / "leaf.pem", leaf)
    (folder / "leaf.key").write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "leaf.pem", folder / "leaf.key")
    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=context)
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
