"""Hostile bridge (issue 12): a function started as the image starts it, against a bridge address that
floods, trickles, nests or lies. Each case must end in 503 + Retry-After within the invocation budget,
with memory a few MB over idle, the key in no log line, and the next normal call must work again.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.function_process import RunningFunction, running_function
from tests.support.hostile_bridge import MODES, HostileBridge
from tests.support.hostile_cases import APP_KEY, BUDGET_SECONDS, function_env, ping, run_case

pytestmark = pytest.mark.integration
# The answer may follow the deadline by a little bookkeeping (and a loaded machine).
BUDGET_RATIO_BOUND = 1.15
# Peak resident set of the process group during the call, over its resident set before: reading is
# capped at 1 MiB per answer, so anything near the tens of MB means a body was read whole.
PEAK_EXTRA_BOUND_KIB = 16 * 1024


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningFunction, HostileBridge]]:
    log_dir = Path(tmp_path_factory.mktemp("hostile-bridge"))
    with HostileBridge() as bridge, running_function("lights_off", function_env(bridge.url), log_dir) as function:
        yield function, bridge
        log = function.log()
        assert APP_KEY not in log, "the application key reached a log line"
        assert "Traceback" not in log


@pytest.mark.parametrize("case", [mode for mode in MODES if mode not in ("normal", "malformed_header")])
def test_a_hostile_bridge_costs_a_503_within_the_budget_and_no_memory(
    hostile: tuple[RunningFunction, HostileBridge], case: str
) -> None:
    function, bridge = hostile
    result = run_case(function, bridge, case)

    assert result.status == 503, result.body
    assert result.retry_after is not None
    assert '"result": "transient"' in result.body
    assert result.budget_ratio <= BUDGET_RATIO_BOUND, f"{result.seconds:.1f}s for a {BUDGET_SECONDS}s budget"
    assert result.peak_extra_kib <= PEAK_EXTRA_BOUND_KIB, f"{result.peak_extra_kib} KiB over idle"
    assert len(result.body) < 2000
    assert result.next_status == 200, "the call after the hostile one failed"


def test_a_malformed_header_line_does_not_leak_the_key(hostile: tuple[RunningFunction, HostileBridge]) -> None:
    function, bridge = hostile
    result = run_case(function, bridge, "malformed_header")

    # The answer itself is correct; urllib3 logs the line it could not parse, with the URL.
    assert result.status == 200
    assert "Failed to parse headers" in function.log()
    assert APP_KEY not in function.log()


def test_with_log_execution_id_and_proxy_variables_one_line_per_invocation_and_no_proxy(tmp_path: Path) -> None:
    proxy = socket.socket()
    proxy.bind(("127.0.0.1", 0))
    proxy.listen(4)
    proxy.settimeout(0.1)
    proxy_url = f"http://127.0.0.1:{proxy.getsockname()[1]}"
    with HostileBridge() as bridge:
        env = {
            **function_env(bridge.url),
            "LOG_EXECUTION_ID": "true",
            "HTTP_PROXY": proxy_url,
            "HTTPS_PROXY": proxy_url,
            "ALL_PROXY": proxy_url,
        }
        with running_function("lights_off", env, tmp_path) as function:
            bridge.mode = "malformed_header"  # makes urllib3 log a warning during the invocation
            status, _, _ = ping(function.url)
            log = function.log()
    try:
        proxy.accept()[0].close()
        reached_proxy = True
    except TimeoutError:
        reached_proxy = False
    finally:
        proxy.close()

    assert status == 200
    assert not reached_proxy, "the bridge session used the proxy from the environment"
    records = [line for line in log.splitlines() if '"action": "lights_off"' in line]
    assert len(records) == 1, log
    assert json.loads(records[0])["status"] == 200
    assert APP_KEY not in log
