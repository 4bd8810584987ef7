"""The v2 runner at the HTTP edge, on the real bridge's dump: requests per action, effects per light,
207 / 429 / 503 / HTML / 403 / 404, re-sends, budget, and v1 colorloop where prism is missing."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
import responses

from huelights.actions import COLORLOOP, LIGHTS_OFF, LIGHTS_ON, Action, colorloop_action
from huelights.config import parse_target
from huelights.v2.client import V2Inventory
from huelights.v2.runner import V2Runner
from tests.support.hue import APP_KEY, FakeClock, clocked_bridge, make_settings, success
from tests.support.v2_dump import (
    ALL_LIGHTS_BY_V1,
    COLOUR_NO_EFFECTS,
    HOME_GROUPED_LIGHT,
    PRISM_OFF,
    PRISM_ON,
    WHITE_AMBIANCE,
    WHITE_NO_EFFECTS,
    load_dump,
    of_type,
)
from tests.support.v2_mock import (
    BRIDGE_ID,
    HTTPS_BRIDGE,
    MAY_NOT_HAVE_EFFECT,
    V1,
    V2,
    accept_put,
    all_lights,
    changed,
    connected_dump,
    envelope,
    prism,
    serve_inventory,
    serve_light_read,
    serve_links,
    v2_calls,
)

PRISM_LIGHTS = ("7049a389-288d-f789-b338-87fd2172a1fa", PRISM_ON, PRISM_OFF, "4cd1e047-6b7d-c797-eac8-3cb2b496ae36")
WHITE_LIGHTS = (WHITE_NO_EFFECTS, "7ebc892a-46fe-0a90-cd0c-87836247edda", WHITE_AMBIANCE)
PRISM_BODY = {"on": {"on": True}, "effects_v2": {"action": {"effect": "prism"}}}
V1_LOOP = {"on": True, "effect": "colorloop", "sat": 254}
V1_LOOPING = {"120": {"name": "Device 6", "state": {"on": True, "effect": "colorloop", "sat": 254, "reachable": True}}}


def make_runner(clock: FakeClock, *, v1_allowed: bool = True, **overrides: Any) -> V2Runner:
    settings = make_settings(bridge_url=HTTPS_BRIDGE, bridge_id=BRIDGE_ID, **overrides)
    bridge = clocked_bridge(settings, clock)
    return V2Runner(
        bridge,
        V2Inventory(clock),
        v1_allowed=v1_allowed,
        colorloop_saturation=settings.colorloop_saturation,
        clock=clock,
        sleep=clock.sleep,
    )


def run(runner: V2Runner, action: Action, target: str = "all", budget: float = 25.0) -> Any:
    return runner.run(action, parse_target(target), budget)


def looping_everywhere(document: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every prism light looping, every other light on."""
    on = all_lights(document, on={"on": True})
    return changed(on, **{light_id: prism(document, light_id) for light_id in PRISM_LIGHTS})


@pytest.mark.parametrize(("action", "on"), [(LIGHTS_OFF, False), (LIGHTS_ON, True)])
@responses.activate
def test_off_and_on_for_all_is_one_grouped_light_put_and_one_light_get_when_warm(
    clock: FakeClock, action: Action, on: bool
) -> None:
    document = connected_dump()
    serve_inventory(document)
    accept_put("grouped_light", HOME_GROUPED_LIGHT)
    serve_light_read(all_lights(document, on={"on": on}))
    runner = make_runner(clock)

    cold = run(runner, action)
    warm_from = len(responses.calls)
    warm = run(runner, action)

    assert (cold.result, warm.result) == ("ok", "ok"), warm.message
    assert (cold.bridge_requests, warm.bridge_requests) == (3, 2)
    assert v2_calls()[warm_from:] == [
        ("v2 PUT", f"/grouped_light/{HOME_GROUPED_LIGHT}", {"on": {"on": on}}),
        ("v2 GET", "/light", None),
    ]
    assert all(call.request.headers["hue-application-key"] == APP_KEY for call in responses.calls)
    assert [light.status for light in warm.lights] == ["ok"] * 8
    assert {light.effect for light in warm.lights} == {"none"}
    assert warm.api == "v2" and warm.as_dict()["api"] == "v2"


@responses.activate
def test_a_grouped_light_that_left_a_light_on_is_followed_by_one_light_put(clock: FakeClock) -> None:
    document = connected_dump()
    serve_inventory(document)
    accept_put("grouped_light", HOME_GROUPED_LIGHT)
    serve_light_read(changed(all_lights(document, on={"on": False}), **{PRISM_ON: {"on": {"on": True}}}))
    accept_put("light", PRISM_ON)
    serve_light_read(all_lights(document, on={"on": False}))

    outcome = run(make_runner(clock), LIGHTS_OFF)

    assert outcome.result == "ok", outcome.message
    assert [call[:2] for call in v2_calls()] == [
        ("v2 GET", ""),
        ("v2 PUT", f"/grouped_light/{HOME_GROUPED_LIGHT}"),
        ("v2 GET", "/light"),
        ("v2 PUT", f"/light/{PRISM_ON}"),
        ("v2 GET", "/light"),
    ]
    assert v2_calls()[3][2] == {"on": {"on": False}}


@responses.activate
def test_colorloop_gives_prism_per_light_v1_colorloop_where_prism_is_missing_and_skips_white(
    clock: FakeClock,
) -> None:
    document = connected_dump()
    serve_inventory(document)
    sent_at: dict[str, float] = {}

    def stamp(request: Any) -> tuple[int, dict[str, str], str]:
        sent_at[request.url] = clock.now
        if "/api/" in request.url:
            return 200, {}, json.dumps(success(("/lights/120/state/on", True)))
        return 200, {}, '{"errors": [], "data": [{"rid": "x", "rtype": "light"}]}'

    for light in of_type(document, "light"):
        responses.add_callback(responses.PUT, f"{V2}/light/{light['id']}", callback=stamp)
    responses.add_callback(responses.PUT, f"{V1}/lights/120/state", callback=stamp)
    serve_light_read(looping_everywhere(document))
    responses.get(f"{V1}/lights", json=V1_LOOPING)
    runner = make_runner(clock)

    outcome = run(runner, COLORLOOP)

    assert outcome.result == "ok", outcome.message
    calls = v2_calls()
    puts = {path.rsplit("/", 1)[-1]: body for method, path, body in calls if method == "v2 PUT"}
    assert {light_id: puts[light_id] for light_id in PRISM_LIGHTS} == dict.fromkeys(PRISM_LIGHTS, PRISM_BODY)
    assert {puts[light_id] == {"on": {"on": True}} for light_id in WHITE_LIGHTS} == {True}
    assert COLOUR_NO_EFFECTS not in puts
    assert ("v1 PUT", "/lights/120/state", V1_LOOP) in calls
    # 7 v2 light PUTs + 1 v1 PUT, one GET per API; plus the cold inventory.
    assert outcome.bridge_requests == 1 + 7 + 1 + 2
    times = sorted(sent_at.values())
    assert len(times) == 8, "v2 and v1 light commands share one pacer: one Zigbee network"
    assert all(later - earlier >= 0.1 - 1e-9 for earlier, later in itertools.pairwise(times))
    effects = {light.id: (light.status, light.effect) for light in outcome.lights}
    assert {effects[light_id] for light_id in PRISM_LIGHTS} == {("ok", "prism")}
    assert effects[COLOUR_NO_EFFECTS] == ("ok", "colorloop")
    assert {effects[light_id] for light_id in WHITE_LIGHTS} == {("skipped", "none")}
    assert [light.id for light in outcome.lights][0:2] == [PRISM_LIGHTS[0], WHITE_NO_EFFECTS], "v1 id order"
    assert outcome.as_dict()["lights"][COLOUR_NO_EFFECTS]["effect"] == "colorloop"


@responses.activate
def test_under_hue_api_v2_a_colour_light_without_prism_is_switched_on_and_skipped_never_v1(
    clock: FakeClock,
) -> None:
    document = connected_dump()
    serve_inventory(document)
    accept_put("light", COLOUR_NO_EFFECTS)
    serve_light_read(document)  # /lights/120 is on in the dump

    outcome = run(make_runner(clock, v1_allowed=False), COLORLOOP, target="lights:120")

    assert outcome.result == "ok", outcome.message
    assert v2_calls() == [
        ("v2 GET", "", None),
        ("v2 PUT", f"/light/{COLOUR_NO_EFFECTS}", {"on": {"on": True}}),
        ("v2 GET", "/light", None),
    ]
    light = outcome.lights[0]
    assert (light.status, light.effect) == ("skipped", "none")
    assert "HUE_API=v2" in light.detail
    assert "skipped, no loop to give: Device 6" in outcome.message


# Recorded from the diyHue emulator (v1 `GET /lights/1` after `PUT {"on":true,"effect":"colorloop","sat":254}`,
# its answer `success` for all three): an Extended color light whose state never shows `effect`.
DIYHUE_STATE_AFTER_COLORLOOP = {
    "on": True, "bri": 200, "ct": 461, "colormode": "hs", "xy": [0.0, 0.0], "hue": 0, "sat": 254,
    "alert": "none", "mode": "homeautomation", "reachable": True,
}  # fmt: skip
DIYHUE_COLORLOOP_ANSWER = success(
    ("/lights/120/state/on", True), ("/lights/120/state/effect", "colorloop"), ("/lights/120/state/sat", 254)
)


@responses.activate
def test_a_v1_loop_the_v1_state_cannot_show_is_skipped_with_the_reason_not_claimed_or_re_sent(
    clock: FakeClock,
) -> None:
    document = connected_dump()
    serve_inventory(document)
    responses.put(f"{V1}/lights/120/state", json=DIYHUE_COLORLOOP_ANSWER)
    responses.get(f"{V1}/lights", json={"120": {"name": "Device 6", "state": DIYHUE_STATE_AFTER_COLORLOOP}})

    outcome = run(make_runner(clock), COLORLOOP, target="lights:120")

    assert outcome.result == "ok", outcome.message
    assert v2_calls() == [("v2 GET", "", None), ("v1 PUT", "/lights/120/state", V1_LOOP), ("v1 GET", "/lights", None)]
    light = outcome.lights[0]
    assert (light.status, light.effect) == ("skipped", "none"), "an unconfirmed loop is not reported as given"
    assert "not confirmed" in light.detail and "`effect`" in light.detail
    assert "skipped, no loop to give: Device 6" in outcome.message


@responses.activate
def test_a_v1_loop_at_the_wrong_saturation_is_re_sent_through_v1(clock: FakeClock) -> None:
    document = connected_dump()
    serve_inventory(document)
    responses.put(f"{V1}/lights/120/state", json=success(("/lights/120/state/on", True)))
    responses.get(f"{V1}/lights", json={"120": {"state": {"on": True, "effect": "colorloop", "sat": 0}}})
    responses.get(f"{V1}/lights", json=V1_LOOPING)
    runner = make_runner(clock, colorloop_saturation=254)

    outcome = run(runner, COLORLOOP, target="lights:120")

    assert outcome.result == "ok", outcome.message
    assert [call[:2] for call in v2_calls()] == [
        ("v2 GET", ""),
        ("v1 PUT", "/lights/120/state"),
        ("v1 GET", "/lights"),
        ("v1 PUT", "/lights/120/state"),
        ("v1 GET", "/lights"),
    ], "no v2 read-back: the light's loop is judged through the API that set it"


@responses.activate
def test_the_v1_saturation_is_configurable(clock: FakeClock) -> None:
    serve_inventory(connected_dump())
    responses.put(f"{V1}/lights/120/state", json=success(("/lights/120/state/on", True)))
    responses.get(f"{V1}/lights", json={"120": {"state": {"on": True, "effect": "colorloop", "sat": 150}}})

    outcome = run(make_runner(clock, colorloop_saturation=150), colorloop_action(150), target="lights:120")

    assert outcome.result == "ok", outcome.message
    assert v2_calls()[1] == ("v1 PUT", "/lights/120/state", {"on": True, "effect": "colorloop", "sat": 150})


@responses.activate
def test_a_207_warning_is_settled_by_the_read_back(clock: FakeClock) -> None:
    document = connected_dump()
    serve_inventory(document)
    accept_put("light", PRISM_OFF, 207, MAY_NOT_HAVE_EFFECT)
    serve_light_read(changed(document, **{PRISM_OFF: prism(document, PRISM_OFF)}))

    outcome = run(make_runner(clock), COLORLOOP, target="lights:128")

    assert outcome.result == "ok", outcome.message
    assert outcome.bridge_requests == 3, "accepted: no re-send"
    assert (outcome.lights[0].status, outcome.lights[0].effect) == ("ok", "prism")


@responses.activate
def test_a_207_light_that_never_loops_is_reported_with_the_bridges_warning(clock: FakeClock) -> None:
    document = connected_dump()
    serve_inventory(document)
    accept_put("light", PRISM_OFF, 207, MAY_NOT_HAVE_EFFECT)
    serve_light_read(document)  # still off

    outcome = run(make_runner(clock), COLORLOOP, target="lights:128", budget=6.0)

    assert (outcome.result, outcome.http_status) == ("transient", 503)
    light = outcome.lights[0]
    assert light.status == "error"
    assert "reads back off" in light.detail and "may not have effect" in light.detail
    assert sum(clock.sleeps) <= 6.0
    assert len([c for c in v2_calls() if c[0] == "v2 PUT"]) >= 2, "re-sent while the budget lasted"


@pytest.mark.parametrize(
    "overload",
    [
        {"status": 429, "body": "<html><body>Too Many Requests</body></html>", "content_type": "text/html"},
        {"status": 503, "json": envelope([], "service unavailable")},
        {"status": 500, "json": envelope([], "internal error")},
        {"status": 200, "body": "<html>no lighting found</html>", "content_type": "text/html"},
    ],
    ids=["429-html", "503", "500", "html-at-200"],
)
@responses.activate
def test_overload_is_retried_within_the_budget(clock: FakeClock, overload: dict[str, Any]) -> None:
    document = connected_dump()
    serve_inventory(document)
    responses.put(f"{V2}/grouped_light/{HOME_GROUPED_LIGHT}", **overload)
    responses.put(f"{V2}/grouped_light/{HOME_GROUPED_LIGHT}", **overload)
    accept_put("grouped_light", HOME_GROUPED_LIGHT)
    responses.get(f"{V2}/light", **overload)
    serve_light_read(all_lights(document, on={"on": True}))

    outcome = run(make_runner(clock), LIGHTS_ON)

    assert outcome.result == "ok", outcome.message
    assert outcome.bridge_requests == 1 + 3 + 2
    assert sum(clock.sleeps) < 25


@responses.activate
def test_overload_that_lasts_is_503_within_the_budget(clock: FakeClock) -> None:
    serve_inventory(connected_dump())
    responses.put(f"{V2}/grouped_light/{HOME_GROUPED_LIGHT}", status=503, json=envelope([], "busy"))

    outcome = run(make_runner(clock, max_attempts=3), LIGHTS_OFF)

    assert (outcome.result, outcome.http_status) == ("transient", 503)
    assert "HTTP 503" in outcome.message and "gave up after 3 attempts" in outcome.message
    assert outcome.bridge_requests == 1 + 3


@responses.activate
def test_a_rejected_key_is_permanent_at_once_and_names_the_key(clock: FakeClock) -> None:
    responses.get(V2, status=403, json=envelope([], "unauthorized user"))

    outcome = run(make_runner(clock), LIGHTS_ON)

    assert (outcome.result, outcome.http_status) == ("permanent", 500)
    assert "HUE_APP_KEY was rejected" in outcome.message and "unauthorized user" in outcome.message
    assert APP_KEY not in str(outcome.as_dict())
    assert len(responses.calls) == 1 and clock.sleeps == []


@responses.activate
def test_a_404_with_a_cached_id_map_rebuilds_it_once_then_is_permanent(clock: FakeClock) -> None:
    document = connected_dump()
    serve_inventory(document)
    accept_put("grouped_light", HOME_GROUPED_LIGHT)
    serve_light_read(all_lights(document, on={"on": True}))
    runner = make_runner(clock)
    assert run(runner, LIGHTS_ON).result == "ok"
    responses.replace(
        responses.PUT, f"{V2}/grouped_light/{HOME_GROUPED_LIGHT}", status=404, json=envelope([], "Not Found")
    )
    warm_from = len(responses.calls)

    outcome = run(runner, LIGHTS_ON)

    assert (outcome.result, outcome.http_status) == ("permanent", 500)
    assert "HTTP 404" in outcome.message and "no such resource" in outcome.message
    assert [call[:2] for call in v2_calls()[warm_from:]] == [
        ("v2 PUT", f"/grouped_light/{HOME_GROUPED_LIGHT}"),
        ("v2 GET", ""),
        ("v2 PUT", f"/grouped_light/{HOME_GROUPED_LIGHT}"),
    ]


@responses.activate
def test_a_light_added_since_the_cache_is_found_by_one_rebuild(clock: FakeClock) -> None:
    document = connected_dump()
    added = PRISM_LIGHTS[0]  # /lights/40
    responses.get(V2, json=envelope([item for item in document if item["id"] != added]))
    responses.get(V2, json=envelope(document))
    accept_put("light", WHITE_NO_EFFECTS)
    accept_put("light", added)
    serve_light_read(all_lights(document, on={"on": True}))
    runner = make_runner(clock)
    assert run(runner, LIGHTS_ON, target="lights:63").result == "ok"  # caches the map without /lights/40
    warm_from = len(responses.calls)

    outcome = run(runner, LIGHTS_ON, target="lights:40")

    assert outcome.result == "ok", outcome.message
    assert [call[:2] for call in v2_calls()[warm_from:]] == [
        ("v2 GET", ""),
        ("v2 PUT", f"/light/{added}"),
        ("v2 GET", "/light"),
    ]


@responses.activate
def test_an_unknown_target_with_a_fresh_id_map_is_permanent_and_lists_what_the_bridge_has(clock: FakeClock) -> None:
    serve_inventory(load_dump())

    outcome = run(make_runner(clock), LIGHTS_ON, target="group:Kitchen")

    assert (outcome.result, outcome.http_status) == ("permanent", 500)
    assert "'Kitchen'" in outcome.message and "Room 9" in outcome.message
    assert len(responses.calls) == 1


@responses.activate
def test_a_light_with_a_zigbee_connectivity_issue_gets_one_re_send_then_counts_as_unreachable(
    clock: FakeClock,
) -> None:
    document = load_dump()  # /lights/120 has `connectivity_issue`
    serve_inventory(document)
    accept_put("grouped_light", HOME_GROUPED_LIGHT)
    accept_put("light", COLOUR_NO_EFFECTS)
    serve_light_read(all_lights(document, on={"on": False}))
    serve_links(document)  # and still has it when the read-back asks again

    outcome = run(make_runner(clock), LIGHTS_OFF)

    assert outcome.result == "ok", outcome.message
    statuses = {light.id: light.status for light in outcome.lights}
    assert statuses[COLOUR_NO_EFFECTS] == "unreachable"
    assert [c[1] for c in v2_calls() if c[0] == "v2 PUT"] == [
        f"/grouped_light/{HOME_GROUPED_LIGHT}",
        f"/light/{COLOUR_NO_EFFECTS}",
    ]
    reads = ["", "/light", "/zigbee_connectivity", "/light", "/zigbee_connectivity"]  # inventory, 2 read-backs
    assert [c[1] for c in v2_calls() if c[0] == "v2 GET"] == reads
    assert len(outcome.lights) == len(ALL_LIGHTS_BY_V1)


@responses.activate
def test_a_light_whose_link_is_back_by_the_read_back_is_confirmed_not_left_unreachable(clock: FakeClock) -> None:
    """The inventory's link status can be minutes old (cached) or from before the bulb came back; like v1's
    `reachable`, it is read again with the read-back while a target light's link was in doubt."""
    document = load_dump()  # /lights/120 has `connectivity_issue` in the inventory
    serve_inventory(document)
    accept_put("grouped_light", HOME_GROUPED_LIGHT)
    serve_light_read(all_lights(document, on={"on": False}))
    serve_links(connected_dump())

    outcome = run(make_runner(clock), LIGHTS_OFF)

    assert outcome.result == "ok", outcome.message
    assert {light.id: light.status for light in outcome.lights}[COLOUR_NO_EFFECTS] == "ok"
    assert [c[:2] for c in v2_calls()] == [
        ("v2 GET", ""),
        ("v2 PUT", f"/grouped_light/{HOME_GROUPED_LIGHT}"),
        ("v2 GET", "/light"),
        ("v2 GET", "/zigbee_connectivity"),
    ]


@responses.activate
def test_with_every_link_connected_the_read_back_reads_no_links(clock: FakeClock) -> None:
    document = connected_dump()
    serve_inventory(document)
    accept_put("grouped_light", HOME_GROUPED_LIGHT)
    serve_light_read(all_lights(document, on={"on": False}))

    outcome = run(make_runner(clock), LIGHTS_OFF)

    assert outcome.result == "ok", outcome.message
    assert "/zigbee_connectivity" not in [c[1] for c in v2_calls()]


@responses.activate
def test_a_bridge_that_refuses_v1_gets_the_colour_light_switched_on_and_skipped_from_then_on(
    clock: FakeClock,
) -> None:
    document = connected_dump()
    serve_inventory(document)
    responses.put(f"{V1}/lights/120/state", status=404, body="<html>not found</html>")
    accept_put("light", COLOUR_NO_EFFECTS)
    serve_light_read(document)
    runner = make_runner(clock)

    first = run(runner, COLORLOOP, target="lights:120")
    warm_from = len(responses.calls)
    second = run(runner, COLORLOOP, target="lights:120")

    assert (first.result, second.result) == ("ok", "ok"), first.message
    assert (first.lights[0].status, first.lights[0].effect) == ("skipped", "none")
    assert "bridge serves no v1" in first.lights[0].detail
    assert [call[:2] for call in v2_calls()[:warm_from]] == [
        ("v2 GET", ""),
        ("v1 PUT", "/lights/120/state"),
        ("v2 PUT", f"/light/{COLOUR_NO_EFFECTS}"),
        ("v2 GET", "/light"),
    ]
    assert not [call for call in v2_calls()[warm_from:] if call[0].startswith("v1")], "asked once per process"


@responses.activate
def test_a_re_send_reads_back_only_the_api_whose_light_was_wrong(clock: FakeClock) -> None:
    document = connected_dump()
    serve_inventory(document)
    accept_put("light", PRISM_OFF)
    responses.put(f"{V1}/lights/120/state", json=success(("/lights/120/state/on", True)))
    serve_light_read(changed(document, **{PRISM_OFF: {"on": {"on": True}}}))  # on, but prism not (yet) running
    serve_light_read(changed(document, **{PRISM_OFF: prism(document, PRISM_OFF)}))
    responses.get(f"{V1}/lights", json=V1_LOOPING)

    outcome = run(make_runner(clock), COLORLOOP, target="lights:128,120")

    assert outcome.result == "ok", outcome.message
    assert [call[:2] for call in v2_calls()] == [
        ("v2 GET", ""),
        ("v2 PUT", f"/light/{PRISM_OFF}"),
        ("v1 PUT", "/lights/120/state"),
        ("v2 GET", "/light"),
        ("v1 GET", "/lights"),
        ("v2 PUT", f"/light/{PRISM_OFF}"),
        ("v2 GET", "/light"),
    ]
    assert {light.effect for light in outcome.lights} == {"prism", "colorloop"}
