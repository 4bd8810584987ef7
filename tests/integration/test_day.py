"""A day of the whole local stack, run as processes (python -m devstack) on 127.0.0.1, over HTTPS to the
simulated gen-2 bridge as `make run` sets it up (its test root as HUE_CA_BUNDLE, the id confirmed by each function).

22:30 lights-off fires on the (demo) clock from the manifests' schedule; 05:30 lights-on and 05:35
colorloop are fired by hand with `python -m devstack.stack.fire`, with a bulb power-cycled in between; then an
external POST goes through the local gateway with and without the token. After each step the simulated
bridge's lights are checked; at the end SIGINT must leave no process behind.

Once per API (tests/support/apis.py): as `make run` starts it, with nothing set, the functions must pick
CLIP v2 by themselves (HUE_API=auto) and say so: prism on the colour lights, verified by read-back, v1
colorloop on the Bloom (colour without effects), the white bulb switched on and skipped; and with
HUE_API=v1 exported, the v1 day as before.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from devstack.stack.functions import DEFAULT_PORTS
from tests.support.apis import APIS, COLORLOOP_LIVING_ROOM, api_env, assert_colorloop, invocation_records
from tests.support.local_stack import TIMEOUT, Stack, free_offset, run_stack
from tests.support.servers import (
    PYTHON,
    group_alive,
    start_process,
    stop_process_group,
    wait_until,
)

pytestmark = pytest.mark.integration

TOKEN = "day-test-token-0123456789"
SIM_KEY = "devstack-simulated-bridge-key"
SIM_BRIDGE_ID = "001788fffe5a1b2c"


@pytest.fixture
def stack(tmp_path: Path, api: str) -> Iterator[Stack]:
    today = datetime.now(ZoneInfo("America/Toronto")).date().isoformat()
    start = ["--start", f"{today}T22:29:57"]
    with run_stack(tmp_path / "stack.log", TOKEN, args=start, settings=api_env(api)) as running:
        yield running


def answer_of(fired: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The function's answer that `fire` prints under its first line."""
    answer: dict[str, Any] = json.loads(fired.stdout.split("\n", 1)[1])
    return answer


@pytest.mark.parametrize("api", APIS)
def test_a_day_of_the_local_stack(stack: Stack, api: str) -> None:
    status = stack.status()
    assert set(status["processes"]) == {"lights-off", "lights-on", "colorloop"}
    assert status["sources"]["lights-off"]["schedule"] == "30 22 * * *"  # from knative/, not from code
    assert all(state["on"] for state in stack.lights().values())
    # HTTPS by default, with nothing set by hand: the test root as a CA file, no HUE_BRIDGE_ID.
    told = re.search(r"functions get HUE_BRIDGE=(\S+) HUE_CA_BUNDLE=(\S+)", stack.log.read_text())
    assert told is not None and told[1] == stack.url("bridge-https"), stack.log.read_text()[:3000]
    ca_bundle = Path(told[2])
    assert ca_bundle.read_text().startswith("-----BEGIN CERTIFICATE-----")
    # The start screen lists what the local gateway serves: the HTTPS route, not the plain listener's redirect.
    assert "HTTPRoute colorloop (hosts colorloop.lab)" in stack.log.read_text()
    assert "HTTPRoute colorloop-https-redirect (left out: the plain-HTTP listener's redirect)" in stack.log.read_text()

    # 22:30: the scheduled tick from the manifests turns every target light off.
    def scheduled_off() -> list[dict[str, Any]]:
        return [d for d in stack.status()["deliveries"] if d["source"] == "lights-off" and not d["manual"]]

    assert wait_until(lambda: scheduled_off(), timeout=20), stack.log.read_text()[-3000:]
    (tick,) = scheduled_off()
    scheduled_for = datetime.fromisoformat(tick["scheduled_for"]).astimezone(ZoneInfo("America/Toronto"))
    assert tick["ok"] and scheduled_for.strftime("%H:%M:%S") == "22:30:00"
    assert [state["on"] for state in stack.lights().values()] == [False] * 4

    # 05:30: lights on.
    result = stack.fire("lights-on")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "-> 200" in result.stdout
    assert [state["on"] for state in stack.lights().values()] == [True] * 4
    assert answer_of(result)["api"] == api

    # A wall switch cycles bulb 2; it comes back without colour and re-applies its power-on state late.
    stack.sim("lights/2/power-cycle", {"delayed_revert": True})

    # 05:35: colorloop, including the power-cycled bulb; the white bulb is on and left without effect.
    result = stack.fire("colorloop")
    assert result.returncode == 0, result.stdout + result.stderr
    lights = stack.lights()
    # v1 state shows a running loop as colorloop whichever API started it (prism included).
    assert [lights[i]["effect"] for i in ("1", "2", "3")] == ["colorloop"] * 3
    assert lights["4"]["on"] is True and "effect" not in lights["4"]
    # Per light, the effect and the API that set it; on v2 prism is only "ok" once a read-back showed it.
    assert_colorloop(api, answer_of(result), stack.snapshot())

    # External trigger through the gateway: refused without the token, applied with it. Meanwhile bulb 1's
    # loop was stopped and bulb 2 lost its loop to a power cut (prism and colorloop alike): both get it back.
    stack.sim("lights/1/state", {"effect": "none"})
    stack.sim("lights/2/power-cycle", {})
    assert stack.snapshot()["lights"]["2"]["effect"] == "none"
    gateway = f"{stack.url('gateway')}/colorloop"
    refused = requests.post(gateway, headers={"Host": "colorloop.lab"}, timeout=TIMEOUT)
    assert refused.status_code == 401 and "Bearer" in refused.headers.get("WWW-Authenticate", "")
    assert stack.lights()["1"]["effect"] == "none"
    accepted = requests.post(
        gateway, headers={"Host": "colorloop.lab", "Authorization": f"Bearer {TOKEN}"}, timeout=TIMEOUT
    )
    assert accepted.status_code == 200, accepted.text
    assert stack.lights()["1"]["effect"] == "colorloop"
    looping = stack.snapshot()["lights"]
    assert [looping[i]["effect"] for i in "12"] == [COLORLOOP_LIVING_ROOM[api][i].effect for i in "12"]
    assert requests.get(gateway, headers={"Host": "colorloop.lab"}, timeout=TIMEOUT).status_code == 404
    # Like its Knative Service, lights-on has no TRIGGER_TOKEN, so it refuses external traffic outright.
    external = {"X-Gohome-External": "gateway", "Authorization": f"Bearer {TOKEN}"}
    assert requests.post(stack.url("lights-on"), headers=external, timeout=TIMEOUT).status_code in (401, 403)

    # Ctrl-C: everything the stack started ends, within a bounded time, and the ports are free again.
    pgids = [p["pid"] for p in stack.status()["processes"].values()]
    os.kill(stack.proc.pid, signal.SIGINT)
    assert stack.proc.wait(timeout=30) == 0
    assert wait_until(lambda: not any(group_alive(pgid) for pgid in pgids), timeout=5)
    output = stack.log.read_text()
    assert "stopped (3 function process group(s) ended)" in output
    assert SIM_KEY not in output and TOKEN not in output  # neither the app key nor a user's token is printed
    assert "TRIGGER_TOKEN: from your environment (not shown)" in output
    # Every function verified the certificate and confirmed the id through /api/config, and said so once.
    for service in ("lights-off", "lights-on", "colorloop"):
        confirmed = f"[{service}] INFO huelights.tls: bridge id {SIM_BRIDGE_ID} confirmed"
        assert output.count(confirmed) == 1, service
        # Each decided its API once, at its first invocation; `make run` speaks v2 unless told otherwise.
        reason = "HUE_API=v1" if api == "v1" else "HUE_API=auto and GET /clip/v2/resource/bridge answered"
        assert output.count(f"[{service}] INFO huelights.api: speaking CLIP {api}: {reason}") == 1, service
    assert {record.get("api") for record in invocation_records(output) if "result" in record} == {api}
    assert not ca_bundle.exists(), "the run's CA file goes with the run"


def test_a_taken_port_is_named_and_nothing_starts(tmp_path: Path) -> None:
    offset = free_offset()
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", DEFAULT_PORTS["lights-on"] + offset))
    blocker.listen(1)
    try:
        proc = start_process([PYTHON, "-m", "devstack", "--port-offset", str(offset)], tmp_path / "stack.log")
        try:
            assert proc.wait(timeout=30) == 1
        finally:
            stop_process_group(proc, timeout=5)
    finally:
        blocker.close()
    output = (tmp_path / "stack.log").read_text()
    assert f"port {DEFAULT_PORTS['lights-on'] + offset} on 127.0.0.1 (lights-on) is already in use" in output
    assert "--port-offset" in output and "functions-framework" not in output


def test_sigterm_while_starting_stops_the_functions_already_started(tmp_path: Path) -> None:
    proc = start_process([PYTHON, "-m", "devstack", "--port-offset", str(free_offset())], tmp_path / "stack.log")
    children: list[int] = []
    try:

        def started_children() -> bool:
            found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(proc.pid)], capture_output=True, text=True)
            children[:] = [int(pid) for pid in found.stdout.split()]
            return len(children) >= 1

        assert wait_until(started_children, timeout=20)
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert wait_until(lambda: not any(group_alive(pid) for pid in children), timeout=5)
    finally:
        stop_process_group(proc, signal.SIGKILL, timeout=5)
        for pid in children:
            if group_alive(pid):
                os.killpg(pid, signal.SIGKILL)
