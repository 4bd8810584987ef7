"""SimulatedBridge: the bridge state answering HTTP as a WSGI app (faults first, then the CLIP routes).

Python API::

    from devstack.bridge import SimulatedBridge

    bridge = SimulatedBridge(config=None, app_key="testkey")   # config: dict, YAML path, or None = default
    with bridge.serve(host="127.0.0.1", port=0) as server:     # a thread; server.url, server.port, .stop()
        requests.put(f"{server.url}/api/testkey/groups/0/action", json={"on": False})
        bridge.light("1")                 # the state's API: devstack/bridge/state.py
    make_server(..., bridge, ssl_context=...)  # a SimulatedBridge is also a plain WSGI app (e.g. for TLS)

CLIP v1 (/api) and CLIP v2 (/clip/v2) answer from the one state; v2 only for requests that came over TLS
(the WSGI url_scheme), unless the state allows v2 over HTTP. The faults it injects (devstack/bridge/faults.py)
hit both APIs alike; the admin API is devstack/bridge/admin.py.

The bridge API (everything outside /_sim) answers whatever a real bridge answers, whatever the Host,
Origin or Content-Type (curl's default form type included, as every Hue tutorial sends it). Only the
admin API /_sim/ (faults, the link button: things no bridge has) answers no other web page
(devstack/web.py refuse_foreign_page): Host must be loopback, an Origin must be the simulator's own,
and nothing that changes state comes as a form.
"""

from __future__ import annotations

import json
import ssl
import time
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.bridge import routes_v1, routes_v2
from devstack.bridge.admin import admin_router, handle_admin
from devstack.bridge.faults import HANG_MAX_SECONDS, drop_connection
from devstack.bridge.model import JsonDict, hue_error
from devstack.bridge.server import BridgeServer
from devstack.bridge.state import BridgeState
from devstack.web import html_response, refuse_foreign_page


class SimulatedBridge(BridgeState):
    """One simulated bridge: its state (BridgeState's API) and a WSGI app; serve() it over HTTP."""

    def __init__(self, config: JsonDict | str | Path | None = None, app_key: str = "testkey") -> None:
        super().__init__(config, app_key)
        self._admin = admin_router(self)

    def serve(self, host: str = "127.0.0.1", port: int = 0, ssl_context: ssl.SSLContext | None = None) -> BridgeServer:
        return BridgeServer(self, self, host, port, ssl_context=ssl_context)

    def __call__(self, environ: JsonDict, start_response: Any) -> Any:
        request = Request(environ)
        if request.path.startswith("/_sim"):
            answer = refuse_foreign_page(request) or handle_admin(self, request, self._admin)
            return answer(environ, start_response)
        return self.handle_api(request)(environ, start_response)

    def handle_api(self, request: Request) -> Response:
        body = request.get_data()
        ticket = self.admit(request.method, request.path, body)
        if ticket.latency:
            time.sleep(ticket.latency)
        if ticket.outage in ("silent", "refuse") or ticket.failure == "hang":
            # Already connected when listening stopped, or a silent bridge: wait, then drop.
            ticket.release.wait(HANG_MAX_SECONDS)
            response = drop_connection(request.environ)
        elif ticket.outage == "503":
            response = html_response(503)
        elif ticket.failure is not None and request.path.startswith(routes_v2.PREFIX):
            response = _v2_failure_response(ticket.failure, request)
        elif ticket.failure == "partial":
            response = self._partial_response(request, body)
        elif ticket.failure is not None:
            response = _failure_response(ticket.failure, request)
        else:
            response = self._clip(request, body)
        self.answered(ticket, response.status_code)
        return response

    def _clip(self, request: Request, body: bytes) -> Response:
        # Each CLIP version is a routes module on the state; v1 answers every other path (nginx's 404 outside /api).
        with self.lock:
            if request.path.startswith(routes_v2.PREFIX):
                return routes_v2.route(self, request, body, secure=request.scheme == "https")
            return routes_v1.route(self, request, body)

    def _partial_response(self, request: Request, body: bytes) -> Response:
        """A PUT that the bridge only half carried out: the first attribute is applied and reported as a
        success, every other one fails with error 901, all in one HTTP 200 list."""
        try:
            attributes = list(json.loads(body).items())
        except (ValueError, AttributeError):
            attributes = []
        response = self._clip(request, json.dumps(dict(attributes[:1])).encode())
        items = json.loads(response.get_data())
        address = next(iter(items[0].get("success", {"/": None}))) if items and isinstance(items[0], dict) else "/"
        prefix = address.rsplit("/", 1)[0]
        items += [hue_error(901, f"{prefix}/{key}", "Internal error, 503") for key, _ in attributes[1:]]
        return routes_v1.api_json(items)


def _v2_failure_response(kind: str, request: Request) -> Response:
    """The v2 form of an injected failure: v2 has no error 901, so "901" and "partial" are a JSON 500."""
    if kind in ("901", "partial"):
        return routes_v2.v2_error(500, "internal error")
    return _failure_response(kind, request)


def _failure_response(kind: str, request: Request) -> Response:
    """The answer of an injected failure (faults.FAULT_KINDS), except "hang" and "partial"."""
    if kind in ("429", "503", "500"):
        return html_response(int(kind))
    if kind == "901":
        resource = request.path.split("/", 3)[-1] if request.path.count("/") >= 3 else ""
        return routes_v1.api_json([hue_error(901, f"/{resource}", "Internal error, 404")])
    if kind == "html":
        return Response(
            "<html><body><h1>hue personal wireless lighting</h1></body></html>", 200, content_type="text/html"
        )
    if kind == "invalid_json":
        return Response('[{"success":{"/lights/1/state/on":tr', status=200, content_type="application/json")
    return drop_connection(request.environ)
