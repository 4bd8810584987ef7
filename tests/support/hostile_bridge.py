"""A misbehaving Hue bridge on 127.0.0.1, for the hostile-bridge tests (issue 12).

One raw-socket server (not http.server: several modes break HTTP on purpose) whose `mode` decides how
the next answers misbehave. In mode `normal` it is a small, correct v1 bridge with three lights, so a
test can check that the call after a hostile one works again.

Everything it does is bounded: each connection sends at most SEND_LIMIT_BYTES and lives at most
CONNECTION_SECONDS, so a client that reads without limit still ends, and `stop()` ends every thread.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

SEND_LIMIT_BYTES = 400 * 1024 * 1024
CONNECTION_SECONDS = 40.0
TRICKLE_INTERVAL = 0.5
"""Slow modes send one byte this often: never long enough to trip a per-read timeout."""

MODES = (
    "normal",
    "huge_declared",  # Content-Length of 2 GB, then bytes as fast as the client reads
    "endless_chunked",  # a chunked body that never ends
    "slow_headers",  # the status line and headers one byte at a time
    "slow_body",  # correct headers, then the body one byte at a time
    "lights_list",  # GET /lights answers a JSON list instead of an object
    "state_not_object",  # a light whose `state` is a string
    "deep_nesting",  # 100 000 levels of [
    "million_items",  # a PUT answer of a million success items
    "huge_inventory",  # 200 000 lights
    "malformed_header",  # a header line urllib3 cannot parse (the answer itself is correct)
)


def _lights(count: int, on: bool) -> dict[str, Any]:
    return {
        str(i): {"name": f"Lamp {i}", "state": {"on": on, "reachable": True, "effect": "none"}, "type": "color"}
        for i in range(1, count + 1)
    }


class HostileBridge:
    def __init__(self) -> None:
        self.mode = "normal"
        self.on = True
        self.requests: list[str] = []
        """Request lines received (method and path; the path carries the key)."""
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def start(self) -> HostileBridge:
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._acceptor.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=5)
        self._sock.close()

    def __enter__(self) -> HostileBridge:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        started = time.monotonic()
        conn.settimeout(1.0)
        buffer = b""
        try:
            while not self._stopping.is_set() and time.monotonic() - started < CONNECTION_SECONDS:
                while b"\r\n\r\n" not in buffer:
                    try:
                        chunk = conn.recv(65536)
                    except TimeoutError:
                        if self._stopping.is_set() or time.monotonic() - started > CONNECTION_SECONDS:
                            return
                        continue
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                while len(buffer) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                body, buffer = buffer[:length], buffer[length:]
                self.requests.append(f"{method} {path}")
                if not self._answer(conn, method, path, body, started):
                    return
        except OSError:
            return
        finally:
            conn.close()

    def _answer(self, conn: socket.socket, method: str, path: str, body: bytes, started: float) -> bool:
        """Send one answer; False when the connection must end after it."""
        mode = self.mode
        resource = path.split("/", 3)[3] if path.count("/") >= 3 else ""
        if mode == "normal" or (mode in ("lights_list", "state_not_object", "huge_inventory") and method == "PUT"):
            return self._send_json(conn, self._normal(method, resource, body))
        if mode == "million_items" and method == "PUT":
            items = b",".join([b'{"success":{"/groups/0/action/on":false}}'] * 1_000_000)
            return self._send_raw(conn, b"[" + items + b"]")
        if mode == "million_items":
            return self._send_json(conn, self._normal(method, resource, body))
        if mode == "lights_list":
            return self._send_json(conn, [self._normal(method, resource, body)])
        if mode == "state_not_object":
            lights = _lights(3, self.on)
            lights["2"]["state"] = "on"
            return self._send_json(conn, lights)
        if mode == "huge_inventory":
            return self._send_json(conn, _lights(200_000, self.on))
        if mode == "deep_nesting":
            return self._send_raw(conn, b"[" * 100_000 + b"]" * 100_000)
        if mode == "malformed_header":
            # A line without a colon: http.client keeps going, urllib3 logs "Failed to parse headers (url=...)".
            payload = json.dumps(self._normal(method, resource, body)).encode()
            head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            conn.sendall(head.encode() + b"this line has no colon\r\n\r\n" + payload)
            return False
        if mode == "huge_declared":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2000000000\r\n\r\n[")
            self._flood(conn, started, chunked=False)
            return False
        if mode == "endless_chunked":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            self._flood(conn, started, chunked=True)
            return False
        payload = json.dumps(self._normal(method, resource, body)).encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
        if mode == "slow_headers":
            self._trickle(conn, head + payload, started)
        else:  # slow_body
            conn.sendall(head)
            self._trickle(conn, payload, started)
        return False

    def _normal(self, method: str, resource: str, body: bytes) -> Any:
        if method == "PUT":
            wanted = json.loads(body or b"{}")
            if "on" in wanted:
                self.on = bool(wanted["on"])
            prefix = "/" + resource
            return [{"success": {f"{prefix}/{key}": value}} for key, value in wanted.items()]
        if resource == "lights":
            return _lights(3, self.on)
        if resource == "groups":
            return {"1": {"name": "Room", "lights": ["1", "2", "3"], "type": "Room"}}
        return {"name": "Hostile", "bridgeid": "001788FFFE000000", "apiversion": "1.60.0"}

    def _send_json(self, conn: socket.socket, payload: Any) -> bool:
        return self._send_raw(conn, json.dumps(payload).encode())

    def _send_raw(self, conn: socket.socket, payload: bytes) -> bool:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        conn.sendall(head.encode() + payload)
        return True

    def _flood(self, conn: socket.socket, started: float, *, chunked: bool) -> None:
        block = b"[1," * 21845 + b"1,"  # 65 537 bytes of a JSON array that never closes
        if chunked:
            block = f"{len(block):x}\r\n".encode() + block + b"\r\n"
        sent = 0
        while (
            sent < SEND_LIMIT_BYTES and not self._stopping.is_set() and time.monotonic() - started < CONNECTION_SECONDS
        ):
            conn.sendall(block)
            sent += len(block)

    def _trickle(self, conn: socket.socket, data: bytes, started: float) -> None:
        for index in range(len(data)):
            if self._stopping.wait(TRICKLE_INTERVAL) or time.monotonic() - started > CONNECTION_SECONDS:
                return
            conn.sendall(data[index : index + 1])
