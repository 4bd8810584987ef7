"""The caller's side of a request, bounded: body size, body time, and what is left unread.

gunicorn (as functions-framework runs it: gthread workers, blocking sockets) gives a request's body no
time limit, and functions-framework adds an `after_request` hook that reads the whole body after every
non-streamed response (`flask.request.get_data()`, in memory). So without care, a 1 GiB body is read
into memory to answer 413, and a body that is announced but never sent holds a thread for ever.

- `read_body` reads at most `limit + 1` bytes, under a deadline enforced on gunicorn's socket
  (`environ["gunicorn.socket"]`): when it passes, the read side is shut and the read returns at once.
- `finish` turns every answer into a streamed one (with its Content-Length), which the hook skips.
- `close_if_unread` shuts the read side when a body was left unread: gunicorn would otherwise read
  (and discard) all of it before the connection's next request, or wait for ever for a missing one.
  With the read side shut, gunicorn sends the answer and closes the connection.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

import flask

from huelights.errors import InvalidRequest

BODY_READ_SECONDS = 10.0
"""A PingSource body is 30 bytes and our limit 64 KiB: ten seconds is plenty even for a slow client,
and short against Knative's 60 s request timeout, during which the one request slot is held."""
BODY_READ_KEY = "huelights.body_read"


def _socket(request: flask.Request) -> socket.socket | None:
    sock: Any = request.environ.get("gunicorn.socket")
    return sock if isinstance(sock, socket.socket) else None


def close_connection(request: flask.Request) -> None:
    """Stop reading from this connection: gunicorn answers, then closes it instead of draining a body."""
    sock = _socket(request)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RD)


def has_body(request: flask.Request) -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def close_if_unread(request: flask.Request) -> None:
    if not request.environ.get(BODY_READ_KEY) and has_body(request):
        close_connection(request)


def read_body(request: flask.Request, limit: int, seconds: float = BODY_READ_SECONDS) -> bytes:
    """The whole body, at most `limit` bytes, within `seconds`; InvalidRequest (413, 408, 400) otherwise."""
    declared = request.content_length
    if declared is not None and declared > limit:
        close_connection(request)
        raise InvalidRequest(f"body of {declared} bytes is larger than the limit of {limit}", 413)
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        close_connection(request)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        body = request.stream.read(limit + 1)
    except Exception:
        close_connection(request)
        if expired.is_set():
            raise InvalidRequest(f"the body did not arrive within {seconds:g} s", 408) from None
        raise InvalidRequest("the body ended before its announced length") from None
    finally:
        timer.cancel()
    if expired.is_set():
        raise InvalidRequest(f"the body did not arrive within {seconds:g} s", 408)
    if len(body) > limit:
        close_connection(request)
        raise InvalidRequest(f"body is larger than the limit of {limit} bytes", 413)
    if declared is not None and len(body) < declared:
        close_connection(request)
        raise InvalidRequest("the body ended before its announced length")
    request.environ[BODY_READ_KEY] = True
    return body


def finish(request: flask.Request, response: flask.Response) -> flask.Response:
    """Make the answer streamed (so functions-framework's hook leaves the body alone) and close the
    connection if a body was left unread."""
    body = response.get_data()
    response.response = iter([body])  # Content-Length stays as set from the data
    close_if_unread(request)
    return response
