"""The three actions on v2: exact PUT bodies per light, and judging the read-back per light."""

from __future__ import annotations

from typing import Any

import pytest

from huelights.actions import LightOutcome
from huelights.config import parse_target
from huelights.errors import ResourceNotFound
from huelights.v2.inventory import resolve_target
from huelights.v2.plan import (
    V1_LOOP_UNCONFIRMED,
    ActionName,
    V2Plan,
    V2Put,
    evaluate,
    evaluate_v1,
    outcome,
    plan_action,
)
from huelights.v2.resources import parse_resources
from tests.support.v2_dump import (
    COLOUR_NO_EFFECTS,
    HOME_GROUPED_LIGHT,
    PRISM_OFF,
    PRISM_ON,
    WHITE_AMBIANCE,
    WHITE_NO_EFFECTS,
    load_dump,
    of_type,
    resource,
)

PRISM_V2 = {"on": {"on": True}, "effects_v2": {"action": {"effect": "prism"}}}


def make_plan(
    action: ActionName, raw_target: str = "all", document: list[dict[str, Any]] | None = None, **options: Any
) -> V2Plan:
    resources = parse_resources(document if document is not None else load_dump())
    options.setdefault("v1_allowed", True)
    return plan_action(action, resolve_target(parse_target(raw_target), resources), resources, **options)


def steps(plan: V2Plan) -> dict[str, Any]:
    return {step.light_id: step for step in plan.lights}


@pytest.mark.parametrize(("action", "on"), [("lights_off", False), ("lights_on", True)])
def test_off_and_on_for_all_is_one_put_to_the_bridge_homes_grouped_light(action: ActionName, on: bool) -> None:
    plan = make_plan(action)
    assert plan.first_puts() == (V2Put("grouped_light", HOME_GROUPED_LIGHT, {"on": {"on": on}}),)
    assert plan.first_puts()[0].path == f"grouped_light/{HOME_GROUPED_LIGHT}"
    # Re-sends go to single lights.
    for step in plan.lights:
        assert step.put == V2Put("light", step.light_id, {"on": {"on": on}})
    assert len(plan.lights) == 8


def test_a_group_without_a_grouped_light_gets_one_put_per_light() -> None:
    plan = make_plan("lights_on", "group:Room 9")
    assert plan.group_put is None
    assert [put.rid for put in plan.first_puts()] == [step.light_id for step in plan.lights]
    assert len(plan.first_puts()) == 4


def test_colorloop_gives_each_light_the_loop_it_has() -> None:
    plan = make_plan("colorloop")
    by_id = steps(plan)
    assert plan.group_put is None  # a grouped_light takes no effects
    assert by_id[PRISM_OFF].effect == "prism"
    assert by_id[PRISM_OFF].put == V2Put("light", PRISM_OFF, PRISM_V2)
    colour = by_id[COLOUR_NO_EFFECTS]
    assert (colour.effect, colour.put) == ("colorloop", None)
    assert colour.v1.path == "lights/120/state"
    assert colour.v1.body == {"on": True, "effect": "colorloop", "sat": 254}
    for white in (WHITE_AMBIANCE, WHITE_NO_EFFECTS):
        assert by_id[white].effect == "none"
        assert by_id[white].put == V2Put("light", white, {"on": {"on": True}})
        assert by_id[white].skip_reason == "white light: no colour to loop"
    assert [step.light_id for step in plan.v1_steps()] == [COLOUR_NO_EFFECTS]
    assert COLOUR_NO_EFFECTS not in {put.rid for put in plan.first_puts()}
    assert len(plan.first_puts()) == 7


def test_the_older_effects_form_goes_to_a_light_without_effects_v2() -> None:
    document = load_dump()
    del resource(document, PRISM_OFF)["effects_v2"]
    body = steps(make_plan("colorloop", "lights:128", document))[PRISM_OFF].put.body
    assert body == {"on": {"on": True}, "effects": {"effect": "prism"}}


def test_the_v1_colorloop_saturation_is_configurable() -> None:
    step = steps(make_plan("colorloop", "lights:120", saturation=200))[COLOUR_NO_EFFECTS]
    assert step.v1.body == {"on": True, "effect": "colorloop", "sat": 200}


def test_without_v1_a_colour_light_without_prism_is_switched_on_and_skipped() -> None:
    step = steps(make_plan("colorloop", "lights:120", v1_allowed=False))[COLOUR_NO_EFFECTS]
    assert (step.effect, step.v1) == ("none", None)
    assert step.put == V2Put("light", COLOUR_NO_EFFECTS, {"on": {"on": True}})
    assert "HUE_API=v2" in step.skip_reason


def test_a_colour_light_without_a_v1_id_cannot_get_colorloop() -> None:
    document = load_dump()
    del resource(document, COLOUR_NO_EFFECTS)["id_v1"]
    step = steps(make_plan("colorloop", f"lights:{COLOUR_NO_EFFECTS}", document))[COLOUR_NO_EFFECTS]
    assert step.v1 is None
    assert step.skip_reason == "colour light without prism and without a v1 id"


def read_back(**changes: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    """`GET /clip/v2/resource/light` after the changes, and the dump's device connectivity."""
    document = load_dump()
    for light_id, fields in changes.items():
        resource(document, light_id).update(fields)
    return parse_resources(of_type(document, "light")), parse_resources(document).device_connectivity()


def looping(light_id: str) -> dict[str, Any]:
    light = resource(load_dump(), light_id)
    light["effects_v2"]["status"]["effect"] = "prism"
    return {"on": {"on": True}, "effects_v2": light["effects_v2"]}


def test_read_back_of_colorloop_judges_each_light_by_the_effect_it_should_have() -> None:
    plan = make_plan("colorloop")
    lights, connectivity = read_back(**{PRISM_OFF: looping(PRISM_OFF)})
    verdicts = evaluate(plan, lights, connectivity)
    assert COLOUR_NO_EFFECTS not in verdicts  # looped through v1, judged through v1
    assert (verdicts[PRISM_OFF].status, verdicts[PRISM_OFF].effect) == ("ok", "prism")
    assert verdicts[PRISM_ON].status is None  # on, but not looping: re-send
    assert verdicts[PRISM_ON].detail == "reads back with effect no_effect, not prism"
    assert verdicts[WHITE_AMBIANCE].status == "skipped"
    assert verdicts[WHITE_NO_EFFECTS].status == "skipped"


def test_a_white_light_still_off_is_re_sent() -> None:
    plan = make_plan("colorloop", "lights:63")
    lights, connectivity = read_back(**{WHITE_NO_EFFECTS: {"on": {"on": False}}})
    assert evaluate(plan, lights, connectivity)[WHITE_NO_EFFECTS].status is None


def test_read_back_of_off_uses_zigbee_connectivity_for_unreachable_lights() -> None:
    plan = make_plan("lights_off")
    lights, connectivity = read_back(**{light_id: {"on": {"on": False}} for light_id in (PRISM_ON, WHITE_AMBIANCE)})
    verdicts = evaluate(plan, lights, connectivity)
    assert verdicts[PRISM_OFF].status == "ok"
    assert verdicts[PRISM_ON].status == "ok"
    assert verdicts[WHITE_NO_EFFECTS].status is None
    assert verdicts[WHITE_NO_EFFECTS].detail == "reads back on"
    unreachable = verdicts[COLOUR_NO_EFFECTS]
    assert (unreachable.status, unreachable.detail) == ("unreachable", "Zigbee connectivity: connectivity_issue")
    # Without connectivity data the same light is judged by its state alone.
    assert evaluate(plan, lights, {})[COLOUR_NO_EFFECTS].status is None


def test_a_target_light_missing_from_the_read_back_means_the_id_map_is_stale() -> None:
    plan = make_plan("lights_on", "lights:128")
    lights = parse_resources([item for item in of_type(load_dump(), "light") if item["id"] != PRISM_OFF])
    with pytest.raises(ResourceNotFound, match="Device 36"):
        evaluate(plan, lights, {})


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ({"on": True, "effect": "colorloop", "sat": 254, "reachable": True}, "ok"),
        # Looping at saturation 0 looks white: not done yet.
        ({"on": True, "effect": "colorloop", "sat": 0, "reachable": True}, None),
        ({"on": True, "effect": "none", "sat": 254, "reachable": True}, None),
        ({"on": False, "effect": "colorloop", "sat": 254, "reachable": False}, "unreachable"),
    ],
)
def test_a_v1_colorloop_is_judged_from_the_v1_state(state: dict[str, Any], status: str | None) -> None:
    plan = make_plan("colorloop", "lights:120")
    verdict = evaluate_v1(plan, {"120": {"name": "Device 6", "state": state}})[COLOUR_NO_EFFECTS]
    assert verdict.status == status
    assert verdict.effect == state["effect"]


def test_a_v1_state_without_effect_makes_the_loop_unconfirmed_skipped_with_no_effect_claimed() -> None:
    # diyHue's v1 state after a successful `effect: colorloop` (recorded): every key but `effect`.
    state = {"on": True, "bri": 200, "colormode": "hs", "hue": 0, "sat": 254, "alert": "none", "reachable": True}
    plan = make_plan("colorloop", "lights:120")
    verdict = evaluate_v1(plan, {"120": {"name": "Device 6", "state": state}})[COLOUR_NO_EFFECTS]
    assert (verdict.status, verdict.detail) == ("skipped", V1_LOOP_UNCONFIRMED)
    assert outcome(steps(plan)[COLOUR_NO_EFFECTS], verdict) == LightOutcome(
        COLOUR_NO_EFFECTS, "Device 6", "skipped", V1_LOOP_UNCONFIRMED, effect="none"
    )


def test_a_v1_light_gone_from_the_v1_answer_means_the_id_map_is_stale() -> None:
    with pytest.raises(ResourceNotFound, match="v1 id 120"):
        evaluate_v1(make_plan("colorloop", "lights:120"), {"121": {"state": {}}})


def test_outcomes_have_the_v1_shape_and_say_which_effect_a_light_got() -> None:
    plan = make_plan("colorloop")
    lights, connectivity = read_back(**{PRISM_OFF: looping(PRISM_OFF)})
    verdicts = evaluate(plan, lights, connectivity)
    by_id = steps(plan)
    assert outcome(by_id[PRISM_OFF], verdicts[PRISM_OFF]) == LightOutcome(
        PRISM_OFF, "Device 36", "ok", "effect prism", effect="prism"
    )
    assert outcome(by_id[WHITE_AMBIANCE], verdicts[WHITE_AMBIANCE]) == LightOutcome(
        WHITE_AMBIANCE, "Device 17", "skipped", "white light: no colour to loop"
    )
    failed = outcome(by_id[PRISM_ON], verdicts[PRISM_ON])
    assert (failed.status, failed.detail) == (
        "error",
        "did not reach the desired state: reads back with effect no_effect, not prism",
    )
    assert outcome(by_id[COLOUR_NO_EFFECTS], None).status == "error"
