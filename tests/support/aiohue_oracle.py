"""A third party's reading of CLIP v2 documents: aiohue (Home Assistant's Hue library) as an oracle.

`aiohue_view(document)` loads a `GET /clip/v2/resource` data list with aiohue's own v2 controllers and
models, exactly as aiohue loads a bridge's full state, and reduces it to plain values: lights (v1 id,
owner, on, colour, effects, powerup), rooms and zones (name, v1 id, member lights, grouped_light),
grouped_lights, the bridge_home's grouped_light and each device's Zigbee status. `huelights_view` does
the same from huelights' parser, so `assert_same_view` checks that both read one document alike. A
simulated bridge's documents go through the same helper, against a view built from its own state.

aiohue skips a room or zone it cannot parse (and logs it); `aiohue_view` turns any such skip into a
failure, so a malformed document cannot pass by being ignored.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohue.v2 import HueBridgeV2

from huelights.v2.inventory import group_light_ids
from huelights.v2.resources import parse_resources

# Kinds of resource the view covers, each also counted so a silently skipped resource shows.
VIEW_TYPES = ("light", "device", "room", "zone", "grouped_light", "bridge_home", "zigbee_connectivity")


@dataclass(frozen=True)
class LightView:
    id_v1: str | None
    owner: str
    on: bool
    color: bool
    dimming: bool
    effect_values: tuple[str, ...]
    """Sendable effects: `effects_v2.action.effect_values` where present, else `effects.effect_values`."""
    effect_status: str | None
    powerup_preset: str | None


@dataclass(frozen=True)
class GroupView:
    kind: str
    name: str
    id_v1: str | None
    lights: frozenset[str]
    grouped_light: str | None


@dataclass(frozen=True)
class GroupedLightView:
    id_v1: str | None
    owner: str
    owner_type: str


@dataclass(frozen=True)
class V2View:
    lights: Mapping[str, LightView]
    groups: Mapping[str, GroupView]
    grouped_lights: Mapping[str, GroupedLightView]
    home_grouped_light: str | None
    connectivity: Mapping[str, str]
    """Device id -> zigbee_connectivity status."""
    counts: Mapping[str, int]


def aiohue_view(document: Sequence[Mapping[str, Any]]) -> V2View:
    bridge = asyncio.run(_load_with_aiohue(list(document)))
    lights = {light.id: _aiohue_light(light) for light in bridge.lights}
    groups: dict[str, GroupView] = {}
    for kind, controller in (("room", bridge.groups.room), ("zone", bridge.groups.zone)):
        for group in controller:
            members = frozenset(light.id for light in controller.get_lights(group.id))
            groups[group.id] = GroupView(kind, group.metadata.name, group.id_v1, members, group.grouped_light)
    grouped = {
        item.id: GroupedLightView(item.id_v1, item.owner.rid, item.owner.rtype.value)
        for item in bridge.groups.grouped_light
    }
    homes = list(bridge.config.bridge_home)
    home_grouped = next((s.rid for home in homes for s in home.services if s.rtype.value == "grouped_light"), None)
    connectivity = {link.owner.rid: link.status.value for link in bridge.sensors.zigbee_connectivity}
    counts = {
        "light": len(lights),
        "device": len(list(bridge.devices)),
        "room": len(list(bridge.groups.room)),
        "zone": len(list(bridge.groups.zone)),
        "grouped_light": len(grouped),
        "bridge_home": len(homes),
        "zigbee_connectivity": len(connectivity),
    }
    return V2View(lights, groups, grouped, home_grouped, connectivity, counts)


def huelights_view(document: Sequence[Mapping[str, Any]]) -> V2View:
    resources = parse_resources(document)
    lights = {
        light.id: LightView(
            light.id_v1,
            light.owner,
            light.on,
            light.has_color,
            light.has_dimming,
            light.effect_values,
            light.effect_status,
            light.powerup.preset if light.powerup else None,
        )
        for light in resources.lights.values()
    }
    groups = {
        group.id: GroupView(
            group.kind, group.name, group.id_v1, frozenset(group_light_ids(group, resources)), group.grouped_light
        )
        for group in resources.groups.values()
    }
    grouped = {
        item.id: GroupedLightView(item.id_v1, item.owner.rid, item.owner.rtype)
        for item in resources.grouped_lights.values()
    }
    home = resources.bridge_home
    counts = {
        "light": len(lights),
        "device": len(resources.devices),
        "room": sum(1 for group in groups.values() if group.kind == "room"),
        "zone": sum(1 for group in groups.values() if group.kind == "zone"),
        "grouped_light": len(grouped),
        "bridge_home": 0 if home is None else 1,
        "zigbee_connectivity": len(resources.connectivity),
    }
    return V2View(
        lights, groups, grouped, home.grouped_light if home else None, resources.device_connectivity(), counts
    )


def document_counts(document: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    counted = Counter(str(item.get("type")) for item in document)
    return {kind: counted.get(kind, 0) for kind in VIEW_TYPES}


def assert_same_view(document: Sequence[Mapping[str, Any]], expected: V2View | None = None) -> V2View:
    """aiohue must read `document` completely and as `expected` (default: as huelights reads it)."""
    seen = aiohue_view(document)
    assert seen.counts == document_counts(document), "aiohue skipped resources it could not parse"
    wanted = expected if expected is not None else huelights_view(document)
    assert seen.lights == wanted.lights
    assert seen.groups == wanted.groups
    assert seen.grouped_lights == wanted.grouped_lights
    assert seen.home_grouped_light == wanted.home_grouped_light
    assert seen.connectivity == wanted.connectivity
    assert seen.counts == wanted.counts
    return seen


async def _load_with_aiohue(document: list[dict[str, Any]]) -> HueBridgeV2:
    """aiohue's own full-state load, with its one request answered from `document` (no network)."""
    bridge = HueBridgeV2("127.0.0.1", "oracle-has-no-key")

    async def answer(method: str, path: str, **_: Any) -> list[dict[str, Any]]:
        assert (method, path) == ("get", "clip/v2/resource"), f"aiohue asked for {method} {path}"
        return document

    bridge.request = answer  # type: ignore[method-assign]
    await bridge.fetch_full_state()
    return bridge


def _aiohue_light(light: Any) -> LightView:
    if light.effects_v2 is not None:
        values = tuple(value.value for value in light.effects_v2.action.effect_values)
        status = light.effects_v2.status.effect.value
    elif light.effects is not None:
        values = tuple(value.value for value in light.effects.effect_values)
        status = light.effects.status.value
    else:
        values, status = (), None
    return LightView(
        light.id_v1,
        light.owner.rid,
        light.is_on,
        light.supports_color,
        light.supports_dimming,
        values,
        status,
        light.powerup.preset.value if light.powerup is not None else None,
    )
