"""In-memory lights and groups of a Hue bridge, with CLIP v1 command semantics (no HTTP here).

The rules a client trips over are modelled on purpose (as the Hue developer documentation of CLIP v1 describes them):
one response item per attribute; error 6 for attributes a light type lacks (the rest still applies);
error 7 for bad values; error 201 for brightness/colour/effect on an off light unless the same body has
`on: true`; group actions are broadcasts, so members silently ignore what they cannot do; a power cycle
loses the effect; `reachable` is advisory and commands to an unreachable light are acknowledged but
never arrive.

One light, two APIs (CLIP v2 resources are built from these objects in resources_v2.py). `Light.effect` is
the effect running now, as the last command named it: "none", "colorloop" (v1) or a v2 effect ("prism",
"candle", ...). Hue light firmware renamed its colour loop to prism, so the simulator treats v1 colorloop
and v2 prism as the same loop: v1 shows `effect: "colorloop"` for either, v2 shows `prism` for either on a
light that offers prism (a light without prism, e.g. the Bloom, shows no `effects` in v2 at all, so its
v1 colorloop is visible through v1 only). Other v2 effects (candle, ...) show as `effect: "none"` in v1,
which has no word for them. `commanded_by` is the API ("v1" / "v2") of the last command that reached the
bulb. No real-bridge source says how one API shows the other's loop; this mapping is the simulator's
choice. A power cycle ends any effect and applies the light's powerup preset (`safety`: the power-on
state; `powerfail`: as before the cut, without the effect; `last_on_state`: likewise, switched on).
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_unit_interval(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


VALIDATORS: dict[str, Callable[[Any], bool]] = {
    "on": lambda v: isinstance(v, bool),
    "bri": lambda v: _is_int(v) and 1 <= v <= 254,
    "hue": lambda v: _is_int(v) and 0 <= v <= 65535,
    "sat": lambda v: _is_int(v) and 0 <= v <= 254,
    "ct": lambda v: _is_int(v) and 153 <= v <= 500,
    "xy": lambda v: isinstance(v, list) and len(v) == 2 and all(_is_unit_interval(c) for c in v),
    "effect": lambda v: isinstance(v, str) and v in ("none", "colorloop"),
    "alert": lambda v: isinstance(v, str) and v in ("none", "select", "lselect"),
    "transitiontime": lambda v: _is_int(v) and 0 <= v <= 65535,
    "bri_inc": lambda v: _is_int(v) and -254 <= v <= 254,
}
# Attributes that an off light refuses with error 201 unless the same body switches it on.
LOCKED_WHILE_OFF = frozenset({"bri", "bri_inc", "hue", "sat", "xy", "ct", "effect"})
# Command-only attributes: acknowledged, never stored in `state`.
TRANSIENT = frozenset({"transitiontime", "bri_inc"})
# How long after a command a late-booting bulb (power cycle with delayed revert) falls back to its
# power-on state: long enough that a read-back straight after the command still sees the command.
POWER_ON_DELAY_SECONDS = 0.4
# The effect values of a real bridge's lights (tests/data/hue_v2): a gamut-C colour light, a white-ambiance light.
COLOUR_EFFECTS = (
    "no_effect", "candle", "fire", "prism", "sparkle", "opal", "glisten", "underwater", "cosmos", "sunbeam", "enchant",
)  # fmt: skip
AMBIANCE_EFFECTS = ("no_effect", "candle", "sparkle", "glisten")
LOOP_EFFECTS = frozenset({"colorloop", "prism"})
# `custom` (the fourth preset of a real bridge) is not simulated: a seed's `power_on` state plays its part.
POWERUP_PRESETS = ("safety", "powerfail", "last_on_state")

_COLOUR = ("on", "bri", "hue", "sat", "xy", "effect", "alert", "transitiontime", "bri_inc")
# `effects`: the v2 effect values a light of this type offers by default (a light's config can override them);
# `archetype`: its v2 metadata archetype. A Bloom (LLC011) is a colour light without v2 effects.
LIGHT_TYPES: dict[str, JsonDict] = {
    "Extended color light": {
        "modelid": "LCT015",
        "product": "Hue color lamp",
        "attrs": (*_COLOUR, "ct"),
        "effects": COLOUR_EFFECTS,
        "archetype": "sultan_bulb",
    },
    "Color light": {
        "modelid": "LLC011",
        "product": "Hue bloom",
        "attrs": _COLOUR,
        "effects": (),
        "archetype": "hue_bloom",
    },
    "Color temperature light": {
        "modelid": "LTW010",
        "product": "Hue ambiance lamp",
        "attrs": ("on", "bri", "ct", "alert", "transitiontime", "bri_inc"),
        "effects": AMBIANCE_EFFECTS,
        "archetype": "sultan_bulb",
    },
    "Dimmable light": {
        "modelid": "LWB010",
        "product": "Hue white lamp",
        "attrs": ("on", "bri", "alert", "transitiontime", "bri_inc"),
        "effects": (),
        "archetype": "classic_bulb",
    },
    "On/Off plug-in unit": {
        "modelid": "LOM001",
        "product": "Hue Smart plug",
        "attrs": ("on", "alert"),
        "effects": (),
        "archetype": "plug",
    },
}
GROUP_ATTRS = frozenset(VALIDATORS) | {"scene"}


def hue_error(error_type: int, address: str, description: str) -> JsonDict:
    return {"error": {"type": error_type, "address": address, "description": description}}


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def power_on_state(light_type: str) -> JsonDict:
    """What a bulb shows after mains power returns: the Hue default 'safety' startup (warm white, full)."""
    attrs = LIGHT_TYPES[light_type]["attrs"]
    state: JsonDict = {"on": True}
    if "bri" in attrs:
        state["bri"] = 254
    if "hue" in attrs:
        state.update(hue=8417, sat=140, effect="none", xy=[0.4573, 0.41], colormode="xy")
    if "ct" in attrs:
        state.update(ct=366, colormode="ct")
    state["alert"] = "none"
    return state


@dataclass
class Light:
    id: str
    name: str
    type: str
    state: JsonDict
    power_on: JsonDict
    reachable: bool = True
    # Set by a power cycle with delayed revert: the next command is applied, and a moment later
    # (POWER_ON_DELAY_SECONDS) the bulb's power-on setting wins again, as with a bulb that finishes
    # booting after the command reached it. Reads before that moment still show the command's state.
    pending_revert: bool = False
    revert_at: float | None = None
    # Commands that reached the bulb (an unreachable bulb receives none).
    delivered: int = 0
    # The effect running now and the API of the last command that reached the bulb (module docstring).
    effect: str = "none"
    commanded_by: str | None = None
    # CLIP v2 traits: the effect values it offers (empty: no `effects` in v2), whether it also shows
    # `effects_v2`, its powerup preset and its metadata archetype.
    effect_values: tuple[str, ...] = ()
    effects_v2: bool = True
    powerup: str = "safety"
    archetype: str = "classic_bulb"
    # What the bulb comes back in after the power cycle under way (set by power_cycle for a delayed revert).
    boot_state: JsonDict = field(default_factory=dict)

    @property
    def attrs(self) -> tuple[str, ...]:
        attrs: tuple[str, ...] = LIGHT_TYPES[self.type]["attrs"]
        return attrs

    def to_json(self) -> JsonDict:
        self.settle()
        kind = LIGHT_TYPES[self.type]
        state = copy.deepcopy(self.state)
        state["mode"] = "homeautomation"
        state["reachable"] = self.reachable
        capabilities: JsonDict = {"certified": True, "control": {}}
        if "ct" in self.attrs:
            capabilities["control"]["ct"] = {"min": 153, "max": 500}
        if "hue" in self.attrs:
            capabilities["control"]["colorgamuttype"] = "C"
        return {
            "state": state,
            "type": self.type,
            "name": self.name,
            "modelid": kind["modelid"],
            "manufacturername": "Signify Netherlands B.V.",
            "productname": kind["product"],
            "capabilities": capabilities,
            "config": {"archetype": "classicbulb", "startup": {"mode": "safety", "configured": True}},
            "uniqueid": f"00:17:88:01:00:00:00:{int(self.id) % 256:02x}-0b",
            "swversion": "1.104.2",
        }

    def receive(self, changes: JsonDict, api: str = "v1") -> None:
        """Apply changes that reached the bulb over Zigbee (never called for an unreachable one). `effect`
        takes v1 ("none", "colorloop") or v2 names ("no_effect", "prism", ...); v1 `state.effect` follows."""
        if not self.reachable:
            return
        self.settle()
        self.delivered += 1
        self.commanded_by = api
        if "effect" in changes:
            named = changes["effect"]
            self.effect = "none" if named == "no_effect" else str(named)
            changes = {**changes, "effect": "colorloop" if self.effect in LOOP_EFFECTS else "none"}
        for name, value in changes.items():
            if name == "bri_inc" and "bri" in self.state:
                self.state["bri"] = min(254, max(1, self.state["bri"] + value))
            elif name not in TRANSIENT and name in self.attrs:
                self.state[name] = copy.deepcopy(value)
                if name in ("hue", "sat"):
                    self.state["colormode"] = "hs"
                elif name in ("xy", "ct"):
                    self.state["colormode"] = name
        if self.pending_revert:
            self.pending_revert = False
            self.revert_at = time.monotonic() + POWER_ON_DELAY_SECONDS

    def settle(self) -> None:
        """Apply a delayed power-on revert whose moment has come."""
        if self.revert_at is not None and time.monotonic() >= self.revert_at:
            self.revert_at = None
            self.state = copy.deepcopy(self.boot_state)
            self.effect = "none"

    def power_cycle(self, delayed_revert: bool = False) -> None:
        self.boot_state = self.powerup_state()
        self.state = copy.deepcopy(self.boot_state)
        self.effect = "none"
        self.reachable = True
        self.pending_revert = delayed_revert
        self.revert_at = None

    def powerup_state(self) -> JsonDict:
        """The state the bulb boots into under its powerup preset; no preset keeps an effect."""
        if self.powerup in ("powerfail", "last_on_state"):
            state = copy.deepcopy(self.state)
            if "effect" in state:
                state["effect"] = "none"
            if self.powerup == "last_on_state":
                state["on"] = True
            return state
        return copy.deepcopy(self.power_on)

    def offers(self, effect: str) -> bool:
        return effect in self.effect_values

    def v2_effect(self) -> str:
        """The effect v2 shows as running: the loop is prism where offered; what v2 cannot name is no_effect."""
        if self.effect in LOOP_EFFECTS and self.offers("prism"):
            return "prism"
        return self.effect if self.offers(self.effect) else "no_effect"


def _yaml_keys(values: dict[Any, Any]) -> JsonDict:
    # YAML 1.1 reads an unquoted `on:` key as the boolean True; a bridge.yaml author means "on".
    return {("on" if key is True else str(key)): value for key, value in values.items()}


def make_light(light_id: str, spec: JsonDict) -> Light:
    light_type = spec.get("type", "Extended color light")
    if light_type not in LIGHT_TYPES:
        raise ValueError(f"light {light_id}: unknown type {light_type!r}; known: {sorted(LIGHT_TYPES)}")
    attrs = LIGHT_TYPES[light_type]["attrs"]
    power_on = {**power_on_state(light_type), **_yaml_keys(spec.get("power_on", {}))}
    state = {**power_on_state(light_type), **_yaml_keys(spec.get("state", {}))}
    state = {k: v for k, v in state.items() if k in attrs or k == "colormode"}
    effects = spec.get("effects", LIGHT_TYPES[light_type]["effects"])
    if not isinstance(effects, list | tuple) or not all(isinstance(e, str) for e in effects):
        raise ValueError(f"light {light_id}: effects must be a list of v2 effect names")
    if effects and "no_effect" not in effects:
        effects = ["no_effect", *effects]
    powerup = str(spec.get("powerup", "safety"))
    if powerup not in POWERUP_PRESETS:
        raise ValueError(f"light {light_id}: unknown powerup {powerup!r}; known: {', '.join(POWERUP_PRESETS)}")
    light = Light(
        id=light_id,
        name=spec.get("name", f"Light {light_id}"),
        type=light_type,
        state=state,
        power_on=power_on,
        reachable=bool(spec.get("reachable", True)),
        effect_values=tuple(effects),
        effects_v2=bool(spec.get("effects_v2", True)),
        powerup=powerup,
        archetype=str(spec.get("archetype", LIGHT_TYPES[light_type]["archetype"])),
    )
    light.effect = str(state.get("effect", "none"))
    return light


@dataclass
class Group:
    id: str
    name: str
    lights: list[str]
    type: str = "Room"
    klass: str = "Other"
    action: JsonDict = field(default_factory=dict)


def validate_command(body: JsonDict, address: str, supported: Any) -> tuple[list[JsonDict], JsonDict]:
    """Check each attribute: returns error items and the attributes that passed, in body order."""
    errors: list[JsonDict] = []
    accepted: JsonDict = {}
    for name, value in body.items():
        if name not in supported:
            errors.append(hue_error(6, f"{address}/{name}", f"parameter, {name}, not available"))
        elif name in VALIDATORS and not VALIDATORS[name](value):
            errors.append(hue_error(7, f"{address}/{name}", f"invalid value, {_shown(value)}, for parameter, {name}"))
        else:
            accepted[name] = value
    return errors, accepted


def put_light_state(light: Light, body: JsonDict) -> list[JsonDict]:
    address = f"/lights/{light.id}/state"
    errors, accepted = validate_command(body, address, light.attrs)
    switching_on = accepted.get("on") is True
    if not light.state.get("on") and not switching_on:
        for name in [n for n in accepted if n in LOCKED_WHILE_OFF]:
            del accepted[name]
            errors.append(
                hue_error(201, f"{address}/{name}", f"parameter, {name}, is not modifiable. Device is set to off.")
            )
    light.receive(accepted)
    # The bridge answers in body order; errors and successes interleave per attribute.
    by_name = {item["error"]["address"].rsplit("/", 1)[1]: item for item in errors}
    return [by_name[name] if name in by_name else {"success": {f"{address}/{name}": accepted[name]}} for name in body]


def put_group_action(group: Group, lights: list[Light], body: JsonDict) -> list[JsonDict]:
    address = f"/groups/{group.id}/action"
    errors, accepted = validate_command(body, address, GROUP_ATTRS)
    if "scene" in accepted:  # no scenes are simulated
        scene = accepted.pop("scene")
        errors.append(hue_error(7, f"{address}/scene", f"invalid value, {_shown(scene)}, for parameter, scene"))
    switching_on = accepted.get("on") is True
    for light in lights:
        # A broadcast: each bulb takes what it can; an off bulb ignores dimming/colour unless switched on.
        allowed = {
            name: value
            for name, value in accepted.items()
            if name in light.attrs and (light.state.get("on") or switching_on or name not in LOCKED_WHILE_OFF)
        }
        light.receive(allowed)
    group.action.update({k: v for k, v in accepted.items() if k not in TRANSIENT})
    by_name = {item["error"]["address"].rsplit("/", 1)[1]: item for item in errors}
    return [by_name[name] if name in by_name else {"success": {f"{address}/{name}": accepted[name]}} for name in body]


def initial_group_action(lights: list[Light]) -> JsonDict:
    """A group's `action` before any group command: the richest member's state, as the bridge shows."""
    action = power_on_state("Extended color light")
    richest = max(lights, key=lambda light: len(light.attrs), default=None)
    if richest is not None:
        action.update({k: v for k, v in richest.state.items() if k in action})
    return action


def group_json(group: Group, lights: list[Light]) -> JsonDict:
    on = [light.state.get("on", False) for light in lights]
    return {
        "name": group.name,
        "lights": list(group.lights),
        "sensors": [],
        "type": group.type,
        "state": {"all_on": bool(on) and all(on), "any_on": any(on)},
        "recycle": False,
        "class": group.klass,
        "action": copy.deepcopy(group.action),
    }
