"""Loopback servers and process helpers for the tests (the `sim` fixture is in `fixtures.py`).

Every wait here is bounded; every process is started in its own session so that the whole process
group (functions-framework starts gunicorn workers) can be stopped.
"""

from __future__ import annotations

import functools
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import functions_framework
import pytest

from devstack.bridge import BridgeServer, SimulatedBridge
from devstack.bridge.modes import DEFAULT_MODE, ServedBridge, bridge_id_of, serve_bridge
from devstack.bridge.tls import TestPKI
from devstack.processes import free_port, group_alive, start_process, stop_process_group, wait_for_http

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
APP_KEY = "testkey"
# What `python -m devstack.bridge` prints once it listens (devstack/bridge/__main__.py).
SIMULATOR_STARTED = re.compile(r"HUE_BRIDGE=(?P<url>\S+).*\n.*plain HTTP on (?P<http_url>http://[^;\s]+);")
__all__ = [
    "APP_KEY",
    "PYTHON",
    "REPO",
    "CaptureServer",
    "RunningBridge",
    "SimulatorProcess",
    "bridge_pki",
    "free_port",
    "function_client",
    "group_alive",
    "press_link_button_after_polls",
    "serve_simulated_bridge",
    "simulator_process",
    "start_process",
    "stop_process_group",
    "wait_for_http",
    "wait_until",
]


@dataclass
class RunningBridge:
    """A simulated bridge served in one of its modes (devstack/bridge/modes.py; gen-2 unless asked otherwise).

    Functions and the CLI get `hue_env` (HUE_BRIDGE = `url`, https:// where the mode has HTTPS, and the
    test root as HUE_CA_BUNDLE, as a user adds a CA). Tests that poke the CLIP API with `requests` ask for
    plain HTTP explicitly: `http_url` and `api`.
    """

    bridge: SimulatedBridge
    served: ServedBridge
    ca_bundle: Path | None

    @property
    def url(self) -> str:
        return self.served.url

    @property
    def http_url(self) -> str:
        return self.served.http_url

    @property
    def server(self) -> BridgeServer:
        """The listener at `url`."""
        return self.served.https or self.served.http

    @property
    def api(self) -> str:
        """Base URL of the authenticated API over plain HTTP: f"{sim.api}/lights" etc."""
        return f"{self.http_url}/api/{APP_KEY}"

    @property
    def hue_env(self) -> dict[str, str]:
        env = {"HUE_BRIDGE": self.url}
        if self.ca_bundle is not None:
            env["HUE_CA_BUNDLE"] = str(self.ca_bundle)
        return env


@dataclass
class SimulatorProcess:
    """`python -m devstack.bridge` as a process, on the ports it reported (`url`: HUE_BRIDGE, https://
    except in round mode; `http_url`: its plain HTTP, where /_sim/ answers)."""

    proc: subprocess.Popen[bytes]
    url: str
    http_url: str


@contextmanager
def simulator_process(log: Path, *args: str, timeout: float = 30.0) -> Iterator[SimulatorProcess]:
    """The simulator on ports the kernel picks (--port 0 --https-port 0: never a port that a running
    `make run` or another test holds), read back from the lines it prints at start; stopped on leaving."""
    proc = start_process([PYTHON, "-m", "devstack.bridge", "--port", "0", "--https-port", "0", *args], log)
    try:

        def started() -> re.Match[str] | None:
            if proc.poll() is not None:
                raise RuntimeError(f"the simulator exited with {proc.returncode}:\n{log.read_text()}")
            return SIMULATOR_STARTED.search(log.read_text())

        assert wait_until(started, timeout=timeout, interval=0.05), (
            f"no addresses within {timeout} s:\n{log.read_text()}"
        )
        found = started()
        assert found is not None
        yield SimulatorProcess(proc, found["url"], found["http_url"])
    finally:
        stop_process_group(proc, timeout=10)


@functools.cache
def bridge_pki(bridge_id: str) -> TestPKI:
    """The certificates for a bridge id, minted once per test process."""
    return TestPKI(bridge_id)


@contextmanager
def serve_simulated_bridge(mode: str = DEFAULT_MODE) -> Iterator[RunningBridge]:
    """A fresh simulated bridge on ephemeral 127.0.0.1 ports until the block ends (its test root in a temp file)."""
    bridge = SimulatedBridge(app_key=APP_KEY)
    pki = None if mode == "round" else bridge_pki(bridge_id_of(bridge))
    with tempfile.TemporaryDirectory(prefix="sim-") as folder, serve_bridge(bridge, mode, pki=pki) as served:
        yield RunningBridge(bridge, served, served.write_root(Path(folder) / "test-root.pem"))


def function_client(target: str, monkeypatch: pytest.MonkeyPatch, app_key: str = APP_KEY, **env: str) -> Any:
    """A function's test client against a served bridge: only the settings given (no token, target `all`),
    one attempt per call and no verify delay, so that a refused bridge fails at once."""
    for name in ("HUE_CA_BUNDLE", "HUE_BRIDGE_ID", "TRIGGER_TOKEN", "HUE_TARGET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"HUE_APP_KEY": app_key, "HUE_MAX_ATTEMPTS": "1", "HUE_VERIFY_DELAY": "0", **env}.items():
        monkeypatch.setenv(name, value)
    return functions_framework.create_app(target, str(REPO / "functions" / target / "main.py")).test_client()


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
