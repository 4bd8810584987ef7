"""The simulated bridge's CLIP v2 view of its lights and groups (no HTTP here; routes_v2 serves it).

Shaped like a real bridge's `GET /clip/v2/resource` (tests/data/hue_v2): each light is a service of a
device that also owns a zigbee_connectivity; a v1 Room is a `room` whose children are devices, a v1 Zone
is a `zone` whose children are lights; group 0 is the `bridge_home`; each room, zone and the home has a
grouped_light with the owner's `id_v1`; the bridge is a device with a `bridge` service. UUIDs are stable:
derived from the bridge id, the resource type and the v1 id, so they survive a restart and a reset.

PUT bodies are checked like a real bridge checks them (hue-api-v2 notes §4, §5): unknown fields and bad
values are refused whole (`V2Refused`, HTTP 400), an effect is accepted only from the light's own
`effect_values`, and a grouped_light takes no effect at all. A command to an unreachable light, or an
effect, brightness or colour sent to an off light without `on: true` in the same body, is accepted with a
"may not have effect" warning (HTTP 207) and does not change the light. The 207 for an unreachable light
is a real bridge's (openhab-addons#15511); the "soft off" answer for an off light follows the bridge's
text for a soft-off grouped_light (home-assistant/core#68231), as no source shows a light's own answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from devstack.bridge.model import LIGHT_TYPES, POWERUP_PRESETS, Group, JsonDict, Light

# Any fixed namespace works: it only has to stay the same so that ids are stable across starts.
_NAMESPACE = uuid.UUID("6c1f6a3e-2f0e-4c52-9a0b-5f3b1f0d7e21")
RESOURCE_ORDER = ("device", "bridge", "light", "zigbee_connectivity", "room", "zone", "bridge_home", "grouped_light")
MIREK_RANGE = (153, 500)
GAMUT_C = {
    "red": {"x": 0.6915, "y": 0.3083},
    "green": {"x": 0.17, "y": 0.7},
    "blue": {"x": 0.1532, "y": 0.0475},
}
LIGHT_PUT_FIELDS = frozenset(
    {"on", "dimming", "color", "color_temperature", "effects", "effects_v2", "dynamics", "alert", "powerup"}
)
# GroupedLightPut of the spec: no effects.
GROUPED_PUT_FIELDS = frozenset({"on", "dimming", "color", "color_temperature", "dynamics", "alert", "signaling"})


class V2Refused(Exception):
    """A PUT the bridge refuses as a whole: HTTP 400 with this description."""


def v2_id(bridge_id: str, rtype: str, v1_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{bridge_id.lower()}/{rtype}/{v1_id}"))


def ref(rid: str, rtype: str) -> JsonDict:
    return {"rid": rid, "rtype": rtype}


@dataclass(frozen=True)
class Ids:
    """The v2 ids of one bridge: every resource's UUID from its type and v1 id."""

    bridge_id: str

    def of(self, rtype: str, v1_id: str = "") -> str:
        return v2_id(self.bridge_id, rtype, v1_id)


# ----- GET: documents from the v1 model --------------------------------------------------------------------


def light_resource(light: Light, ids: Ids) -> JsonDict:
    light.settle()
    state = light.state
    doc: JsonDict = {
        "id": ids.of("light", light.id),
        "id_v1": f"/lights/{light.id}",
        "owner": ref(ids.of("device", light.id), "device"),
        "metadata": {"name": light.name, "archetype": light.archetype},
        "on": {"on": bool(state.get("on"))},
        "mode": "normal",
        "alert": {"action_values": ["breathe"]},
        "signaling": {"signal_values": ["no_signal", "on_off"]},
        "dynamics": {"status": "none", "status_values": ["none"], "speed": 0.0, "speed_valid": False},
        "type": "light",
    }
    if "bri" in light.attrs:
        doc["dimming"] = {"brightness": round(state.get("bri", 254) * 100 / 254, 2), "min_dim_level": 0.2}
    if "ct" in light.attrs:
        ct_mode = state.get("colormode") == "ct"
        doc["color_temperature"] = {
            "mirek": state.get("ct") if ct_mode else None,
            "mirek_valid": ct_mode,
            "mirek_schema": {"mirek_minimum": MIREK_RANGE[0], "mirek_maximum": MIREK_RANGE[1]},
        }
    if "xy" in light.attrs:
        x, y = state.get("xy", [0.4573, 0.41])
        doc["color"] = {"xy": {"x": x, "y": y}, "gamut": GAMUT_C, "gamut_type": "C"}
    if light.effect_values:
        values, running = list(light.effect_values), light.v2_effect()
        doc["effects"] = {"status": running, "status_values": values, "effect_values": values}
        if light.effects_v2:
            doc["effects_v2"] = {
                "action": {"effect_values": values},
                "status": {"effect": running, "effect_values": values},
            }
    doc["powerup"] = powerup_json(light.powerup)
    return doc


def powerup_json(preset: str) -> JsonDict:
    """The preset as a real bridge shows it (fixture): `safety` spelled out, the others `previous`."""
    if preset == "safety":
        return {
            "preset": "safety",
            "configured": True,
            "on": {"mode": "on", "on": {"on": True}},
            "dimming": {"mode": "dimming", "dimming": {"brightness": 100.0}},
            "color": {"mode": "color_temperature", "color_temperature": {"mirek": 366}},
        }
    on: JsonDict = {"mode": "on", "on": {"on": True}} if preset == "last_on_state" else {"mode": "previous"}
    return {
        "preset": preset,
        "configured": True,
        "on": on,
        "dimming": {"mode": "previous"},
        "color": {"mode": "previous"},
    }


def device_resource(light: Light, ids: Ids, model_id: str, product: str) -> JsonDict:
    return {
        "id": ids.of("device", light.id),
        "id_v1": f"/lights/{light.id}",
        "metadata": {"name": light.name, "archetype": light.archetype},
        "product_data": {
            "model_id": model_id,
            "manufacturer_name": "Signify Netherlands B.V.",
            "product_name": product,
            "product_archetype": light.archetype,
            "certified": True,
            "software_version": "1.104.2",
        },
        "identify": {},
        "services": [
            ref(ids.of("light", light.id), "light"),
            ref(ids.of("zigbee_connectivity", light.id), "zigbee_connectivity"),
        ],
        "type": "device",
    }


def connectivity_resource(light: Light, ids: Ids) -> JsonDict:
    return {
        "id": ids.of("zigbee_connectivity", light.id),
        "id_v1": f"/lights/{light.id}",
        "owner": ref(ids.of("device", light.id), "device"),
        "status": "connected" if light.reachable else "connectivity_issue",
        "mac_address": f"00:17:88:01:00:00:00:{int(light.id) % 256:02x}",
        "type": "zigbee_connectivity",
    }


def bridge_resources(info: JsonDict, ids: Ids) -> list[JsonDict]:
    """The bridge's own device and its `bridge` service (`bridge_id`: lower case, as printed on the device)."""
    device: JsonDict = {
        "id": ids.of("device", "bridge"),
        "metadata": {"name": str(info["name"]), "archetype": "bridge_v2"},
        "product_data": {
            "model_id": str(info["modelid"]),
            "manufacturer_name": "Signify Netherlands B.V.",
            "product_name": "Hue Bridge",
            "product_archetype": "bridge_v2",
            "certified": True,
            "software_version": str(info["swversion"]),
        },
        "identify": {},
        "services": [ref(ids.of("bridge"), "bridge")],
        "type": "device",
    }
    bridge = {
        "id": ids.of("bridge"),
        "owner": ref(device["id"], "device"),
        "bridge_id": str(info["bridgeid"]).lower(),
        "time_zone": {"time_zone": "Europe/Amsterdam"},
        "type": "bridge",
    }
    return [device, bridge]


def archetype(klass: str) -> str:
    return klass.lower().replace(" ", "_")


def group_resource(group: Group, ids: Ids) -> JsonDict | None:
    """A v1 Room as `room` (children: devices), a v1 Zone as `zone` (children: lights); other group types
    (LightGroup, Entertainment) have no room or zone in v2."""
    kind = {"Room": "room", "Zone": "zone"}.get(group.type)
    if kind is None:
        return None
    child = "device" if kind == "room" else "light"
    return {
        "id": ids.of(kind, group.id),
        "id_v1": f"/groups/{group.id}",
        "metadata": {"name": group.name, "archetype": archetype(group.klass)},
        "children": [ref(ids.of(child, light_id), child) for light_id in group.lights],
        "services": [ref(ids.of("grouped_light", group.id), "grouped_light")],
        "type": kind,
    }


def bridge_home_resource(rooms_and_zones: list[JsonDict], lights: Iterable[Light], ids: Ids) -> JsonDict:
    """Group 0: the rooms, and the devices in no room (the bridge's own device included)."""
    rooms = [item for item in rooms_and_zones if item["type"] == "room"]
    in_rooms = {child["rid"] for room in rooms for child in room["children"]}
    devices = [ids.of("device", light.id) for light in lights]
    loose = [rid for rid in [*devices, ids.of("device", "bridge")] if rid not in in_rooms]
    return {
        "id": ids.of("bridge_home"),
        "id_v1": "/groups/0",
        "children": [ref(room["id"], "room") for room in rooms] + [ref(rid, "device") for rid in loose],
        "services": [ref(ids.of("grouped_light", "0"), "grouped_light")],
        "type": "bridge_home",
    }


def grouped_light_resource(group_id: str, owner: JsonDict, members: list[Light], ids: Ids) -> JsonDict:
    """`on` is true when any member is on; `dimming` the mean brightness of the members that are on."""
    lit = [light for light in members if light.state.get("on")]
    brightness = [light.state.get("bri", 254) * 100 / 254 for light in lit]
    return {
        "id": ids.of("grouped_light", group_id),
        "id_v1": f"/groups/{group_id}",
        "owner": ref(owner["id"], owner["type"]),
        "on": {"on": bool(lit)},
        "dimming": {"brightness": round(sum(brightness) / len(brightness), 2) if brightness else 0.0},
        "alert": {"action_values": ["breathe"]},
        "signaling": {"signal_values": ["no_signal", "on_off"]},
        "type": "grouped_light",
    }


def document(info: JsonDict, lights: dict[str, Light], groups: list[Group]) -> list[JsonDict]:
    """Every resource, as `GET /clip/v2/resource` lists them; `groups` includes group 0 (the home)."""
    ids = Ids(str(info["bridgeid"]))
    items: list[JsonDict] = bridge_resources(info, ids)
    for light in lights.values():
        kind = LIGHT_TYPES[light.type]
        items += [
            device_resource(light, ids, kind["modelid"], kind["product"]),
            light_resource(light, ids),
            connectivity_resource(light, ids),
        ]
    grouped = [doc for group in groups if group.id != "0" and (doc := group_resource(group, ids)) is not None]
    home = bridge_home_resource(grouped, lights.values(), ids)
    items += [*grouped, home]
    owners = {"0": home, **{item["id_v1"].rsplit("/", 1)[1]: item for item in grouped}}
    for group in groups:
        if group.id in owners:
            members = [lights[i] for i in group.lights]
            items.append(grouped_light_resource(group.id, owners[group.id], members, ids))
    order = {rtype: index for index, rtype in enumerate(RESOURCE_ORDER)}
    return sorted(items, key=lambda item: order[item["type"]])


# ----- PUT: bodies checked, then applied -------------------------------------------------------------------


def _number(value: Any, low: float, high: float) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high


def _object(body: JsonDict, name: str, keys: frozenset[str]) -> JsonDict:
    value = body[name]
    if not isinstance(value, dict) or not value or set(value) - keys:
        raise V2Refused(f"invalid value for property {name}: expected an object with {', '.join(sorted(keys))}")
    return value


def _on(body: JsonDict) -> bool:
    value = _object(body, "on", frozenset({"on"})).get("on")
    if not isinstance(value, bool):
        raise V2Refused("invalid value for property on.on: expected a boolean")
    return value


def _brightness(body: JsonDict) -> int:
    value = _object(body, "dimming", frozenset({"brightness"})).get("brightness")
    if not isinstance(value, int | float) or not _number(value, 0, 100):
        raise V2Refused("invalid value for property dimming.brightness: expected a number 0-100")
    return max(1, round(value * 254 / 100))


def _xy(body: JsonDict) -> list[float]:
    xy = _object(body, "color", frozenset({"xy"})).get("xy")
    if not isinstance(xy, dict) or set(xy) != {"x", "y"} or not all(_number(v, 0, 1) for v in xy.values()):
        raise V2Refused("invalid value for property color.xy: expected {x, y} within 0-1")
    return [float(xy["x"]), float(xy["y"])]


def _mirek(body: JsonDict) -> int:
    mirek = _object(body, "color_temperature", frozenset({"mirek"})).get("mirek")
    if not isinstance(mirek, int) or isinstance(mirek, bool) or not MIREK_RANGE[0] <= mirek <= MIREK_RANGE[1]:
        raise V2Refused(
            f"invalid value for property color_temperature.mirek: expected {MIREK_RANGE[0]}-{MIREK_RANGE[1]}"
        )
    return mirek


def _effect(body: JsonDict, light: Light) -> str:
    if "effects_v2" in body:
        action = _object(body, "effects_v2", frozenset({"action"})).get("action")
        if not isinstance(action, dict) or "effect" not in action or set(action) - {"effect", "parameters"}:
            raise V2Refused("invalid value for property effects_v2.action: expected {effect, parameters}")
        effect = action["effect"]
    else:
        effect = _object(body, "effects", frozenset({"effect"})).get("effect")
    if not isinstance(effect, str) or not light.offers(effect):
        offered = ", ".join(light.effect_values) or "none"
        raise V2Refused(f"invalid value {effect!r} for property effect: this light offers {offered}")
    return effect


def _check_common(body: JsonDict) -> None:
    if "dynamics" in body:
        dynamics = _object(body, "dynamics", frozenset({"duration", "speed"}))
        if not all(_number(v, 0, 6_000_000) for v in dynamics.values()):
            raise V2Refused("invalid value for property dynamics")
    if "alert" in body and _object(body, "alert", frozenset({"action"})).get("action") != "breathe":
        raise V2Refused("invalid value for property alert.action: expected breathe")
    if "signaling" in body:
        _object(body, "signaling", frozenset({"signal", "duration", "color"}))


def _refuse_unknown(body: JsonDict, allowed: frozenset[str], rtype: str) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise V2Refused(f"{rtype} has no property {', '.join(unknown)} that can be set")


def light_changes(light: Light, body: JsonDict) -> tuple[JsonDict, str | None]:
    """The v1-model changes a light PUT asks for, and a new powerup preset; V2Refused when refused."""
    _refuse_unknown(body, LIGHT_PUT_FIELDS, "light")
    _check_common(body)
    changes: JsonDict = {}
    needs: Callable[[str, str], None] = _needs(light)
    if "on" in body:
        changes["on"] = _on(body)
    if "dimming" in body:
        needs("bri", "dimming")
        changes["bri"] = _brightness(body)
    if "color" in body:
        needs("xy", "color")
        changes["xy"] = _xy(body)
    if "color_temperature" in body:
        needs("ct", "color_temperature")
        changes["ct"] = _mirek(body)
    if "effects" in body or "effects_v2" in body:
        changes["effect"] = _effect(body, light)
    preset = None
    if "powerup" in body:
        preset = _object(body, "powerup", frozenset({"preset"})).get("preset")
        if preset not in POWERUP_PRESETS:
            raise V2Refused("invalid value for property powerup.preset (custom is not simulated)")
    return changes, preset


def _needs(light: Light) -> Callable[[str, str], None]:
    def check(attribute: str, field_name: str) -> None:
        if attribute not in light.attrs:
            raise V2Refused(f"device (light) does not support {field_name}")

    return check


def may_not_have_effect(light: Light, changes: JsonDict, body: JsonDict) -> str | None:
    """The warning of a command the bulb will not carry out, or None: an unreachable bulb, or an effect,
    brightness or colour for an off bulb without `on: true` in the same body."""
    fields = ",".join(f".{name}" for name in body)
    if not light.reachable:
        return f"device (light) has communication issues, command ({fields}) may not have effect"
    off_only = [name for name in ("effect", "bri", "xy", "ct") if name in changes]
    if off_only and not light.state.get("on") and changes.get("on") is not True:
        return f'device (light) is "soft off", command ({fields}) may not have effect'
    return None


def apply_light(light: Light, changes: JsonDict) -> None:
    light.receive(changes, api="v2")


def grouped_changes(body: JsonDict) -> JsonDict:
    """What a grouped_light PUT broadcasts; V2Refused for effects or any other field it does not take."""
    _refuse_unknown(body, GROUPED_PUT_FIELDS, "grouped_light")
    _check_common(body)
    changes: JsonDict = {}
    if "on" in body:
        changes["on"] = _on(body)
    if "dimming" in body:
        changes["bri"] = _brightness(body)
    if "color" in body:
        changes["xy"] = _xy(body)
    if "color_temperature" in body:
        changes["ct"] = _mirek(body)
    return changes


def apply_grouped(members: list[Light], changes: JsonDict) -> None:
    """A broadcast: each bulb takes what it can; an off bulb takes dimming or colour only with `on: true`."""
    switching_on = changes.get("on") is True
    for light in members:
        allowed = {
            name: value
            for name, value in changes.items()
            if name in light.attrs and (name == "on" or light.state.get("on") or switching_on)
        }
        if allowed:
            apply_light(light, allowed)
