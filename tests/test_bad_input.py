"""Bad-input matrix against a real function process: nothing a caller sends yields a 5xx, a hang, or a
changed light. The same matrix runs through the local gateway in tests/test_gateway_bad_input.py."""

from __future__ import annotations

import contextlib
import http.client
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest

from tests.devstack_fixtures import APP_KEY, RunningBridge, sim  # noqa: F401  (pytest finds `sim` by name)
from tests.function_process import RunningFunction, running_function

pytestmark = pytest.mark.integration
TOKEN = "bad-input-matrix-token-0123456789"
EXTERNAL = {"X-Gohome-External": "colorloop.lab"}


@dataclass
class BadRequest:
    name: str
    method: str = "POST"
    path: str = "/"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    status: int | tuple[int, ...] = 400


def _ce(**overrides: str | None) -> dict[str, str]:
    headers: dict[str, str | None] = {
        "Ce-Id": str(uuid.uuid4()),
        "Ce-Source": "/apis/v1/namespaces/gohome/pingsources/colorloop",
        "Ce-Specversion": "1.0",
        "Ce-Type": "dev.knative.sources.ping",
        "Content-Type": "application/json",
    }
    headers.update(overrides)
    return {name: value for name, value in headers.items() if value is not None}


STRUCTURED = {"Content-Type": "application/cloudevents+json"}
MATRIX = [
    *(
        BadRequest(f"binary CE without {name}", headers=_ce(**{name: None}))
        for name in ("Ce-Id", "Ce-Source", "Ce-Type", "Ce-Specversion")
    ),
    BadRequest("binary CE with specversion 2.0", headers=_ce(**{"Ce-Specversion": "2.0"})),
    BadRequest("binary CE with text data", headers=_ce(**{"Content-Type": "text/plain"}), body=b"lights!"),
    BadRequest("binary CE with broken JSON data", headers=_ce(), body=b'{"a": '),
    BadRequest("structured CE, invalid JSON", headers=STRUCTURED, body=b"{nope"),
    BadRequest("structured CE, not an object", headers=STRUCTURED, body=b"[1, 2]"),
    BadRequest("structured CE without type", headers=STRUCTURED, body=b'{"specversion":"1.0","id":"1","source":"/s"}'),
    BadRequest(
        "structured CE, wrong specversion",
        headers=STRUCTURED,
        body=b'{"specversion":"0.1","id":"1","source":"/s","type":"t"}',
    ),
    BadRequest("plain text body", headers={"Content-Type": "text/plain"}, body=b"turn it on"),
    BadRequest("form body", headers={"Content-Type": "application/x-www-form-urlencoded"}, body=b"a=1&b=2"),
    BadRequest("binary garbage", headers={"Content-Type": "application/octet-stream"}, body=bytes(range(256))),
    BadRequest("JSON declared, not JSON", headers={"Content-Type": "application/json"}, body=b"{'single': quotes}"),
    BadRequest(
        "10 MB body", headers={"Content-Type": "application/json"}, body=b"[" + b"0," * 5_000_000 + b"0]", status=413
    ),
    *(BadRequest(f"method {m}", method=m, status=405) for m in ("GET", "PUT", "DELETE", "PATCH")),
    BadRequest("method HEAD", method="HEAD", status=405),
    BadRequest("method OPTIONS", method="OPTIONS", status=(200, 405)),
    *(
        BadRequest(f"path {p}", path=p, status=404)
        for p in ("/colorloop", "/../etc/passwd", "/%00", "/robots.txt", "/favicon.ico", "/health", "/health/x")
    ),
    BadRequest("POST to a health path", path="/health/readiness", status=405),
    BadRequest("path of 16 KB", path="/" + "a" * 16_000, status=(404, 414, 400)),
    BadRequest("header of 20 KB", headers={"X-Padding": "p" * 20_000}, status=(400, 431)),
    BadRequest("200 headers", headers={f"X-H{i}": "v" for i in range(200)}, status=(400, 431)),
    BadRequest("external, no token", headers=EXTERNAL, status=401),
    BadRequest("external, wrong token", headers={**EXTERNAL, "Authorization": "Bearer " + "x" * 33}, status=401),
    BadRequest("external, empty bearer", headers={**EXTERNAL, "Authorization": "Bearer "}, status=401),
    BadRequest("external, Basic scheme", headers={**EXTERNAL, "Authorization": f"Basic {TOKEN}"}, status=401),
    BadRequest("external, token without scheme", headers={**EXTERNAL, "Authorization": TOKEN}, status=401),
    BadRequest("external, token in the query", path=f"/?token={TOKEN}", headers=EXTERNAL, status=401),
    BadRequest(
        "external, token as a prefix", headers={**EXTERNAL, "Authorization": f"Bearer {TOKEN[:-1]}"}, status=401
    ),
    BadRequest("external CE, no token", headers={**_ce(), **EXTERNAL}, status=401),
]


def send_raw(base_url: str, bad: BadRequest, timeout: float = 10.0) -> tuple[int, dict[str, str]]:
    """Send exactly this request (no client-side normalisation of the path or headers)."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        connection.putrequest(bad.method, bad.path, skip_accept_encoding=True)
        for name, value in {**bad.headers, "Content-Length": str(len(bad.body))}.items():
            connection.putheader(name, value)
        connection.endheaders()
        # The server may answer (413) and close before reading a large body.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.send(bad.body)
        response = connection.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningBridge, RunningFunction]]:
    from devstack.bridge_sim import SimulatedBridge

    bridge = SimulatedBridge(app_key=APP_KEY)
    with bridge.serve("127.0.0.1", 0) as server:
        env = {"HUE_BRIDGE": server.url, "HUE_APP_KEY": APP_KEY, "TRIGGER_TOKEN": TOKEN}
        with running_function("colorloop", env, tmp_path_factory.mktemp("bad-input")) as function:
            yield RunningBridge(bridge, server), function


@pytest.mark.parametrize("bad", MATRIX, ids=[bad.name for bad in MATRIX])
def test_bad_request_is_refused_cleanly(bad: BadRequest, target: tuple[RunningBridge, RunningFunction]) -> None:
    simulated, function = target
    before = simulated.bridge.lights()
    simulated.bridge.clear_log()

    status, headers = send_raw(function.url, bad)

    allowed = bad.status if isinstance(bad.status, tuple) else (bad.status,)
    assert status in allowed, f"{bad.name}: got {status}"
    assert status < 500
    if status == 401:
        assert headers["www-authenticate"].startswith("Bearer")
    assert simulated.bridge.counts()["requests"] == 0, "a refused request never reaches the bridge"
    assert simulated.bridge.lights() == before


def test_the_function_survived_the_matrix(target: tuple[RunningBridge, RunningFunction]) -> None:
    _, function = target
    ok, _ = send_raw(function.url, BadRequest("valid", headers={**EXTERNAL, "Authorization": f"Bearer {TOKEN}"}))
    assert ok == 200
    log = function.log()
    assert "Traceback" not in log and TOKEN not in log and APP_KEY not in log
