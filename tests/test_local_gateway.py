"""The local gateway applies the HTTPRoutes in gateway/ the way a Gateway API implementation does."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from devstack.cluster.gateway import LocalGateway
from devstack.cluster.manifests import ManifestError, http_routes
from devstack.web import WsgiServer
from tests.support.hostile_client import send_request
from tests.support.servers import REPO, free_port


@Request.application
def echo(request: Request) -> Response:
    """Stands in for a function: answers with what it received."""
    seen = {
        "method": request.method,
        "path": request.path,
        "query": request.query_string.decode(),
        "headers": dict(request.headers),
        "body": request.get_data(as_text=True),
    }
    return Response(json.dumps(seen), status=200, content_type="application/json", headers={"X-Backend": "echo"})


@pytest.fixture(scope="module")
def backend() -> Iterator[int]:
    server = make_server("127.0.0.1", 0, echo, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server.server_port
    server.shutdown()
    server.server_close()


def client_for(routes: list[dict[str, Any]], port: int, service: str = "colorloop") -> Client:
    return Client(LocalGateway(routes, {service: ("127.0.0.1", port)}))


def route(rules: list[dict[str, Any]], hostnames: list[str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"rules": rules}
    if hostnames is not None:
        spec["hostnames"] = hostnames
    return {"kind": "HTTPRoute", "metadata": {"name": "test"}, "spec": spec}


BACKEND = [{"name": "colorloop", "port": 80}]


# ----- the repo's route ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def repo_gateway(backend: int) -> Client:
    return client_for(http_routes(REPO / "gateway" / "route"), backend)


@pytest.mark.parametrize("host", ["colorloop.gohome", "colorloop.gohome.svc", "colorloop.gohome.svc.cluster.local"])
def test_knative_ingress_picks_the_service_by_any_name_knative_serves(backend: int, host: str) -> None:
    """Knative's ingress serves a cluster-local ksvc with and without the cluster domain (ExpandedHosts)."""
    rule = {"filters": [{"type": "URLRewrite", "urlRewrite": {"hostname": host}}],
            "backendRefs": [{"name": "kourier-internal", "namespace": "kourier-system", "port": 80}]}  # fmt: skip
    response = client_for([route([rule])], backend).post("/", headers={"Host": "colorloop.lab"})
    assert response.status_code == 200
    assert response.get_json()["headers"]["Host"] == host


def test_the_https_redirect_route_is_left_to_the_plain_listener(backend: int) -> None:
    """Locally there is one plain port standing for the HTTPS listener: the redirect route is not served."""
    routes = http_routes(REPO / "gateway" / "route")
    assert {r["metadata"]["name"] for r in routes} == {"colorloop", "colorloop-https-redirect"}
    response = client_for(routes, backend).post("/colorloop", headers={"Host": "colorloop.lab"})
    assert response.status_code == 200 and response.headers["X-Backend"] == "echo"
    redirect_only = [r for r in routes if r["metadata"]["name"] == "colorloop-https-redirect"]
    assert client_for(redirect_only, backend).post("/colorloop", headers={"Host": "colorloop.lab"}).status_code == 404


def test_repo_route_rewrites_path_and_host_and_sets_the_external_marker(repo_gateway: Client) -> None:
    response = repo_gateway.post(
        "/colorloop?x=1",
        headers={"Host": "colorloop.lab", "Authorization": "Bearer t", "X-Gohome-External": "forged"},
        data=b'{"a": 1}',
        content_type="application/json",
    )
    assert response.status_code == 200
    seen = response.get_json()
    assert (seen["method"], seen["path"], seen["query"], seen["body"]) == ("POST", "/", "x=1", '{"a": 1}')
    assert seen["headers"]["Host"] == "colorloop.gohome.svc"
    assert seen["headers"]["X-Gohome-External"] == "gateway"  # `set` replaces what the client sent
    assert seen["headers"]["Authorization"] == "Bearer t"
    assert seen["headers"]["X-Forwarded-Host"] == "colorloop.lab"
    assert response.headers["X-Backend"] == "echo"


def test_repo_route_keeps_the_rest_of_the_path(repo_gateway: Client) -> None:
    seen = repo_gateway.post("/colorloop/now", headers={"Host": "colorloop.lab"}).get_json()
    assert seen["path"] == "/now"


@pytest.mark.parametrize(
    ("method", "path", "host"),
    [
        ("GET", "/colorloop", "colorloop.lab"),  # the route matches POST only
        ("POST", "/colorloopx", "colorloop.lab"),  # prefixes match whole path segments
        ("POST", "/", "colorloop.lab"),
        ("POST", "/colorloop", "other.lab"),  # host not in the route's hostnames
        ("POST", "/colorloop", "127.0.0.1:8080"),
    ],
)
def test_non_matching_requests_get_404(repo_gateway: Client, method: str, path: str, host: str) -> None:
    response = repo_gateway.open(path, method=method, headers={"Host": host})
    assert response.status_code == 404
    assert "nginx" in response.get_data(as_text=True)


def test_host_with_port_still_matches(repo_gateway: Client) -> None:
    assert repo_gateway.post("/colorloop", headers={"Host": "colorloop.lab:8080"}).status_code == 200


def test_the_gateway_follows_the_manifest(tmp_path: Path, backend: int) -> None:
    copy = tmp_path / "route"
    shutil.copytree(REPO / "gateway" / "route", copy)
    manifest = copy / "httproute.yaml"
    manifest.write_text(manifest.read_text().replace("value: /colorloop", "value: /loop"))
    gateway = client_for(http_routes(copy), backend)
    assert gateway.post("/loop", headers={"Host": "colorloop.lab"}).status_code == 200
    assert gateway.post("/colorloop", headers={"Host": "colorloop.lab"}).status_code == 404


# ----- Gateway API semantics on synthetic routes ------------------------------------------------------------------


def test_header_modifier_set_add_remove(backend: int) -> None:
    modifier = {
        "set": [{"name": "X-Set", "value": "s"}],
        "add": [{"name": "X-Add", "value": "b"}],
        "remove": ["X-Drop"],
    }
    rules = [
        {"filters": [{"type": "RequestHeaderModifier", "requestHeaderModifier": modifier}], "backendRefs": BACKEND}
    ]
    gateway = client_for([route(rules)], backend)
    seen = gateway.get("/", headers={"X-Set": "client", "X-Add": "a", "X-Drop": "gone", "X-Keep": "k"}).get_json()
    headers = seen["headers"]
    assert (headers["X-Set"], headers["X-Add"], headers["X-Keep"]) == ("s", "a,b", "k")
    assert "X-Drop" not in headers


def test_response_header_modifier_and_full_path_rewrite(backend: int) -> None:
    rules = [
        {
            "filters": [
                {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplaceFullPath", "replaceFullPath": "/x"}}},
                {"type": "ResponseHeaderModifier", "responseHeaderModifier": {"remove": ["X-Backend"]}},
            ],
            "backendRefs": BACKEND,
        }
    ]
    response = client_for([route(rules)], backend).get("/a/b")
    assert response.get_json()["path"] == "/x" and "X-Backend" not in response.headers


def test_most_specific_match_wins(backend: int) -> None:
    def rule(match: dict[str, Any], tag: str) -> dict[str, Any]:
        mod = {"set": [{"name": "X-Rule", "value": tag}]}
        return {
            "matches": [match],
            "filters": [{"type": "RequestHeaderModifier", "requestHeaderModifier": mod}],
            "backendRefs": BACKEND,
        }

    rules = [
        rule({"path": {"type": "PathPrefix", "value": "/"}}, "root"),
        rule({"path": {"type": "PathPrefix", "value": "/a"}}, "prefix"),
        rule({"path": {"type": "Exact", "value": "/a/b"}}, "exact"),
        rule({"path": {"type": "PathPrefix", "value": "/a"}, "headers": [{"name": "X-Env", "value": "dev"}]}, "header"),
        rule({"path": {"type": "RegularExpression", "value": "/r/[0-9]+"}}, "regex"),
    ]
    gateway = client_for([route(rules, hostnames=["*.lab"])], backend)

    def tag(path: str, **headers: str) -> str:
        return str(gateway.get(path, headers={"Host": "x.lab", **headers}).get_json()["headers"]["X-Rule"])

    assert [tag("/a/b"), tag("/a/c"), tag("/a/c", **{"X-Env": "dev"}), tag("/zzz"), tag("/r/42")] == [
        "exact",
        "prefix",
        "header",
        "root",
        "regex",
    ]
    assert gateway.get("/", headers={"Host": "lab"}).status_code == 404  # `*.lab` needs a label before .lab


def test_unsupported_filter_is_refused_at_start() -> None:
    rules = [{"filters": [{"type": "RequestMirror", "requestMirror": {}}], "backendRefs": BACKEND}]
    with pytest.raises(ManifestError, match="RequestMirror"):
        LocalGateway([route(rules)], {})


def test_backend_down_is_502_and_large_bodies_413(backend: int) -> None:
    rules = [{"backendRefs": BACKEND}]
    assert client_for([route(rules)], free_port()).get("/").status_code == 502
    big = b"x" * (1024 * 1024 + 1)
    assert client_for([route(rules)], backend).post("/", data=big).status_code == 413


# A raw byte 0xff (send_request's latin-1 head puts "\xff" on the wire as is) and UTF-8 sent unencoded.
NON_ASCII = {
    "path": ("POST /colorloop/\xff HTTP/1.1\r\n", ""),
    "query": ("POST /colorloop?event=\xff HTTP/1.1\r\n", ""),
    "utf-8 path": ("POST /colorloop/caf\xc3\xa9 HTTP/1.1\r\n", ""),
    "header": ("POST /colorloop HTTP/1.1\r\n", "X-Note: \xff\r\n"),
}


@pytest.mark.parametrize("where", list(NON_ASCII))
def test_bytes_outside_ascii_get_a_json_400_before_any_route(backend: int, where: str) -> None:
    """As the stack serves it (werkzeug's server): not its HTML 500 page, and nothing reaches the function."""
    request_line, header = NON_ASCII[where]
    gateway = LocalGateway(http_routes(REPO / "gateway" / "route"), {"colorloop": ("127.0.0.1", backend)})
    with WsgiServer(gateway, name="gateway").start() as server:
        answer = send_request(server.url, f"{request_line}Host: colorloop.lab\r\n{header}Content-Length: 0\r\n")
        encoded = send_request(server.url, "POST /colorloop/caf%C3%A9?event=%FF HTTP/1.1\r\nHost: colorloop.lab\r\n")
    assert answer.status == 400, answer.body
    assert "outside ASCII" in json.loads(answer.body)["error"]
    assert "X-Backend" not in answer.head
    assert encoded.status == 200 and "X-Backend: echo" in encoded.head  # percent-encoded, the same goes through
