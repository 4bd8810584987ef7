"""HUE_TARGET on a v2 bridge: which grouped_light to switch and which lights to check.

HUE_TARGET keeps its v1 meaning: `all` is every light (switched through the bridge_home's
grouped_light), `group:` names a room or zone by name, v1 id (`/groups/N` -> `N`) or v2 id, and
`lights:` names lights by name, v1 id or v2 id. A room's lights are found through its devices, a
zone's directly. A name matches the device's name (the spec's current place for it) or the light's own
metadata name; a name shared by two resources is refused, as an id must then be used.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from huelights.actions import id_order
from huelights.config import Target
from huelights.errors import TargetNotFound
from huelights.v2.resources import Group, Light, Resources

ALL_GROUP_V1_ID = "0"
_Resource = TypeVar("_Resource", Light, Group)


@dataclass(frozen=True)
class V2Target:
    """A HUE_TARGET resolved against one bridge's v2 resources."""

    label: str
    """What the target is, for messages: `all lights`, `room 'Kitchen'`, `lights`."""
    grouped_light: str | None
    """The grouped_light to PUT for on/off; None: one PUT per light (named lights, or a group without one)."""
    light_ids: tuple[str, ...]
    """The v2 ids of the target's lights, in v1 id order: the ones to read back and judge."""


def resolve_target(target: Target, resources: Resources) -> V2Target:
    """Raises TargetNotFound (permanent) naming what the bridge has when a name or id is unknown."""
    if target.kind == "all" or (target.kind == "group" and target.group in (ALL_GROUP_V1_ID, "/groups/0")):
        home = resources.bridge_home
        return V2Target("all lights", home.grouped_light if home else None, light_order(resources.lights.values()))
    if target.kind == "group":
        group = find_group(target.group, resources)
        return V2Target(f"{group.kind} {group.name!r}", group.grouped_light, group_light_ids(group, resources))
    return V2Target("lights", None, tuple(find_light(name, resources).id for name in target.lights))


def find_group(id_or_name: str, resources: Resources) -> Group:
    groups = list(resources.groups.values())
    exact = [group for group in groups if id_or_name in (group.id, group.v1_id, group.id_v1)]
    if exact:
        return exact[0]
    named = [group for group in groups if group.name.casefold() == id_or_name.casefold()]
    if len(named) == 1:
        return named[0]
    if named:
        raise TargetNotFound(f"HUE_TARGET: {len(named)} rooms/zones are named {id_or_name!r}; use the id")
    known = ", ".join(f"{group.v1_id or group.id} {group.name!r}" for group in _by_v1(groups))
    raise TargetNotFound(
        f"HUE_TARGET: no group (room or zone) with id or name {id_or_name!r} (the bridge has: {known or 'none'})"
    )


def find_light(id_or_name: str, resources: Resources) -> Light:
    lights = list(resources.lights.values())
    exact = [light for light in lights if id_or_name in (light.id, light.v1_id, light.id_v1)]
    if exact:
        return exact[0]
    wanted = id_or_name.casefold()
    named = [light for light in lights if wanted in {name.casefold() for name in light_names(light, resources)}]
    if len(named) == 1:
        return named[0]
    if named:
        raise TargetNotFound(f"HUE_TARGET: {len(named)} lights are named {id_or_name!r}; use the id")
    known = ", ".join(f"{light.v1_id or light.id} {light_name(light, resources)!r}" for light in _by_v1(lights))
    raise TargetNotFound(f"HUE_TARGET: no light with id or name {id_or_name!r} (the bridge has: {known or 'none'})")


def group_light_ids(group: Group, resources: Resources) -> tuple[str, ...]:
    """A room's lights via its devices' light services; a zone's light children directly."""
    found: set[str] = set()
    for child in group.children:
        if child.rtype == "light":
            found.add(child.rid)
        elif child.rtype == "device" and (device := resources.devices.get(child.rid)) is not None:
            found.update(device.service_ids("light"))
    return light_order(light for light_id, light in resources.lights.items() if light_id in found)


def light_name(light: Light, resources: Resources) -> str:
    """The name people see: the owning device's, else the light's own, else its id."""
    device = resources.devices.get(light.owner)
    return (device.name if device else "") or light.metadata_name or light.v1_id or light.id


def light_names(light: Light, resources: Resources) -> set[str]:
    device = resources.devices.get(light.owner)
    return {name for name in (device.name if device else "", light.metadata_name) if name}


def light_order(lights: Iterable[Light]) -> tuple[str, ...]:
    """Light ids sorted like v1 ids (numerically), lights without a v1 id last, by v2 id."""
    return tuple(light.id for light in _by_v1(lights))


def _by_v1(items: Iterable[_Resource]) -> list[_Resource]:
    return sorted(items, key=lambda item: (id_order(item.v1_id or ""), item.id))
