"""CLIP v2 resources -> typed, frozen objects: the parts of lights, devices, rooms, zones, bridge_home,
grouped_lights and zigbee_connectivity that the actions need.

The parser is defensive: a bridge (or an emulator) that answers with an unexpected shape raises
BridgeBusy naming the resource and the field, instead of a KeyError deep inside an action. Optional
fields follow a real bridge's dump: `id_v1`, `effects`, `effects_v2`, `color`, `dimming` and `powerup`
may be absent; a light without `color` is a white light. Types the actions do not use are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from huelights.errors import BridgeBusy

PRISM = "prism"
EffectField = Literal["effects_v2", "effects"]
GroupKind = Literal["room", "zone"]


@dataclass(frozen=True)
class Ref:
    """A `{"rid": ..., "rtype": ...}` pointer to another resource."""

    rid: str
    rtype: str


@dataclass(frozen=True)
class Powerup:
    """What the light does when mains power returns; no preset holds an effect, so a power cut ends prism."""

    preset: str
    """`safety`, `powerfail`, `last_on_state` or `custom`."""
    configured: bool | None
    on_mode: str | None
    """`on`, `toggle` or `previous`; None when the bridge did not say."""


@dataclass(frozen=True)
class Light:
    id: str
    id_v1: str | None
    """`/lights/N`, or None for a light the v1 API does not show."""
    owner: str
    """The id of the device this light is a service of (its name and reachability live there)."""
    metadata_name: str
    """The light's own name; deprecated in favour of the device's, but still present on real bridges."""
    on: bool
    has_color: bool
    has_dimming: bool
    effect_field: EffectField | None
    """Which body form sets an effect: `effects_v2` where the light has it, else `effects`; None: no effects."""
    effect_values: tuple[str, ...]
    """The effects this light can be sent (`effects_v2.action.effect_values`, else `effects.effect_values`)."""
    effect_status: str | None
    """The effect running now (`effects_v2.status.effect`, else `effects.status`); None without effects."""
    powerup: Powerup | None

    @property
    def v1_id(self) -> str | None:
        """`/lights/12` -> `12`."""
        return _v1_number(self.id_v1, "lights")

    @property
    def offers_prism(self) -> bool:
        return PRISM in self.effect_values


@dataclass(frozen=True)
class Device:
    id: str
    id_v1: str | None
    name: str
    model_id: str
    services: tuple[Ref, ...]

    def service_ids(self, rtype: str) -> tuple[str, ...]:
        return tuple(ref.rid for ref in self.services if ref.rtype == rtype)


@dataclass(frozen=True)
class Group:
    """A room (children are devices) or a zone (children are light services)."""

    id: str
    id_v1: str | None
    kind: GroupKind
    name: str
    children: tuple[Ref, ...]
    grouped_light: str | None
    """The grouped_light service that switches the whole group in one PUT; a group without lights has none."""

    @property
    def v1_id(self) -> str | None:
        return _v1_number(self.id_v1, "groups")


@dataclass(frozen=True)
class BridgeHome:
    """Everything on the bridge (v1 group 0): rooms plus devices in no room."""

    id: str
    id_v1: str | None
    children: tuple[Ref, ...]
    grouped_light: str | None


@dataclass(frozen=True)
class GroupedLight:
    id: str
    id_v1: str | None
    owner: Ref
    on: bool | None
    """True if any light of the group is on: never proof that every light is."""


@dataclass(frozen=True)
class Connectivity:
    """A device's Zigbee link: `connected`, `disconnected`, `connectivity_issue`, `unidirectional_incoming`, ..."""

    id: str
    owner: str
    status: str


@dataclass(frozen=True)
class Resources:
    """One parse of a v2 answer, keyed by v2 id. A typed GET fills only its own kind."""

    lights: Mapping[str, Light]
    devices: Mapping[str, Device]
    groups: Mapping[str, Group]
    bridge_home: BridgeHome | None
    grouped_lights: Mapping[str, GroupedLight]
    connectivity: Mapping[str, Connectivity]
    bridge_id: str | None = None
    """The `bridge` resource's id "as printed on the device", lower case: who answered (compare with HUE_BRIDGE_ID)."""

    def device_connectivity(self) -> dict[str, str]:
        """Device id -> its Zigbee status (devices without a zigbee_connectivity service are absent)."""
        return {link.owner: link.status for link in self.connectivity.values()}


def parse_resources(items: Iterable[Mapping[str, Any]]) -> Resources:
    """Parse the `data` of `GET /clip/v2/resource` or `GET /clip/v2/resource/<type>`."""
    lights: dict[str, Light] = {}
    devices: dict[str, Device] = {}
    groups: dict[str, Group] = {}
    grouped: dict[str, GroupedLight] = {}
    links: dict[str, Connectivity] = {}
    homes: list[BridgeHome] = []
    bridge_ids: list[str] = []
    for item in items:
        kind = item.get("type")
        if kind == "light":
            light = _light(_Fields(item, "light"))
            lights[light.id] = light
        elif kind == "device":
            device = _device(_Fields(item, "device"))
            devices[device.id] = device
        elif kind in ("room", "zone"):
            group = _group(_Fields(item, str(kind)))
            groups[group.id] = group
        elif kind == "bridge_home":
            fields = _Fields(item, "bridge_home")
            children = fields.refs("children")
            homes.append(BridgeHome(fields.id, fields.id_v1(), children, fields.first_service("grouped_light")))
        elif kind == "grouped_light":
            fields = _Fields(item, "grouped_light")
            on = fields.bool_at("on", "on") if fields.has("on") else None
            grouped[fields.id] = GroupedLight(fields.id, fields.id_v1(), fields.ref("owner"), on)
        elif kind == "zigbee_connectivity":
            fields = _Fields(item, "zigbee_connectivity")
            links[fields.id] = Connectivity(fields.id, fields.ref("owner").rid, fields.text("status"))
        elif kind == "bridge":
            bridge_ids.append(_Fields(item, "bridge").text("bridge_id").lower())
    for kind, found in (("bridge_home", len(homes)), ("bridge", len(bridge_ids))):
        if found > 1:
            raise BridgeBusy(f"the bridge listed {found} {kind} resources; a bridge has one")
    home = homes[0] if homes else None
    return Resources(lights, devices, groups, home, grouped, links, bridge_ids[0] if bridge_ids else None)


def _light(fields: _Fields) -> Light:
    effect_field: EffectField | None = None
    values: tuple[str, ...] = ()
    status: str | None = None
    # Real lights carry both forms; `effects_v2` is the current one, `effects` the older (still accepted).
    if fields.has("effects_v2"):
        effect_field = "effects_v2"
        values = fields.texts("effects_v2", "action", "effect_values")
        status = fields.text("effects_v2", "status", "effect")
    elif fields.has("effects"):
        effect_field = "effects"
        values = fields.texts("effects", "effect_values")
        status = fields.text("effects", "status")
    return Light(
        id=fields.id,
        id_v1=fields.id_v1(),
        owner=fields.ref("owner").rid,
        metadata_name=fields.text("metadata", "name") if fields.has("metadata") else "",
        on=fields.bool_at("on", "on"),
        has_color=fields.has("color"),
        has_dimming=fields.has("dimming"),
        effect_field=effect_field,
        effect_values=values,
        effect_status=status,
        powerup=_powerup(fields) if fields.has("powerup") else None,
    )


def _powerup(fields: _Fields) -> Powerup:
    configured = fields.value("powerup", "configured") if fields.has("powerup", "configured") else None
    on_mode = fields.text("powerup", "on", "mode") if fields.has("powerup", "on", "mode") else None
    return Powerup(fields.text("powerup", "preset"), configured if isinstance(configured, bool) else None, on_mode)


def _device(fields: _Fields) -> Device:
    model = fields.text("product_data", "model_id") if fields.has("product_data", "model_id") else ""
    return Device(fields.id, fields.id_v1(), fields.text("metadata", "name"), model, fields.refs("services"))


def _group(fields: _Fields) -> Group:
    kind: GroupKind = "room" if fields.kind == "room" else "zone"
    return Group(
        id=fields.id,
        id_v1=fields.id_v1(),
        kind=kind,
        name=fields.text("metadata", "name"),
        children=fields.refs("children"),
        grouped_light=fields.first_service("grouped_light"),
    )


class _Fields:
    """Typed access to one resource's JSON, raising BridgeBusy that names the resource and the field."""

    def __init__(self, item: Mapping[str, Any], kind: str) -> None:
        self.item = item
        self.kind = kind
        raw_id = item.get("id")
        if not isinstance(raw_id, str) or not raw_id:
            raise BridgeBusy(f"the bridge sent a {kind} without an `id`")
        self.id = raw_id

    def _fail(self, path: tuple[str, ...], problem: str) -> BridgeBusy:
        return BridgeBusy(f"the bridge sent {self.kind} {self.id} with `{'.'.join(path)}` {problem}")

    def has(self, *path: str) -> bool:
        node: Any = self.item
        for key in path:
            if not isinstance(node, Mapping) or node.get(key) is None:
                return False
            node = node[key]
        return True

    def value(self, *path: str) -> Any:
        node: Any = self.item
        for depth, key in enumerate(path):
            if not isinstance(node, Mapping):
                raise self._fail(path[:depth], "not an object")
            if node.get(key) is None:
                raise self._fail(path[: depth + 1], "missing")
            node = node[key]
        return node

    def text(self, *path: str) -> str:
        found = self.value(*path)
        if not isinstance(found, str):
            raise self._fail(path, f"not a string ({found!r})")
        return found

    def bool_at(self, *path: str) -> bool:
        found = self.value(*path)
        if not isinstance(found, bool):
            raise self._fail(path, f"not true/false ({found!r})")
        return found

    def texts(self, *path: str) -> tuple[str, ...]:
        found = self.value(*path)
        if not isinstance(found, list) or not all(isinstance(entry, str) for entry in found):
            raise self._fail(path, "not a list of strings")
        return tuple(found)

    def ref(self, *path: str) -> Ref:
        return self._to_ref(self.value(*path), path)

    def refs(self, key: str) -> tuple[Ref, ...]:
        found = self.value(key)
        if not isinstance(found, list):
            raise self._fail((key,), "not a list")
        return tuple(self._to_ref(entry, (key,)) for entry in found)

    def _to_ref(self, found: Any, path: tuple[str, ...]) -> Ref:
        if isinstance(found, Mapping) and isinstance(found.get("rid"), str) and isinstance(found.get("rtype"), str):
            return Ref(found["rid"], found["rtype"])
        raise self._fail(path, f"not a resource reference ({found!r})")

    def id_v1(self) -> str | None:
        found = self.item.get("id_v1")
        if found is None or found == "":
            return None
        if not isinstance(found, str):
            raise self._fail(("id_v1",), f"not a string ({found!r})")
        return found

    def first_service(self, rtype: str) -> str | None:
        return next((ref.rid for ref in self.refs("services") if ref.rtype == rtype), None)


def _v1_number(id_v1: str | None, collection: str) -> str | None:
    if id_v1 is None:
        return None
    prefix = f"/{collection}/"
    return id_v1[len(prefix) :] if id_v1.startswith(prefix) and len(id_v1) > len(prefix) else None
