"""Shared fixtures: settings for a loopback bridge address, a fake clock, and bridge inventories."""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest

from huelights.config import Settings, Target, load_settings

# A developer who follows the setup guide has HUE_BRIDGE, HUE_APP_KEY, TRIGGER_TOKEN ... exported. No test
# may see them: the processes the tests start would inherit them and drive the real bridge.
for _name in list(os.environ):
    if _name.startswith("HUE_") or _name in {"TRIGGER_TOKEN", "MAX_BODY_BYTES", "EXTERNAL_COOLDOWN_SECONDS",
                                             "CLOUD_RUN_TIMEOUT_SECONDS", "DEVSTACK_PORT_OFFSET"}:  # fmt: skip
        del os.environ[_name]

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


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_settings(**overrides: Any) -> Settings:
    env = {"HUE_BRIDGE": BRIDGE, "HUE_APP_KEY": APP_KEY}
    settings = load_settings(env)
    fields = {"light_interval": 0.1, "group_interval": 1.0, **overrides}
    if isinstance(fields.get("target"), str):
        fields["target"] = _target(fields["target"])
    return Settings(**{**settings.__dict__, **fields})


def _target(text: str) -> Target:
    from huelights.config import parse_target

    return parse_target(text)


def success(*pairs: tuple[str, Any]) -> list[dict[str, Any]]:
    return [{"success": {address: value}} for address, value in pairs]


def hue_error(hue_type: int, address: str = "/", description: str = "error") -> dict[str, Any]:
    return {"error": {"type": hue_type, "address": address, "description": description}}


@pytest.fixture(autouse=True)
def _restore_library_logging() -> Any:
    """create_function sets up the library's log handlers once per process, as it should in a pod; in a
    test process that would leak retry warnings into later tests that read stderr (the CLI's)."""
    import logging

    loggers = [logging.getLogger(name) for name in ("huelights", "huelights.invocation")]
    saved = [(logger, list(logger.handlers), logger.level, logger.propagate) for logger in loggers]
    yield
    for logger, handlers, level, propagate in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
