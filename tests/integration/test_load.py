"""Bounded load on 127.0.0.1: bursts of 200 concurrent external colorloop calls against one process.

The bridge must never see more than its limits, every caller must get a quick, honest answer, the
function must log no error, and its memory must stay flat from one burst to the next. The figures are
written to test-artifacts/load.json (docs/reliability.md quotes them).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests

from devstack.bridge import SimulatedBridge
from devstack.stack import load
from devstack.stack.load import most_in_any_second
from tests.support.function_process import RunningFunction, running_function
from tests.support.servers import APP_KEY, REPO

pytestmark = pytest.mark.integration
TOKEN = "load-test-trigger-token-0123456789"
CONCURRENT_CALLS = 200
BURSTS = 3
LIGHT_COMMANDS_PER_SECOND = 10
GROUP_COMMANDS_PER_SECOND = 1
COOLDOWN_SECONDS = 1  # shorter than the default 10 s, to keep the test short


def burst(url: str) -> tuple[list[requests.Response], float]:
    return load.burst(url, CONCURRENT_CALLS, load.external_headers(TOKEN))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SimulatedBridge, RunningFunction]]:
    bridge = SimulatedBridge(app_key=APP_KEY)
    with bridge.serve("127.0.0.1", 0) as server:
        env = {
            "HUE_BRIDGE": server.url,
            "HUE_APP_KEY": APP_KEY,
            "HUE_TARGET": "group:Living room",
            "TRIGGER_TOKEN": TOKEN,
            "EXTERNAL_COOLDOWN_SECONDS": str(COOLDOWN_SECONDS),
        }
        with running_function("colorloop", env, tmp_path_factory.mktemp("load")) as function:
            yield bridge, function


def test_bursts_of_concurrent_external_calls(stack: tuple[SimulatedBridge, RunningFunction]) -> None:
    bridge, function = stack
    figures = []
    rss = []
    for number in range(BURSTS):
        if number:
            time.sleep(COOLDOWN_SECONDS + 0.1)  # each burst starts after the previous one's cool-down
        bridge.clear_log()
        responses, elapsed = burst(function.url)
        rss.append(function.rss_kib())
        statuses = [r.status_code for r in responses]
        assert set(statuses) <= {200, 429, 503}, statuses
        assert statuses.count(200) >= 1, "at least one caller got the colorloop"
        for response in responses:
            if response.status_code != 200:
                assert int(response.headers["Retry-After"]) > 0
        log = bridge.requests()
        puts = [entry for entry in log if entry["method"] == "PUT"]
        group_times = [e["time"] for e in puts if "/groups/" in e["path"]]
        light_times = [e["time"] for e in puts if "/lights/" in e["path"]]
        assert most_in_any_second(group_times) <= GROUP_COMMANDS_PER_SECOND
        assert most_in_any_second(light_times) <= LIGHT_COMMANDS_PER_SECOND
        assert bridge.counts()["rate_limited"] == 0, "the bridge never had to refuse a command"
        figures.append({**load.burst_figures(responses, elapsed, log), "rss_kib_after": rss[-1]})
    assert rss[-1] <= rss[1] * 1.10, f"memory grew from burst to burst: {rss}"
    text = function.log()
    assert "Traceback" not in text and "ERROR" not in text and TOKEN not in text
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "load.json").write_text(json.dumps(figures, indent=2) + "\n")
