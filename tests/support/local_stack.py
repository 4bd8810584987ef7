"""The whole local stack (`python -m devstack`) as a process on a free block of ports, for integration tests."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from devstack.stack.functions import DEFAULT_PORTS
from tests.support.servers import PYTHON, REPO, group_alive, start_process, stop_process_group, wait_for_http

TIMEOUT = 30
START_ATTEMPTS = 3


def _ports_free(offset: int) -> bool:
    for port in DEFAULT_PORTS.values():
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port + offset))
            except OSError:
                return False
    return True


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_offset() -> int:
    """A --port-offset whose whole block is free now and lies below the kernel's ephemeral ports: other
    tests' client connections and port-0 servers take those, and could land in the block between this
    check and the stack's bind."""
    highest = _ephemeral_start() - max(DEFAULT_PORTS.values()) - 1
    for _ in range(50):
        offset = random.randrange(2000, highest, 100)
        if _ports_free(offset):
            return offset
    raise RuntimeError("no free block of ports for the stack")


@dataclass
class Stack:
    proc: subprocess.Popen[bytes]
    log: Path
    offset: int

    def url(self, name: str) -> str:
        scheme = "https" if name == "bridge-https" else "http"  # the simulator's TLS port; /_sim/ is on "bridge"
        return f"{scheme}://127.0.0.1:{DEFAULT_PORTS[name] + self.offset}"

    def status(self) -> dict[str, Any]:
        answer: dict[str, Any] = requests.get(f"{self.url('control')}/status", timeout=TIMEOUT).json()
        return answer

    def snapshot(self) -> dict[str, Any]:
        """The simulator's snapshot: per light its v1 JSON, `effect` running, `api` of its last command, `v2_id`."""
        answer: dict[str, Any] = requests.get(f"{self.url('bridge')}/_sim/state", timeout=TIMEOUT).json()
        return answer

    def lights(self) -> dict[str, dict[str, Any]]:
        return {lid: light["state"] for lid, light in self.snapshot()["lights"].items()}

    def sim(self, path: str, body: dict[str, Any]) -> None:
        assert requests.post(f"{self.url('bridge')}/_sim/{path}", json=body, timeout=TIMEOUT).status_code == 200

    def fire(self, source: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PYTHON, "-m", "devstack.stack.fire", source, "--control", self.url("control")],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )


@contextlib.contextmanager
def run_stack(
    log: Path,
    token: str,
    *,
    args: Sequence[str] = (),
    bridge_env: dict[str, str] | None = None,
    settings: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """`python -m devstack` with `args`; with bridge_env (HUE_BRIDGE, HUE_APP_KEY) as for a real bridge;
    `settings`: other HUE_* a developer exported for the functions (e.g. HUE_API=v1).

    The developer's own HUE_* and TRIGGER_TOKEN never reach it. On leaving: Ctrl-C as a user would, then
    SIGKILL for anything left, including every function's process group.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUE_", "TRIGGER_TOKEN", "DEVSTACK_"))}
    env.update(bridge_env or {}, **(settings or {}), TRIGGER_TOKEN=token)
    for attempt in range(1, START_ATTEMPTS + 1):
        offset = free_offset()
        command = [PYTHON, "-m", "devstack", "--port-offset", str(offset), *args]
        proc = start_process(command, log, env=env, inherit_env=False)
        running = Stack(proc, log, offset)
        try:
            wait_for_http(f"{running.url('control')}/status", timeout=120, proc=proc)
            break
        except BaseException as error:
            stop_process_group(proc, signal.SIGKILL, timeout=5)
            # Another test's server took a port of the block after free_offset() looked: the stack names it
            # and starts nothing (tests/integration/test_day.py); then another block is worth a try.
            taken = isinstance(error, RuntimeError) and "is already in use" in log.read_text()
            if attempt == START_ATTEMPTS or not taken:
                raise
    pgids: list[int] = []
    try:
        pgids = [p["pid"] for p in running.status()["processes"].values()]
        yield running
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=20)
            stop_process_group(proc, signal.SIGKILL, timeout=5)
        for pgid in pgids:  # never leave a function behind, whatever happened above
            if group_alive(pgid):
                os.killpg(pgid, signal.SIGKILL)
