"""The local stack's one check against foreign web pages (devstack/web.py) and the forwarding framing rules
(devstack/upstream.py), request by request; tests/integration/test_local_stack_security.py runs the attacks
against a running stack."""

from __future__ import annotations

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from devstack.upstream import MAX_BODY_BYTES, Refused, read_body
from devstack.web import refuse_foreign_page

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
