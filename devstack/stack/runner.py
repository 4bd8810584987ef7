"""python -m devstack (= make run): the whole system on 127.0.0.1, driven by the manifests.

Starts the simulated Hue bridge (or uses the real one when HUE_BRIDGE and HUE_APP_KEY are both set), the
functions in functions/ as functions-framework processes, the gateway from gateway/route/, the PingSources
from knative/ and a control endpoint with a dashboard. Ctrl-C or SIGTERM stops everything it started.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from devstack.bridge import SimulatedBridge
from devstack.bridge.modes import DEFAULT_MODE, MODES
from devstack.cluster.gateway import LocalGateway, redirects_to_https
from devstack.cluster.manifests import (
    ManifestError,
    PingSourceSpec,
    config_map_data,
    http_routes,
    ping_sources,
    service_env_names,
)
from devstack.cluster.pingsource import Delivery, DemoClock, PingScheduler, cron_and_zone
from devstack.processes import REPO
from devstack.stack.control import ControlApp
from devstack.stack.dashboard import Dashboard, ExternalTrigger, InvocationLog, RealBridgeView, external_route
from devstack.stack.functions import (
    HOST,
    READY_TIMEOUT_SECONDS,
    FunctionProcess,
    StackError,
    check_ports_free,
    functions_in,
    port_plan,
    say,
    serve_thread,
    start_function,
    stop_functions,
    wait_ready,
)
from devstack.stack.simulated import SimulatedSetup, bridge_ports, start_simulated_bridge
from devstack.web import WsgiServer
from huelights.config import load_settings
from huelights.errors import ConfigError

CONFIG_MAP = "huelights-config"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__.splitlines()[0])
    parser.add_argument("--port-offset", type=int, default=int(os.environ.get("DEVSTACK_PORT_OFFSET", "0")))
    parser.add_argument("--knative", type=Path, default=REPO / "knative", help="kustomization with the PingSources")
    parser.add_argument(
        "--gateway", type=Path, default=REPO / "gateway" / "route", help="kustomization with HTTPRoutes"
    )
    parser.add_argument("--bridge-config", help="YAML seed for the simulated bridge (default: built-in)")
    parser.add_argument(
        "--bridge-mode",
        choices=list(MODES),
        default=os.environ.get("DEVSTACK_BRIDGE_MODE", DEFAULT_MODE),
        help="the simulated bridge: " + "; ".join(f"{name} = {what}" for name, what in MODES.items()),
    )
    parser.add_argument(
        "--start", help="demo clock start: HH:MM[:SS] today or an ISO date-time, in the schedules' zone"
    )
    parser.add_argument("--speed", type=float, default=1.0, help="demo clock speed, e.g. 600 = a day in 144 s")
    return parser.parse_args(argv)


def parse_start(value: str | None, zone: ZoneInfo) -> datetime | None:
    if not value:
        return None
    if len(value) <= 8 and ":" in value:  # a time of day, today
        today = datetime.now(zone).date().isoformat()
        value = f"{today}T{value}"
    start = datetime.fromisoformat(value)
    return start if start.tzinfo else start.replace(tzinfo=zone)


def function_env(config: dict[str, str], bridge: dict[str, str | None], token: str) -> dict[str, str]:
    """The cluster's ConfigMap values, overridden by the user's HUE_* environment, then by `bridge` (address,
    key, TLS settings; None removes a variable) and the token."""
    env = {**os.environ}
    for name, value in config.items():
        env.setdefault(name, value)
    for name, setting in bridge.items():
        if setting is None:
            env.pop(name, None)
        else:
            env[name] = setting
    env["TRIGGER_TOKEN"] = token
    return env


def without(env: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in env.items() if k != name}


def print_delivery(delivery: Delivery) -> None:
    outcome = delivery.status if delivery.status is not None else delivery.error
    kind = "fired by hand" if delivery.manual else "tick"
    say(
        f"[pingsource] {delivery.source} {kind} Ce-Id {delivery.event_id} Ce-Time {delivery.ce_time} -> {outcome} "
        f"({delivery.attempts} attempt(s), {delivery.seconds} s)"
    )


def screen(
    ports: dict[str, int],
    functions: list[FunctionProcess],
    sources: dict[str, PingSourceSpec],
    scheduler: PingScheduler,
    routes: list[dict[str, Any]],
    real_bridge: str | None,
    simulated: SimulatedSetup | None,
    auth_notice: str,
    offset: int,
) -> str:
    url = service_urls(ports)
    lines = ["", "huelights local stack: everything on 127.0.0.1; Ctrl-C stops it all", ""]
    if simulated is not None:
        lines += simulated.screen_lines()
    else:
        lines.append(f"  bridge      REAL bridge at {real_bridge} (HUE_APP_KEY from your environment, not shown)")
    for function in functions:
        lines.append(f"  {function.service:<11} {function.url:<24} functions-framework --target {function.target}")
    for route in routes:
        spec = route.get("spec") or {}
        hosts = ",".join(spec.get("hostnames") or ["*"])
        # The local gateway is one plain port standing for the HTTPS listener: the HTTP->HTTPS redirect
        # route belongs to a listener it does not have.
        served = "left out: the plain-HTTP listener's redirect" if redirects_to_https(route) else f"hosts {hosts}"
        lines.append(f"  gateway     {url['gateway']:<24} HTTPRoute {route['metadata']['name']} ({served})")
    lines.append(f"  dashboard   {url['control']:<24} open it in a browser; POST /fire/<source>")
    lines += ["", "PingSources (from the manifests):"]
    for name, spec in sources.items():
        _, zone = cron_and_zone(spec)
        nxt = scheduler.next_fires[name].astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
        lines.append(f"  {name:<11} '{spec.schedule}' {zone.key} -> {spec.sink_service}; next {nxt}")
    clock = scheduler.clock
    if clock.speed != 1.0 or abs(clock.now().timestamp() - time.time()) > 2:
        local = cron_and_zone(next(iter(sources.values())))[1] if sources else None
        now = clock.now().astimezone(local).isoformat(timespec="seconds")
        lines.append(f"  demo clock: now {now}, x{clock.speed:g}")
    by_hand = f"python -m devstack.stack.fire colorloop --control {url['control']}"
    fire = "make fire SOURCE=colorloop" if offset == 0 else by_hand
    lines += ["", auth_notice, "", "Try:", f"  {fire}"]
    bearer = '-H "Authorization: Bearer $TRIGGER_TOKEN"'
    lines.append(f"  curl -s -X POST {url['gateway']}/colorloop -H 'Host: colorloop.lab' {bearer}")
    for function in functions:
        lines.append(f"  func invoke --target {function.url}/")
    if functions:
        lines.append(f"  func invoke --target {functions[0].url}/ --format cloudevent")
        lines.append(f"  curl -s -X POST {functions[0].url}/ -H 'Content-Type: application/json' -d '{{}}'")
    lines.append("")
    return "\n".join(lines)


def service_urls(ports: dict[str, int]) -> dict[str, str]:
    return {name: f"{'https' if name == 'bridge-https' else 'http'}://{HOST}:{port}" for name, port in ports.items()}


def make_dashboard(
    scheduler: PingScheduler,
    invocations: InvocationLog,
    bridge: SimulatedBridge | None,
    env: dict[str, str],
    routes: list[dict[str, Any]],
    urls: dict[str, str],
    token: str,
) -> Dashboard:
    """The dashboard sees the simulator in-process; a real bridge only through huelights' client, reading."""
    real = None if bridge is not None else RealBridgeView(load_settings(env))
    route = external_route(routes)
    external = ExternalTrigger(urls["gateway"], route[0], route[1], token) if route else None
    return Dashboard(scheduler, invocations, simulated=bridge, real=real, external=external, services=urls)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        sources = ping_sources(args.knative)
        routes = http_routes(args.gateway)
        config = config_map_data(args.knative, CONFIG_MAP)
        zone = cron_and_zone(next(iter(sources.values())))[1] if sources else ZoneInfo("UTC")
        start = parse_start(args.start, zone)
        if args.speed <= 0:
            raise ValueError("--speed must be positive")
    except (ManifestError, ValueError) as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 2
    services = functions_in(REPO)
    real_bridge = os.environ.get("HUE_BRIDGE") if os.environ.get("HUE_APP_KEY") else None
    bridge_names = [] if real_bridge else bridge_ports(args.bridge_mode)
    ports = port_plan([*bridge_names, "gateway", *services, "control"], args.port_offset)
    try:
        check_ports_free(ports)
    except StackError as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 1

    token = os.environ.get("TRIGGER_TOKEN", "")
    if token:
        auth_notice = "TRIGGER_TOKEN: from your environment (not shown)"
    else:
        token = secrets.token_urlsafe(24)
        auth_notice = (
            f"TRIGGER_TOKEN={token}   (generated for this run; export it for the curl line below)"
            if not real_bridge
            else "TRIGGER_TOKEN: generated and not shown (real bridge); set TRIGGER_TOKEN to call the gateway"
        )

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    functions: list[FunctionProcess] = []
    servers: list[WsgiServer] = []
    bridge: SimulatedBridge | None = None
    simulated: SimulatedSetup | None = None
    # The simulator's test root lives here for the run, as a CA file a user would keep; removed at the end.
    ca_folder = tempfile.TemporaryDirectory(prefix="devstack-")
    scheduler: PingScheduler | None = None
    invocations = InvocationLog()  # the functions' invocation records, for the dashboard
    # The functions' Unix sockets: mkdtemp makes the folder 0700, so only this user reaches them.
    sockets = tempfile.TemporaryDirectory(prefix="devstack-")
    socket_folder = Path(sockets.name)
    code = 0
    try:
        if real_bridge:
            settings: dict[str, str | None] = {"HUE_BRIDGE": real_bridge, "HUE_APP_KEY": os.environ["HUE_APP_KEY"]}
        else:
            simulated = start_simulated_bridge(args.bridge_config, args.bridge_mode, HOST, ports, Path(ca_folder.name))
            bridge, settings = simulated.served.bridge, simulated.function_settings
        env = function_env(config, settings, token)
        for service, target in services.items():
            if not stop.is_set():
                # As in the cluster, only a Service whose manifest asks for TRIGGER_TOKEN gets it.
                names = service_env_names(args.knative, service)
                own_env = env if names is None or "TRIGGER_TOKEN" in names else without(env, "TRIGGER_TOKEN")
                functions.append(
                    start_function(service, target, ports[service], own_env, socket_folder, invocations.feed)
                )
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        for function in functions:
            wait_ready(function, deadline, stop)
        targets = {f.service: f.socket for f in functions}  # past the guards, as the cluster's ingress is
        servers.append(serve_thread(LocalGateway(routes, targets), ports["gateway"], "gateway"))
        # The demo clock starts when the schedule does: --start is what it reads once everything is up.
        scheduler = PingScheduler(sources, targets, DemoClock(start, args.speed), on_delivery=print_delivery)
        urls = service_urls(ports)

        def describe() -> dict[str, Any]:
            return {
                "services": urls,
                "processes": {f.service: {"pid": f.proc.pid, "alive": f.proc.poll() is None} for f in functions},
                "bridge": bridge.snapshot() if bridge else None,
            }

        dashboard = make_dashboard(scheduler, invocations, bridge, env, routes, urls, token)
        control = ControlApp(scheduler, describe, dashboard, ports["control"])
        servers.append(serve_thread(control, ports["control"], "control"))
        if not stop.is_set():
            scheduler.start()
            say(
                screen(
                    ports, functions, sources, scheduler, routes, real_bridge, simulated, auth_notice, args.port_offset
                )
            )
        while not stop.wait(0.5):
            dead = [f for f in functions if f.proc.poll() is not None]
            if dead:
                print(f"devstack: {dead[0].service} exited with {dead[0].proc.returncode}; stopping", file=sys.stderr)
                code = 1
                break
    except (StackError, ManifestError, ConfigError, OSError) as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        code = 1
    finally:
        if scheduler is not None:
            scheduler.stop()
        for server in servers:
            server.stop()
        # Functions before the bridge: an invocation still running then ends against a live bridge
        # instead of reporting "connection refused".
        stop_functions(functions)
        sockets.cleanup()
        if simulated is not None:
            simulated.served.stop()
        ca_folder.cleanup()
        say(f"devstack: stopped ({len(functions)} function process group(s) ended)")
    return code


if __name__ == "__main__":
    sys.exit(main())
