"""Bridge requests and latency of each action (off, on, colorloop) on each API, against their floors.

Three ways to reach the one simulated gen-2 bridge (HTTPS and HTTP, devstack/bridge/modes.py):

    v2        HUE_API=auto over HTTPS (the default a user gets): CLIP v2, v1 colorloop as the fallback
    v1-https  HUE_API=v1 over HTTPS: the same transport, the old API
    v1-http   HUE_API=v1 over plain HTTP: what the TLS costs, by difference with v1-https

Every run targets `group:Living room` (five bulbs: three colour lights with prism, a colour light without
effects, a white bulb). The floors come from the simulator's own description of the room, not from the
functions: a warm off / on is one group command and one read-back on both APIs; a warm colorloop is, on
v1, one group command and one read-back, and on v2 one PUT per light (prism, or `on` for the white bulb)
and one `GET /clip/v2/resource/light`, plus, for each colour light without prism, its v1 colorloop PUT
and one v1 `GET /lights`. The time floor of an action is its requests times one request's round trip
measured by the bench itself on the same listener in the same run (a new connection each), plus the
waits the code makes on purpose (light pacing, the verify delay).
"""

from __future__ import annotations

import http.client
import ssl
import statistics
import time
from typing import Any

from bench.measure import GROUP_TARGET, Bench, MeasureError
from devstack.bridge import SimulatedBridge
from devstack.stack import load

TRANSPORTS = {
    "v2": "CLIP v2 over HTTPS (HUE_API=auto)",
    "v1-https": "CLIP v1 over HTTPS (HUE_API=v1)",
    "v1-http": "CLIP v1 over HTTP (HUE_API=v1)",
}
ACTIONS = ("lights_off", "lights_on", "colorloop")
GROUP_ID = "1"  # the room GROUP_TARGET names (bench.measure.BRIDGE_CONFIG)
RTT_SAMPLES = 15


def is_light_command(entry: dict[str, Any]) -> bool:
    resource = entry["resource"]
    return entry["method"] == "PUT" and (resource.startswith("/lights/") or resource.startswith("/resource/light/"))


def is_group_command(entry: dict[str, Any]) -> bool:
    resource = entry["resource"]
    return entry["method"] == "PUT" and (
        resource.startswith("/groups/") or resource.startswith("/resource/grouped_light/")
    )


def shown_request(entry: dict[str, Any]) -> str:
    """`PUT /groups/1/action` (v1), `GET /api/config` (v1, no key), `PUT v2 /resource/light` (v2, without
    the long resource id): the form bench.targets.paced_floor reads."""
    if entry["api"] == "v2":
        parts = entry["resource"].split("/")
        return f"{entry['method']} v2 {'/'.join(parts[:3])}"
    return f"{entry['method']} {entry['path'] if entry['resource'] == '/' else entry['resource']}"


def request_floor(bridge: SimulatedBridge, transport: str, action: str) -> dict[str, int]:
    """The fewest requests a warm action on the room can take, by API, from the simulator's room."""
    if transport != "v2" or action != "colorloop":
        return {"v1": 2, "v2": 0} if transport != "v2" else {"v1": 0, "v2": 2}
    with bridge.lock:
        members = bridge.group_members(GROUP_ID)
        v1_loops = sum(1 for light in members if not light.offers("prism") and "hue" in light.attrs)
        return {"v2": len(members) - v1_loops + 1, "v1": v1_loops + 1 if v1_loops else 0}


def request_round_trip(bench: Bench, transport: str, latency: float, samples: int = RTT_SAMPLES) -> float:
    """Median seconds of one `GET /api/config` on the transport's listener, the bench as client, each on
    a new connection (TCP, and over HTTPS the TLS handshake): the simulator answers `Connection: close`,
    so every request of a function opens one too. The simulator adds `latency`, as to the functions."""
    bench.bridge.set_latency(latency)
    try:
        times = []
        for _ in range(samples):
            connection = _connection(bench, transport)
            try:
                times.append(_timed_get(connection))
            finally:
                connection.close()
    finally:
        bench.bridge.set_latency(0.0)
    return round(statistics.median(times), 5)


def _connection(bench: Bench, transport: str) -> http.client.HTTPConnection:
    served = bench.served
    if transport == "v1-http":
        return http.client.HTTPConnection("127.0.0.1", served.http.port, timeout=10)
    assert served.https is not None and bench.ca_bundle is not None
    context = ssl.create_default_context(cafile=str(bench.ca_bundle))
    context.check_hostname = False  # the leaf names the bridge id (CN, no SAN), as a real bridge's does
    return http.client.HTTPSConnection("127.0.0.1", served.https.port, timeout=10, context=context)


def _timed_get(connection: http.client.HTTPConnection) -> float:
    started = time.perf_counter()
    connection.request("GET", "/api/config")
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise MeasureError(f"GET /api/config answered {response.status}")
    return time.perf_counter() - started


def action_runs(bench: Bench, transport: str, action: str, warm_actions: int, latency: float) -> dict[str, Any]:
    """One process of `action` on `transport`: a cold action, then warm ones ACTION_GAP_SECONDS apart;
    each action's requests and round trip, and the most commands that reached the bridge in any second."""
    bench.bridge.reset()
    bench.bridge.set_latency(latency)
    extra = {**bench.transport_env(transport), "HUE_TARGET": GROUP_TARGET}
    actions = []
    try:
        with bench.running(bench.env.programs[action], extra) as running:
            bench.wait_ready(running)
            for index, seconds, log, _ in bench.timed_actions(running, 1 + warm_actions, f"{action} over {transport}"):
                actions.append(
                    {
                        "run": "cold" if index == 0 else "warm",
                        "seconds": seconds,
                        "requests": {api: sum(1 for e in log if e["api"] == api) for api in ("v1", "v2")},
                        "sequence": [shown_request(e) for e in log],
                    }
                )
    finally:
        bench.bridge.set_latency(0.0)
    log = bench.bridge.requests()
    return {
        "actions": actions,
        "most_light_commands_in_a_second": load.most_in_any_second([e["time"] for e in log if is_light_command(e)]),
        "most_group_commands_in_a_second": load.most_in_any_second([e["time"] for e in log if is_group_command(e)]),
        "rate_limited": bench.bridge.counts()["rate_limited"],
        "refused": sum(1 for e in log if e.get("status") not in (200, 207)),
    }


def measure(bench: Bench, repeats: int, warm_actions: int, latency: float) -> dict[str, Any]:
    """Every transport x action, `repeats` processes each; the round trips and floors of the same run."""
    raw: dict[str, Any] = {
        "latency_s": latency,
        "round_trip_s": {t: request_round_trip(bench, t, latency) for t in ("v1-http", "v1-https")},
        "floors": {t: {a: request_floor(bench.bridge, t, a) for a in ACTIONS} for t in TRANSPORTS},
        "deliberate_wait_s": bench.deliberate_wait(),
        "runs": {t: {a: [] for a in ACTIONS} for t in TRANSPORTS},
    }
    for _ in range(repeats):
        for transport in TRANSPORTS:
            for action in ACTIONS:
                raw["runs"][transport][action].append(action_runs(bench, transport, action, warm_actions, latency))
    raw["round_trip_s"]["v2"] = raw["round_trip_s"]["v1-https"]  # the same HTTPS listener
    return raw
