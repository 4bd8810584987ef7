"""Each function through functions-framework's test client against a CLIP v2 bridge (HTTPS), under
HUE_API=auto, v2 and v1: the API is chosen at the first invocation and named in the one log line."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
from cloudevents.http import from_http

from tests.support.functions import FUNCTIONS, TOKEN, client, ping_headers
from tests.support.hue import APP_KEY
from tests.support.v2_dump import COLOUR_NO_EFFECTS, HOME_GROUPED_LIGHT, PRISM_OFF, of_type
from tests.support.v2_mock import (
    BRIDGE_ID,
    HTTPS_BRIDGE,
    PROBE,
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
    serve_probe,
    v2_calls,
)

V1_LIGHT_120 = {
    "120": {"name": "Device 6", "state": {"on": True, "effect": "colorloop", "sat": 254, "reachable": True}}
}


def v2_client(target: str, monkeypatch: pytest.MonkeyPatch, **env: str) -> Any:
    monkeypatch.setattr("huelights.transport.BACKOFF_BASE_SECONDS", 0.0)  # retries without real sleeping
    return client(
        target,
        monkeypatch,
        HUE_BRIDGE=HTTPS_BRIDGE,
        HUE_BRIDGE_ID=BRIDGE_ID,
        HUE_VERIFY_DELAY="0",
        HUE_LIGHT_INTERVAL="0",
        **env,
    )


def log_records(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


@pytest.mark.parametrize(("target", "on"), [("lights_off", False), ("lights_on", True)])
@responses.activate
def test_off_and_on_speak_v2_under_auto_with_one_question_per_process(
    target: str, on: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    document = connected_dump()
    serve_probe(200)
    serve_inventory(document)
    accept_put("grouped_light", HOME_GROUPED_LIGHT)
    serve_light_read(all_lights(document, on={"on": on}))
    app = v2_client(target, monkeypatch)
    capsys.readouterr()

    first = app.post("/", headers=ping_headers(FUNCTIONS[target]), data=b"{}")
    second = app.post("/", headers=ping_headers(FUNCTIONS[target]), data=b"{}")

    assert (first.status_code, second.status_code) == (200, 200), first.data
    reply = from_http(dict(first.headers), first.data)
    assert reply.data["api"] == "v2" and reply.data["result"] == "ok"
    records = log_records(capsys.readouterr().out)
    assert [(r["api"], r["bridge_requests"]) for r in records] == [("v2", 4), ("v2", 2)]
    assert [call[:2] for call in v2_calls()].count(("v2 GET", "/bridge")) == 1
    assert v2_calls()[-2] == ("v2 PUT", f"/grouped_light/{HOME_GROUPED_LIGHT}", {"on": {"on": on}})
    assert all(r["lights"][PRISM_OFF]["effect"] == "none" for r in records)


@responses.activate
def test_colorloop_under_auto_gives_prism_and_v1_colorloop_and_logs_each_lights_effect(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    document = connected_dump()
    serve_probe(200)
    serve_inventory(document)
    for light in of_type(document, "light"):
        accept_put("light", light["id"])
    responses.put(f"{V1}/lights/120/state", json=[{"success": {"/lights/120/state/on": True}}])
    prism_lights = [light["id"] for light in of_type(document, "light") if "prism" in str(light.get("effects_v2"))]
    serve_light_read(changed(all_lights(document, on={"on": True}), **{i: prism(document, i) for i in prism_lights}))
    responses.get(f"{V1}/lights", json=V1_LIGHT_120)
    app = v2_client("colorloop", monkeypatch)
    capsys.readouterr()

    response = app.post("/", headers={"X-Gohome-External": "colorloop.lab", "Authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 200, response.data
    body = response.get_json()
    assert body["api"] == "v2"
    effects = {light_id: (light["status"], light["effect"]) for light_id, light in body["lights"].items()}
    assert {effects[i] for i in prism_lights} == {("ok", "prism")}
    assert effects[COLOUR_NO_EFFECTS] == ("ok", "colorloop")
    assert sorted(effects.values()).count(("skipped", "none")) == 3
    (record,) = log_records(capsys.readouterr().out)
    assert record["api"] == "v2" and record["lights"] == body["lights"]
    # probe + inventory + 7 v2 light PUTs + 1 v1 PUT + GET light + v1 GET lights
    assert record["bridge_requests"] == 12
    assert APP_KEY not in json.dumps(record)


@responses.activate
def test_colorloop_under_hue_api_v2_never_touches_v1(monkeypatch: pytest.MonkeyPatch) -> None:
    document = connected_dump()
    serve_inventory(document)
    accept_put("light", PRISM_OFF)
    accept_put("light", COLOUR_NO_EFFECTS)
    serve_light_read(changed(document, **{PRISM_OFF: prism(document, PRISM_OFF)}))
    app = v2_client("colorloop", monkeypatch, HUE_API="v2", HUE_TARGET="lights:128,120")

    response = app.post("/", headers={"Content-Type": "application/json"}, data=b"{}")

    assert response.status_code == 200, response.data
    lights = response.get_json()["lights"]
    assert (lights[PRISM_OFF]["status"], lights[PRISM_OFF]["effect"]) == ("ok", "prism")
    assert (lights[COLOUR_NO_EFFECTS]["status"], lights[COLOUR_NO_EFFECTS]["effect"]) == ("skipped", "none")
    assert not [call for call in v2_calls() if call[0].startswith("v1")]
    assert ("v2 GET", "/bridge", None) not in v2_calls(), "HUE_API=v2 is not asked about"


@pytest.mark.parametrize("hue_api", ["auto", "v1"])
@responses.activate
def test_a_bridge_spoken_to_over_v1_gets_the_saturated_colorloop(hue_api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    responses.get(PROBE, status=404)
    responses.put(f"{V1}/groups/0/action", json=[{"success": {"/groups/0/action/on": True}}])
    responses.get(
        f"{V1}/lights", json={"1": {"name": "Sofa", "state": {"on": True, "effect": "colorloop", "sat": 200}}}
    )
    app = v2_client("colorloop", monkeypatch, HUE_API=hue_api, HUE_COLORLOOP_SAT="200")

    response = app.post("/", headers={"Content-Type": "application/json"}, data=b"{}")

    assert response.status_code == 200, response.data
    assert response.get_json()["api"] == "v1"
    assert v2_calls()[-2] == ("v1 PUT", "/groups/0/action", {"on": True, "effect": "colorloop", "sat": 200})
    assert len(responses.calls) == (3 if hue_api == "auto" else 2)


@responses.activate
def test_a_rejected_key_on_v2_is_500_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    responses.get(V2, status=403, json=envelope([], "unauthorized user"))
    app = v2_client("lights_on", monkeypatch, HUE_API="v2")

    response = app.post("/", headers={"Content-Type": "application/json"}, data=b"{}")

    assert response.status_code == 500
    assert "HUE_APP_KEY was rejected" in response.get_json()["message"]


@responses.activate
def test_a_busy_v2_bridge_is_503_with_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    serve_inventory(connected_dump())
    responses.put(f"{V2}/grouped_light/{HOME_GROUPED_LIGHT}", status=429, body="<html>Too Many Requests</html>")
    app = v2_client("lights_off", monkeypatch, HUE_API="v2", HUE_MAX_ATTEMPTS="2")

    response = app.post("/", headers=ping_headers("lights-off"), data=b"{}")

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert len(responses.calls) == 1 + 2


@responses.activate
def test_hue_api_v2_against_a_bridge_without_v2_is_500_saying_so(monkeypatch: pytest.MonkeyPatch) -> None:
    responses.get(V2, status=404, body="<html>Not Found</html>")
    app = v2_client("lights_on", monkeypatch, HUE_API="v2")

    response = app.post("/", headers={"Content-Type": "application/json"}, data=b"{}")

    assert response.status_code == 500
    assert "does not serve CLIP v2" in response.get_json()["message"]
    assert len(responses.calls) == 1


@responses.activate
def test_a_key_rejected_when_asking_about_v2_is_500_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    responses.get(PROBE, status=403, json=envelope([], "unauthorized user"))
    app = v2_client("colorloop", monkeypatch)

    response = app.post("/", headers=ping_headers("colorloop"), data=b"{}")

    assert response.status_code == 500
    reply = from_http(dict(response.headers), response.data)
    assert "HUE_APP_KEY was rejected" in reply.data["message"] and reply.data["api"] is None
