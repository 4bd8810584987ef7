"""Each function as a real process, started with the image's `functions-framework` command, against
the simulated bridge over real HTTPS on 127.0.0.1 (a gen-2 bridge; its per-run test root as HUE_CA_BUNDLE, the
bridge id confirmed through /api/config as for a real bridge)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.function_process import running_function
from tests.support.servers import APP_KEY, REPO, RunningBridge

pytestmark = pytest.mark.integration
TOKEN = "live-test-trigger-token-0123456789"


def ping(source: str) -> dict[str, str]:
    return {
        "Ce-Id": str(uuid.uuid4()),
        "Ce-Source": f"/apis/v1/namespaces/gohome/pingsources/{source}",
        "Ce-Specversion": "1.0",
        "Ce-Time": "2026-11-26T10:30:00.5Z",
        "Ce-Type": "dev.knative.sources.ping",
        "Content-Type": "application/json",
        "Kn-Namespace": "gohome",
    }


@pytest.fixture
def function(sim: RunningBridge, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    env = {**sim.hue_env, "HUE_APP_KEY": APP_KEY, "HUE_TARGET": "group:Living room", "TRIGGER_TOKEN": TOKEN}
    with running_function(request.param, env, tmp_path) as running:
        yield running.url
        log = running.log()
    assert APP_KEY not in log and TOKEN not in log


@pytest.mark.parametrize("function", ["lights_off"], indirect=True)
def test_lights_off_switches_the_room_off(function: str, sim: RunningBridge) -> None:
    response = requests.post(function, headers=ping("lights-off"), data=b"{}", timeout=30)

    assert response.status_code == 200, response.text
    assert [sim.bridge.light(i)["on"] for i in "1234"] == [False] * 4
    assert sim.bridge.counts()["group_commands"] == 1


@pytest.mark.parametrize("function", ["lights_on"], indirect=True)
def test_lights_on_switches_the_room_on(function: str, sim: RunningBridge) -> None:
    for light_id in "1234":
        sim.bridge.set_light_state(light_id, on=False)

    response = requests.post(
        function, headers={"Content-Type": "application/json"}, data=b'{"message":"Hello World"}', timeout=30
    )

    assert response.status_code == 200, response.text
    assert [sim.bridge.light(i)["on"] for i in "1234"] == [True] * 4


@pytest.mark.parametrize("function", ["colorloop"], indirect=True)
def test_colorloop_recovers_a_power_cycled_bulb_and_skips_the_white_one(function: str, sim: RunningBridge) -> None:
    sim.bridge.power_cycle("2", delayed_revert=True)  # applies its power-on setting after our command

    response = requests.post(function, headers=ping("colorloop"), data=b"{}", timeout=30)

    assert response.status_code == 200, response.text
    assert [sim.bridge.light(i).get("effect") for i in "123"] == ["colorloop"] * 3
    assert sim.bridge.light("4")["on"] is True and "effect" not in sim.bridge.light("4")
    outcome = json.loads(response.content)
    assert {k: v["status"] for k, v in outcome["lights"].items()} == {"1": "ok", "2": "ok", "3": "ok", "4": "skipped"}
    assert sim.bridge.counts()["light_commands"] >= 1, "the reverted bulb got an individual re-send"


@pytest.mark.parametrize("function", ["colorloop"], indirect=True)
def test_health_probes_never_reach_the_bridge(function: str, sim: RunningBridge) -> None:
    for path in ("/health/liveness", "/health/readiness"):
        assert requests.get(function + path, timeout=5).status_code == 200
    assert sim.bridge.counts()["requests"] == 0


def test_without_the_verify_delay_a_late_power_on_revert_goes_unseen(sim: RunningBridge, tmp_path: Path) -> None:
    """Why the read-back waits: the same morning as above, but reading straight after the command."""
    env = {**sim.hue_env, "HUE_APP_KEY": APP_KEY, "HUE_TARGET": "group:Living room", "HUE_VERIFY_DELAY": "0"}
    with running_function("colorloop", env, tmp_path) as function:
        sim.bridge.power_cycle("2", delayed_revert=True)
        response = requests.post(function.url, headers=ping("colorloop"), data=b"{}", timeout=30)
        time.sleep(1.0)
    assert response.status_code == 200, "the function believed it had worked"
    assert sim.bridge.light("2").get("effect") == "none", "but bulb 2 fell back to its power-on state"


def test_a_function_with_a_missing_setting_stops_at_start_with_one_line() -> None:
    env = {"PATH": str(Path(sys.executable).parent), "HUE_BRIDGE": "127.0.0.1:9"}
    process = subprocess.run(
        [
            str(Path(sys.executable).parent / "functions-framework"),
            "--target",
            "lights_on",
            "--source",
            str(REPO / "functions/lights_on/main.py"),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode != 0
    assert process.stderr.strip().splitlines() == ["huelights: configuration error: HUE_APP_KEY: is not set"]
