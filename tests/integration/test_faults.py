"""Fault matrix: a real colorloop process against the simulated bridge misbehaving in each known way.

Each case asserts what a user would see (status, outcome), what the bridge had to endure (requests it
received), and that the invocation ended within its budget, whatever the bridge did.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from devstack.bridge import SimulatedBridge
from tests.support.function_process import RunningFunction, running_function
from tests.support.servers import APP_KEY, RunningBridge

pytestmark = pytest.mark.integration
BUDGET_SECONDS = 6.0
# The process answers after the budget plus its own bookkeeping; the client waits a little longer still.
WALL_SLACK_SECONDS = 2.0


@dataclass
class Case:
    name: str
    status: int
    bridge_requests: tuple[int, int]
    """Bounds on what reached the simulator: (at least, at most)."""
    setup: Callable[[SimulatedBridge], None] = lambda bridge: None
    env: dict[str, str] = field(default_factory=dict)
    light_statuses: dict[str, str] | None = None


def _after(seconds: float, action: Callable[[], None]) -> None:
    timer = threading.Timer(seconds, action)
    timer.daemon = True
    timer.start()


def _refuse(bridge: SimulatedBridge) -> None:
    bridge.start_outage("refuse")


def _silent(bridge: SimulatedBridge) -> None:
    bridge.start_outage("silent")


def _unreachable_then_back(bridge: SimulatedBridge) -> None:
    bridge.set_reachable("2", False)
    _after(1.5, lambda: bridge.set_reachable("2", True))


ALL_OK = {"1": "ok", "2": "ok", "3": "ok", "4": "skipped"}
# Cold, the group target costs: GET /groups (resolve the room), PUT the group action, GET /lights.
CASES = [
    Case("bridge down (connection refused)", 503, (0, 0), _refuse),
    Case("bridge silent (timeout)", 503, (1, 6), _silent),
    Case("429 burst then recovery", 200, (5, 5), lambda b: b.fail_next(2, "429", ["PUT"]), light_statuses=ALL_OK),
    Case("503 burst then recovery", 200, (5, 5), lambda b: b.fail_next(2, "503", ["PUT"]), light_statuses=ALL_OK),
    Case("901 burst then recovery", 200, (5, 5), lambda b: b.fail_next(2, "901", ["PUT"]), light_statuses=ALL_OK),
    Case("HTML error page at 200", 200, (4, 4), lambda b: b.fail_next(1, "html", ["GET"]), light_statuses=ALL_OK),
    Case("invalid JSON", 200, (4, 4), lambda b: b.fail_next(1, "invalid_json", ["PUT"]), light_statuses=ALL_OK),
    Case("partial success list", 200, (4, 4), lambda b: b.fail_next(1, "partial", ["PUT"]), light_statuses=ALL_OK),
    Case("connection dropped", 200, (4, 4), lambda b: b.fail_next(1, "drop", ["PUT"]), light_statuses=ALL_OK),
    Case("light unreachable, then back", 200, (5, 16), _unreachable_then_back, light_statuses=ALL_OK),
    Case(
        "light power-cycled after the command",
        200,
        (5, 5),
        lambda b: b.power_cycle("2", delayed_revert=True),
        light_statuses=ALL_OK,
    ),
    Case("key rejected", 500, (1, 1), env={"HUE_APP_KEY": "a-key-the-bridge-never-issued"}),
    Case("unknown group", 500, (1, 1), env={"HUE_TARGET": "group:Kitchen"}),
]


@pytest.fixture
def colorloop(sim: RunningBridge, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[RunningFunction]:
    case: Case = request.param
    # Over HTTPS with the id pinned, so that what reaches the simulator is the API calls alone (no
    # /api/config to confirm the id first; that path is in test_day.py and test_functions_live.py).
    env = {
        **sim.hue_env,
        "HUE_BRIDGE_ID": sim.served.bridge_id,
        "HUE_APP_KEY": APP_KEY,
        "HUE_TARGET": "group:Living room",
        "HUE_BUDGET_SECONDS": str(BUDGET_SECONDS),
        "HUE_CONNECT_TIMEOUT": "1",
        "HUE_READ_TIMEOUT": "1",
        **case.env,
    }
    with running_function("colorloop", env, tmp_path) as running:
        yield running
        sim.bridge.end_outage()  # wakes handlers that still hang, so the simulator can stop


@pytest.mark.parametrize("colorloop", CASES, ids=[case.name for case in CASES], indirect=True)
def test_fault(colorloop: RunningFunction, sim: RunningBridge, request: pytest.FixtureRequest) -> None:
    case: Case = request.node.callspec.params["colorloop"]
    sim.bridge.clear_log()
    case.setup(sim.bridge)

    started = time.monotonic()
    response = requests.post(colorloop.url, timeout=BUDGET_SECONDS + 10)
    elapsed = time.monotonic() - started

    assert response.status_code == case.status, response.text
    outcome = response.json()
    assert elapsed <= BUDGET_SECONDS + WALL_SLACK_SECONDS, f"took {elapsed:.1f}s"
    low, high = case.bridge_requests
    assert low <= sim.bridge.counts()["requests"] <= high, sim.bridge.requests()
    if case.status == 503:
        assert int(response.headers["Retry-After"]) > 0
        assert outcome["result"] == "transient"
    if case.status == 500:
        assert outcome["result"] == "permanent" and outcome["message"]
    if case.light_statuses is not None:
        assert {k: v["status"] for k, v in outcome["lights"].items()} == case.light_statuses
        assert [sim.bridge.light(i).get("effect") for i in "123"] == ["colorloop"] * 3
    log = colorloop.log()
    assert APP_KEY not in log
    assert "Traceback" not in log
