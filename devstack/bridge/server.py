"""BridgeServer: a simulated bridge served over HTTP (or HTTPS) in a daemon thread."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

from devstack.bridge.state import BridgeState
from devstack.web import ThreadedServer

WsgiApp = Callable[[dict[str, Any], Any], Any]


class BridgeServer(ThreadedServer):
    """A running bridge on host:port, started on construction. `app` answers the requests (SimulatedBridge.serve
    passes the bridge itself: it is both state and WSGI app); the state pauses this server during a "refuse"
    outage and is told when it stops."""

    def __init__(
        self,
        bridge: BridgeState,
        app: WsgiApp,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(host, port, name="bridge-sim", ssl_context=ssl_context)
        self.bridge = bridge
        self._app = app
        self.start()
        bridge.attach(self)

    def wsgi_app(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self._app(environ, start_response)

    def stop(self) -> None:
        self.bridge.detach(self)
        self.pause()

    def __enter__(self) -> BridgeServer:
        return self
