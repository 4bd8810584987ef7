"""Fidelity of the simulated bridge's CLIP v2 checked by a third party: aiohue (Home Assistant's Hue library)
loads every v2 document the simulator serves and must see the simulator's own state.

The expected view is built from the state (the light objects, groups and the simulator's id scheme), never
from the served JSON; the documents are the full list, every per-type list and every per-id document.
"""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.test import Client

from devstack.bridge import DEFAULT_CONFIG, V2_SHOWCASE_CONFIG, SimulatedBridge
from devstack.bridge.resources_v2 import Ids
from huelights.config import parse_target
from huelights.v2.inventory import resolve_target
from huelights.v2.plan import evaluate, evaluate_v1, plan_action
from huelights.v2.resources import parse_resources
from tests.support.aiohue_oracle import GroupedLightView, GroupView, LightView, V2View, assert_same_view

KEY = "testkey"


def served(bridge: SimulatedBridge, path: str) -> list[dict[str, Any]]:
    answer = Client(bridge).get(f"/clip/v2/{path}", headers={"hue-application-key": KEY}, base_url="https://127.0.0.1")
    assert answer.status_code == 200, answer.text
    data: list[dict[str, Any]] = answer.get_json()["data"]
    return data


def expected_view(bridge: SimulatedBridge) -> V2View:
    """What a v2 client should see, from the simulator's state and id scheme alone."""
    ids = Ids(str(bridge.bridge_info["bridgeid"]))
    snapshot = bridge.snapshot()
    models = bridge.light_models()
    lights: dict[str, LightView] = {}
    for lid, light in models.items():
        v1 = snapshot["lights"][lid]
        running = light.v2_effect() if light.effect_values else None
        lights[v1["v2_id"]] = LightView(
            f"/lights/{lid}",
            ids.of("device", lid),
            v1["state"]["on"],
            "xy" in v1["state"],
            "bri" in v1["state"],
            light.effect_values,
            running,
            light.powerup,
        )
    groups: dict[str, GroupView] = {}
    grouped: dict[str, GroupedLightView] = {}
    for gid in bridge.group_ids():
        v1_group = snapshot["groups"][gid]
        kind = {"Room": "room", "Zone": "zone"}.get(v1_group["type"])
        if kind is None:
            continue
        members = frozenset(ids.of("light", lid) for lid in v1_group["lights"])
        groups[ids.of(kind, gid)] = GroupView(
            kind, v1_group["name"], f"/groups/{gid}", members, ids.of("grouped_light", gid)
        )
        grouped[ids.of("grouped_light", gid)] = GroupedLightView(f"/groups/{gid}", ids.of(kind, gid), kind)
    home = ids.of("grouped_light", "0")
    grouped[home] = GroupedLightView("/groups/0", ids.of("bridge_home"), "bridge_home")
    connectivity = {
        ids.of("device", lid): "connected" if v1["state"]["reachable"] else "connectivity_issue"
        for lid, v1 in snapshot["lights"].items()
    }
    counts = {
        "light": len(lights),
        "device": len(lights) + 1,  # and the bridge's own device
        "room": sum(1 for g in groups.values() if g.kind == "room"),
        "zone": sum(1 for g in groups.values() if g.kind == "zone"),
        "grouped_light": len(grouped),
        "bridge_home": 1,
        "zigbee_connectivity": len(lights),
    }
    return V2View(lights, groups, grouped, home, connectivity, counts)


def every_document(bridge: SimulatedBridge) -> list[list[dict[str, Any]]]:
    """The full list; the per-type lists together; the per-id documents together."""
    full = served(bridge, "resource")
    types = sorted({item["type"] for item in full})
    per_type = [item for rtype in types for item in served(bridge, f"resource/{rtype}")]
    per_id = [
        item
        for rtype in types
        for listed in served(bridge, f"resource/{rtype}")
        for item in served(bridge, f"resource/{rtype}/{listed['id']}")
    ]
    return [full, per_type, per_id]


def change_everything(bridge: SimulatedBridge) -> None:
    """Commands through both APIs and faults, so the views cover effects, off lights and reachability."""
    client = Client(bridge)
    v2_headers = {"hue-application-key": KEY}
    prism = {"on": {"on": True}, "effects_v2": {"action": {"effect": "prism"}}}
    answer = client.put(
        f"/clip/v2/resource/light/{bridge.snapshot()['lights']['1']['v2_id']}",
        json=prism,
        headers=v2_headers,
        base_url="https://127.0.0.1",
    )
    assert answer.status_code == 200, answer.text
    client.put(f"/api/{KEY}/lights/2/state", json={"on": True, "effect": "colorloop"})
    client.put(f"/api/{KEY}/lights/4/state", json={"on": False})
    bridge.set_reachable("3", False)


@pytest.mark.parametrize("config", [DEFAULT_CONFIG, V2_SHOWCASE_CONFIG], ids=["default", "showcase"])
@pytest.mark.parametrize("changed", [False, True], ids=["seed", "changed"])
def test_aiohue_sees_the_simulators_state_in_every_document(config: dict[str, Any], changed: bool) -> None:
    bridge = SimulatedBridge(config=config, app_key=KEY)
    if changed:
        change_everything(bridge)
    expected = expected_view(bridge)
    for document in every_document(bridge):
        seen = assert_same_view(document, expected)
        assert seen.counts["light"] == len(config["lights"])
    if changed:  # the changes are visible, so the comparison above could have failed
        assert expected.lights[bridge.snapshot()["lights"]["1"]["v2_id"]].effect_status == "prism"
        assert expected.lights[bridge.snapshot()["lights"]["2"]["v2_id"]].effect_status == "prism"
        assert "connectivity_issue" in expected.connectivity.values()


def test_huelights_reads_the_simulator_like_aiohue() -> None:
    bridge = SimulatedBridge(config=V2_SHOWCASE_CONFIG, app_key=KEY)
    change_everything(bridge)
    assert_same_view(served(bridge, "resource"))  # default expectation: huelights' own parser


@pytest.mark.parametrize("target", ["all", "group:Living room", "group:Reading corner", "lights:1,3,5"])
def test_huelights_colorloop_plan_works_on_the_simulator(target: str) -> None:
    """The pure v2 plan sent as it stands (v2 PUTs, v1 colorloop where there is no prism) and judged from one
    read-back per API: every colour light loops, white ones are skipped, none needs a re-send."""
    bridge = SimulatedBridge(config=V2_SHOWCASE_CONFIG, app_key=KEY)
    bridge.set_rate_limits(enabled=False)  # pacing is the client's job, tested with it
    for lid in bridge.lights():
        bridge.set_light_state(lid, on=False)
    resources = parse_resources(served(bridge, "resource"))
    plan = plan_action("colorloop", resolve_target(parse_target(target), resources), resources, v1_allowed=True)
    client = Client(bridge)
    for step in plan.lights:
        if step.v1 is not None:
            answer = client.put(f"/api/{KEY}/{step.v1.path}", json=step.v1.body)
        else:
            assert step.put is not None
            answer = client.put(
                f"/clip/v2/resource/{step.put.path}",
                json=dict(step.put.body),
                headers={"hue-application-key": KEY},
                base_url="https://127.0.0.1",
            )
        assert answer.status_code == 200, answer.text
    read_back = parse_resources(served(bridge, "resource/light"))
    verdicts = {
        **evaluate(plan, read_back, resources.device_connectivity()),
        **evaluate_v1(plan, Client(bridge).get(f"/api/{KEY}/lights").get_json()),
    }
    got = {step.light_id: (step.effect, verdicts[step.light_id].status) for step in plan.lights}
    v1_ids = {step.light_id: resources.lights[step.light_id].v1_id for step in plan.lights}
    expected = {"1": ("prism", "ok"), "2": ("prism", "ok"), "3": ("colorloop", "ok"), "4": ("none", "skipped")}
    expected |= {"5": ("none", "skipped"), "6": ("prism", "ok")}
    assert {v1_ids[light]: outcome for light, outcome in got.items()} == {
        v1: expected[str(v1)] for v1 in v1_ids.values()
    }
    lights = bridge.snapshot()["lights"]
    for step in plan.lights:  # the dashboard's view: which API each light was last commanded through
        assert lights[str(v1_ids[step.light_id])]["api"] == ("v1" if step.v1 is not None else "v2")
