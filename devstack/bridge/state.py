"""The state of one simulated Hue bridge: lights, groups (group 0 included), app keys, faults, request log and
rate limiter, all behind one lock. No HTTP here: routes_v1 and admin answer requests on top of it.

    state.light("1")       the light's `state` dict (copy), e.g. {"on": False, ...}
    state.counts()         {"requests", "light_commands", "group_commands", "rate_limited", ...}
    state.requests()       [{"method", "path", "resource", "body", "time", "status"}, ...]
    state.lights() / state.snapshot()   every light's state / lights, groups, counts and active faults
    state.v2_document()    every CLIP v2 resource (resources_v2.py), built from the same lights and groups

Default seed: group 1 "Living room" (Room) = lights 1, 2 ("Extended color light": v2 prism), 3 ("Color
light", a Bloom: colour without v2 effects), 4 ("Dimmable light": white, no effects); group 0 = all
lights; every light on, warm white, powerup `safety`. V2_SHOWCASE_CONFIG adds a white-ambiance light whose
effects lack prism, a colour light with `effects` only and powerup `powerfail`, a zone and a second room.
Both APIs act on one state (how a loop shows in each: model.py). The faults are listed in
devstack/bridge/faults.py. The app key is never logged: v1 paths in the log read /api/<key>/..., v2 keys
travel in a header that is not logged.
"""

from __future__ import annotations

import collections
import copy
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from devstack.bridge import model, resources_v2
from devstack.bridge.faults import FAULT_KINDS, OUTAGE_MODES
from devstack.bridge.model import Group, JsonDict, Light

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
    # A real bridge serves CLIP v2 over HTTPS only; true lets a plain-HTTP simulator serve it too.
    "v2_over_http": False,
}
V2_SHOWCASE_CONFIG: JsonDict = {
    "lights": {
        **DEFAULT_CONFIG["lights"],
        "5": {"name": "Ambiance lamp", "type": "Color temperature light"},
        "6": {"name": "Desk strip", "type": "Extended color light", "effects_v2": False, "powerup": "powerfail"},
    },
    "groups": {
        **DEFAULT_CONFIG["groups"],
        "2": {"name": "Reading corner", "type": "Zone", "class": "Reading", "lights": ["2", "5"]},
        "3": {"name": "Study", "type": "Room", "class": "Office", "lights": ["6"]},
    },
}
# Client pacing measured at send time arrives slightly jittered; a real bridge is not that exact either.
RATE_WINDOW_SECONDS = 0.95
LINK_BUTTON_SECONDS = 30.0


class Listener(Protocol):
    """A server of this bridge: the "refuse" outage stops it listening and resumes it afterwards."""

    def pause(self) -> None: ...

    def resume(self) -> None: ...


@dataclass
class Ticket:
    """One /api request as the state admitted it: its log entry and the faults that apply to it."""

    entry: JsonDict
    outage: str | None
    latency: float
    failure: str | None
    release: threading.Event


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


class BridgeState:
    """One simulated bridge's state, faults and request log. Thread-safe: every method takes `lock`."""

    def __init__(self, config: JsonDict | str | Path | None = None, app_key: str = "testkey") -> None:
        self._config = load_config(config)
        # Public so that a request's route runs under it as a whole (it is reentrant: methods take it too).
        self.lock = threading.RLock()
        self._servers: list[Listener] = []
        self._app_key = app_key
        self._outage: str | None = None
        self._outage_timer: threading.Timer | None = None
        # Hanging requests wait on the event current when they arrived; ending an outage, reset or the
        # last server stopping sets it (they drop their connection) and puts a fresh one in its place.
        self._release = threading.Event()
        # A server option, not state: reset() keeps it.
        self._v2_over_http = bool(self._config.get("v2_over_http", False))
        self.reset()

    # ----- state -------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the seeded state: lights, keys, faults, rate limits and log."""
        with self.lock:
            cfg = self._config
            self.bridge_info: JsonDict = dict(cfg["bridge"])
            self._lights = {str(k): model.make_light(str(k), v or {}) for k, v in cfg["lights"].items()}
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
            # Group 0 (all lights) is a real group: it is not listed under /groups, but it keeps its action.
            self._group_zero = Group("0", "Group 0", list(self._lights), type="LightGroup", klass="Other")
            for group in [*self._groups.values(), self._group_zero]:
                unknown = [x for x in group.lights if x not in self._lights]
                if unknown:
                    raise ValueError(f"group {group.id} lists unknown lights {unknown}")
                group.action = model.initial_group_action(self.group_members(group.id))
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
            "requests_by_api": {"v1": 0, "v2": 0},
        }

    def light(self, light_id: str | int) -> JsonDict:
        """The light's `state` as a GET would show it (includes `reachable`)."""
        with self.lock:
            state: JsonDict = self._lights[str(light_id)].to_json()["state"]
            return state

    def lights(self) -> dict[str, JsonDict]:
        with self.lock:
            return {lid: light.to_json()["state"] for lid, light in self._lights.items()}

    def set_light_state(self, light_id: str | int, **state: Any) -> None:
        """Set state directly (test setup), bypassing the CLIP rules; `effect` sets the running effect."""
        with self.lock:
            light = self._lights[str(light_id)]
            light.state.update(copy.deepcopy(state))
            if "effect" in state:  # either API's name; v1 state shows the loop as colorloop (model.py)
                light.effect = "none" if state["effect"] == "no_effect" else str(state["effect"])
                light.state["effect"] = "colorloop" if light.effect in model.LOOP_EFFECTS else "none"

    def light_effect(self, light_id: str | int) -> str:
        """The effect running on the light as its last command named it: "none", "colorloop", "prism", ..."""
        with self.lock:
            light = self._lights[str(light_id)]
            light.settle()
            return light.effect

    def snapshot(self) -> JsonDict:
        """Lights (v1 JSON plus `v2_id`, the `effect` running, the `api` of the last command that reached the
        bulb and its `powerup` preset), groups, counts, faults."""
        with self.lock:
            ids = resources_v2.Ids(str(self.bridge_info["bridgeid"]))
            return {
                "lights": {
                    lid: {
                        **light.to_json(),
                        "v2_id": ids.of("light", lid),
                        "effect": light.effect,
                        "api": light.commanded_by,
                        "powerup": light.powerup,
                    }
                    for lid, light in self._lights.items()
                },
                "groups": {gid: self.group_json(gid) for gid in ["0", *self._groups]},
                "counts": self.counts(),
                "faults": {
                    "latency": self._latency,
                    "outage": self._outage,
                    "pending_failures": [kind for kind, _ in self._failures],
                    "rate_limits": {"enabled": self._rate_enabled, **self._rate_limits},
                },
                "v2_over_http": self._v2_over_http,
            }

    def requests(self) -> list[JsonDict]:
        with self.lock:
            return copy.deepcopy(self._log)

    def counts(self) -> JsonDict:
        with self.lock:
            return copy.deepcopy(self._counts)

    def clear_log(self) -> None:
        with self.lock:
            self._log.clear()
            self._counts = self._zero_counts()

    @property
    def app_keys(self) -> set[str]:
        with self.lock:
            return set(self._app_keys)

    # ----- faults ------------------------------------------------------------------------------------
    def set_latency(self, seconds: float) -> None:
        with self.lock:
            self._latency = max(0.0, float(seconds))

    def fail_next(self, count: int, kind: str, methods: list[str] | None = None) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown failure kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        only = frozenset(m.upper() for m in methods) if methods else None
        with self.lock:
            self._failures.extend([(kind, only)] * int(count))

    def start_outage(self, mode: str, seconds: float | None = None) -> None:
        if mode not in OUTAGE_MODES:
            raise ValueError(f"unknown outage mode {mode!r}; known: {', '.join(OUTAGE_MODES)}")
        with self.lock:
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
        with self.lock:
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
        with self.lock:
            self._lights[str(light_id)].reachable = bool(reachable)

    def power_cycle(self, light_id: str | int, delayed_revert: bool = False) -> None:
        with self.lock:
            self._lights[str(light_id)].power_cycle(delayed_revert)

    @property
    def v2_over_http(self) -> bool:
        """Whether CLIP v2 is served over plain HTTP too (a real bridge: HTTPS only)."""
        with self.lock:
            return self._v2_over_http

    def set_v2_over_http(self, allowed: bool) -> None:
        with self.lock:
            self._v2_over_http = bool(allowed)

    def press_link_button(self) -> None:
        with self.lock:
            self._link_pressed_at = time.monotonic()

    def set_rate_limits(
        self,
        enabled: bool | None = None,
        light_commands_per_second: int | None = None,
        group_commands_per_second: int | None = None,
    ) -> None:
        with self.lock:
            if enabled is not None:
                self._rate_enabled = bool(enabled)
            if light_commands_per_second is not None:
                self._rate_limits["light"] = int(light_commands_per_second)
            if group_commands_per_second is not None:
                self._rate_limits["group"] = int(group_commands_per_second)

    # ----- servers --------------------------------------------------------------------------------------
    def attach(self, server: Listener) -> None:
        with self.lock:
            self._servers.append(server)

    def detach(self, server: Listener) -> None:
        """The server stopped: when it was the last one, hanging requests drop their connection."""
        with self.lock:
            if server in self._servers:
                self._servers.remove(server)
            if not self._servers:
                self._release_hanging()

    def _release_hanging(self) -> None:
        self._release.set()
        self._release = threading.Event()

    # ----- requests ------------------------------------------------------------------------------------
    def admit(self, method: str, path: str, body: bytes) -> Ticket:
        """Log one /api or /clip/v2 request and take the fault it meets (an outage, or the next queued failure)."""
        with self.lock:
            entry = self._log_request(method, path, body)
            failure = self._next_failure(method) if self._outage is None else None
            return Ticket(entry, self._outage, self._latency, failure, self._release)

    def answered(self, ticket: Ticket, status: int) -> None:
        with self.lock:
            ticket.entry["status"] = status

    def _log_request(self, method: str, path: str, body: bytes) -> JsonDict:
        parts = path.rstrip("/").split("/")
        api = "v2" if path.startswith("/clip/v2/") else "v1"
        if api == "v2":  # the key is in a header: the path has nothing to mask
            resource, masked = "/" + "/".join(parts[3:]), path
        else:
            resource = "/" + "/".join(parts[3:]) if len(parts) > 2 else "/"
            masked = "/".join(["", "api", "<key>", *parts[3:]]) if len(parts) > 2 and parts[2] != "config" else path
        try:
            parsed: Any = json.loads(body) if body else None
        except ValueError:
            parsed = body.decode("utf-8", "replace")
        entry = {"method": method, "path": masked, "resource": resource, "body": parsed, "time": time.time()}
        entry["api"] = api
        entry["status"] = None  # set when answered
        self._log.append(entry)
        self._counts["requests"] += 1
        self._counts["requests_by_api"][api] += 1
        return entry

    def _next_failure(self, method: str) -> str | None:
        for index, (kind, methods) in enumerate(self._failures):
            if methods is None or method in methods:
                del self._failures[index]
                self._counts["injected_failures"] += 1
                return kind
        return None

    # ----- what the CLIP routes read and change (call them holding `lock`) ---------------------------------
    def take_rate_slot(self, kind: str) -> bool:
        """Count one "light" or "group" command in the sliding window; False (and counted) when over the limit."""
        with self.lock:
            if not self._rate_enabled:
                return True
            now = time.monotonic()
            recent = self._recent[kind]
            while recent and now - recent[0] >= RATE_WINDOW_SECONDS:
                recent.popleft()
            if len(recent) >= self._rate_limits[kind]:
                self._counts["rate_limited"] += 1
                return False
            recent.append(now)
            return True

    def link_button_active(self) -> bool:
        with self.lock:
            pressed = self._link_pressed_at
            return pressed is not None and time.monotonic() - pressed < LINK_BUTTON_SECONDS

    def add_app_key(self, key: str) -> None:
        with self.lock:
            self._app_keys.add(key)

    def is_authorized(self, key: str) -> bool:
        with self.lock:
            return key in self._app_keys

    def count_read(self) -> None:
        with self.lock:
            self._counts["reads"] += 1

    def count_command(self, kind: str, target_id: str) -> None:
        with self.lock:
            self._counts[f"{kind}_commands"] += 1
            by_id = self._counts[f"{kind}_commands_by_id"]
            by_id[target_id] = by_id.get(target_id, 0) + 1

    def light_models(self) -> dict[str, Light]:
        """The live light objects (not copies): hold `lock` while using them."""
        return self._lights

    def group_ids(self) -> list[str]:
        """The groups /groups lists: every group but group 0."""
        with self.lock:
            return list(self._groups)

    def group_model(self, group_id: str) -> Group | None:
        """The live group object, group 0 included: hold `lock` while using it."""
        return self._group_zero if group_id == "0" else self._groups.get(group_id)

    def group_members(self, group_id: str) -> list[Light]:
        ids = list(self._lights) if group_id == "0" else self._groups[group_id].lights
        return [self._lights[i] for i in ids]

    def v2_document(self) -> list[JsonDict]:
        """Every CLIP v2 resource, as `GET /clip/v2/resource` answers (resources_v2.py)."""
        with self.lock:
            groups = [self._group_zero, *self._groups.values()]
            return resources_v2.document(self.bridge_info, self._lights, groups)

    def group_json(self, group_id: str) -> JsonDict:
        with self.lock:
            group = self.group_model(group_id)
            if group is None:
                raise KeyError(group_id)
            return model.group_json(group, self.group_members(group_id))
