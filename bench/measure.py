"""The measurements. Each starts the staged image's own CMD (`functions-framework --target ... --source
main.py`, the image's ENV, WORKDIR as cwd) on 127.0.0.1 in its own process group, talks to it over
loopback only, and stops the whole group before it returns. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.environment import BASELINE, Environment, Program
from devstack.bridge import SimulatedBridge
from devstack.bridge.modes import serve_bridge
from devstack.cluster import image_staging
from devstack.cluster.manifests import PingSourceSpec, config_map_data, ping_sources
from devstack.cluster.pingsource import Delivery, deliver
from devstack.processes import (
    free_port,
    group_alive,
    group_cpu_seconds,
    group_memory_kib,
    start_process,
    stop_process_group,
)
from devstack.stack import load
from huelights.config import load_settings

REPO = image_staging.ROOT
APP_KEY = "bench-simulated-bridge-key"
TOKEN = "bench-trigger-token-0123456789abcdef"
START_TIMEOUT_SECONDS = 60.0
POLL_SECONDS = 0.005
# gunicorn's arbiter imports and tries its control socket about a second after it starts (+1.7 MB, in the
# cluster too, where the socket then fails on the read-only root): memory is compared at the same age.
MEMORY_AGE_SECONDS = 2.0
SETTLE_SECONDS = 0.1  # after a process group is gone, before the next start: its teardown is not measured
# Every measured action starts this long after the previous one ended, so that the function's own
# pacing (one group command a second, HUE_GROUP_INTERVAL) never adds a wait a real schedule would not see.
ACTION_GAP_SECONDS = 1.1
# Six lights; the room holds five of them, so the group target and the five-light list reach the same bulbs.
BRIDGE_CONFIG: dict[str, Any] = {
    "lights": {
        "1": {"name": "Sofa lamp", "type": "Extended color light"},
        "2": {"name": "Reading lamp", "type": "Extended color light"},
        "3": {"name": "Bloom", "type": "Color light"},
        "4": {"name": "Hallway bulb", "type": "Dimmable light"},
        "5": {"name": "Desk lamp", "type": "Extended color light"},
        "6": {"name": "Porch", "type": "Dimmable light"},
    },
    "groups": {
        "1": {"name": "Living room", "type": "Room", "class": "Living room", "lights": ["1", "2", "3", "4", "5"]}
    },
}
GROUP_TARGET = "group:Living room"
LIGHTS_TARGET = "lights:1,2,3,4,5"
SERVICE_OF = {"lights_off": "lights-off", "lights_on": "lights-on", "colorloop": "colorloop"}


class MeasureError(RuntimeError):
    """A process did not start or answer as it must; the message carries the end of its log."""


@dataclass
class Running:
    program: Program
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    started: float  # perf_counter just before the process was created

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class Bench:
    """One simulated bridge, the prepared environment, and a folder for the processes' logs."""

    def __init__(
        self,
        environment: Environment,
        work: Path,
        extra_env: Mapping[str, str] | None = None,
        stop_timeout: float = 10.0,
        memory_age: float = MEMORY_AGE_SECONDS,
    ) -> None:
        self.env = environment
        self.work = work
        self.extra_env = dict(extra_env or {})
        self.stop_timeout = stop_timeout  # SIGTERM, then SIGKILL for the group after this long
        self.memory_age = memory_age
        self.bridge = SimulatedBridge(config=BRIDGE_CONFIG, app_key=APP_KEY)
        self.sources: dict[str, PingSourceSpec] = ping_sources(REPO / "knative")
        self.config = config_map_data(REPO / "knative", "huelights-config")
        # A gen-2 bridge: HTTPS and plain HTTP. The figures other than the per-API ones keep plain HTTP
        # (and so v1, whatever HUE_API says), comparable with earlier runs; bench.api_cost picks per run.
        self.served = serve_bridge(self.bridge, "gen2", "127.0.0.1")
        self.ca_bundle = self.served.write_root(work / "simulated-bridge-root.pem")

    def close(self) -> None:
        self.served.stop()

    def transport_env(self, transport: str) -> dict[str, str]:
        """HUE_BRIDGE, HUE_CA_BUNDLE and HUE_API for one of bench.api_cost.TRANSPORTS: what a user sets."""
        if transport == "v1-http":
            return {"HUE_BRIDGE": self.served.http_url, "HUE_API": "v1"}
        if self.ca_bundle is None:
            raise MeasureError("the simulated bridge serves no HTTPS")
        api = "auto" if transport == "v2" else "v1"
        return {"HUE_BRIDGE": self.served.url, "HUE_CA_BUNDLE": str(self.ca_bundle), "HUE_API": api}

    def program_env(self, extra_env: Mapping[str, str] | None = None) -> dict[str, str]:
        """What a program gets on top of the image's ENV: the cluster's ConfigMap, the bridge and key."""
        return {
            **self.config,  # the cluster's ConfigMap, as the Knative Service passes it
            "HUE_BRIDGE": self.served.http_url,
            "HUE_APP_KEY": APP_KEY,
            **self.extra_env,
            **(extra_env or {}),
        }

    def deliberate_wait(self, extra_env: Mapping[str, str] | None = None) -> float:
        """Seconds an action waits on purpose before it reads the lights back (HUE_VERIFY_DELAY), as the
        repository's huelights.config resolves it for this environment; 0 for a library without one."""
        settings = load_settings(self.program_env(extra_env))
        return float(getattr(settings, "verify_delay_seconds", 0.0))

    # ----- processes ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def running(self, program: Program, extra_env: Mapping[str, str] | None = None) -> Iterator[Running]:
        """The program's image CMD on a free port until the block ends; then no process of it is left.

        The group gets SIGTERM, and SIGKILL after stop_timeout. Not SIGKILL at once: gunicorn's arbiter
        reaps its worker when it stops gracefully, while a killed arbiter leaves the worker to PID 1,
        which in a container may reap it only seconds later.
        """
        port = free_port()
        home = self.work / "home"
        home.mkdir(exist_ok=True)
        env = image_staging.image_env(program.target, port, self.env.venv, home, self.program_env(extra_env))
        log_path = self.work / "logs" / f"{program.name}-{port}.log"
        log_path.parent.mkdir(exist_ok=True)
        started = time.perf_counter()
        proc = start_process(image_staging.image_command(), log_path, env, cwd=program.app_dir, inherit_env=False)
        try:
            yield Running(program, proc, port, log_path, started)
        finally:
            stop_process_group(proc, timeout=self.stop_timeout)
            gone_by = time.monotonic() + 5.0  # a SIGKILLed worker is reaped by init a moment later
            while group_alive(proc.pid) and time.monotonic() < gone_by:
                time.sleep(0.05)
            if group_alive(proc.pid):
                raise MeasureError(f"processes of {program.name} were left behind (group {proc.pid})")

    def wait_ready(self, running: Running) -> float:
        """Seconds from process creation to the first 200 on /health/readiness."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if running.proc.poll() is not None:
                raise MeasureError(
                    f"{running.program.name} exited with {running.proc.returncode}:\n{running.log_tail()}"
                )
            conn = http.client.HTTPConnection("127.0.0.1", running.port, timeout=5)
            try:
                conn.request("GET", "/health/readiness")
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    return time.perf_counter() - running.started
            except (OSError, http.client.HTTPException):
                pass
            finally:
                conn.close()
            time.sleep(POLL_SECONDS)
        raise MeasureError(
            f"{running.program.name} not ready within {START_TIMEOUT_SECONDS:.0f} s:\n{running.log_tail()}"
        )

    def fire(self, running: Running) -> tuple[Delivery, dict[str, Any]]:
        """Deliver the program's PingSource event (mt-ping's wire format and retries); the outcome if any."""
        service = SERVICE_OF.get(running.program.name, "lights-off")  # the baseline gets lights-off's tick
        delivery = Delivery(source=service, event_id=str(uuid.uuid4()), ce_time="", manual=True)
        deliver(self.sources[service], ("127.0.0.1", running.port), delivery, time.time_ns())
        if not delivery.ok:
            raise MeasureError(
                f"{running.program.name}: PingSource delivery failed ({delivery.status} {delivery.error}): "
                f"{delivery.response[:300]}\n{running.log_tail()}"
            )
        outcome: dict[str, Any] = {}
        with contextlib.suppress(ValueError):
            parsed = json.loads(delivery.response)
            outcome = parsed if isinstance(parsed, dict) else {}
        return delivery, outcome

    # ----- measurements ------------------------------------------------------------------------------
    def cold_start(self, program: Program, memory: bool = True) -> dict[str, Any]:
        """Process start -> first readiness 200 -> first completed PingSource action; then, with `memory`,
        the memory of the process tree once it is `memory_age` seconds old."""
        self.bridge.reset()
        with self.running(program) as running:
            ready = self.wait_ready(running)
            before = self.bridge.counts()["requests"]
            _, outcome = self.fire(running)
            action = time.perf_counter() - running.started
            cpu = group_cpu_seconds(running.proc.pid)
            bridge_requests = self.bridge.counts()["requests"] - before
            memory_kib = None
            if memory:
                time.sleep(max(0.0, self.memory_age - (time.perf_counter() - running.started)))
                memory_kib = group_memory_kib(running.proc.pid)
        if program.name != BASELINE and outcome.get("result") != "ok":
            raise MeasureError(f"{program.name}: the first action did not succeed: {outcome}")
        time.sleep(SETTLE_SECONDS)
        return {
            "ready_s": ready,
            "action_s": action,
            "deliberate_wait_s": self.deliberate_wait() if program.name != BASELINE else 0.0,
            "cpu_s": cpu,
            "memory_kib": memory_kib,
            "bridge_requests": bridge_requests,
        }

    def timed_actions(
        self, running: Running, count: int, what: str
    ) -> Iterator[tuple[int, float, list[dict[str, Any]], dict[str, Any]]]:
        """Fire `count` actions ACTION_GAP_SECONDS apart; for each: its index, round trip, the bridge's log
        of its requests and its outcome. An action that does not succeed ends the measurement."""
        for index in range(count):
            if index:
                time.sleep(ACTION_GAP_SECONDS)
            before = len(self.bridge.requests())
            started = time.perf_counter()
            _, outcome = self.fire(running)
            seconds = time.perf_counter() - started
            log = self.bridge.requests()[before:]
            if outcome.get("result") != "ok":
                raise MeasureError(f"{what}: action {index} did not succeed: {outcome}")
            yield index, seconds, log, outcome

    def bridge_cost(self, target: str, warm_actions: int, latency: float) -> dict[str, Any]:
        """colorloop against `target`: bridge requests and round trip of the cold action and warm ones."""
        self.bridge.reset()
        self.bridge.set_latency(latency)
        program = self.env.programs["colorloop"]
        actions = []
        try:
            with self.running(program, {"HUE_TARGET": target}) as running:
                self.wait_ready(running)
                for index, seconds, log, outcome in self.timed_actions(
                    running, 1 + warm_actions, f"colorloop on {target}"
                ):
                    actions.append(
                        {
                            "run": "cold" if index == 0 else "warm",
                            "seconds": seconds,
                            "requests": len(log),
                            "reported_requests": outcome.get("bridge_requests"),
                            "sequence": [f"{e['method']} {e['resource']}" for e in log],
                        }
                    )
        finally:
            self.bridge.set_latency(0.0)
        return {
            "target": target,
            "latency_s": latency,
            "deliberate_wait_s": self.deliberate_wait({"HUE_TARGET": target}),
            "actions": actions,
        }

    def throughput(self, program: Program, calls: int, bursts: int, timeout: float) -> list[dict[str, Any]]:
        """Bursts of `calls` concurrent external calls; answers per second and what the bridge saw.

        A call without an answer within `timeout` counts as failed, not as an error of the bench.
        """
        self.bridge.reset()
        extra = {"HUE_TARGET": GROUP_TARGET, "TRIGGER_TOKEN": TOKEN}
        figures = []
        with self.running(program, extra) as running:
            self.wait_ready(running)
            for _ in range(bursts):
                self.bridge.clear_log()
                responses, failures, elapsed = load.burst_with_failures(
                    f"{running.url}/", calls, load.external_headers(TOKEN), timeout
                )
                log = self.bridge.requests()
                puts = [e for e in log if e["method"] == "PUT"]
                figures.append(
                    {
                        **load.burst_figures(responses, elapsed, log),
                        "calls_sent": calls,
                        "failed_calls": len(failures),
                        "most_bridge_requests_in_a_second": load.most_in_any_second([e["time"] for e in log]),
                        "most_group_commands_in_a_second": load.most_in_any_second(
                            [e["time"] for e in puts if e["resource"].startswith("/groups/")]
                        ),
                        "most_light_commands_in_a_second": load.most_in_any_second(
                            [e["time"] for e in puts if e["resource"].startswith("/lights/")]
                        ),
                        "rate_limited": self.bridge.counts()["rate_limited"],
                        "rss_kib_after": group_memory_kib(running.proc.pid)["rss"],
                    }
                )
        return figures
