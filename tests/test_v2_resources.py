"""Parsing a real bridge's v2 resources, refusing malformed ones, and aiohue reading them alike."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from huelights.errors import BridgeBusy
from huelights.v2.resources import Powerup, parse_resources
from tests.support.aiohue_oracle import aiohue_view, assert_same_view, document_counts
from tests.support.v2_dump import (
    COLOUR_NO_EFFECTS,
    HOME_GROUPED_LIGHT,
    PRISM_OFF,
    ROOM_9,
    WHITE_AMBIANCE,
    WHITE_NO_EFFECTS,
    ZONE_7_GROUPED_LIGHT,
    load_dump,
    of_type,
    resource,
)


def test_the_real_dump_parses_into_every_kind_the_actions_use() -> None:
    resources = parse_resources(load_dump())
    assert len(resources.lights) == 8
    assert len(resources.devices) == 46
    assert sorted(group.kind for group in resources.groups.values()).count("room") == 11
    assert len(resources.groups) == 20
    assert len(resources.grouped_lights) == 4
    assert len(resources.connectivity) == 4
    assert resources.bridge_home is not None
    assert resources.bridge_home.grouped_light == HOME_GROUPED_LIGHT
    assert resources.bridge_home.id_v1 == "/groups/0"
    assert resources.bridge_id == "aabbccddeeffggh"  # anonymised: a real one is 16 hex digits


def test_a_colour_light_offering_prism() -> None:
    light = parse_resources(load_dump()).lights[PRISM_OFF]
    assert (light.id_v1, light.v1_id, light.on) == ("/lights/128", "128", False)
    assert light.has_color and light.has_dimming
    assert light.offers_prism
    assert light.effect_field == "effects_v2"
    assert light.effect_status == "no_effect"
    assert light.metadata_name == "Light 1"
    assert light.owner == "42b8327b-b7d7-2469-3c45-069a41b4dca8"
    assert light.powerup == Powerup(preset="safety", configured=True, on_mode="on")


def test_a_white_ambiance_light_has_effects_but_no_prism_and_no_colour() -> None:
    light = parse_resources(load_dump()).lights[WHITE_AMBIANCE]
    assert light.effect_values == ("no_effect", "candle", "sparkle", "glisten")
    assert not light.offers_prism
    assert not light.has_color
    assert light.powerup == Powerup(preset="powerfail", configured=True, on_mode="previous")


def test_lights_without_effects_or_powerup() -> None:
    lights = parse_resources(load_dump()).lights
    colour, white = lights[COLOUR_NO_EFFECTS], lights[WHITE_NO_EFFECTS]
    assert colour.has_color and not white.has_color
    for light in (colour, white):
        assert (light.effect_field, light.effect_values, light.effect_status) == (None, (), None)
    assert white.powerup is None


def test_the_older_effects_form_is_read_when_effects_v2_is_absent() -> None:
    document = load_dump()
    light = resource(document, PRISM_OFF)
    del light["effects_v2"]
    light["effects"]["status"] = "prism"
    parsed = parse_resources(document).lights[PRISM_OFF]
    assert parsed.effect_field == "effects"
    assert parsed.effect_status == "prism"
    assert parsed.offers_prism


def test_rooms_zones_grouped_lights_and_connectivity() -> None:
    resources = parse_resources(load_dump())
    room = resources.groups[ROOM_9]
    assert (room.kind, room.name, room.v1_id, room.grouped_light) == ("room", "Room 9", "104", None)
    assert {child.rtype for child in room.children} == {"device"}
    zone_7 = next(group for group in resources.groups.values() if group.name == "Zone 7")
    assert zone_7.grouped_light == ZONE_7_GROUPED_LIGHT
    grouped = resources.grouped_lights[ZONE_7_GROUPED_LIGHT]
    assert (grouped.id_v1, grouped.owner.rtype, grouped.owner.rid, grouped.on) == (
        "/groups/119",
        "zone",
        zone_7.id,
        False,
    )
    connectivity = resources.device_connectivity()
    assert connectivity[resources.lights[COLOUR_NO_EFFECTS].owner] == "connectivity_issue"
    assert resources.lights[PRISM_OFF].owner not in connectivity


def test_a_typed_answer_fills_only_its_kind() -> None:
    resources = parse_resources(of_type(load_dump(), "light"))
    assert len(resources.lights) == 8
    assert not resources.devices and not resources.groups and resources.bridge_home is None


def test_unknown_types_and_an_empty_id_v1_are_accepted() -> None:
    # diyHue adds a type of its own and sends `"id_v1": ""` for resources without a v1 counterpart.
    document = [*load_dump(), {"id": "x", "type": "diyhue", "whatever": 1}]
    resource(document, PRISM_OFF)["id_v1"] = ""
    light = parse_resources(document).lights[PRISM_OFF]
    assert light.id_v1 is None and light.v1_id is None


def _break(path: list[str], value: Any) -> list[dict[str, Any]]:
    document = load_dump()
    node = resource(document, PRISM_OFF)
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return document


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        (["on"], _DELETE, "`on` missing"),
        (["on", "on"], "yes", "`on.on` not true/false"),
        (["owner"], _DELETE, "`owner` missing"),
        (["owner"], {"rid": 5, "rtype": "device"}, "`owner` not a resource reference"),
        (["effects_v2", "action", "effect_values"], "prism", "`effects_v2.action.effect_values` not a list"),
        (["effects_v2", "status"], _DELETE, "`effects_v2.status` missing"),
        (["powerup", "preset"], 3, "`powerup.preset` not a string"),
        (["id_v1"], 128, "`id_v1` not a string"),
        (["id"], _DELETE, "light without an `id`"),
    ],
)
def test_a_malformed_light_is_a_transient_error_naming_the_field(path: list[str], value: Any, named: str) -> None:
    with pytest.raises(BridgeBusy) as caught:
        parse_resources(_break(path, value))
    assert named in str(caught.value)
    assert caught.value.transient


@pytest.mark.parametrize("kind", ["bridge_home", "bridge"])
def test_a_second_bridge_or_bridge_home_is_refused(kind: str) -> None:
    document = load_dump()
    document.append(dict(of_type(document, kind)[0], id="other"))
    with pytest.raises(BridgeBusy, match=f"2 {kind} resources"):
        parse_resources(document)


def test_a_malformed_room_is_refused() -> None:
    document = load_dump()
    resource(document, ROOM_9)["children"] = {"rid": "x"}
    with pytest.raises(BridgeBusy, match=f"room {ROOM_9} with `children` not a list"):
        parse_resources(document)


def test_aiohue_reads_the_real_dump_as_huelights_does() -> None:
    seen = assert_same_view(load_dump())
    # The oracle really looked: the dump's interesting cases are in what aiohue saw.
    assert "prism" in seen.lights[PRISM_OFF].effect_values
    assert seen.lights[COLOUR_NO_EFFECTS].effect_values == ()
    assert seen.lights[WHITE_AMBIANCE].powerup_preset == "powerfail"
    assert seen.home_grouped_light == HOME_GROUPED_LIGHT
    assert len(seen.groups[ROOM_9].lights) == 4


def test_the_oracle_fails_on_an_effect_a_real_bridge_never_offers() -> None:
    # aiohue knows the v2 effect names; `colorloop` is not one (diyHue offers it; a real bridge does not).
    document = load_dump()
    resource(document, PRISM_OFF)["effects_v2"]["action"]["effect_values"].append("colorloop")
    with pytest.raises(AssertionError):
        assert_same_view(document)


def test_the_oracle_notices_a_room_aiohue_could_not_parse() -> None:
    document = load_dump()
    del resource(document, ROOM_9)["metadata"]
    assert aiohue_view(document).counts["room"] == document_counts(document)["room"] - 1


def test_aiohue_is_a_pinned_dev_dependency_and_never_goes_into_an_image() -> None:
    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
    assert "aiohue==4.9.0" in project["optional-dependencies"]["dev"]
    assert not any(requirement.lower().startswith("aiohue") for requirement in project["dependencies"])
