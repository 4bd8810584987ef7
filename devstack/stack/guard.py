"""The guard in front of each function under `make run`: the function's documented port, answering only
requests from this user's terminal, forwarded to the function's Unix socket.

A browser lets any page POST to http://127.0.0.1:<port> (a no-cors fetch with text/plain, or a form), and
every user of the machine can connect to it: without this, any site open in the developer's browser, or
any other account, could switch the lights, real ones included. The function itself is product code and
stays as the image runs it; it listens on a Unix socket in a private folder (no page and no other user can
reach one), and only this guard, the gateway and the PingSources talk to it.

Refused, in this order: a request line or header with bytes outside ASCII (devstack/upstream.py); a
connection another user opened (devstack/web.py refuse_other_users); a Host that is not loopback (DNS
rebinding); any Origin (browsers send one with every POST, and no page is served on a function's port;
curl and `func invoke` send none, so they pass); a form's Content-Type on anything but GET and HEAD
(refuse_foreign_page); the framing and body sizes the gateway refuses (upstream.read_body). Everything
else reaches the function as sent. Each refusal is reported as one invocation record, in the functions'
format, so that the dashboard shows one line for every request, refused ones included.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.upstream import MAX_BODY_BYTES, Refused, UnixSocket, forward, read_body, refuse_non_ascii
from devstack.web import close_after, json_response, refuse_foreign_page, refuse_other_users

UPSTREAM_TIMEOUT = 70.0  # longer than the functions' Knative timeoutSeconds (60), as the gateway's
GUARD = "(local stack guard)"


class FunctionGuard:
    """A WSGI app forwarding the requests a terminal could send to the function at `socket`; `report`
    gets one JSON line (an invocation record, as the function writes) for each request it refuses."""

    def __init__(
        self, service: str, action: str, socket: UnixSocket, report: Callable[[str], None] | None = None
    ) -> None:
        self.service = service
        self.action = action
        self.socket = socket
        self.report = report

    def handle(self, request: Request) -> Response:
        started = time.monotonic()
        body = b""
        refusal = self.refusal(request)
        if refusal is None:
            try:
                body = read_body(request, MAX_BODY_BYTES)
            except Refused as refused:
                refusal = _answer(refused)
        if refusal is not None:
            self._record(refusal, started)
            return close_after(refusal, request.environ)
        target = request.environ.get("REQUEST_URI") or request.full_path.rstrip("?")
        try:
            return forward(self.socket, request.method, target, dict(request.headers.items()), body, UPSTREAM_TIMEOUT)
        except TimeoutError:
            return json_response({"error": f"{self.service} did not answer in {UPSTREAM_TIMEOUT:.0f} s"}, 504)
        except (OSError, http.client.HTTPException) as exc:
            return json_response({"error": f"{self.service} is not answering ({type(exc).__name__})"}, 502)

    @staticmethod
    def refusal(request: Request) -> Response | None:
        """The answer to a request refused before its body is read, None for one to read and forward."""
        try:
            refuse_non_ascii(request.environ)
        except Refused as refused:
            return _answer(refused)
        # No port given to refuse_foreign_page: the only page that may call is one served on this very
        # port, and none is.
        return refuse_other_users(request) or refuse_foreign_page(request)

    def _record(self, refusal: Response, started: float) -> None:
        if self.report is None:
            return
        try:
            message = str(json.loads(refusal.get_data())["error"])
        except (ValueError, KeyError, TypeError):
            message = refusal.status
        record = {
            "action": self.action,
            "trigger": "rejected",
            "status": refusal.status_code,
            "message": message if message.endswith(GUARD) else f"{message} {GUARD}",
            "duration_ms": round((time.monotonic() - started) * 1000),
        }
        self.report(json.dumps(record))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.handle(Request(environ))(environ, start_response)


def _answer(refused: Refused) -> Response:
    return json_response({"error": f"{refused.reason} {GUARD}"}, refused.status)
