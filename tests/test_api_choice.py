"""HUE_API=auto at the HTTP edge: v2 where the bridge serves it over HTTPS, decided once and logged once."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import responses

from huelights.actions import LIGHTS_ON, Inventory, Runner
from huelights.api_choice import ApiChoice, ApiRunner
from huelights.bridge import Deadline
from huelights.errors import BridgeBusy, Unauthorized
from huelights.v2.client import V2Inventory
from huelights.v2.runner import V2Runner
from tests.support.hue import BRIDGE, FakeClock, clocked_bridge, make_settings
from tests.support.v2_dump import HOME_GROUPED_LIGHT
from tests.support.v2_mock import (
    BRIDGE_ID,
    HTTPS_BRIDGE,
    PROBE,
    V1,
    accept_put,
    all_lights,
    connected_dump,
    envelope,
    serve_inventory,
    serve_light_read,
    serve_probe,
)


def make_choice(clock: FakeClock, bridge_url: str = HTTPS_BRIDGE, api: str = "auto") -> ApiChoice:
    settings = make_settings(bridge_url=bridge_url, bridge_id=BRIDGE_ID, api=api, max_attempts=2)
    return ApiChoice(settings, clocked_bridge(settings, clock))


@responses.activate
def test_auto_speaks_v2_when_the_bridge_serves_it_and_asks_only_once(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    serve_probe(200)
    choice = make_choice(clock)
    with caplog.at_level(logging.INFO, logger="huelights.api"):
        assert [choice.resolve(Deadline(10, clock)) for _ in range(3)] == ["v2"] * 3
    assert len(responses.calls) == 1
    assert responses.calls[0].request.url == PROBE
    lines = [record.getMessage() for record in caplog.records if record.name == "huelights.api"]
    assert len(lines) == 1 and lines[0].startswith("speaking CLIP v2: HUE_API=auto and GET /clip/v2/resource/bridge")


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 404, "body": "<html>not found</html>", "content_type": "text/html"},
        {"status": 200, "json": {"errors": [{"description": "Not Found"}]}},  # no `data`: not a v2 envelope
        {"status": 200, "json": []},
        {"status": 405, "json": envelope([], "method not allowed")},
    ],
    ids=["404", "no-data", "json-list", "405"],
)
@responses.activate
def test_auto_falls_back_to_v1_when_v2_is_not_served(clock: FakeClock, answer: dict[str, Any]) -> None:
    responses.get(PROBE, **answer)
    choice = make_choice(clock)
    assert choice.resolve(Deadline(10, clock)) == "v1"
    assert choice.resolve(Deadline(10, clock)) == "v1"
    assert len(responses.calls) == 1


@pytest.mark.parametrize(
    ("bridge_url", "api", "chosen"), [(BRIDGE, "auto", "v1"), (HTTPS_BRIDGE, "v1", "v1"), (HTTPS_BRIDGE, "v2", "v2")]
)
@responses.activate
def test_no_question_is_asked_when_the_answer_is_known(
    clock: FakeClock, bridge_url: str, api: str, chosen: str
) -> None:
    assert make_choice(clock, bridge_url, api).resolve(Deadline(10, clock)) == chosen
    assert len(responses.calls) == 0, "an http:// bridge cannot serve v2; an explicit HUE_API is obeyed"


@responses.activate
def test_a_bridge_that_cannot_be_asked_leaves_the_choice_open(clock: FakeClock) -> None:
    responses.get(PROBE, status=503)
    responses.get(PROBE, status=503)
    serve_probe(200)
    choice = make_choice(clock)
    with pytest.raises(BridgeBusy):
        choice.resolve(Deadline(10, clock))
    assert choice.chosen is None
    assert choice.resolve(Deadline(10, clock)) == "v2"


@responses.activate
def test_a_rejected_key_is_reported_not_taken_for_a_v1_bridge(clock: FakeClock) -> None:
    responses.get(PROBE, status=403, json=envelope([], "unauthorized user"))
    choice = make_choice(clock)
    with pytest.raises(Unauthorized, match="HUE_APP_KEY"):
        choice.resolve(Deadline(10, clock))
    assert choice.chosen is None and len(responses.calls) == 1


def make_api_runner(clock: FakeClock, api: str = "auto") -> ApiRunner:
    settings = make_settings(bridge_url=HTTPS_BRIDGE, bridge_id=BRIDGE_ID, api=api)
    bridge = clocked_bridge(settings, clock)
    v1 = Runner(bridge, Inventory(clock), clock=clock, sleep=clock.sleep)
    v2 = V2Runner(bridge, V2Inventory(clock), v1_allowed=True, colorloop_saturation=254, clock=clock, sleep=clock.sleep)
    return ApiRunner(ApiChoice(settings, bridge), v1, v2, clock)


@responses.activate
def test_the_first_invocation_pays_for_the_question_and_says_which_api_it_spoke(clock: FakeClock) -> None:
    serve_probe(200)
    document = connected_dump()
    serve_inventory(document)
    accept_put("grouped_light", HOME_GROUPED_LIGHT)
    serve_light_read(all_lights(document, on={"on": True}))
    runner = make_api_runner(clock)
    target = make_settings().target

    first = runner.run(LIGHTS_ON, target, 25)
    second = runner.run(LIGHTS_ON, target, 25)

    assert (first.result, second.result) == ("ok", "ok"), first.message
    assert (first.api, second.api) == ("v2", "v2")
    assert (first.bridge_requests, second.bridge_requests) == (1 + 3, 2)


@responses.activate
def test_a_bridge_without_v2_gets_the_v1_runner(clock: FakeClock) -> None:
    responses.get(PROBE, status=404)
    responses.put(f"{V1}/groups/0/action", json=[{"success": {"/groups/0/action/on": True}}])
    responses.get(f"{V1}/lights", json={"1": {"name": "Sofa", "state": {"on": True, "reachable": True}}})

    outcome = make_api_runner(clock).run(LIGHTS_ON, make_settings().target, 25)

    assert (outcome.result, outcome.api, outcome.bridge_requests) == ("ok", "v1", 3)


@responses.activate
def test_when_the_question_cannot_be_answered_the_invocation_is_transient(clock: FakeClock) -> None:
    responses.get(PROBE, status=503)

    outcome = make_api_runner(clock).run(LIGHTS_ON, make_settings().target, 25)

    assert (outcome.result, outcome.http_status) == ("transient", 503)
    assert outcome.message.startswith("cannot tell whether the bridge serves CLIP v2: GET /clip/v2/resource/bridge")
    assert outcome.bridge_requests == 5 and outcome.api == ""
