"""A small HTTPS server on 127.0.0.1 that answers like a Hue bridge and records every request it gets.

Used to test the client's certificate checks over real TLS: the server presents credentials minted by
devstack.bridge.tls, and `requests_seen` shows what reached it (so a test can prove the application
key never left the client before the certificate was accepted). The handshake runs in the connection's
own thread, so a client that hangs up mid-handshake does not stall the server.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANDSHAKE_TIMEOUT = 5.0


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def carries(self, secret: str) -> bool:
        return secret in self.path or any(secret in v for v in self.headers.values()) or secret.encode() in self.body


class _Handler(BaseHTTPRequestHandler):
    server: HueLikeServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        self.server.count_connection()
        if self.server.tls_context is not None:
            self.request.settimeout(HANDSHAKE_TIMEOUT)
            self.request = self.server.tls_context.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read requests_seen, not a log

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.record(SeenRequest(self.command, self.path, dict(self.headers.items()), body))
        status, headers, payload = self.server.respond(self.command, self.path)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = _answer


class HueLikeServer(ThreadingHTTPServer):
    """Answers /api/config (bridgeid = `reported_id`) and GET /api/<app_key>/lights; records all requests.

    With `tls_context` None it speaks plain HTTP; with `redirect_to_https` it answers everything with a
    301 to the same path on https://, as a Hue Bridge Pro does.
    """

    daemon_threads = True

    def __init__(
        self,
        tls_context: ssl.SSLContext | None,
        *,
        app_key: str,
        reported_id: str,
        redirect_to_https: bool = False,
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.tls_context = tls_context
        self.app_key = app_key
        self.reported_id = reported_id
        self.redirect_to_https = redirect_to_https
        self.config_answer: tuple[int, bytes] | None = None
        """Set to (status, body) to answer /api/config with that instead (a busy or broken bridge)."""
        self.connections = 0
        self._lock = threading.Lock()
        self._seen: list[SeenRequest] = []

    @property
    def url(self) -> str:
        scheme = "https" if self.tls_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.server_address[1]}"

    @property
    def requests_seen(self) -> list[SeenRequest]:
        with self._lock:
            return list(self._seen)

    def count_connection(self) -> None:
        with self._lock:
            self.connections += 1

    def record(self, request: SeenRequest) -> None:
        with self._lock:
            self._seen.append(request)

    def respond(self, method: str, path: str) -> tuple[int, dict[str, str], Any]:
        if self.redirect_to_https:
            return 301, {"Location": f"https://127.0.0.1:{self.server_address[1]}{path}"}, None
        if method == "GET" and path == "/api/config" and self.config_answer is not None:
            return self.config_answer[0], {}, self.config_answer[1]
        if method == "GET" and path == "/api/config":
            return 200, {}, {"name": "TLS test bridge", "bridgeid": self.reported_id.upper(), "modelid": "BSB002"}
        if method == "GET" and path == f"/api/{self.app_key}/lights":
            return 200, {}, {"1": {"name": "Sofa lamp", "type": "Extended color light", "state": {"on": False}}}
        return 200, {}, [{"error": {"type": 1, "address": path, "description": "unauthorized user"}}]

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        pass  # a client refusing our certificate breaks off the handshake: expected here, not an error


@contextmanager
def serve(
    tls_context: ssl.SSLContext | None, *, app_key: str, reported_id: str, redirect_to_https: bool = False
) -> Iterator[HueLikeServer]:
    server = HueLikeServer(tls_context, app_key=app_key, reported_id=reported_id, redirect_to_https=redirect_to_https)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
