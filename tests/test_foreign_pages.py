"""The local stack's one check against foreign web pages (devstack/web.py), the forwarding framing rules
(devstack/upstream.py), a function's guard (devstack/stack/guard.py), who is at the other end of a
connection (devstack/peer.py) and what the simulated bridge refuses over TLS, request by request;
tests/integration/test_local_stack_security.py runs the attacks against a running stack."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from devstack.peer import connection_owner
from devstack.stack.dashboard import InvocationLog
from devstack.stack.guard import FunctionGuard
from devstack.upstream import MAX_BODY_BYTES, Refused, UnixSocket, read_body
from devstack.web import WsgiServer, refuse_foreign_page
from huelights.tls import BridgeTLSAdapter, bridge_context
from tests.support.hostile_client import send_request
from tests.support.servers import APP_KEY, RunningBridge

PORT = 8090


def request(method: str = "POST", headers: dict[str, str] | None = None, data: bytes | None = None) -> Request:
    builder = EnvironBuilder(
        path="/fire/colorloop", base_url=f"http://127.0.0.1:{PORT}", method=method, headers=headers, data=data
    )
    return Request(builder.get_environ())


def status(req: Request, **kw: bool) -> int | None:
    refusal = refuse_foreign_page(req, **kw)
    return None if refusal is None else refusal.status_code


@pytest.mark.parametrize(
    "headers",
    [
        {},  # curl, make fire, func invoke
        {"Content-Type": "application/json"},
        {"Origin": f"http://127.0.0.1:{PORT}"},
        {"Origin": f"http://localhost:{PORT}", "Host": f"localhost:{PORT}"},
        {"Origin": f"http://[::1]:{PORT}", "Host": f"[::1]:{PORT}"},
    ],
)
def test_what_a_terminal_or_the_own_page_sends_passes(headers: dict[str, str]) -> None:
    assert status(request(headers=headers)) is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Origin": "https://evil.example", "Content-Type": "text/plain"}, 403),
        ({"Origin": "null"}, 403),
        ({"Origin": f"http://localhost:{PORT + 1}"}, 403),  # another local port is another origin
        ({"Origin": f"https://127.0.0.1:{PORT}"}, 403),
        ({"Host": f"evil.example:{PORT}"}, 403),  # DNS rebinding
        ({"Host": "127.0.0.1.evil.example"}, 403),
        ({"Host": "[::1"}, 403),  # unparsable
        ({"Content-Type": "text/plain"}, 415),
        ({"Content-Type": "application/x-www-form-urlencoded"}, 415),
        ({"Content-Type": "multipart/form-data; boundary=x"}, 415),
        ({"Content-Type": "TEXT/PLAIN; charset=utf-8"}, 415),
    ],
)
def test_what_a_foreign_page_can_send_is_refused(headers: dict[str, str], expected: int) -> None:
    assert status(request(headers=headers)) == expected


def test_reading_is_checked_for_host_and_origin_but_not_content_type() -> None:
    assert status(request("GET", {"Content-Type": "text/plain"})) is None
    assert status(request("GET", {"Host": "evil.example"})) == 403
    assert status(request("GET", {"Origin": "https://evil.example"})) == 403


def test_json_only_wants_declared_json_and_the_port_can_be_named() -> None:
    assert status(request(headers={}), json_only=True) == 415
    assert status(request(headers={"Content-Type": "application/json"}), json_only=True) is None
    own_elsewhere = request(headers={"Origin": "http://127.0.0.1:9000"})
    assert refuse_foreign_page(own_elsewhere, 9000) is None
    assert refuse_foreign_page(own_elsewhere) is not None


def test_a_refusal_closes_the_connection() -> None:
    refusal = refuse_foreign_page(request(headers={"Origin": "https://evil.example"}))
    assert refusal is not None and refusal.headers["Connection"] == "close"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Content-Length": "5", "Transfer-Encoding": "chunked"}, 400),
        ({"Transfer-Encoding": "gzip, chunked"}, 501),
        ({"Content-Length": "-1"}, 400),
        ({"Content-Length": "1e3"}, 400),
        ({"Content-Length": str(MAX_BODY_BYTES + 1)}, 413),
    ],
)
def test_ambiguous_framing_and_oversized_bodies_are_refused_unread(headers: dict[str, str], expected: int) -> None:
    environ = EnvironBuilder(path="/", method="POST").get_environ()
    for name, value in headers.items():  # as the server puts them, whatever the builder thinks of them
        environ["CONTENT_LENGTH" if name == "Content-Length" else "HTTP_TRANSFER_ENCODING"] = value

    class Unread:
        def read(self, *_: object) -> bytes:
            raise AssertionError("the body was read")

    environ["wsgi.input"] = Unread()
    with pytest.raises(Refused) as refused:
        read_body(Request(environ))
    assert refused.value.status == expected


def test_a_body_within_the_cap_is_read_whole() -> None:
    body = b"x" * MAX_BODY_BYTES
    assert read_body(request(data=body)) == body


# ----- bytes outside ASCII, at the guard of a function --------------------------------------------------------
# A raw byte 0xff (what send_request's latin-1 head puts on the wire for "\xff") and UTF-8 sent unencoded.
NON_ASCII_HEADS = {
    "path": "POST /\xff HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n",
    "query": "POST /?event=\xff HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n",
    "utf-8 path": "POST /caf\xc3\xa9 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n",
    "header": "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Note: \xff\r\nContent-Length: 0\r\n",
}


@pytest.fixture
def guard(tmp_path: Path) -> Iterator[tuple[str, InvocationLog]]:
    """A function's guard as `make run` serves it, its refusals fed to the dashboard's invocation log; the
    function behind it is down (its socket does not exist), so whatever the guard forwards answers 502."""
    invocations = InvocationLog()
    app = FunctionGuard(
        "lights-off",
        "lights_off",
        UnixSocket(str(tmp_path / "absent.sock")),
        lambda line: invocations.feed("lights-off", line),
    )
    with WsgiServer(app, name="guard").start() as server:
        yield server.url, invocations


@pytest.mark.parametrize("where", list(NON_ASCII_HEADS))
def test_bytes_outside_ascii_get_a_json_400_from_the_guard(guard: tuple[str, InvocationLog], where: str) -> None:
    url, invocations = guard
    answer = send_request(url, NON_ASCII_HEADS[where])
    assert answer.status == 400, answer.body
    error = json.loads(answer.body)["error"]
    assert "outside ASCII" in error and "(local stack guard)" in error
    assert ("X-Note" in error) == (where == "header")
    assert [row["status"] for row in invocations.recent()] == [400]


def test_every_refusal_of_the_guard_is_a_row_of_recent_invocations(guard: tuple[str, InvocationLog]) -> None:
    """The dashboard promises one row per request: the function never sees a refused one, so the guard
    writes its record, in the function's format, where the function's records go."""
    url, invocations = guard
    refused = [
        requests.post(url, headers={"Origin": "https://evil.example"}, timeout=10),
        requests.post(url, data={"form": "field"}, timeout=10),
        requests.post(
            url, headers={"Content-Length": "5", "Transfer-Encoding": "chunked"}, data=b"0\r\n\r\n", timeout=10
        ),
    ]
    assert [answer.status_code for answer in refused] == [403, 415, 400]
    rows = invocations.recent()
    assert [row["status"] for row in rows] == [400, 415, 403]  # newest first
    for row, answer in zip(rows, reversed(refused), strict=True):
        assert row["service"] == "lights-off" and row["action"] == "lights_off" and row["trigger"] == "rejected"
        assert row["message"].startswith(answer.json()["error"].removesuffix(" (local stack guard)"))
        assert row["message"].endswith("(local stack guard)")
    # What the guard forwards is the function's to record (here it is down): no row of the guard's.
    forwarded = send_request(url, "POST /caf%C3%A9?event=%FF HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n")
    assert forwarded.status == 502 and "lights-off is not answering" in forwarded.body
    assert len(invocations.recent()) == len(refused)


# ----- other users of this machine ------------------------------------------------------------------------------
def test_the_kernel_names_the_user_at_the_other_end_of_a_loopback_connection() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname()[:2], timeout=10)
        accepted, _ = listener.accept()
        with accepted:
            assert connection_owner(accepted) == os.geteuid()
            # A client that hangs up leaves a row the kernel lists as uid 0 (a TIME_WAIT-like entry with no
            # socket behind it): that names nobody, or a hostile caller that closes at once would pass as root.
            client.close()
            assert connection_owner(accepted) is None


def test_without_a_socket_table_nobody_is_named(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener, socket.create_connection(listener.getsockname()[:2]):
        accepted, _ = listener.accept()
        with accepted:
            assert connection_owner(accepted, (tmp_path / "tcp",)) is None


# ----- the simulated bridge over TLS: a bridge's API, the simulator's own admin ------------------------------------
CURL_D = {"Content-Type": "application/x-www-form-urlencoded"}  # what curl -d sends when not told otherwise


def bridge_session(sim: RunningBridge) -> requests.Session:
    """A client that checks the simulator's certificate as the functions check a bridge's."""
    assert sim.ca_bundle is not None
    session = requests.Session()
    session.mount("https://", BridgeTLSAdapter(bridge_context(str(sim.ca_bundle), None)))
    return session


def test_the_bridge_api_answers_over_tls_whatever_the_content_type(sim: RunningBridge) -> None:
    """curl -d sends a form's Content-Type, as every Hue tutorial does; a real bridge takes it."""
    session = bridge_session(sim)
    answer = session.put(f"{sim.url}/api/{APP_KEY}/groups/0/action", headers=CURL_D, data='{"on": false}', timeout=10)
    assert answer.status_code == 200
    assert answer.json() == [{"success": {"/groups/0/action/on": False}}]
    assert not any(light["state"]["on"] for light in sim.bridge.snapshot()["lights"].values())
    # Pairing from anywhere, as a bridge pairs whoever asks while its button is pressed.
    sim.bridge.press_link_button()
    paired = session.post(
        f"{sim.url}/api", headers={**CURL_D, "Origin": "https://evil.example"}, data='{"devicetype": "a#b"}', timeout=10
    )
    assert "username" in paired.json()[0]["success"]


def test_the_admin_api_refuses_a_page_over_working_tls(sim: RunningBridge) -> None:
    session = bridge_session(sim)
    as_form = session.post(f"{sim.url}/_sim/outage", headers=CURL_D, data='{"mode": "503", "seconds": 30}', timeout=10)
    assert as_form.status_code == 415 and "send JSON" in as_form.json()["error"]
    foreign = session.post(
        f"{sim.url}/_sim/linkbutton", headers={"Origin": "https://evil.example"}, json={}, timeout=10
    )
    assert foreign.status_code == 403 and "evil.example" in foreign.json()["error"]
    assert sim.bridge.snapshot()["faults"]["outage"] is None
