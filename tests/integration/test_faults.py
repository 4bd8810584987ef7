"""Fault matrix: a real colorloop process against the simulated bridge misbehaving in each known way.

Each case runs once per API (tests/support/apis.py: v1 with HUE_API=v1, v2 with the default auto) and
asserts what a user would see (status, outcome), what the bridge had to endure (requests it received, bounds
written down per API), and that the invocation ended within its budget, whatever the bridge did.

The same faults on v2: 429 / 503 / an HTML page / a dropped connection are retried like on v1. Hue error
901 and the partial success list are v1 answers; the simulator gives a v2 request a JSON 500 for them
(v2 has no error 901), which v2 retries as well. A cold v2 process first asks whether the bridge serves
v2 and reads the inventory: those two GETs meet the first faults aimed at GETs.
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
from tests.support.apis import (
    APIS,
    COLD_COLORLOOP_REQUESTS,
    api_env,
    assert_colorloop,
    assert_spoke,
    statuses,
)
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
    requests: dict[str, tuple[int, int]]
    """Per API, bounds on what reached the simulator: (at least, at most)."""
    setup: Callable[[SimulatedBridge], None] = lambda bridge: None
    env: dict[str, str] = field(default_factory=dict)
    light_statuses: dict[str, str] | None = None
    answered: dict[str, int] = field(default_factory=dict)
    """Per API, an HTTP status the simulator answered at least once to a request of that API."""
    message: tuple[str, ...] = ()
    """Words the outcome's message must hold, on both APIs."""


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


def _fail_first_put(kind: str) -> Callable[[SimulatedBridge], None]:
    return lambda bridge: bridge.fail_next(1, kind, ["PUT"])


ALL_OK = {"1": "ok", "2": "ok", "3": "ok", "4": "skipped"}
V1, V2 = COLD_COLORLOOP_REQUESTS["v1"], COLD_COLORLOOP_REQUESTS["v2"]


def _plus(extra: int) -> dict[str, tuple[int, int]]:
    """A fault that costs both APIs `extra` requests over their cold colorloop (tests/support/apis.py)."""
    return {"v1": (V1 + extra, V1 + extra), "v2": (V2 + extra, V2 + extra)}


CASES = [
    Case("bridge down (connection refused)", 503, {"v1": (0, 0), "v2": (0, 0)}, _refuse, message=("cannot reach",)),
    Case("bridge silent (timeout)", 503, {"v1": (1, 6), "v2": (1, 6)}, _silent),
    Case(
        "429 burst then recovery",
        200,
        _plus(2),
        lambda b: b.fail_next(2, "429", ["PUT"]),
        light_statuses=ALL_OK,
        answered={"v1": 429, "v2": 429},
    ),
    Case(
        "503 burst then recovery",
        200,
        _plus(2),
        lambda b: b.fail_next(2, "503", ["PUT"]),
        light_statuses=ALL_OK,
        answered={"v1": 503, "v2": 503},
    ),
    # v2 has no error 901: the simulator answers a v2 PUT a JSON 500 instead, retried as any 5xx.
    Case(
        "901 burst then recovery",
        200,
        _plus(2),
        lambda b: b.fail_next(2, "901", ["PUT"]),
        light_statuses=ALL_OK,
        answered={"v2": 500},
    ),
    # v2: the HTML page answers the API question (GET resource/bridge), which is asked again, not taken for "no v2".
    Case(
        "HTML error page at 200",
        200,
        _plus(1),
        lambda b: b.fail_next(1, "html", ["GET"]),
        light_statuses=ALL_OK,
    ),
    Case("invalid JSON", 200, _plus(1), lambda b: b.fail_next(1, "invalid_json", ["PUT"]), light_statuses=ALL_OK),
    # v1: the group action half applied, the rest re-sent; v2: a JSON 500 for the first PUT, retried.
    Case(
        "partial success list",
        200,
        _plus(1),
        lambda b: b.fail_next(1, "partial", ["PUT"]),
        light_statuses=ALL_OK,
        answered={"v2": 500},
    ),
    Case("connection dropped", 200, _plus(1), lambda b: b.fail_next(1, "drop", ["PUT"]), light_statuses=ALL_OK),
    # v1: `reachable: false` until it is back; v2: zigbee_connectivity `connectivity_issue` and 207 "may not
    # have effect" for its PUT, the link read again with the read-back until it is back.
    Case(
        "light unreachable, then back",
        200,
        {"v1": (V1 + 2, 16), "v2": (V2 + 2, 20)},
        _unreachable_then_back,
        light_statuses=ALL_OK,
        answered={"v2": 207},
    ),
    # Prism (v2) and colorloop (v1) alike are lost, noticed by the read-back and sent again: one PUT, one GET.
    Case(
        "light power-cycled after the command",
        200,
        _plus(2),
        lambda b: b.power_cycle("2", delayed_revert=True),
        light_statuses=ALL_OK,
    ),
    # The Bloom loops through v1 on both APIs, so a v2 run meets v1's own faults at its v1 colorloop: retried
    # alike (v1: GET lights resolves the name; v2: the question and the inventory; then PUT, PUT, GET lights).
    *(
        Case(
            f"{kind} at the Bloom's v1 colorloop",
            200,
            {"v1": (4, 4), "v2": (5, 5)},
            _fail_first_put(kind),
            env={"HUE_TARGET": "lights:Bloom"},
            light_statuses={"3": "ok"},
        )
        for kind in ("901", "partial")
    ),
    # v1: GET groups answers error 1; v2: the API question answers 403. Neither is retried.
    Case(
        "key rejected",
        500,
        {"v1": (1, 1), "v2": (1, 1)},
        env={"HUE_APP_KEY": "a-key-the-bridge-never-issued"},
        answered={"v2": 403},
        message=("HUE_APP_KEY was rejected",),
    ),
    # v2: the API question and the inventory, which has no such room (fresh, so no second reading).
    Case(
        "unknown group",
        500,
        {"v1": (1, 1), "v2": (2, 2)},
        env={"HUE_TARGET": "group:Kitchen"},
        message=("HUE_TARGET", "'Kitchen'", "'Living room'"),
    ),
]


@pytest.fixture
def colorloop(
    sim: RunningBridge, tmp_path: Path, request: pytest.FixtureRequest, api: str
) -> Iterator[RunningFunction]:
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
        **api_env(api),
        **case.env,
    }
    with running_function("colorloop", env, tmp_path) as running:
        yield running
        sim.bridge.end_outage()  # wakes handlers that still hang, so the simulator can stop


@pytest.mark.parametrize("colorloop", CASES, ids=[case.name for case in CASES], indirect=True)
@pytest.mark.parametrize("api", APIS)
def test_fault(colorloop: RunningFunction, sim: RunningBridge, api: str, request: pytest.FixtureRequest) -> None:
    case: Case = request.node.callspec.params["colorloop"]
    sim.bridge.clear_log()
    case.setup(sim.bridge)

    started = time.monotonic()
    response = requests.post(colorloop.url, timeout=BUDGET_SECONDS + 10)
    elapsed = time.monotonic() - started

    assert response.status_code == case.status, response.text
    outcome = response.json()
    assert elapsed <= BUDGET_SECONDS + WALL_SLACK_SECONDS, f"took {elapsed:.1f}s"
    low, high = case.requests[api]
    assert low <= sim.bridge.counts()["requests"] <= high, sim.bridge.requests()
    if api in case.answered:
        assert (api, case.answered[api]) in {(e["api"], e["status"]) for e in sim.bridge.requests()}
    if case.status == 503:
        assert int(response.headers["Retry-After"]) > 0
        assert outcome["result"] == "transient"
    if case.status == 500:
        assert outcome["result"] == "permanent" and outcome["message"]
    assert all(words in outcome["message"] for words in case.message), outcome["message"]
    if case.light_statuses is not None:
        assert statuses(outcome, sim.bridge.snapshot()) == case.light_statuses
        colour = [lid for lid in case.light_statuses if lid != "4"]
        # v1 state shows a running loop as colorloop whichever API started it (prism included).
        assert [sim.bridge.light(i).get("effect") for i in colour] == ["colorloop"] * len(colour)
        assert_colorloop(api, outcome, sim.bridge.snapshot(), lights="".join(case.light_statuses))
    log = colorloop.log()
    if case.status == 200:
        assert_spoke(api, log)
    assert APP_KEY not in log
    assert "Traceback" not in log
