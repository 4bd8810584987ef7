"""HTTPS to colorloop verifies: the certificate cert-manager issues from the rendered Gateway listener,
served on 127.0.0.1, is accepted by Python's ssl and by curl for the route's host (colorloop.lab).

The certificate is made as cert-manager's gateway-shim and CA issuer would make it from the rendered
HTTPS listener (dnsNames = the listener's hostname, no commonName). The rule table the manifest checks
use (tests/support/gateway_rules.py, HOST_MATCH_CASES) is run against the same real clients here, so the
manifest check and OpenSSL cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from devstack.bridge.tls import CertificateAuthority, ServerCredentials
from tests.support.gateway_rules import HOST_MATCH_CASES, shim_certificates
from tests.support.lab_certificates import curl_answer, homelab_ca, issue_for_listener, python_ssl_answer
from tests.support.manifests import ROUTE_HOST, by_name, needs_kustomize, rendered
from tests.support.tls_server import serve

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[CertificateAuthority, Path]:
    authority = homelab_ca()
    ca_file = tmp_path_factory.mktemp("homelab-ca") / "lab-ca.crt"
    ca_file.write_bytes(authority.pem)
    return authority, ca_file


@contextmanager
def gateway_serving(credentials: ServerCredentials) -> Iterator[int]:
    """An HTTPS endpoint on 127.0.0.1 presenting the credentials, as the Gateway's listener would; its port."""
    with serve(credentials.server_context(), app_key="unused", reported_id="unused") as server:
        yield server.server_address[1]


@needs_kustomize
def test_the_certificate_cert_manager_issues_from_the_listener_verifies_the_route_host(
    ca: tuple[CertificateAuthority, Path],
) -> None:
    authority, ca_file = ca
    (route_host,) = by_name(rendered("gateway-route"), "HTTPRoute")["colorloop"]["spec"]["hostnames"]
    assert route_host == ROUTE_HOST
    certificates = shim_certificates(by_name(rendered("gateway-operator"), "Gateway")["homelab"])
    assert list(certificates) == ["homelab-lab-tls"]
    with gateway_serving(issue_for_listener(authority, certificates["homelab-lab-tls"])) as port:
        assert python_ssl_answer(ca_file, port, route_host) == "HTTP/1.1 200 OK"
        assert curl_answer(ca_file, port, route_host) == (0, "200")


@pytest.mark.parametrize(("name", "host", "verifies"), HOST_MATCH_CASES)
def test_python_ssl_and_curl_match_certificate_names_as_the_manifest_check_does(
    ca: tuple[CertificateAuthority, Path], name: str, host: str, verifies: bool
) -> None:
    authority, ca_file = ca
    with gateway_serving(issue_for_listener(authority, [name])) as port:
        python, curl = python_ssl_answer(ca_file, port, host), curl_answer(ca_file, port, host)
    if verifies:
        assert (python, curl) == ("HTTP/1.1 200 OK", (0, "200"))
    else:
        assert python == "refused: Hostname mismatch, certificate is not valid for '" + host + "'."
        assert curl[0] == 60, "curl: SSL certificate problem (exit 60)"
