"""Forwarding a request to a local function, as the gateway and the function guard of the local stack do.

One place for what a reverse proxy must get right, the way nginx does it:
- the request line and headers: ASCII only (refuse_non_ascii) -> 400, before anything else looks at them;
- framing: Content-Length together with Transfer-Encoding is ambiguous (request smuggling) -> 400; a
  Transfer-Encoding other than chunked -> 501;
- body size: a declared length over the cap is refused before a byte is read; a chunked body is read
  only up to the cap; either refusal answers and closes the connection (web.close_after), so the rest
  is never read. What is forwarded is buffered (at most the cap), like nginx's proxy_request_buffering:
  the function's threads are taken only once the whole request is here, so a slow client holds a
  thread of ours, never one of theirs;
- the answer is streamed back in pieces, never read whole.

Targets are TCP (host, port) or a Unix socket (the local stack serves its functions on Unix sockets, so
that no web page can reach them: see devstack/stack/functions.py).
"""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

MAX_BODY_BYTES = 1024 * 1024  # nginx's client_max_body_size default
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class UnixSocket:
    path: str


Target = tuple[str, int] | UnixSocket


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def connection(target: Target, timeout: float) -> http.client.HTTPConnection:
    """An unopened HTTP/1.1 connection to the target (it connects on the first request)."""
    if isinstance(target, UnixSocket):
        return _UnixConnection(target.path, timeout)
    return http.client.HTTPConnection(target[0], target[1], timeout=timeout)


class Refused(Exception):
    """The request cannot be forwarded: `status` and a short reason for the answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def refuse_non_ascii(environ: Mapping[str, Any]) -> None:
    """Refused(400) when the request target or a header holds a byte outside ASCII.

    A request target is ASCII by definition (RFC 3986: anything else travels percent-encoded), and this
    proxy would not forward other bytes as they came: the WSGI server hands them over decoded and
    re-encoded (a raw 0xff reaches Python as "\xc3\xbf"), and http.client refuses them in a request line.
    Header values may carry such bytes in theory (RFC 9110 "obs-text"); no client of the stack sends them.
    """
    target = str(environ.get("REQUEST_URI") or environ.get("QUERY_STRING") or "")
    if not target.isascii():
        raise Refused(400, "the path or query holds bytes outside ASCII: percent-encode them")
    headers = [(k, v) for k, v in environ.items() if k.startswith("HTTP_") or k in ("CONTENT_TYPE", "CONTENT_LENGTH")]
    for key, value in headers:
        if not (key.isascii() and str(value).isascii()):
            name = key.removeprefix("HTTP_").replace("_", "-").title()
            raise Refused(400, f"header {name[:40]!r} holds bytes outside ASCII")


def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, at most `limit` bytes, read only after the framing was checked; Refused otherwise."""
    transfer_encoding = request.headers.get("Transfer-Encoding")
    if transfer_encoding is not None:
        if "Content-Length" in request.headers:
            raise Refused(400, "Bad Request")  # which length is right? nginx refuses both
        if transfer_encoding.strip().lower() != "chunked":
            raise Refused(501, "Not Implemented")
        # werkzeug's server de-chunks; read one byte past the cap to know it was crossed, never more.
        body = _read_up_to(request, limit + 1)
        if len(body) > limit:
            raise Refused(413, "Request Entity Too Large")
        return body
    declared = request.headers.get("Content-Length")
    if declared is None:
        return b""
    if not declared.strip().isdigit():
        raise Refused(400, "Bad Request")
    if int(declared) > limit:
        raise Refused(413, "Request Entity Too Large")
    return _read_up_to(request, int(declared))


def _read_up_to(request: Request, size: int) -> bytes:
    """Up to `size` bytes of the body: a de-chunking stream gives one chunk per read."""
    pieces, left = [], size
    while left > 0:
        piece = request.stream.read(min(left, CHUNK_BYTES))
        if not piece:
            break
        pieces.append(piece)
        left -= len(piece)
    return b"".join(pieces)


HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",  # set from the body actually forwarded
        "expect",  # 100-continue was answered here; the body is already read
    }
)


def forward(
    target: Target,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    timeout: float,
    drop_response_headers: frozenset[str] = frozenset(),
) -> Response:
    """Send the request; the answer streams back. OSError / http.client errors propagate (the caller's 502/504)."""
    conn = connection(target, timeout)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            if name.lower() not in HOP_BY_HOP:
                conn.putheader(name, value)
        if body or method not in ("GET", "HEAD", "DELETE", "OPTIONS"):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        upstream = conn.getresponse()
    except BaseException:
        conn.close()
        raise
    out = [(k, v) for k, v in upstream.getheaders() if k.lower() not in HOP_BY_HOP | drop_response_headers]
    length = upstream.getheader("Content-Length")
    if length is not None and method != "HEAD":
        out.append(("Content-Length", length))

    def pieces() -> Iterator[bytes]:
        try:
            while chunk := upstream.read(CHUNK_BYTES):
                yield chunk
        finally:
            conn.close()

    return Response(pieces(), status=upstream.status, headers=out, direct_passthrough=True)
