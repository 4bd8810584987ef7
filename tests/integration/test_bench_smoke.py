"""`make bench` cannot rot: its harness runs once here, with one repetition and tiny bursts.

Only the shape of the results and relations that hold on any machine are checked (every figure is there,
a warm group action costs exactly two bridge requests, every warm action on each API is at its request
floor, the bridge's limits hold, an action takes at least its requests' simulated latency), never how
fast anything was.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.api_cost import ACTIONS, TRANSPORTS
from bench.environment import BASELINE, FUNCTIONS, closure
from bench.report import paced_floor

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(out.read_text()), result.stdout


def test_every_figure_is_reported(smoke: tuple[dict[str, Any], str]) -> None:
    report, table = smoke
    assert {"nproc", "cpu_model", "memory_gib", "python"} <= set(report["machine"])
    figures = report["figures"]
    for name in (*FUNCTIONS, BASELINE):
        cold = figures["cold_start"][name]
        assert 0 < cold["ready_s"] <= cold["action_s"]
        assert figures["memory"][name]["peak_rss_kib"] >= figures["memory"][name]["rss_kib"] > 0
    assert set(figures["bridge_cost"]) == {"group", "lights"}
    assert set(figures["throughput"]) == {"colorloop", BASELINE}
    keys = {target["key"] for target in report["targets"]}
    expected = {f"cold_start.{name}.{phase}" for name in FUNCTIONS for phase in ("ready", "action")}
    expected |= {f"memory.{name}.peak_rss" for name in FUNCTIONS}
    expected |= {f"bridge_cost.{kind}.{run}.latency" for kind in ("group", "lights") for run in ("cold", "warm")}
    expected |= {f"api_cost.{transport}.warm.requests" for transport in TRANSPORTS}
    expected |= {f"api_cost.{transport}.bridge_within_limits" for transport in TRANSPORTS}
    expected |= {f"api_cost.{transport}.{action}.warm.latency" for transport in TRANSPORTS for action in ACTIONS}
    expected |= {
        "image_weight",
        "bridge_cost.group.warm.requests",
        "throughput.bridge_within_limits",
        "throughput.every_call_answered",
    }
    assert keys == expected
    assert all(isinstance(target["passed"], bool) for target in report["targets"])
    assert "targets:" in table and "cold start to first action, colorloop" in table
    assert set(figures["api_cost"]["transports"]) == set(TRANSPORTS)
    for transport in TRANSPORTS:
        assert set(figures["api_cost"]["transports"][transport]) == set(ACTIONS)
        assert f"{transport}: colorloop, warm" in table
    assert "TLS: one request, new connection" in table and "TLS: v1 off+on+colorloop, warm" in table


def test_every_warm_action_on_each_api_is_at_its_request_floor(smoke: tuple[dict[str, Any], str]) -> None:
    api = smoke[0]["figures"]["api_cost"]
    runs = api["transports"]
    # The room: three colour lights with prism, a colour light without effects (the Bloom, light 3), a
    # white bulb. v2 off / on: one grouped_light PUT and one GET light. v2 colorloop: a PUT per light
    # (prism x3, `on` for the white bulb), one GET light, and the Bloom's v1 colorloop with its v1 read-back.
    floors = {
        "v2": {"lights_off": {"v2": 2, "v1": 0}, "lights_on": {"v2": 2, "v1": 0}, "colorloop": {"v2": 5, "v1": 2}},
        "v1-https": {action: {"v2": 0, "v1": 2} for action in ACTIONS},
        "v1-http": {action: {"v2": 0, "v1": 2} for action in ACTIONS},
    }
    for transport, by_action in floors.items():
        for action, floor in by_action.items():
            entry = runs[transport][action]
            assert entry["floor_requests"] == floor, (transport, action)
            assert entry["warm"]["requests_by_api_runs"] == [floor] * len(entry["warm"]["requests_by_api_runs"])
            assert entry["cold"]["requests"] >= entry["warm"]["requests"]
            for run in ("cold", "warm"):
                # Each request waits the simulated latency before it is answered, one after another.
                assert entry[run]["seconds"] >= entry[run]["requests"] * api["latency_per_request_s"]
            limits = entry["limits"]
            assert limits["most_light_commands_in_a_second"] <= 10 and limits["most_group_commands_in_a_second"] <= 1
            assert limits["rate_limited"] == 0 and limits["refused"] == 0
    assert runs["v2"]["lights_off"]["warm"]["sequence"] == ["PUT v2 /resource/grouped_light", "GET v2 /resource/light"]
    loop = runs["v2"]["colorloop"]["warm"]["sequence"]
    assert sorted(loop) == sorted(
        ["PUT v2 /resource/light"] * 4 + ["PUT /lights/3/state", "GET v2 /resource/light", "GET /lights"]
    )
    assert runs["v1-https"]["colorloop"]["warm"]["sequence"] == ["PUT /groups/1/action", "GET /lights"]
    assert api["round_trip_s"]["v1-http"] > 0 and api["round_trip_s"]["v1-https"] > 0


def test_the_figures_relate_as_they_must(smoke: tuple[dict[str, Any], str]) -> None:
    figures = smoke[0]["figures"]
    weight = figures["image_weight"]
    assert weight["runtime_install_bytes"] >= weight["framework_install_bytes"] > 0
    assert weight["image_bytes"] > weight["baseline_bytes"]

    group, lights = figures["bridge_cost"]["group"], figures["bridge_cost"]["lights"]
    assert group["warm"]["requests_runs"] == [2] * len(group["warm"]["requests_runs"])
    assert group["warm"]["sequence"] == ["PUT /groups/1/action", "GET /lights"]
    assert group["cold"]["requests"] > group["warm"]["requests"]
    assert lights["warm"]["requests"] >= 5 + 1  # one command per light, one read-back
    assert lights["cold"]["requests"] >= lights["warm"]["requests"]
    for entry in (group, lights):
        for run in ("cold", "warm"):
            # Requests to the simulated bridge are sequential, and each waits the latency first.
            assert entry[run]["seconds"] >= entry[run]["floor_s"]
            assert entry[run]["reported_by_function"] == entry[run]["requests_runs"]

    load = figures["throughput"]["colorloop"]
    assert load["most_group_commands_in_a_second"] <= 1
    assert load["most_light_commands_in_a_second"] <= 10
    assert load["rate_limited"] == 0


def test_paced_floor_adds_the_light_pacing_only_between_light_commands() -> None:
    group = ["GET /groups", "PUT /groups/1/action", "GET /lights"]
    assert paced_floor(group, 0.05, 0.1) == pytest.approx(0.15)
    lights = ["PUT /lights/1/state", "PUT /lights/2/state", "PUT /lights/3/state", "GET /lights"]
    assert paced_floor(lights, 0.05, 0.1) == pytest.approx(4 * 0.05 + 2 * 0.05)
    assert paced_floor(lights, 0.2, 0.1) == pytest.approx(4 * 0.2)
    mixed = ["PUT v2 /resource/light", "PUT v2 /resource/light", "PUT /lights/3/state", "GET v2 /resource/light"]
    assert paced_floor(mixed, 0.05, 0.1) == pytest.approx(4 * 0.05 + 2 * 0.05)
    assert paced_floor(["PUT v2 /resource/grouped_light", "GET v2 /resource/light"], 0.05, 0.1) == pytest.approx(0.1)


def test_the_framework_install_is_part_of_the_runtime_install() -> None:
    site = [p for p in sys.path if p.endswith("site-packages")]
    framework = closure(site, ["functions-framework"])
    runtime = closure(site, ["functions-framework", "cloudevents", "requests"])
    assert {"functions-framework", "flask", "gunicorn", "cloudevents"} <= set(framework)
    assert set(framework) <= set(runtime)
    assert all(size > 0 for size in runtime.values())
