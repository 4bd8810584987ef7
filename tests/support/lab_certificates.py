"""Certificates as cert-manager's CA issuer makes them for a Gateway listener, and clients that check them.

A Certificate from the gateway-shim has the listener hostnames as dnsNames and no commonName (so an empty
subject, with the subjectAltName critical as RFC 5280 asks), the default usages digital signature and
key encipherment, and is signed by the homelab CA the `ca:` ClusterIssuer holds. The clients are the two
a user runs against the Gateway: Python's ssl and curl (`--resolve` pins the name to 127.0.0.1).
"""

from __future__ import annotations

import datetime
import socket
import ssl
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from devstack.bridge.tls import CertificateAuthority, Issued, ServerCredentials
from tests.support import tools

TIMEOUT = 10.0


def homelab_ca() -> CertificateAuthority:
    return CertificateAuthority.root("homelab CA", organization="homelab")


def issue_for_listener(ca: CertificateAuthority, dns_names: list[str]) -> ServerCredentials:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=True,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(ca.issued.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in dns_names]), critical=True)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .sign(ca.issued.key, hashes.SHA256())
    )
    return ServerCredentials(Issued(certificate, key))


def python_ssl_answer(ca_file: Path, port: int, host: str) -> str:
    """The status line of `POST /colorloop` over TLS verified for `host`, or the verification error."""
    context = ssl.create_default_context(cafile=str(ca_file))
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            tls.sendall(f"POST /colorloop HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n".encode())
            return tls.recv(4096).decode("latin-1").splitlines()[0]
    except ssl.SSLCertVerificationError as exc:
        return f"refused: {exc.verify_message}"


def curl_answer(ca_file: Path, port: int, host: str) -> tuple[int, str]:
    """curl's exit status and HTTP status for `POST https://<host>:<port>/colorloop` (60: verification failed)."""
    result = subprocess.run(
        [tools.curl(), "-q", "-sS",
         "--noproxy", "*", "--max-time", str(TIMEOUT), "-o", "/dev/null", "-w", "%{http_code}",
         "--cacert", str(ca_file), "--resolve", f"{host}:{port}:127.0.0.1", "-X", "POST",
         f"https://{host}:{port}/colorloop"],
        capture_output=True, text=True, timeout=TIMEOUT + 5, check=False, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    return result.returncode, result.stdout
