"""HUE_TARGET on a v2 bridge: the grouped_light to switch and the lights to check, by name, v1 id or v2 id."""

from __future__ import annotations

import pytest

from huelights.config import parse_target
from huelights.errors import TargetNotFound
from huelights.v2.inventory import V2Target, resolve_target
from huelights.v2.resources import Resources, parse_resources
from tests.support.v2_dump import (
    ALL_LIGHTS_BY_V1,
    COLOUR_NO_EFFECTS,
    HOME_GROUPED_LIGHT,
    PRISM_OFF,
    ROOM_9,
    WHITE_AMBIANCE,
    WHITE_NO_EFFECTS,
    ZONE_7_GROUPED_LIGHT,
    ZONE_8,
    load_dump,
    resource,
)


@pytest.fixture
def resources() -> Resources:
    return parse_resources(load_dump())


def resolve(raw: str, resources: Resources) -> V2Target:
    return resolve_target(parse_target(raw), resources)


def v1_ids(target: V2Target, resources: Resources) -> tuple[str | None, ...]:
    return tuple(resources.lights[light_id].v1_id for light_id in target.light_ids)


@pytest.mark.parametrize("raw", ["all", "group:0", "group:/groups/0"])
def test_all_is_the_bridge_homes_grouped_light_and_every_light(raw: str, resources: Resources) -> None:
    target = resolve(raw, resources)
    assert target.grouped_light == HOME_GROUPED_LIGHT
    assert v1_ids(target, resources) == ALL_LIGHTS_BY_V1
    assert target.label == "all lights"


@pytest.mark.parametrize("group", ["Room 9", "room 9", "104", "/groups/104", ROOM_9])
def test_a_room_by_name_v1_id_or_v2_id_has_its_devices_lights(group: str, resources: Resources) -> None:
    target = resolve(f"group:{group}", resources)
    assert target == V2Target("room 'Room 9'", None, target.light_ids)
    assert v1_ids(target, resources) == ("71", "72", "75", "112")


def test_a_zone_has_its_light_children(resources: Resources) -> None:
    target = resolve("group:Zone 8", resources)
    assert target.light_ids == resolve(f"group:{ZONE_8}", resources).light_ids
    assert v1_ids(target, resources) == ("71", "72")
    assert target.label == "zone 'Zone 8'"


def test_a_group_with_a_grouped_light_is_switched_through_it(resources: Resources) -> None:
    target = resolve("group:119", resources)
    assert target.grouped_light == ZONE_7_GROUPED_LIGHT
    assert target.light_ids == ()


def test_lights_by_v1_id_device_name_light_name_and_v2_id(resources: Resources) -> None:
    target = resolve(f"lights:128,Device 17,light 6,{COLOUR_NO_EFFECTS}", resources)
    assert target.light_ids == (PRISM_OFF, WHITE_AMBIANCE, WHITE_NO_EFFECTS, COLOUR_NO_EFFECTS)
    assert target.grouped_light is None
    assert resolve("lights:/lights/128", resources).light_ids == (PRISM_OFF,)


def test_an_unknown_group_is_permanent_and_lists_what_the_bridge_has(resources: Resources) -> None:
    with pytest.raises(TargetNotFound) as caught:
        resolve("group:Kitchen", resources)
    message = str(caught.value)
    assert not caught.value.transient
    assert message.startswith("HUE_TARGET: no group (room or zone) with id or name 'Kitchen'")
    assert "104 'Room 9'" in message and "105 'Zone 8'" in message


def test_an_unknown_light_is_permanent_and_lists_what_the_bridge_has(resources: Resources) -> None:
    with pytest.raises(TargetNotFound) as caught:
        resolve("lights:128,999", resources)
    message = str(caught.value)
    assert message.startswith("HUE_TARGET: no light with id or name '999'")
    assert "128 'Device 36'" in message


def test_a_shared_name_must_be_given_as_an_id() -> None:
    document = load_dump()
    resource(document, ZONE_8)["metadata"]["name"] = "Room 9"
    with pytest.raises(TargetNotFound, match="2 rooms/zones are named 'Room 9'; use the id"):
        resolve("group:Room 9", parse_resources(document))
    assert resolve("group:105", parse_resources(document)).label == "zone 'Room 9'"


def test_a_light_name_shared_with_another_lights_device_is_ambiguous() -> None:
    document = load_dump()
    resource(document, WHITE_NO_EFFECTS)["metadata"]["name"] = "Device 36"
    with pytest.raises(TargetNotFound, match="2 lights are named 'Device 36'"):
        resolve("lights:Device 36", parse_resources(document))


def test_all_without_a_bridge_home_falls_back_to_one_put_per_light() -> None:
    document = [item for item in load_dump() if item["type"] != "bridge_home"]
    target = resolve("all", parse_resources(document))
    assert target.grouped_light is None
    assert len(target.light_ids) == 8
