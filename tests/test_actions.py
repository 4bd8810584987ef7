"""Actions at the HTTP edge: target resolution, one group PUT, read-back, white bulbs, re-sends."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from huelights.actions import COLORLOOP, LIGHTS_OFF, LIGHTS_ON, Action, Inventory, Runner, action_for
from tests.support.hue import (
    API,
    APP_KEY,
    GROUPS,
    FakeClock,
    all_lights,
    clocked_bridge,
    hue_error,
    lights_with,
    make_settings,
    success,
)


def make_runner(clock: FakeClock, **overrides: Any) -> tuple[Runner, str]:
    settings = make_settings(**overrides)
    bridge = clocked_bridge(settings, clock)
    return Runner(bridge, Inventory(clock), clock=clock, sleep=clock.sleep), str(settings.target)


def run(clock: FakeClock, action: Action, target: str = "all", budget: float = 25.0) -> Any:
    runner, _ = make_runner(clock, target=target)
    return runner.run(action, make_settings(target=target).target, budget)


def puts() -> list[tuple[str, dict[str, Any]]]:
    return [
        (call.request.url.removeprefix(API + "/"), json.loads(call.request.body or b"{}"))
        for call in responses.calls
        if call.request.method == "PUT"
    ]


COLORLOOP_READ = all_lights(on=True, effect="colorloop", sat=254)
LOOPING = {"on": True, "effect": "colorloop", "sat": 254}


@responses.activate
def test_all_is_one_group_0_action_then_one_read_back(clock: FakeClock) -> None:
    responses.put(f"{API}/groups/0/action", json=success(("/groups/0/action/on", False)))
    responses.get(f"{API}/lights", json=all_lights(on=False))

    outcome = run(clock, LIGHTS_OFF)

    assert outcome.result == "ok", outcome.message
    assert puts() == [("groups/0/action", {"on": False})]
    assert outcome.bridge_requests == 2
    assert {light.id: light.status for light in outcome.lights} == {"1": "ok", "2": "ok", "3": "ok", "4": "ok"}


@responses.activate
def test_a_group_named_by_room_name_is_resolved_and_sent_one_group_put(clock: FakeClock) -> None:
    responses.get(f"{API}/groups", json=GROUPS)
    responses.put(f"{API}/groups/2/action", json=success(("/groups/2/action/on", True)))
    responses.get(f"{API}/lights", json=lights_with(**{"2": {"on": True}, "3": {"on": True}}))

    outcome = run(clock, LIGHTS_ON, target="group:right wall")

    assert outcome.result == "ok", outcome.message
    assert puts() == [("groups/2/action", {"on": True})]
    assert [light.name for light in outcome.lights] == ["Window", "Shelf"], "only the zone's lights are judged"


@responses.activate
def test_warm_group_action_is_one_write_and_one_read_back(clock: FakeClock) -> None:
    responses.get(f"{API}/groups", json=GROUPS)
    responses.put(f"{API}/groups/1/action", json=success(("/groups/1/action/on", True)))
    responses.get(f"{API}/lights", json=all_lights(on=True))
    runner, _ = make_runner(clock, target="group:Living room")
    target = make_settings(target="group:Living room").target

    cold = runner.run(LIGHTS_ON, target, 25)
    warm = runner.run(LIGHTS_ON, target, 25)

    assert (cold.bridge_requests, warm.bridge_requests) == (3, 2)
    assert warm.result == "ok"


@responses.activate
def test_light_names_are_resolved_against_the_bridge(clock: FakeClock) -> None:
    responses.get(f"{API}/lights", json=all_lights())
    responses.put(f"{API}/lights/3/state", json=success(("/lights/3/state/on", True)))
    responses.put(f"{API}/lights/1/state", json=success(("/lights/1/state/on", True)))
    responses.get(f"{API}/lights", json=lights_with(**{"1": {"on": True}, "3": {"on": True}}))

    outcome = run(clock, LIGHTS_ON, target="lights:shelf,1")

    assert outcome.result == "ok", outcome.message
    assert puts() == [("lights/3/state", {"on": True}), ("lights/1/state", {"on": True})]


@responses.activate
def test_an_unknown_light_name_is_a_permanent_error_naming_it(clock: FakeClock) -> None:
    responses.get(f"{API}/lights", json=all_lights())

    outcome = run(clock, LIGHTS_ON, target="lights:Desk")

    assert outcome.result == "permanent"
    assert outcome.http_status == 500
    assert "'Desk'" in outcome.message and "Sofa" in outcome.message
    assert puts() == []


@responses.activate
def test_an_unknown_group_is_a_permanent_error(clock: FakeClock) -> None:
    responses.get(f"{API}/groups", json=GROUPS)
    outcome = run(clock, LIGHTS_ON, target="group:Kitchen")
    assert (outcome.result, outcome.http_status) == ("permanent", 500)
    assert "Kitchen" in outcome.message


@responses.activate
def test_a_rejected_key_is_permanent_and_never_leaks(clock: FakeClock) -> None:
    responses.put(f"{API}/groups/0/action", json=[hue_error(1, "/groups/0/action", "unauthorized user")])
    outcome = run(clock, COLORLOOP)
    assert outcome.result == "permanent"
    assert "HUE_APP_KEY" in outcome.message and APP_KEY not in json.dumps(outcome.as_dict())
    assert len(responses.calls) == 1


@responses.activate
def test_colorloop_sends_on_and_effect_in_one_body_and_skips_the_white_bulb(clock: FakeClock) -> None:
    responses.get(f"{API}/lights", json=all_lights())
    for light_id in ("1", "4"):
        responses.put(f"{API}/lights/{light_id}/state", json=success((f"/lights/{light_id}/state/on", True)))
    responses.get(f"{API}/lights", json=COLORLOOP_READ)

    outcome = run(clock, COLORLOOP, target="lights:1,Hall")

    assert outcome.result == "ok", outcome.message
    assert puts() == [("lights/1/state", LOOPING), ("lights/4/state", {"on": True})]
    assert {light.id: light.status for light in outcome.lights} == {"1": "ok", "4": "skipped"}


@responses.activate
def test_white_bulb_in_a_colorloop_group_counts_as_skipped_not_failed(clock: FakeClock) -> None:
    responses.put(
        f"{API}/groups/0/action", json=success(("/groups/0/action/on", True), ("/groups/0/action/effect", "colorloop"))
    )
    responses.get(f"{API}/lights", json=COLORLOOP_READ)

    outcome = run(clock, COLORLOOP)

    assert outcome.result == "ok"
    assert outcome.lights[3].status == "skipped"
    assert "no `effect`" in outcome.lights[3].detail, "a skipped light says why"


@responses.activate
def test_colorloop_is_re_sent_to_a_light_that_read_back_wrong(clock: FakeClock) -> None:
    # Light 2 was power-cycled: it applied its power-on setting after the broadcast, without the effect.
    responses.put(f"{API}/groups/0/action", json=success(("/groups/0/action/on", True)))
    responses.get(
        f"{API}/lights",
        json=lights_with(**{k: LOOPING for k in "13"}, **{"2": {"on": True}, "4": {"on": True}}),
    )
    responses.put(
        f"{API}/lights/2/state", json=success(("/lights/2/state/on", True), ("/lights/2/state/effect", "colorloop"))
    )
    responses.get(f"{API}/lights", json=COLORLOOP_READ)

    outcome = run(clock, COLORLOOP)

    assert outcome.result == "ok", outcome.message
    assert puts() == [
        ("groups/0/action", LOOPING),
        ("lights/2/state", LOOPING),
    ]
    assert outcome.bridge_requests == 4


@responses.activate
def test_lights_still_wrong_when_the_budget_runs_out_are_reported_as_503(clock: FakeClock) -> None:
    responses.put(f"{API}/groups/0/action", json=success(("/groups/0/action/on", True)))
    responses.put(f"{API}/lights/2/state", json=success(("/lights/2/state/on", True)))
    responses.get(
        f"{API}/lights",
        json=lights_with(**{k: LOOPING for k in "13"}, **{"2": {"on": True}, "4": {"on": True}}),
    )

    outcome = run(clock, COLORLOOP, budget=5.0)

    assert (outcome.result, outcome.http_status) == ("transient", 503)
    assert "Window" in outcome.message
    assert {light.id: light.status for light in outcome.lights}["2"] == "error"
    assert sum(clock.sleeps) <= 5.0
    assert len([p for p in puts() if p[0] == "lights/2/state"]) >= 2, "re-sent while the budget lasted"


@pytest.mark.parametrize("action", [LIGHTS_OFF, LIGHTS_ON])
@responses.activate
def test_an_unreachable_light_is_re_sent_once_then_reported_as_a_warning(clock: FakeClock, action: Action) -> None:
    wanted = action.command["on"]
    responses.put(f"{API}/groups/0/action", json=success(("/groups/0/action/on", wanted)))
    responses.put(f"{API}/lights/2/state", json=success(("/lights/2/state/on", wanted)))
    responses.get(
        f"{API}/lights", json=lights_with(**{k: {"on": wanted} for k in "134"}, **{"2": {"reachable": False}})
    )

    outcome = run(clock, action)

    assert (outcome.result, outcome.http_status) == ("ok", 200)
    assert {light.id: light.status for light in outcome.lights}["2"] == "unreachable"
    assert "unreachable, sent but not confirmed: Window" in outcome.message
    assert puts() == [("groups/0/action", {"on": wanted}), ("lights/2/state", {"on": wanted})], "exactly one re-send"


@responses.activate
def test_the_lights_are_read_back_only_after_the_verify_delay(clock: FakeClock) -> None:
    responses.put(f"{API}/groups/0/action", json=success(("/groups/0/action/on", True)))
    responses.get(f"{API}/lights", json=all_lights(on=True))
    runner, _ = make_runner(clock)
    runner.verify_delay = 1.5

    outcome = runner.run(LIGHTS_ON, make_settings().target, 25)

    assert outcome.result == "ok"
    assert clock.sleeps[-1] == 1.5, "a bulb applies its power-on setting a moment after the command"


@responses.activate
def test_waits_never_eat_the_whole_budget(clock: FakeClock) -> None:
    responses.put(f"{API}/groups/0/action", json=success(("/groups/0/action/on", True)))
    responses.get(f"{API}/lights", json=all_lights(on=True))
    runner, _ = make_runner(clock)
    runner.verify_delay = 10.0

    outcome = runner.run(LIGHTS_ON, make_settings().target, 4.0)

    assert outcome.result == "ok"
    assert sum(clock.sleeps) <= 2.0 + 1e-9


@pytest.mark.parametrize("action", [LIGHTS_OFF, LIGHTS_ON, COLORLOOP])
def test_each_action_judges_its_own_desired_state(action: Action) -> None:
    colour_on = {"on": True, "effect": "colorloop", "sat": 254, "reachable": True}
    assert (action.judge(colour_on) == "ok") is (action is not LIGHTS_OFF)
    assert action.judge({"on": False, "effect": "none", "reachable": True}) == ("ok" if action is LIGHTS_OFF else None)


@responses.activate
def test_a_light_looping_in_white_is_re_sent_with_full_saturation(clock: FakeClock) -> None:
    # v1 colorloop keeps the light's saturation: a bulb last used in white would cycle the hue invisibly.
    responses.put(f"{API}/groups/0/action", json=success(("/groups/0/action/on", True)))
    responses.get(
        f"{API}/lights",
        json=lights_with(**{k: LOOPING for k in "13"}, **{"2": {**LOOPING, "sat": 0}, "4": {"on": True}}),
    )
    responses.put(f"{API}/lights/2/state", json=success(("/lights/2/state/sat", 254)))
    responses.get(f"{API}/lights", json=COLORLOOP_READ)

    outcome = run(clock, COLORLOOP)

    assert outcome.result == "ok", outcome.message
    assert puts() == [("groups/0/action", LOOPING), ("lights/2/state", LOOPING)]
    assert {light.id: light.effect for light in outcome.lights} == {
        "1": "colorloop",
        "2": "colorloop",
        "3": "colorloop",
        "4": "none",
    }


@responses.activate
def test_the_colorloop_saturation_comes_from_the_settings(clock: FakeClock) -> None:
    action = action_for("colorloop", make_settings(colorloop_saturation=180))
    responses.put(f"{API}/groups/0/action", json=success(("/groups/0/action/on", True)))
    responses.get(f"{API}/lights", json=all_lights(on=True, effect="colorloop", sat=180))

    outcome = run(clock, action)

    assert outcome.result == "ok", outcome.message
    assert puts() == [("groups/0/action", {"on": True, "effect": "colorloop", "sat": 180})]
    assert outcome.as_dict()["api"] == "v1"
    assert outcome.as_dict()["lights"]["1"]["effect"] == "colorloop"
