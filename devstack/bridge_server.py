"""BridgeServer: a SimulatedBridge served over HTTP by werkzeug in a daemon thread (see bridge_sim)."""

from __future__ import annotations

import errno
import threading
from typing import TYPE_CHECKING

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

if TYPE_CHECKING:
    from devstack.bridge_sim import SimulatedBridge


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # tests and the stack print their own summaries; one line per request is noise


class BridgeServer:
    """A running SimulatedBridge on host:port, served by werkzeug in a daemon thread."""

    def __init__(self, bridge: SimulatedBridge, host: str, port: int) -> None:
        self.bridge = bridge
        self.host = host
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._start(port)
        assert self._server is not None
        self.port: int = self._server.server_port
        self.url: str = f"http://{host}:{self.port}"

    def _start(self, port: int) -> None:
        try:
            self._server = make_server(self.host, port, self.bridge, threaded=True, request_handler=_QuietHandler)
        except SystemExit as exc:  # werkzeug exits the process when the port is taken; a library must not
            raise OSError(errno.EADDRINUSE, f"port {port} on {self.host} is in use") from exc
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="bridge-sim", daemon=True
        )
        self._thread.start()

    def pause(self) -> None:
        """Stop listening: new connections are refused until resume()."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def resume(self) -> None:
        if self._server is None:
            self._start(self.port)

    def stop(self) -> None:
        self.bridge._forget_server(self)
        self.pause()

    def __enter__(self) -> BridgeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
