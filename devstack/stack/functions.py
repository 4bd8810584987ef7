"""The processes and servers of the local stack, and how they start and stop.

Functions run as separate processes, started exactly like the image's entry point apart from where they
listen: `functions-framework --target <t> --source functions/<t>/main.py --host unix:<folder>/<t>.sock`
with the image's gunicorn settings (WORKERS, THREADS, request timeout), each in its own process group so
that gunicorn's worker goes with it. The Unix socket sits in a folder only this user can open, so no web
page and no other user can reach a function; its documented port (127.0.0.1:8081...) is a FunctionGuard
(guard.py), which refuses what a foreign page or another user could send and forwards the rest. The
gateway and the PingSources talk to the socket directly, as in the cluster they talk to the Service. The
bridge simulator, gateway, PingSource scheduler, guards and control endpoint are threads of this process.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import requests

from devstack.cluster.image_staging import server_env
from devstack.processes import start_process, stop_process_groups
from devstack.stack.guard import FunctionGuard
from devstack.upstream import UnixSocket
from devstack.web import WsgiServer

HOST = "127.0.0.1"
# Fixed, documented ports (docs/local-stack.md); --port-offset moves all of them together.
DEFAULT_PORTS = {
    "bridge": 8000,  # the simulator's plain HTTP (and its admin API /_sim/)
    "bridge-https": 8443,  # the simulator's HTTPS (not in round mode)
    "gateway": 8080,
    "lights-off": 8081,
    "lights-on": 8082,
    "colorloop": 8083,
    "control": 8090,
}
READY_TIMEOUT_SECONDS = 60.0  # a first import after install compiles bytecode (~20 s seen)
STOP_TIMEOUT_SECONDS = 10.0


class StackError(RuntimeError):
    """Something the user must fix before the stack can run; the message says what."""


def functions_in(repo: Path) -> dict[str, str]:
    """Knative Service name -> Python target, from functions/<target>/main.py (names per the contract)."""
    found = sorted(p.parent.name for p in (repo / "functions").glob("*/main.py"))
    return {target.replace("_", "-"): target for target in found}


def port_offset_from_env() -> int:
    """DEVSTACK_PORT_OFFSET (default 0), which moves every port of the stack together."""
    value = os.environ.get("DEVSTACK_PORT_OFFSET", "").strip() or "0"
    try:
        return int(value)
    except ValueError:
        raise StackError(f"DEVSTACK_PORT_OFFSET must be a whole number of ports, not {value[:20]!r}") from None


def port_plan(services: list[str], offset: int) -> dict[str, int]:
    ports, spare = {}, 8084
    for name in services:
        if name in DEFAULT_PORTS:
            ports[name] = DEFAULT_PORTS[name] + offset
        else:  # a function added later gets the next free slot after the documented ones
            ports[name], spare = spare + offset, spare + 1
    return ports


def check_ports_free(ports: dict[str, int]) -> None:
    for name, port in ports.items():
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is fine
            try:
                sock.bind((HOST, port))
            except OSError as exc:
                raise StackError(
                    f"port {port} on {HOST} ({name}) is already in use: stop what listens there "
                    f"(`ss -ltnp 'sport = :{port}'`) or move the whole stack with --port-offset N "
                    f"(or DEVSTACK_PORT_OFFSET=N). [{exc.strerror}]"
                ) from exc


def serve_thread(app: Any, port: int, name: str) -> WsgiServer:
    server = WsgiServer(app, HOST, port, name=name, poll_interval=0.2)
    try:
        server.start()
    except OSError as exc:
        raise StackError(f"port {port} on {HOST} ({name}) is already in use") from exc
    return server


@dataclass
class FunctionProcess:
    service: str
    target: str
    port: int  # the guard's
    proc: subprocess.Popen[bytes]
    socket: UnixSocket  # where the function itself listens
    guard: WsgiServer | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=40))

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


_print_lock = threading.Lock()


def say(line: str) -> None:
    """One whole line on the stack's stdout. Threads share it (a pump per function, the PingSource
    scheduler): print() writes the text and the newline separately, and another thread's line could land
    between the two, gluing two log records together."""
    with _print_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


LineObserver = Callable[[str, str], None]  # (service, line), e.g. the dashboard's InvocationLog.feed


def emit(prefix: str, line: str, on_line: LineObserver | None = None) -> None:
    """A line for a function (its own output, or its guard's record) on our stdout, prefixed, and shown to
    the observer (the dashboard)."""
    say(f"[{prefix}] {line}")
    if on_line is not None:
        # An observer's bug must not stop the caller: a pump's child would block on a full pipe.
        with contextlib.suppress(Exception):
            on_line(prefix, line)


def _pump(stream: IO[bytes], prefix: str, tail: deque[str], on_line: LineObserver | None = None) -> None:
    """Copy a child's output to ours, one prefixed line at a time (and keep the last lines for errors)."""
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip("\n")
        tail.append(line)
        emit(prefix, line, on_line)
    stream.close()


def functions_framework_command() -> str:
    candidate = Path(sys.executable).with_name("functions-framework")
    return str(candidate) if candidate.exists() else "functions-framework"


def start_function(
    service: str,
    target: str,
    port: int,
    env: dict[str, str],
    socket_folder: Path,
    on_line: LineObserver | None = None,
) -> FunctionProcess:
    """Start one function on a Unix socket in `socket_folder` (private to this user) and its guard on `port`;
    `on_line` sees each line of the function's output (stdout and stderr), e.g. invocation records, and
    the record of each request its guard refuses."""
    # functions-framework binds gunicorn to "<host>:<port>", so the socket's file name ends in ":0".
    socket = UnixSocket(f"{socket_folder / target}.sock:0")
    args = [
        functions_framework_command(),
        "--target", target,
        "--source", f"functions/{target}/main.py",
        "--host", f"unix:{socket_folder / target}.sock",
        "--port", "0",
    ]  # fmt: skip
    # Its own process group (start_process): gunicorn's worker is stopped with it.
    proc = start_process(args, None, env={**env, **server_env()}, inherit_env=False)
    function = FunctionProcess(service, target, port, proc, socket)
    assert proc.stdout is not None
    threading.Thread(target=_pump, args=(proc.stdout, service, function.tail, on_line), daemon=True).start()
    try:
        # The guard's refusals go where the function's own lines go, as the records the function writes.
        guard = FunctionGuard(service, target, socket, lambda line: emit(service, line, on_line))
        function.guard = serve_thread(guard, port, f"guard-{service}")
    except StackError:
        stop_process_groups([proc], timeout=STOP_TIMEOUT_SECONDS)
        raise
    return function


def wait_ready(function: FunctionProcess, deadline: float, stop: threading.Event | None = None) -> None:
    """Poll the readiness path until 200; give up at `deadline`, or quietly as soon as `stop` is set."""
    url = f"{function.url}/health/readiness"
    while time.monotonic() < deadline:
        if stop is not None and stop.is_set():
            return
        if function.proc.poll() is not None:
            tail = "\n".join(function.tail)
            raise StackError(f"{function.service} exited with {function.proc.returncode} while starting:\n{tail}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise StackError(f"{function.service} did not answer {url} within {READY_TIMEOUT_SECONDS:.0f} s")


def stop_functions(functions: list[FunctionProcess], timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """Close the guards, SIGTERM every process group, wait together up to `timeout`, then SIGKILL what is left."""
    for function in functions:
        if function.guard is not None:
            function.guard.stop()
    stop_process_groups([function.proc for function in functions], timeout=timeout)
