"""The guard in front of each function under `make run`: the function's documented port, answering only
requests no other web page could have made, forwarded to the function's Unix socket.

A browser lets any page POST to http://127.0.0.1:<port> (a no-cors fetch with text/plain, or a form):
without this, any site open in the developer's browser could switch the lights, real ones included. The
function itself is product code and stays as the image runs it; it listens on a Unix socket in a private
folder (no page can reach one), and only this guard, the gateway and the PingSources talk to it.

Refused: a Host that is not loopback (DNS rebinding); any Origin (browsers send one with every POST,
and no page is served on a function's port; curl and `func invoke` send none, so they pass); a form's
Content-Type on anything but GET and HEAD (devstack/web.py refuse_foreign_page); the framing and body
sizes the gateway refuses (devstack/upstream.py). Everything else reaches the function as sent.
"""

from __future__ import annotations

import http.client
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.upstream import MAX_BODY_BYTES, Refused, UnixSocket, forward, read_body
from devstack.web import close_after, json_response, refuse_foreign_page

UPSTREAM_TIMEOUT = 70.0  # longer than the functions' Knative timeoutSeconds (60), as the gateway's


class FunctionGuard:
    """A WSGI app forwarding the requests a terminal could send to the function at `socket`."""

    def __init__(self, service: str, socket: UnixSocket) -> None:
        self.service = service
        self.socket = socket

    def handle(self, request: Request) -> Response:
        # No port given: the only page that may call is one served on this very port, and none is.
        refusal = refuse_foreign_page(request)
        if refusal is not None:
            return refusal
        try:
            body = read_body(request, MAX_BODY_BYTES)
        except Refused as refused:
            answer = json_response({"error": f"{refused.reason} (local stack guard)"}, refused.status)
            return close_after(answer, request.environ)
        target = request.environ.get("REQUEST_URI") or request.full_path.rstrip("?")
        try:
            return forward(self.socket, request.method, target, dict(request.headers.items()), body, UPSTREAM_TIMEOUT)
        except TimeoutError:
            return json_response({"error": f"{self.service} did not answer in {UPSTREAM_TIMEOUT:.0f} s"}, 504)
        except (OSError, http.client.HTTPException) as exc:
            return json_response({"error": f"{self.service} is not answering ({type(exc).__name__})"}, 502)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.handle(Request(environ))(environ, start_response)
