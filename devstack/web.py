"""Web plumbing shared by every server of the dev stack: a threaded server, JSON answers, one JSON router.

- `ThreadedServer` owns a werkzeug server socket and the thread that serves it (in the style of
  pytest-httpserver): subclasses implement `dispatch(request) -> Response`, or pass any WSGI app to
  `WsgiServer`. The port can be given back and taken again (`pause`/`resume`), and an `ssl.SSLContext`
  makes it HTTPS.
- `json_response` and `nginx_page`: the two kinds of answer the stack's servers give.
- `JsonRouter`: werkzeug's URL map with JSON 404/405 answers, so no server parses paths by hand.
- `refuse_foreign_page`: the one check the stack's servers make (the simulator only for its admin API) so
  that no web page but its own can drive them (docs/local-stack.md, "Local stack security").
- `refuse_other_users`: the check of the servers that switch lights (function guards, control), so that
  no other user of this machine can drive them either.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from devstack.peer import connection_owner

JsonDict = dict[str, Any]
HTTP_REASONS = {404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # tests and the stack print their own summaries; one line per request is noise


def json_response(
    payload: Any, status: int = 200, headers: Mapping[str, str] | None = None, indent: int | None = None
) -> Response:
    return Response(
        json.dumps(payload, indent=indent), status=status, content_type="application/json", headers=dict(headers or {})
    )


def nginx_page(status: int, reason: str | None = None) -> str:
    """The error page nginx renders (the Hue bridge and NGINX Gateway Fabric both sit behind nginx)."""
    title = f"{status} {reason or HTTP_REASONS.get(status, 'Error')}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )


def html_response(status: int, reason: str | None = None) -> Response:
    return Response(nginx_page(status, reason), status=status, content_type="text/html")


def close_after(response: Response, environ: Mapping[str, Any]) -> Response:
    """Answer, then close the connection without reading the rest of the body.

    werkzeug's server would otherwise read whatever the client still sends (up to 10 GB, in 10 MB
    pieces) before closing, so that the client sees the answer: a refusal must not cost that. Shutting
    the socket's reading side makes that read end at once; the client still gets the answer, sent first.
    """
    response.headers["Connection"] = "close"
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            # socket.socket's own shutdown, also on an SSLSocket: SSLSocket.shutdown() first drops the TLS
            # layer, and the answer would go out as plain text inside the TLS connection.
            socket.socket.shutdown(sock, socket.SHUT_RD)
    return response


LOOPBACK_HOSTNAMES = ("127.0.0.1", "localhost", "::1")
# The Content-Types a page may send to another origin without a CORS preflight (Fetch standard,
# "CORS-safelisted request-header"): an HTML form or a no-cors fetch can only post these.
FORM_CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})
READING_METHODS = frozenset({"GET", "HEAD"})


def own_origins(port: int) -> frozenset[str]:
    """The origins of pages served by this stack's server on `port`, under each loopback name."""
    return frozenset(f"http://{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]"))


def refuse_foreign_page(request: Request, port: int | None = None, *, json_only: bool = False) -> Response | None:
    """A 403/415 refusal for a request another web page could have made, None for one from here.

    - Host must be a loopback name: a page on a DNS name rebound to 127.0.0.1 sends its own name.
    - Origin, which browsers send with every POST and cross-origin request, must be this server's own
      (`port`, default: the port the request came in on); command-line clients send none.
    - Whatever changes state must not come as a form's Content-Type (a cross-origin page cannot send any
      other without a preflight, which no server here grants); with json_only it must be declared JSON.
    """
    try:
        hostname = urlsplit(f"//{request.host}").hostname
    except ValueError:
        hostname = None
    if hostname not in LOOPBACK_HOSTNAMES:
        return _refused(
            request, {"error": f"only Host 127.0.0.1, localhost or [::1] is answered, not {request.host[:80]!r}"}, 403
        )
    origin = request.headers.get("Origin")
    own_port = port if port is not None else int(request.environ.get("SERVER_PORT") or 0)
    if origin is not None and origin.lower().rstrip("/") not in own_origins(own_port):
        return _refused(request, {"error": f"requests from pages of {origin[:80]!r} are refused"}, 403)
    if request.method not in READING_METHODS:
        if json_only and request.mimetype != "application/json":
            return _refused(request, {"error": "send Content-Type: application/json"}, 415)
        if request.mimetype in FORM_CONTENT_TYPES:
            return _refused(
                request, {"error": f"send JSON (Content-Type: application/json), not {request.mimetype}"}, 415
            )
    return None


def refuse_other_users(request: Request) -> Response | None:
    """A 403 refusal unless the connection was opened by a process of the user running this server.

    Every user of the machine can connect to 127.0.0.1; the kernel knows who did (devstack/peer.py). A
    request that came over no socket (called in-process, as tests do) has no other user behind it.
    """
    sock = request.environ.get("werkzeug.socket")
    if sock is None:
        return None
    owner = connection_owner(sock)
    if owner == os.geteuid():
        return None
    # None: no live socket of this machine holds the other end (the caller hung up), or no socket table
    # to read (not Linux): refused either way, since nobody can say who it was.
    who = f"uid {owner}" if owner is not None else "a caller the kernel's socket table does not name"
    return _refused(
        request,
        {"error": f"only the user who started the local stack (uid {os.geteuid()}) is answered, not {who}"},
        403,
    )


def _refused(request: Request, payload: JsonDict, status: int) -> Response:
    # The body a page sent along is not read: a refusal costs neither the time nor the memory.
    return close_after(json_response(payload, status), request.environ)


Handler = Callable[..., Response]


class JsonRouter:
    """URL rules (werkzeug syntax, e.g. "/fire/<source>") to handlers called with the request and the
    rule's arguments; unknown paths and methods answer JSON 404 and 405 with the given hints."""

    def __init__(self, not_found: str = "no such endpoint", headers: Mapping[str, str] | None = None) -> None:
        self._map = Map(strict_slashes=False)
        self._handlers: dict[str, Handler] = {}
        self._not_found = not_found
        self._headers = dict(headers or {})

    def add(self, rule: str, methods: tuple[str, ...], handler: Handler) -> None:
        endpoint = f"{len(self._handlers)}:{rule}"
        self._map.add(Rule(rule, methods=list(methods), endpoint=endpoint))
        self._handlers[endpoint] = handler

    def dispatch(self, request: Request) -> Response | None:
        """The handler's answer, or None when no rule has this path (the caller may try others)."""
        adapter = self._map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except NotFound:
            return None
        except MethodNotAllowed as exc:
            allowed = ", ".join(sorted(m for m in exc.valid_methods or [] if m not in ("HEAD", "OPTIONS")))
            return json_response({"error": f"use {allowed}"}, 405, self._headers)
        return self._handlers[str(endpoint)](request, **args)

    def __call__(self, request: Request) -> Response:
        answer = self.dispatch(request)
        return answer if answer is not None else json_response({"error": self._not_found}, 404, self._headers)


class ThreadedServer:
    """A werkzeug server on host:port in a daemon thread; subclasses implement dispatch()."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        name: str = "server",
        ssl_context: ssl.SSLContext | None = None,
        poll_interval: float = 0.05,
    ) -> None:
        self.host = host
        self.name = name
        self.ssl_context = ssl_context
        self.poll_interval = poll_interval
        self._server: BaseWSGIServer | None = None
        self.port = port

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://{self.host}:{self.port}"

    def dispatch(self, request: Request) -> Response:
        raise NotImplementedError

    def wsgi_app(self, environ: JsonDict, start_response: Any) -> Any:
        return self.dispatch(Request(environ))(environ, start_response)

    def start(self) -> ThreadedServer:
        """Listen and serve; OSError (not werkzeug's SystemExit) when the port is taken."""
        try:
            server = make_server(
                self.host,
                self.port,
                self.wsgi_app,
                threaded=True,
                request_handler=QuietHandler,
            )
        except SystemExit as exc:  # werkzeug exits the process when the port is taken; a library must not
            raise OSError(errno.EADDRINUSE, f"port {self.port} on {self.host} ({self.name}) is in use") from exc
        if self.ssl_context is not None:
            # werkzeug would shake hands inside accept(), in the one serving thread: a client that connects
            # and stays silent would stall every other. Here the handshake runs on the connection's first
            # read, in its own thread; werkzeug still sees the context (wsgi.url_scheme is https).
            server.socket = self.ssl_context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
            server.ssl_context = self.ssl_context
        self._server = server
        self.port = server.server_port
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": self.poll_interval}, name=self.name, daemon=True
        )
        thread.start()
        return self

    def pause(self) -> None:
        """Stop listening (new connections are refused) and close the socket; resume() takes the port again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def resume(self) -> None:
        if self._server is None:
            self.start()

    def stop(self) -> None:
        self.pause()

    def __enter__(self) -> ThreadedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class WsgiServer(ThreadedServer):
    """Any WSGI app (the gateway, the control app) served by a ThreadedServer."""

    def __init__(self, app: Callable[[JsonDict, Any], Any], host: str = "127.0.0.1", port: int = 0, **kw: Any) -> None:
        super().__init__(host, port, **kw)
        self.app = app

    def wsgi_app(self, environ: JsonDict, start_response: Any) -> Any:
        return self.app(environ, start_response)
