"""Loopback servers and process helpers for the tests (the `sim` fixture is in `fixtures.py`).

Every wait here is bounded; every process is started in its own session so that the whole process
group (functions-framework starts gunicorn workers) can be stopped.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devstack.bridge import BridgeServer, SimulatedBridge
from devstack.processes import free_port, group_alive, start_process, stop_process_group, wait_for_http

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
APP_KEY = "testkey"
__all__ = [
    "APP_KEY",
    "PYTHON",
    "REPO",
    "CaptureServer",
    "RunningBridge",
    "free_port",
    "group_alive",
    "press_link_button_after_polls",
    "serve_simulated_bridge",
    "start_process",
    "stop_process_group",
    "wait_for_http",
    "wait_until",
]


@dataclass
class RunningBridge:
    bridge: SimulatedBridge
    server: BridgeServer

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def api(self) -> str:
        """Base URL of the authenticated API: f"{sim.api}/lights" etc."""
        return f"{self.server.url}/api/{APP_KEY}"


@contextmanager
def serve_simulated_bridge() -> Iterator[RunningBridge]:
    """A fresh simulated bridge on an ephemeral 127.0.0.1 port until the block ends."""
    bridge = SimulatedBridge(app_key=APP_KEY)
    with bridge.serve("127.0.0.1", 0) as server:
        yield RunningBridge(bridge, server)


def press_link_button_after_polls(sim: RunningBridge, polls: int) -> threading.Thread:
    """Press the button once the CLI has been told 101 `polls` times, like a person walking to the bridge."""

    def press() -> None:
        wait_until(
            lambda: sum(r["method"] == "POST" for r in sim.bridge.requests()) >= polls, timeout=10, interval=0.01
        )
        sim.bridge.press_link_button()

    thread = threading.Thread(target=press, daemon=True)
    thread.start()
    return thread


def wait_until(predicate: object, timeout: float = 10.0, interval: float = 0.1) -> bool:
    """Poll a zero-argument callable until it returns truthy, at most `timeout` seconds."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


class CaptureServer:
    """A loopback HTTP/1.1 server that records each request's raw bytes and answers from a script.

    `statuses` are answered in order (the last one repeats); used to check a sender's exact wire format
    and its retry policy, which an HTTP framework would normalise away.
    """

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [200])
        self.raw: list[bytes] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                while len(body) < length:
                    body += conn.recv(65536)
                self.raw.append(head + b"\r\n\r\n" + body)
                status = self.statuses[min(len(self.raw), len(self.statuses)) - 1]
                answer = b'{"ok": true}'
                conn.sendall(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(answer)}\r\n"
                    "Connection: close\r\n\r\n".encode()
                    + answer
                )

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def __enter__(self) -> CaptureServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
