"""Run one function (started as the image starts it) against the hostile bridge and measure each case.

Used by tests/integration/test_hostile_bridge.py, and runnable on its own to print the figures for a closing note:

    .venv/bin/python -m tests.support.hostile_cases [case ...]

Memory is the process group's (gunicorn arbiter + worker) resident set, as the bench measures it: the
peak during the call (VmHWM after resetting it through /proc/<pid>/clear_refs) minus the resident set
before the call. Times are given as a ratio to the invocation budget.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from devstack.processes import group_memory_kib, group_processes
from tests.support.function_process import RunningFunction, running_function
from tests.support.hostile_bridge import MODES, HostileBridge

APP_KEY = "hostile-secret-key-0123456789"
BUDGET_SECONDS = 8.0
CLIENT_TIMEOUT_SECONDS = 45.0


@dataclass
class CaseResult:
    case: str
    status: int
    retry_after: str | None
    seconds: float
    peak_extra_kib: int
    pss_after_kib: int
    body: str
    next_status: int

    @property
    def budget_ratio(self) -> float:
        return self.seconds / BUDGET_SECONDS

    def row(self) -> str:
        return (
            f"{self.case:<17} {self.status:>4} {self.seconds:6.1f}s {self.budget_ratio:5.2f}x "
            f"{self.peak_extra_kib / 1024:9.1f} MiB  next:{self.next_status}  {self.body[:90]!r}"
        )


def function_env(bridge_url: str) -> dict[str, str]:
    return {
        "HUE_BRIDGE": bridge_url,
        "HUE_APP_KEY": APP_KEY,
        "HUE_TARGET": "all",
        "HUE_BUDGET_SECONDS": str(BUDGET_SECONDS),
        "HUE_VERIFY_DELAY": "0.1",
        "HUE_GROUP_INTERVAL": "0",
        "HUE_LIGHT_INTERVAL": "0",
    }


def reset_peaks(pgid: int) -> None:
    """Reset VmHWM of every process in the group (Linux: `5` to clear_refs), so the next peak is this call's."""
    for entry in group_processes(pgid):
        try:
            (entry / "clear_refs").write_text("5")
        except OSError:
            continue


def ping(url: str) -> tuple[int, str | None, str]:
    """One PingSource-shaped delivery (binary CloudEvent); status, Retry-After and body."""
    request = urllib.request.Request(
        url + "/",
        data=b'{"message":"hostile"}',
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Ce-Specversion": "1.0",
            "Ce-Id": str(uuid.uuid4()),
            "Ce-Source": "/apis/v1/namespaces/gohome/pingsources/lights-off",
            "Ce-Type": "dev.knative.sources.ping",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=CLIENT_TIMEOUT_SECONDS) as response:
            return response.status, response.headers.get("Retry-After"), response.read(2000).decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Retry-After"), error.read(2000).decode(errors="replace")


def run_case(function: RunningFunction, bridge: HostileBridge, case: str) -> CaseResult:
    bridge.mode = case
    reset_peaks(function.pid)
    before = group_memory_kib(function.pid)["rss"]
    started = time.monotonic()
    status, retry_after, body = ping(function.url)
    seconds = time.monotonic() - started
    memory = group_memory_kib(function.pid)
    bridge.mode = "normal"
    next_status, _, _ = ping(function.url)
    return CaseResult(case, status, retry_after, seconds, memory["peak_rss"] - before, memory["pss"], body, next_status)


def main(cases: list[str]) -> None:
    with (
        tempfile.TemporaryDirectory() as log_dir,
        HostileBridge() as bridge,
        running_function("lights_off", function_env(bridge.url), Path(log_dir)) as function,
    ):
        idle = group_memory_kib(function.pid)
        print(f"idle: rss {idle['rss'] / 1024:.1f} MiB, pss {idle['pss'] / 1024:.1f} MiB; budget {BUDGET_SECONDS}s")
        for case in cases:
            result = run_case(function, bridge, case)
            print(result.row(), flush=True)
        log = function.log()
        print(json.dumps({"key_in_log": APP_KEY in log, "tracebacks": log.count("Traceback")}))


if __name__ == "__main__":
    main(sys.argv[1:] or [mode for mode in MODES if mode != "normal"])
