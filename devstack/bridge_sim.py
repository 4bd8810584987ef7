"""Simulated Philips Hue bridge (CLIP v1 subset) for tests and the local stack. Dev only.

Python API::

    from devstack.bridge_sim import SimulatedBridge

    bridge = SimulatedBridge(config=None, app_key="testkey")   # config: dict, YAML path, or None = default
    with bridge.serve(host="127.0.0.1", port=0) as server:     # a thread; server.url, server.port, .stop()
        requests.put(f"{server.url}/api/testkey/groups/0/action", json={"on": False})
        bridge.light("1")                 # the light's `state` dict (copy), e.g. {"on": False, ...}
        bridge.counts()                   # {"requests", "light_commands", "group_commands", "rate_limited", ...}
        bridge.requests()                 # [{"method", "path", "resource", "body", "time", "status"}, ...]
    bridge.lights() / bridge.snapshot()   # every light's state / lights, groups, counts and active faults
    make_server(..., bridge, ssl_context=...)  # a SimulatedBridge is also a plain WSGI app (e.g. for TLS)

Modules: hue_model (the CLIP rules), clip_routes (the /api resources), sim_admin (HTTP admin API),
bridge_server (serving in a thread). The app key is never logged: paths in the log read /api/<key>/...

Default seed: group 1 "Living room" (Room) = lights 1, 2 ("Extended color light"), 3 ("Color light"),
4 ("Dimmable light"); group 0 = all lights; every light on, warm white.

Faults (Python methods; the same over HTTP under /_sim/, see devstack/sim_admin.py):
    set_latency(seconds)                      every /api request waits this long first
    start_outage(mode, seconds=None)          "refuse" (stop listening), "503", "silent" (requests hang,
                                              then the connection drops); ends after `seconds`, end_outage()
                                              or reset()
    fail_next(count, kind, methods=None)      next N /api requests answer kind: "429", "503", "500" (nginx
                                              HTML), "901" (Hue error 901), "html" (200 + HTML), "invalid_json",
                                              "drop" (connection closed), "hang" (like silent, one request),
                                              "partial" (a PUT applies only its first attribute; the others
                                              answer error 901 in the same 200 list)
    set_reachable(light_id, bool)             unreachable bulbs acknowledge commands that never arrive
    power_cycle(light_id, delayed_revert=False)  back on in the power-on state, without the effect; with
                                              delayed_revert the next command is applied, then reverted
    press_link_button()                       POST /api {"devicetype": ...} succeeds for 30 s
    set_rate_limits(enabled=, light_commands_per_second=, group_commands_per_second=)
    set_light_state(light_id, **state), reset(), clear_log()

Rate limits like the bridge's nginx: more than 10 light commands or 1 group command in a sliding second
-> HTTP 429 with an HTML page (rejected commands do not count against the window).

CLI: python -m devstack.bridge_sim --port 8000 [--host 127.0.0.1] [--config bridge.yaml] [--app-key K]
"""

from __future__ import annotations

import argparse
import collections
import copy
import json
import signal
import socket
import struct
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml
from werkzeug.wrappers import Request, Response

from devstack import hue_model
from devstack.bridge_server import BridgeServer
from devstack.clip_routes import html_response, json_response, route
from devstack.hue_model import Group, JsonDict, Light, hue_error
from devstack.sim_admin import handle_admin

__all__ = ["DEFAULT_CONFIG", "BridgeServer", "SimulatedBridge", "load_config", "main"]

DEFAULT_CONFIG: JsonDict = {
    "bridge": {
        "name": "Simulated Hue bridge",
        "bridgeid": "001788FFFE5A1B2C",
        "modelid": "BSB002",
        "swversion": "1967054020",
        "apiversion": "1.67.0",
    },
    "lights": {
        "1": {"name": "Sofa lamp", "type": "Extended color light"},
        "2": {"name": "Reading lamp", "type": "Extended color light"},
        "3": {"name": "Bloom", "type": "Color light"},
        "4": {"name": "Hallway bulb", "type": "Dimmable light"},
    },
    "groups": {"1": {"name": "Living room", "type": "Room", "class": "Living room", "lights": ["1", "2", "3", "4"]}},
    "rate_limits": {"enabled": True, "light_commands_per_second": 10, "group_commands_per_second": 1},
}
# Client pacing measured at send time arrives slightly jittered; a real bridge is not that exact either.
RATE_WINDOW_SECONDS = 0.95
HANG_MAX_SECONDS = 120.0
FAULT_KINDS = ("429", "503", "500", "901", "html", "invalid_json", "drop", "hang", "partial")
OUTAGE_MODES = ("refuse", "503", "silent")


def load_config(config: JsonDict | str | Path | None) -> JsonDict:
    if config is None:
        return copy.deepcopy(DEFAULT_CONFIG)
    if isinstance(config, str | Path):
        loaded = yaml.safe_load(Path(config).read_text())
        config = loaded if isinstance(loaded, dict) else {}
    merged = copy.deepcopy(DEFAULT_CONFIG)
    if "lights" in config:  # a config that lists lights replaces the seeded lights and groups
        merged["lights"], merged["groups"] = {}, {}
    for key, value in config.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key].update(copy.deepcopy(value))
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _drop_connection(environ: JsonDict) -> Response:
    """Reset the TCP connection without an answer, as an overloaded or rebooting bridge does."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    return Response(b"", status=500)


class SimulatedBridge:
    """One simulated bridge: state, faults, request log. Thread-safe; serve() it over HTTP."""

    def __init__(self, config: JsonDict | str | Path | None = None, app_key: str = "testkey") -> None:
        self._config = load_config(config)
        self._lock = threading.RLock()
        self._servers: list[BridgeServer] = []
        self._app_key = app_key
        self._outage: str | None = None
        self._outage_timer: threading.Timer | None = None
        # Hanging requests wait on the event current when they arrived; ending an outage, reset or the
        # last server stopping sets it (they drop their connection) and puts a fresh one in its place.
        self._release = threading.Event()
        self.reset()

    # ----- state -------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the seeded state: lights, keys, faults, rate limits and log."""
        with self._lock:
            cfg = self._config
            self.bridge_info: JsonDict = dict(cfg["bridge"])
            self._lights = {str(k): hue_model.make_light(str(k), v or {}) for k, v in cfg["lights"].items()}
            self._groups = {
                str(k): Group(
                    id=str(k),
                    name=v.get("name", f"Group {k}"),
                    lights=[str(x) for x in v.get("lights", [])],
                    type=v.get("type", "Room"),
                    klass=v.get("class", "Other"),
                )
                for k, v in cfg["groups"].items()
            }
            self._group_zero = Group("0", "Group 0", list(self._lights), type="LightGroup", klass="Other")
            for group in [*self._groups.values(), self._group_zero]:
                unknown = [x for x in group.lights if x not in self._lights]
                if unknown:
                    raise ValueError(f"group {group.id} lists unknown lights {unknown}")
                group.action = hue_model.initial_group_action(self._group_members(group.id))
            self._app_keys = {self._app_key}
            limits = cfg.get("rate_limits", {})
            self._rate_enabled = bool(limits.get("enabled", True))
            self._rate_limits = {
                "light": int(limits.get("light_commands_per_second", 10)),
                "group": int(limits.get("group_commands_per_second", 1)),
            }
            self._recent: dict[str, collections.deque[float]] = {
                "light": collections.deque(),
                "group": collections.deque(),
            }
            self._latency = 0.0
            self._failures: collections.deque[tuple[str, frozenset[str] | None]] = collections.deque()
            self._link_pressed_at: float | None = None
            self._log: list[JsonDict] = []
            self._counts: JsonDict = self._zero_counts()
            self._end_outage_locked()

    @staticmethod
    def _zero_counts() -> JsonDict:
        return {
            "requests": 0,
            "reads": 0,
            "light_commands": 0,
            "group_commands": 0,
            "rate_limited": 0,
            "injected_failures": 0,
            "light_commands_by_id": {},
            "group_commands_by_id": {},
        }

    def light(self, light_id: str | int) -> JsonDict:
        """The light's `state` as a GET would show it (includes `reachable`)."""
        with self._lock:
            state: JsonDict = self._lights[str(light_id)].to_json()["state"]
            return state

    def lights(self) -> dict[str, JsonDict]:
        with self._lock:
            return {lid: light.to_json()["state"] for lid, light in self._lights.items()}

    def set_light_state(self, light_id: str | int, **state: Any) -> None:
        """Set state directly (test setup), bypassing the CLIP rules."""
        with self._lock:
            self._lights[str(light_id)].state.update(copy.deepcopy(state))

    def snapshot(self) -> JsonDict:
        with self._lock:
            return {
                "lights": {lid: light.to_json() for lid, light in self._lights.items()},
                "groups": {gid: self._group_json(gid) for gid in ["0", *self._groups]},
                "counts": self.counts(),
                "faults": {
                    "latency": self._latency,
                    "outage": self._outage,
                    "pending_failures": [kind for kind, _ in self._failures],
                    "rate_limits": {"enabled": self._rate_enabled, **self._rate_limits},
                },
            }

    def requests(self) -> list[JsonDict]:
        with self._lock:
            return copy.deepcopy(self._log)

    def counts(self) -> JsonDict:
        with self._lock:
            return copy.deepcopy(self._counts)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()
            self._counts = self._zero_counts()

    @property
    def app_keys(self) -> set[str]:
        with self._lock:
            return set(self._app_keys)

    # ----- faults ------------------------------------------------------------------------------------
    def set_latency(self, seconds: float) -> None:
        with self._lock:
            self._latency = max(0.0, float(seconds))

    def fail_next(self, count: int, kind: str, methods: list[str] | None = None) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown failure kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        only = frozenset(m.upper() for m in methods) if methods else None
        with self._lock:
            self._failures.extend([(kind, only)] * int(count))

    def start_outage(self, mode: str, seconds: float | None = None) -> None:
        if mode not in OUTAGE_MODES:
            raise ValueError(f"unknown outage mode {mode!r}; known: {', '.join(OUTAGE_MODES)}")
        with self._lock:
            self._end_outage_locked()
            self._outage = mode
            if seconds is not None:
                self._outage_timer = threading.Timer(float(seconds), self.end_outage)
                self._outage_timer.daemon = True
                self._outage_timer.start()
            servers = list(self._servers) if mode == "refuse" else []
        for server in servers:
            server.pause()

    def end_outage(self) -> None:
        with self._lock:
            self._end_outage_locked()

    def _end_outage_locked(self) -> None:
        if self._outage_timer is not None:
            self._outage_timer.cancel()
            self._outage_timer = None
        if self._outage == "refuse":
            for server in self._servers:
                server.resume()
        self._outage = None
        self._release_hanging()

    def set_reachable(self, light_id: str | int, reachable: bool) -> None:
        with self._lock:
            self._lights[str(light_id)].reachable = bool(reachable)

    def power_cycle(self, light_id: str | int, delayed_revert: bool = False) -> None:
        with self._lock:
            self._lights[str(light_id)].power_cycle(delayed_revert)

    def press_link_button(self) -> None:
        with self._lock:
            self._link_pressed_at = time.monotonic()

    def set_rate_limits(
        self,
        enabled: bool | None = None,
        light_commands_per_second: int | None = None,
        group_commands_per_second: int | None = None,
    ) -> None:
        with self._lock:
            if enabled is not None:
                self._rate_enabled = bool(enabled)
            if light_commands_per_second is not None:
                self._rate_limits["light"] = int(light_commands_per_second)
            if group_commands_per_second is not None:
                self._rate_limits["group"] = int(group_commands_per_second)

    # ----- HTTP ----------------------------------------------------------------------------------------
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> BridgeServer:
        server = BridgeServer(self, host, port)
        with self._lock:
            self._servers.append(server)
        return server

    def _forget_server(self, server: BridgeServer) -> None:
        with self._lock:
            if server in self._servers:
                self._servers.remove(server)
            if not self._servers:
                self._release_hanging()

    def _release_hanging(self) -> None:
        self._release.set()
        self._release = threading.Event()

    def __call__(self, environ: JsonDict, start_response: Any) -> Any:
        request = Request(environ)
        if request.path.startswith("/_sim"):
            return handle_admin(self, request)(environ, start_response)
        response = self._handle_api(request)
        return response(environ, start_response)

    def _handle_api(self, request: Request) -> Response:
        body = request.get_data()
        with self._lock:
            entry = self._log_request(request, body)
            outage, latency = self._outage, self._latency
            failure = self._next_failure(request.method) if outage is None else None
            release = self._release
        if latency:
            time.sleep(latency)
        if outage in ("silent", "refuse") or failure == "hang":
            # Already connected when listening stopped, or a silent bridge: wait, then drop.
            release.wait(HANG_MAX_SECONDS)
            response = _drop_connection(request.environ)
        elif outage == "503":
            response = html_response(503)
        elif failure == "partial":
            response = self._partial_response(request, body)
        elif failure is not None:
            response = self._failure_response(failure, request)
        else:
            with self._lock:
                response = self._clip(request, body)
        entry["status"] = response.status_code
        return response

    def _log_request(self, request: Request, body: bytes) -> JsonDict:
        parts = request.path.rstrip("/").split("/")
        resource = "/" + "/".join(parts[3:]) if len(parts) > 2 else "/"
        masked = "/".join(["", "api", "<key>", *parts[3:]]) if len(parts) > 2 and parts[2] != "config" else request.path
        try:
            parsed: Any = json.loads(body) if body else None
        except ValueError:
            parsed = body.decode("utf-8", "replace")
        entry = {
            "method": request.method,
            "path": masked,
            "resource": resource,
            "body": parsed,
            "time": time.time(),
            "status": None,
        }
        self._log.append(entry)
        self._counts["requests"] += 1
        return entry

    def _next_failure(self, method: str) -> str | None:
        for index, (kind, methods) in enumerate(self._failures):
            if methods is None or method in methods:
                del self._failures[index]
                self._counts["injected_failures"] += 1
                return kind
        return None

    def _partial_response(self, request: Request, body: bytes) -> Response:
        """A PUT that the bridge only half carried out: the first attribute is applied and reported as a
        success, every other one fails with error 901, all in one HTTP 200 list."""
        try:
            attributes = list(json.loads(body).items())
        except (ValueError, AttributeError):
            attributes = []
        with self._lock:
            response = self._clip(request, json.dumps(dict(attributes[:1])).encode())
        items = json.loads(response.get_data())
        address = next(iter(items[0].get("success", {"/": None}))) if items and isinstance(items[0], dict) else "/"
        prefix = address.rsplit("/", 1)[0]
        items += [hue_error(901, f"{prefix}/{key}", "Internal error, 503") for key, _ in attributes[1:]]
        return json_response(items)

    def _failure_response(self, kind: str, request: Request) -> Response:
        if kind in ("429", "503", "500"):
            return html_response(int(kind))
        if kind == "901":
            resource = request.path.split("/", 3)[-1] if request.path.count("/") >= 3 else ""
            return json_response([hue_error(901, f"/{resource}", "Internal error, 404")])
        if kind == "html":
            return Response(
                "<html><body><h1>hue personal wireless lighting</h1></body></html>", 200, content_type="text/html"
            )
        if kind == "invalid_json":
            return Response('[{"success":{"/lights/1/state/on":tr', status=200, content_type="application/json")
        return _drop_connection(request.environ)

    def _rate_limited(self, kind: str) -> bool:
        if not self._rate_enabled:
            return False
        now = time.monotonic()
        recent = self._recent[kind]
        while recent and now - recent[0] >= RATE_WINDOW_SECONDS:
            recent.popleft()
        if len(recent) >= self._rate_limits[kind]:
            self._counts["rate_limited"] += 1
            return True
        recent.append(now)
        return False

    # ----- CLIP v1 ------------------------------------------------------------------------------------
    def _clip(self, request: Request, body: bytes) -> Response:
        return route(self, request, body)  # devstack/clip_routes.py: the CLIP v1 resources

    def _group_members(self, group_id: str) -> list[Light]:
        ids = list(self._lights) if group_id == "0" else self._groups[group_id].lights
        return [self._lights[i] for i in ids]

    def _group(self, group_id: str) -> Group | None:
        if group_id == "0":
            return self._groups.setdefault("0", Group("0", "Group 0", list(self._lights), type="LightGroup"))
        return self._groups.get(group_id)

    def _group_json(self, group_id: str) -> JsonDict:
        group = self._group(group_id)
        assert group is not None
        self._groups.pop("0", None) if group_id == "0" else None
        return hue_model.group_json(group, self._group_members(group_id))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.bridge_sim", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--config", help="YAML file with bridge/lights/groups/rate_limits (default: built-in seed)")
    parser.add_argument("--app-key", default="testkey", help="the application key the bridge accepts")
    args = parser.parse_args(argv)
    try:
        bridge = SimulatedBridge(config=args.config, app_key=args.app_key)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        print(f"bridge simulator: bad config {args.config}: {exc}", file=sys.stderr)
        return 2
    try:
        server = bridge.serve(args.host, args.port)
    except OSError as exc:
        print(f"bridge simulator: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    lights = ", ".join(bridge.lights())
    print(f"simulated Hue bridge on {server.url} (lights {lights}); admin API {server.url}/_sim/state", flush=True)
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
