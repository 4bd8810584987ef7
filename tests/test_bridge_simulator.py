"""The simulated bridge behaves like a CLIP v1 bridge where huelights can trip: one test per behaviour.

All traffic goes to a SimulatedBridge served on 127.0.0.1 with an ephemeral port.
"""

from __future__ import annotations

import time

import pytest
import requests

from devstack.bridge import SimulatedBridge
from devstack.bridge import model as hue_model
from tests.support.servers import RunningBridge

TIMEOUT = 5


def put(url: str, body: object) -> list[dict]:
    response = requests.put(url, json=body, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    items: list[dict] = response.json()
    return items


def error_types(items: list[dict]) -> list[int]:
    return [item["error"]["type"] for item in items if "error" in item]


# ----- reads and config ---------------------------------------------------------------------------------


def test_public_config_needs_no_key(sim: RunningBridge) -> None:
    config = requests.get(f"{sim.http_url}/api/config", timeout=TIMEOUT).json()
    assert config["bridgeid"] == "001788FFFE5A1B2C"
    assert {"modelid", "swversion", "apiversion", "mac", "name"} <= config.keys()
    assert "whitelist" not in config
    # A bad key on /config gets the same public subset, as on a real bridge.
    assert requests.get(f"{sim.http_url}/api/wrong/config", timeout=TIMEOUT).json() == config


def test_default_seed_and_full_state(sim: RunningBridge) -> None:
    full = requests.get(sim.api, timeout=TIMEOUT).json()
    assert {"lights", "groups", "config", "scenes", "sensors"} <= full.keys()
    types = {lid: light["type"] for lid, light in full["lights"].items()}
    assert types == {
        "1": "Extended color light",
        "2": "Extended color light",
        "3": "Color light",
        "4": "Dimmable light",
    }
    assert "effect" not in full["lights"]["4"]["state"]
    assert "ct" not in full["lights"]["3"]["state"]
    assert all(light["state"]["reachable"] for light in full["lights"].values())
    assert full["groups"] == requests.get(f"{sim.api}/groups", timeout=TIMEOUT).json()
    assert list(full["groups"]) == ["1"]  # group 0 is never listed ...
    room = full["groups"]["1"]
    assert (room["name"], room["type"], room["lights"]) == ("Living room", "Room", ["1", "2", "3", "4"])
    group0 = requests.get(f"{sim.api}/groups/0", timeout=TIMEOUT).json()  # ... but exists
    assert group0["lights"] == ["1", "2", "3", "4"]
    assert requests.get(f"{sim.api}/lights/2", timeout=TIMEOUT).json()["name"] == "Reading lamp"


def test_yaml_config_seeds_the_bridge(tmp_path) -> None:
    path = tmp_path / "bridge.yaml"
    path.write_text(
        "lights:\n"
        "  '7': {name: Desk, type: Color temperature light, state: {on: false}}\n"
        "  '9': {name: Plug, type: On/Off plug-in unit}\n"
        "groups:\n"
        "  '3': {name: Office, lights: ['7', '9']}\n"
        "rate_limits: {enabled: false}\n"
    )
    bridge = SimulatedBridge(config=path, app_key="k")
    assert bridge.lights().keys() == {"7", "9"}
    assert bridge.light(7)["on"] is False
    assert "ct" in bridge.light(7) and "bri" not in bridge.light(9)
    assert bridge.snapshot()["groups"]["3"]["state"] == {"all_on": False, "any_on": True}


# ----- error 1, 2, 3 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "address"),
    [
        ("GET", "", "/"),
        ("GET", "/lights", "/lights"),
        ("GET", "/lights/1", "/lights/1"),
        ("GET", "/groups", "/groups"),
        ("GET", "/groups/1", "/groups/1"),
        ("PUT", "/lights/1/state", "/lights/1/state"),
        ("PUT", "/groups/0/action", "/groups/0/action"),
    ],
)
def test_error_1_unauthorized_on_every_authenticated_path(sim: RunningBridge, method, path, address) -> None:
    response = requests.request(method, f"{sim.http_url}/api/not-a-key{path}", json={"on": False}, timeout=TIMEOUT)
    assert response.status_code == 200  # v1 reports errors in the body
    assert response.json() == [{"error": {"type": 1, "address": address, "description": "unauthorized user"}}]
    assert sim.bridge.light(1)["on"] is True


def test_error_2_invalid_json(sim: RunningBridge) -> None:
    for body in (b"{not json", b"[1, 2]"):
        response = requests.put(f"{sim.api}/lights/1/state", data=body, timeout=TIMEOUT)
        assert response.status_code == 200
        assert error_types(response.json()) == [2]
        assert response.json()[0]["error"]["description"] == "body contains invalid json"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/lights/99"), ("GET", "/groups/42"), ("PUT", "/lights/99/state"), ("PUT", "/groups/42/action")],
)
def test_error_3_resource_not_available(sim: RunningBridge, method, path) -> None:
    items = requests.request(method, f"{sim.api}{path}", json={"on": True}, timeout=TIMEOUT).json()
    assert items == [{"error": {"type": 3, "address": path, "description": f"resource, {path}, not available"}}]


# ----- per-attribute errors: 6, 7, 201 --------------------------------------------------------------------


@pytest.mark.parametrize("attribute", [{"effect": "colorloop"}, {"hue": 1000}, {"sat": 254}, {"xy": [0.3, 0.3]}])
def test_error_6_colour_on_white_bulb_rest_still_applies(sim: RunningBridge, attribute: dict) -> None:
    (name,) = attribute
    items = put(f"{sim.api}/lights/4/state", {"on": True, "bri": 77, **attribute})
    assert items[0] == {"success": {"/lights/4/state/on": True}}
    assert items[1] == {"success": {"/lights/4/state/bri": 77}}
    assert items[2] == {
        "error": {"type": 6, "address": f"/lights/4/state/{name}", "description": f"parameter, {name}, not available"}
    }
    assert sim.bridge.light(4)["bri"] == 77


def test_error_6_unknown_parameter(sim: RunningBridge) -> None:
    assert error_types(put(f"{sim.api}/lights/1/state", {"sparkle": True})) == [6]


@pytest.mark.parametrize(
    "body",
    [
        {"bri": 300},
        {"bri": 0},
        {"on": "yes"},
        {"on": 1},
        {"effect": "rainbow"},
        {"xy": [2, 0]},
        {"ct": 100},
        {"hue": -1},
    ],
)
def test_error_7_invalid_value(sim: RunningBridge, body: dict) -> None:
    before = sim.bridge.light(1)
    items = put(f"{sim.api}/lights/1/state", body)
    (name,) = body
    assert items[0]["error"]["type"] == 7
    assert items[0]["error"]["address"] == f"/lights/1/state/{name}"
    assert items[0]["error"]["description"].startswith("invalid value, ")
    assert sim.bridge.light(1) == before


def test_error_201_changes_to_an_off_light_need_on_true_in_the_same_body(sim: RunningBridge) -> None:
    sim.bridge.set_light_state(1, on=False)
    items = put(f"{sim.api}/lights/1/state", {"effect": "colorloop", "bri": 200, "alert": "select"})
    assert error_types(items) == [201, 201]
    assert items[0]["error"]["description"] == "parameter, effect, is not modifiable. Device is set to off."
    assert items[2] == {"success": {"/lights/1/state/alert": "select"}}
    assert sim.bridge.light(1)["effect"] == "none"
    items = put(f"{sim.api}/lights/1/state", {"on": True, "sat": 254, "effect": "colorloop"})
    assert error_types(items) == []
    assert sim.bridge.light(1) | {"on": True, "effect": "colorloop", "sat": 254} == sim.bridge.light(1)


def test_mixed_success_and_errors_keep_body_order(sim: RunningBridge) -> None:
    items = put(f"{sim.api}/lights/4/state", {"effect": "colorloop", "on": False, "bri": 999})
    assert [next(iter(item)) for item in items] == ["error", "success", "error"]
    assert error_types(items) == [6, 7]
    assert sim.bridge.light(4)["on"] is False


# ----- groups ----------------------------------------------------------------------------------------------


def test_group_action_is_a_broadcast_white_bulbs_ignore_colour(sim: RunningBridge) -> None:
    items = put(f"{sim.api}/groups/1/action", {"on": True, "sat": 254, "effect": "colorloop"})
    assert items == [
        {"success": {"/groups/1/action/on": True}},
        {"success": {"/groups/1/action/sat": 254}},
        {"success": {"/groups/1/action/effect": "colorloop"}},
    ]
    lights = sim.bridge.lights()
    assert [lights[i]["effect"] for i in ("1", "2", "3")] == ["colorloop"] * 3
    assert "effect" not in lights["4"] and lights["4"]["on"] is True


def test_group_state_any_on_all_on(sim: RunningBridge) -> None:
    group = f"{sim.api}/groups/1"
    assert requests.get(group, timeout=TIMEOUT).json()["state"] == {"all_on": True, "any_on": True}
    put(f"{sim.api}/lights/2/state", {"on": False})
    assert requests.get(group, timeout=TIMEOUT).json()["state"] == {"all_on": False, "any_on": True}
    time.sleep(1)  # one group command per second
    put(f"{sim.api}/groups/0/action", {"on": False})
    assert requests.get(group, timeout=TIMEOUT).json()["state"] == {"all_on": False, "any_on": False}


def test_group_zero_remembers_its_last_action_as_a_real_bridge_does(sim: RunningBridge) -> None:
    group0 = f"{sim.api}/groups/0"
    before = requests.get(group0, timeout=TIMEOUT).json()
    assert before["action"]["on"] is True and before["action"]["ct"] == sim.bridge.light("1")["ct"]
    put(f"{group0}/action", {"on": True, "bri": 77, "ct": 300, "transitiontime": 4})
    after = requests.get(group0, timeout=TIMEOUT).json()
    # transitiontime is part of a command, not of the group's state
    assert after["action"] == {**before["action"], "on": True, "bri": 77, "ct": 300}
    assert requests.get(group0, timeout=TIMEOUT).json()["action"] == after["action"]  # a second read too
    assert list(requests.get(f"{sim.api}/groups", timeout=TIMEOUT).json()) == ["1"]  # and still not listed
    assert sim.bridge.snapshot()["groups"]["0"]["action"] == after["action"]


def test_group_action_on_off_lights_without_on_is_ignored_not_an_error(sim: RunningBridge) -> None:
    put(f"{sim.api}/lights/1/state", {"on": False})
    items = put(f"{sim.api}/groups/1/action", {"effect": "colorloop"})
    assert error_types(items) == []
    assert sim.bridge.light(1)["effect"] == "none"
    assert sim.bridge.light(2)["effect"] == "colorloop"


# ----- rate limits -----------------------------------------------------------------------------------------


def test_light_commands_over_ten_per_second_get_429_html(sim: RunningBridge) -> None:
    statuses = [requests.put(f"{sim.api}/lights/1/state", json={"on": True}, timeout=TIMEOUT) for _ in range(12)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, [r.status_code for r in statuses]
    assert limited[0].headers["Content-Type"].startswith("text/html")
    assert "<title>429 Too Many Requests</title>" in limited[0].text
    assert sim.bridge.counts()["rate_limited"] == len(limited)


def test_group_commands_over_one_per_second_get_429_and_pacing_passes(sim: RunningBridge) -> None:
    url = f"{sim.api}/groups/0/action"
    assert requests.put(url, json={"on": True}, timeout=TIMEOUT).status_code == 200
    assert requests.put(url, json={"on": True}, timeout=TIMEOUT).status_code == 429
    time.sleep(1.0)
    assert requests.put(url, json={"on": True}, timeout=TIMEOUT).status_code == 200


def test_rate_limits_can_be_turned_off(sim: RunningBridge) -> None:
    sim.bridge.set_rate_limits(enabled=False)
    codes = {
        requests.put(f"{sim.api}/groups/0/action", json={"on": True}, timeout=TIMEOUT).status_code for _ in range(5)
    }
    assert codes == {200}


# ----- pairing ---------------------------------------------------------------------------------------------


def test_pairing_needs_the_link_button_within_30_seconds(sim: RunningBridge) -> None:
    url = f"{sim.http_url}/api"
    refused = requests.post(url, json={"devicetype": "huelights#test"}, timeout=TIMEOUT).json()
    assert refused == [{"error": {"type": 101, "address": "", "description": "link button not pressed"}}]
    assert error_types(requests.post(url, json={}, timeout=TIMEOUT).json()) == [5]
    sim.bridge.press_link_button()
    created = requests.post(url, json={"devicetype": "huelights#test"}, timeout=TIMEOUT).json()
    key = created[0]["success"]["username"]
    assert len(key) == 40 and key != "testkey"
    assert "lights" in requests.get(f"{sim.http_url}/api/{key}", timeout=TIMEOUT).json()
    sim.bridge._link_pressed_at = time.monotonic() - 31  # the 30 s window has passed
    assert error_types(requests.post(url, json={"devicetype": "x#y"}, timeout=TIMEOUT).json()) == [101]


# ----- lights that misbehave --------------------------------------------------------------------------------


def test_unreachable_light_acknowledges_but_does_not_change(sim: RunningBridge) -> None:
    sim.bridge.set_reachable(2, False)
    assert requests.get(f"{sim.api}/lights/2", timeout=TIMEOUT).json()["state"]["reachable"] is False
    assert error_types(put(f"{sim.api}/lights/2/state", {"on": False})) == []
    assert sim.bridge.light(2)["on"] is True
    sim.bridge.set_reachable(2, True)
    put(f"{sim.api}/lights/2/state", {"on": False})
    assert sim.bridge.light(2)["on"] is False


def test_power_cycle_comes_back_on_without_the_effect(sim: RunningBridge) -> None:
    put(f"{sim.api}/lights/1/state", {"on": True, "sat": 254, "effect": "colorloop"})
    sim.bridge.power_cycle(1)
    state = sim.bridge.light(1)
    assert (state["on"], state["effect"], state["bri"], state["colormode"]) == (True, "none", 254, "ct")


def test_power_cycle_with_delayed_revert_undoes_the_next_command_a_moment_later(sim: RunningBridge) -> None:
    sim.bridge.power_cycle(3, delayed_revert=True)
    assert error_types(put(f"{sim.api}/lights/3/state", {"on": True, "effect": "colorloop"})) == []
    assert sim.bridge.light(3)["effect"] == "colorloop", "a read-back straight after the command misses it"
    time.sleep(hue_model.POWER_ON_DELAY_SECONDS + 0.1)
    assert sim.bridge.light(3)["effect"] == "none", "a read-back after the bulb booted catches it"
    put(f"{sim.api}/lights/3/state", {"on": True, "effect": "colorloop"})
    time.sleep(hue_model.POWER_ON_DELAY_SECONDS + 0.1)
    assert sim.bridge.light(3)["effect"] == "colorloop"


# ----- injected faults ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "status"), [("429", 429), ("503", 503), ("500", 500)])
def test_fail_next_http_errors_are_nginx_html_pages(sim: RunningBridge, kind: str, status: int) -> None:
    sim.bridge.fail_next(2, kind)
    for _ in range(2):
        response = requests.get(f"{sim.api}/lights", timeout=TIMEOUT)
        assert response.status_code == status
        assert response.text.startswith("<html>")
    assert requests.get(f"{sim.api}/lights", timeout=TIMEOUT).status_code == 200


def test_fail_next_body_level_faults(sim: RunningBridge) -> None:
    sim.bridge.fail_next(1, "901", methods=["PUT"])
    sim.bridge.fail_next(1, "html")
    sim.bridge.fail_next(1, "invalid_json")
    assert requests.get(f"{sim.api}/lights", timeout=TIMEOUT).headers["Content-Type"].startswith("text/html")
    response = requests.get(f"{sim.api}/lights", timeout=TIMEOUT)
    with pytest.raises(ValueError):
        response.json()
    items = put(f"{sim.api}/lights/1/state", {"on": False})  # only PUTs get the 901
    assert items == [{"error": {"type": 901, "address": "/lights/1/state", "description": "Internal error, 404"}}]
    assert sim.bridge.light(1)["on"] is True


def test_fail_next_partial_applies_only_the_first_attribute(sim: RunningBridge) -> None:
    sim.bridge.set_light_state("1", on=False)
    sim.bridge.fail_next(1, "partial", ["PUT"])
    answer = requests.put(f"{sim.api}/lights/1/state", json={"on": True, "effect": "colorloop"}, timeout=5)
    assert answer.status_code == 200
    assert answer.json() == [
        {"success": {"/lights/1/state/on": True}},
        {"error": {"type": 901, "address": "/lights/1/state/effect", "description": "Internal error, 503"}},
    ]
    assert sim.bridge.light("1")["on"] is True
    assert sim.bridge.light("1")["effect"] == "none"


def test_fail_next_drop_closes_the_connection(sim: RunningBridge) -> None:
    sim.bridge.fail_next(1, "drop")
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{sim.api}/lights", timeout=TIMEOUT)
    assert requests.get(f"{sim.api}/lights", timeout=TIMEOUT).status_code == 200


def test_fail_next_hang_holds_one_request_until_the_client_gives_up(sim: RunningBridge) -> None:
    sim.bridge.fail_next(1, "hang")
    with pytest.raises(requests.Timeout):
        requests.get(f"{sim.api}/lights", timeout=(1, 0.5))
    assert requests.get(f"{sim.api}/lights", timeout=TIMEOUT).status_code == 200


def test_latency(sim: RunningBridge) -> None:
    sim.bridge.set_latency(0.3)
    started = time.monotonic()
    requests.get(f"{sim.api}/lights/1", timeout=TIMEOUT)
    assert time.monotonic() - started >= 0.3


def test_outage_503_then_back(sim: RunningBridge) -> None:
    sim.bridge.start_outage("503")
    assert requests.get(f"{sim.api}/lights", timeout=TIMEOUT).status_code == 503
    sim.bridge.end_outage()
    assert requests.get(f"{sim.api}/lights", timeout=TIMEOUT).status_code == 200


def test_outage_refuse_stops_listening_then_resumes_on_the_same_port(sim: RunningBridge) -> None:
    sim.bridge.start_outage("refuse", seconds=1.0)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{sim.api}/lights", timeout=TIMEOUT)
    time.sleep(1.5)
    assert requests.get(f"{sim.api}/lights", timeout=TIMEOUT).status_code == 200


def test_outage_silent_requests_hang_until_the_client_times_out(sim: RunningBridge) -> None:
    sim.bridge.start_outage("silent")
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        requests.get(f"{sim.api}/lights", timeout=(1, 0.5))
    assert time.monotonic() - started < 3
    sim.bridge.end_outage()
    assert requests.get(f"{sim.api}/lights", timeout=TIMEOUT).status_code == 200


# ----- log, counts, admin HTTP API, CLI ------------------------------------------------------------------------


def test_request_log_and_counts_never_show_the_key(sim: RunningBridge) -> None:
    requests.get(f"{sim.api}/lights", timeout=TIMEOUT)
    put(f"{sim.api}/lights/1/state", {"on": False})
    put(f"{sim.api}/groups/1/action", {"on": True})
    log = sim.bridge.requests()
    assert [(e["method"], e["resource"], e["status"]) for e in log] == [
        ("GET", "/lights", 200),
        ("PUT", "/lights/1/state", 200),
        ("PUT", "/groups/1/action", 200),
    ]
    assert log[1]["body"] == {"on": False} and log[1]["path"] == "/api/<key>/lights/1/state"
    assert "testkey" not in str(log)
    counts = sim.bridge.counts()
    assert (counts["light_commands"], counts["group_commands"], counts["reads"]) == (1, 1, 1)
    assert counts["light_commands_by_id"] == {"1": 1} and counts["group_commands_by_id"] == {"1": 1}
    sim.bridge.reset()
    assert sim.bridge.requests() == [] and sim.bridge.light(1)["on"] is True


def test_admin_http_api_mirrors_the_python_api(sim: RunningBridge) -> None:
    admin = f"{sim.http_url}/_sim"

    def post(path: str, body: dict | None = None) -> requests.Response:
        return requests.post(f"{admin}/{path}", json=body or {}, timeout=TIMEOUT)

    assert post("lights/2/reachable", {"reachable": False}).json()["state"]["reachable"] is False
    assert post("lights/1/state", {"on": True, "effect": "colorloop"}).status_code == 200
    assert post("lights/1/power-cycle", {"delayed_revert": False}).json()["state"]["effect"] == "none"
    assert post("lights/99/power-cycle").status_code == 404
    assert post("fail", {"kind": "503", "count": 1}).json()["faults"]["pending_failures"] == ["503"]
    assert requests.get(f"{sim.api}/lights", timeout=TIMEOUT).status_code == 503
    assert post("fail", {"kind": "nonsense"}).status_code == 400
    assert post("outage", {"mode": "refuse"}).status_code == 400  # nothing could end it over HTTP
    assert post("outage", {"mode": "503"}).json()["faults"]["outage"] == "503"
    assert post("outage", {"mode": "none"}).json()["faults"]["outage"] is None
    assert post("latency", {"seconds": 0.01}).json()["faults"]["latency"] == 0.01
    assert post("rate-limits", {"enabled": False}).json()["faults"]["rate_limits"]["enabled"] is False
    post("linkbutton")
    created = requests.post(f"{sim.http_url}/api", json={"devicetype": "a#b"}, timeout=TIMEOUT).json()
    assert "success" in created[0]
    state = requests.get(f"{admin}/state", timeout=TIMEOUT).json()
    assert state["lights"]["2"]["state"]["reachable"] is False and "0" in state["groups"]
    assert requests.get(f"{admin}/counts", timeout=TIMEOUT).json()["injected_failures"] == 1
    assert len(requests.get(f"{admin}/requests", timeout=TIMEOUT).json()["requests"]) >= 2
    post("reset")
    assert sim.bridge.light(2)["reachable"] is True and sim.bridge.counts()["requests"] == 0


def test_paths_outside_the_api_get_nginx_404(sim: RunningBridge) -> None:
    response = requests.get(f"{sim.http_url}/nothing-here", timeout=TIMEOUT)
    assert response.status_code == 404 and "nginx" in response.text
