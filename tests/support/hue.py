"""A bridge inventory and helpers for the unit tests that answer the bridge's HTTP with `responses`."""

from __future__ import annotations

import copy
from typing import Any

from huelights.bridge import HueBridge
from huelights.config import Settings, load_settings, parse_target

BRIDGE = "http://127.0.0.1:9"  # loopback, and nothing listens on the discard port: `responses` answers instead
APP_KEY = "test-app-key-0123456789abcdef"
API = f"{BRIDGE}/api/{APP_KEY}"

COLOUR_STATE = {
    "on": False,
    "bri": 254,
    "hue": 8000,
    "sat": 200,
    "effect": "none",
    "colormode": "hs",
    "reachable": True,
}
WHITE_STATE = {"on": False, "bri": 254, "reachable": True}

LIGHTS: dict[str, Any] = {
    "1": {"name": "Sofa", "type": "Extended color light", "state": dict(COLOUR_STATE)},
    "2": {"name": "Window", "type": "Extended color light", "state": dict(COLOUR_STATE)},
    "3": {"name": "Shelf", "type": "Color light", "state": dict(COLOUR_STATE)},
    "4": {"name": "Hall", "type": "Dimmable light", "state": dict(WHITE_STATE)},
}
GROUPS: dict[str, Any] = {
    "1": {"name": "Living room", "type": "Room", "lights": ["1", "2", "3", "4"]},
    "2": {"name": "Right wall", "type": "Zone", "lights": ["2", "3"]},
}


def lights_with(**states: dict[str, Any]) -> dict[str, Any]:
    """LIGHTS with some states changed: lights_with(**{"1": {"on": True}})."""
    lights = copy.deepcopy(LIGHTS)
    for light_id, changes in states.items():
        lights[light_id]["state"].update(changes)
    return lights


def all_lights(**changes: Any) -> dict[str, Any]:
    """LIGHTS with the same change applied to every light (colour-only keys only to colour lights)."""
    lights = copy.deepcopy(LIGHTS)
    for light in lights.values():
        for key, value in changes.items():
            if key in light["state"] or key in ("on", "reachable"):
                light["state"][key] = value
    return lights


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_settings(**overrides: Any) -> Settings:
    env = {"HUE_BRIDGE": BRIDGE, "HUE_APP_KEY": APP_KEY}
    settings = load_settings(env)
    fields = {"light_interval": 0.1, "group_interval": 1.0, **overrides}
    if isinstance(fields.get("target"), str):
        fields["target"] = parse_target(fields["target"])
    return Settings(**{**settings.__dict__, **fields})


def clocked_bridge(settings: Settings, clock: FakeClock) -> HueBridge:
    """A bridge client that waits on the fake clock and always backs off the full delay (jitter 1.0)."""
    return HueBridge(settings, clock=clock, sleep=clock.sleep, jitter=lambda: 1.0)


def make_bridge(clock: FakeClock, **overrides: Any) -> HueBridge:
    return clocked_bridge(make_settings(**overrides), clock)


def success(*pairs: tuple[str, Any]) -> list[dict[str, Any]]:
    return [{"success": {address: value}} for address, value in pairs]


def hue_error(hue_type: int, address: str = "/", description: str = "error") -> dict[str, Any]:
    return {"error": {"type": hue_type, "address": address, "description": description}}
