"""Hostile callers of one function started as the image starts it: huge, missing, endless and nested
bodies, unsafe event ids, slow clients next to probes and deliveries. Raw sockets on 127.0.0.1 only.

    .venv/bin/python -m tests.support.hostile_client [case ...]

prints, per case: status, seconds, peak extra memory of the process group, whether the server closed
the connection, and the start of the answer.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devstack.processes import group_memory_kib
from tests.support.function_process import RunningFunction, running_function
from tests.support.hostile_bridge import HostileBridge
from tests.support.hostile_cases import function_env, ping, reset_peaks

SOCKET_SECONDS = 45.0
PING_HEADERS = (
    "Content-Type: application/json\r\nCe-Specversion: 1.0\r\nCe-Id: {id}\r\n"
    "Ce-Source: /apis/v1/namespaces/gohome/pingsources/lights-off\r\nCe-Type: dev.knative.sources.ping\r\n"
)


@dataclass
class Answer:
    status: int
    head: str
    body: str
    seconds: float
    closed: bool
    """The server ended the connection after its answer."""
    peak_extra_kib: int = 0

    def row(self, case: str) -> str:
        return (
            f"{case:<22} {self.status:>4} {self.seconds:6.1f}s {self.peak_extra_kib / 1024:8.1f} MiB "
            f"closed:{self.closed!s:<5} {self.body[:70]!r}"
        )


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=SOCKET_SECONDS)
    return sock


def _read_answer(sock: socket.socket, started: float) -> Answer:
    """One HTTP answer (Content-Length framed); then whether the server closed the connection."""
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")),
            0,
        )
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    except OSError:
        head, body = data.partition(b"\r\n\r\n")[::2]
    seconds = time.monotonic() - started
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    sock.settimeout(2.0)
    try:
        closed = sock.recv(1) == b""
    except TimeoutError:
        closed = False
    except OSError:
        closed = True
    return Answer(status, head.decode("latin-1"), body.decode("utf-8", "replace"), seconds, closed)


def send_request(url: str, head: str, body_source: Callable[[socket.socket], None] | None = None) -> Answer:
    """Send `head` (request line and headers, without the blank line), then feed the body from
    `body_source` in a thread while the answer is read."""
    sock = _connect(url)
    started = time.monotonic()
    sock.sendall(head.encode("latin-1") + b"\r\n")
    feeder = None
    if body_source is not None:
        feeder = threading.Thread(target=_quietly, args=(body_source, sock), daemon=True)
        feeder.start()
    try:
        return _read_answer(sock, started)
    finally:
        sock.close()
        if feeder is not None:
            feeder.join(timeout=10)


def _quietly(source: Callable[[socket.socket], None], sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # the server closed the connection: that is the point
        source(sock)


def _stream_zeros(total: int) -> Callable[[socket.socket], None]:
    def feed(sock: socket.socket) -> None:
        block = b" " * 65536
        sent = 0
        while sent < total:
            sock.sendall(block)
            sent += len(block)

    return feed


def _endless_chunks(limit_bytes: int) -> Callable[[socket.socket], None]:
    def feed(sock: socket.socket) -> None:
        block = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
        for _ in range(limit_bytes // 65536):
            sock.sendall(block)

    return feed


def _ping_head(event_id: str = "hostile-1", extra: str = "", length: int | None = None, path: str = "/") -> str:
    head = f"POST {path} HTTP/1.1\r\nHost: fn\r\n" + PING_HEADERS.format(id=event_id) + extra
    if length is not None:
        head += f"Content-Length: {length}\r\n"
    return head


CASES: dict[str, Callable[[str], Answer]] = {
    # 300 MB announced and sent: answered 413 without reading it.
    "huge_body": lambda url: send_request(url, _ping_head(length=300 * 2**20), _stream_zeros(300 * 2**20)),
    # 300 MB to an external caller without a token: 401 without reading it.
    "huge_body_unauthorized": lambda url: send_request(
        url,
        f"POST / HTTP/1.1\r\nHost: fn\r\nX-Gohome-External: 1\r\nContent-Length: {300 * 2**20}\r\n",
        _stream_zeros(300 * 2**20),
    ),
    # A body announced but never sent.
    "missing_body": lambda url: send_request(url, _ping_head(length=1000)),
    # A chunked body that would never end (bounded at 300 MB here).
    "endless_chunked_body": lambda url: send_request(
        url, _ping_head(extra="Transfer-Encoding: chunked\r\n"), _endless_chunks(300 * 2**20)
    ),
    # 60 KB of [ ... ]: valid-looking, under the size limit, deeper than the parser's recursion limit.
    "nested_json": lambda url: send_request(
        url, _ping_head(length=60_000), lambda sock: sock.sendall(b"[" * 30_000 + b"]" * 30_000)
    ),
    # The same as a plain HTTP trigger (no CloudEvent headers).
    "nested_json_http": lambda url: send_request(
        url,
        "POST / HTTP/1.1\r\nHost: fn\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n",
        lambda sock: sock.sendall(b"[" * 30_000 + b"]" * 30_000),
    ),
    # A structured CloudEvent whose id cannot go into a header.
    "unsafe_event_id": lambda url: _structured(url, "line\r\nbreak \u20ac"),
}


def _structured(url: str, event_id: str) -> Answer:
    event = {
        "specversion": "1.0",
        "id": event_id,
        "source": "/hostile",
        "type": "dev.knative.sources.ping",
        "data": {"message": "x"},
    }
    body = json.dumps(event).encode()
    head = (
        f"POST / HTTP/1.1\r\nHost: fn\r\nContent-Type: application/cloudevents+json\r\nContent-Length: {len(body)}\r\n"
    )
    return send_request(url, head, lambda sock: sock.sendall(body))


def measure(function: RunningFunction, case: str) -> Answer:
    reset_peaks(function.pid)
    before = group_memory_kib(function.pid)["rss"]
    answer = CASES[case](function.url)
    answer.peak_extra_kib = group_memory_kib(function.pid)["peak_rss"] - before
    return answer


def slow_clients_then_ping(function: RunningFunction, clients: int, in_headers: bool) -> float:
    """Seconds a PingSource delivery takes while `clients` connections dribble their request (headers,
    or a body after complete headers); the clients go away once the delivery is answered."""
    socks = []
    for index in range(clients):
        sock = _connect(function.url)
        if in_headers:
            sock.sendall(b"POST / HTTP/1.1\r\n")
        else:
            sock.sendall((_ping_head(event_id=f"slow-{index}", length=100) + "\r\n").encode() + b"{")
        socks.append(sock)
    time.sleep(0.5)
    started = time.monotonic()
    try:
        ping(function.url)
        return time.monotonic() - started
    finally:
        for sock in socks:
            sock.close()


def main(cases: list[str]) -> None:
    with (
        tempfile.TemporaryDirectory() as log_dir,
        HostileBridge() as bridge,
        running_function("lights_off", function_env(bridge.url), Path(log_dir)) as function,
    ):
        for case in cases or list(CASES):
            print(measure(function, case).row(case), flush=True)
        for clients, in_headers in ((1, False), (2, False)):
            seconds = slow_clients_then_ping(function, clients, in_headers)
            what = "headers" if in_headers else "bodies"
            print(f"ping next to {clients} slow {what}: {seconds:.1f}s", flush=True)
        log = function.log()
        print(json.dumps({"html_pages": log.count("<!doctype"), "tracebacks": log.count("Traceback")}))


if __name__ == "__main__":
    main(sys.argv[1:])
