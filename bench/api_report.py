"""The per-action, per-API figures of bench.api_cost: medians, floors, and one Target per table row.

Judged: the requests of every warm action equal the floor the simulator's room gives (exact counts, every
run); each warm action within LATENCY_LIMIT of its time floor; the bridge's limits never exceeded. Shown
for context: what TLS costs, one request and whole actions, HTTPS against plain HTTP on the same bridge.
"""

from __future__ import annotations

from typing import Any

from bench.targets import Target, median, ms, paced_floor, ratio_of, ratio_target

LATENCY_LIMIT = 1.2
LIGHT_COMMANDS_PER_SECOND = 10
GROUP_COMMANDS_PER_SECOND = 1
ACTION_LABEL = {"lights_off": "off", "lights_on": "on", "colorloop": "colorloop"}
HEADING = (
    "bridge requests and latency per action and API, group:Living room "
    "(floor = requests x round trip measured in this run + pacing + verify delay)"
)


def _run_figures(actions: list[dict[str, Any]], round_trip: float, wait: float, interval: float) -> dict[str, Any]:
    sequence = actions[0]["sequence"]
    seconds = round(median([a["seconds"] for a in actions]), 4)
    floor = paced_floor(sequence, round_trip, interval) + wait
    by_api = actions[0]["requests"]
    return {
        "requests": sum(by_api.values()),
        "requests_by_api": by_api,
        "requests_by_api_runs": [a["requests"] for a in actions],
        "sequence": sequence,
        "seconds": seconds,
        "seconds_runs": [round(a["seconds"], 4) for a in actions],
        "floor_s": round(floor, 4),
        "ratio_to_floor": ratio_of(seconds, floor),
    }


def figures(raw: dict[str, Any], light_interval: float) -> dict[str, Any]:
    wait = raw["deliberate_wait_s"]
    transports: dict[str, Any] = {}
    for transport, by_action in raw["runs"].items():
        round_trip = raw["round_trip_s"][transport]
        transports[transport] = {}
        for action, reps in by_action.items():
            entry: dict[str, Any] = {"floor_requests": raw["floors"][transport][action]}
            for run in ("cold", "warm"):
                actions = [a for rep in reps for a in rep["actions"] if a["run"] == run]
                entry[run] = _run_figures(actions, round_trip, wait, light_interval)
            entry["limits"] = {
                "most_light_commands_in_a_second": max(r["most_light_commands_in_a_second"] for r in reps),
                "most_group_commands_in_a_second": max(r["most_group_commands_in_a_second"] for r in reps),
                "rate_limited": sum(r["rate_limited"] for r in reps),
                "refused": sum(r["refused"] for r in reps),
            }
            transports[transport][action] = entry
    return {
        "latency_per_request_s": raw["latency_s"],
        "deliberate_wait_s": wait,
        "round_trip_s": raw["round_trip_s"],
        "transports": transports,
    }


def _counts(by_api: dict[str, int]) -> str:
    parts = [f"{count} {api}" for api, count in sorted(by_api.items(), reverse=True) if count]
    return "+".join(parts) or "0"


def warm_requests(transport: str, figures: dict[str, Any]) -> Target:
    """Exact counts, every warm run of every action at the floor."""
    entries = figures["transports"][transport]
    measured = [entries[a]["warm"]["requests"] for a in ACTION_LABEL]
    floors = [sum(entries[a]["floor_requests"].values()) for a in ACTION_LABEL]
    at_floor = all(
        counts == entries[a]["floor_requests"]
        for a in ACTION_LABEL
        for counts in entries[a]["warm"]["requests_by_api_runs"]
    )
    split = ", ".join(f"{ACTION_LABEL[a]} {_counts(entries[a]['warm']['requests_by_api'])}" for a in ACTION_LABEL)
    return Target(
        f"api_cost.{transport}.warm.requests",
        f"{transport}: warm off/on/colorloop requests",
        f"bridge requests of a warm off, on and colorloop action on the room, {transport}",
        sum(measured),
        sum(floors),
        "requests",
        shown=("/".join(map(str, measured)), "/".join(map(str, floors))),
        ratio=None,
        target="== floor",
        passed=at_floor,
        note=split,
        details={"by_action": dict(zip(ACTION_LABEL, measured, strict=True))},
    )


def warm_latency(transport: str, action: str, figures: dict[str, Any]) -> Target:
    entry = figures["transports"][transport][action]
    warm, cold = entry["warm"], entry["cold"]
    return ratio_target(
        f"api_cost.{transport}.{action}.warm.latency",
        f"{transport}: {ACTION_LABEL[action]}, warm",
        f"warm {action} latency on the room at {figures['latency_per_request_s'] * 1000:.0f} ms a request, {transport}",
        warm["seconds"],
        warm["floor_s"],
        LATENCY_LIMIT,
        "s",
        shown=(ms(warm["seconds"]), ms(warm["floor_s"])),
        note=f"{warm['requests']} requests; cold {ms(cold['seconds'])}, {cold['requests']} requests, "
        f"ratio {cold['ratio_to_floor']:.2f}",
        details={"cold_s": cold["seconds"], "cold_requests": cold["requests"], "cold_ratio": cold["ratio_to_floor"]},
    )


def within_limits(transport: str, figures: dict[str, Any]) -> Target:
    limits = [figures["transports"][transport][a]["limits"] for a in ACTION_LABEL]
    lights = max(x["most_light_commands_in_a_second"] for x in limits)
    groups = max(x["most_group_commands_in_a_second"] for x in limits)
    refused = sum(x["rate_limited"] + x["refused"] for x in limits)
    return Target(
        f"api_cost.{transport}.bridge_within_limits",
        f"{transport}: most commands in any second",
        f"most light / group commands the bridge received in any second, every action, {transport}",
        lights,
        None,
        "commands/s",
        shown=(f"{lights} / {groups}", f"{LIGHT_COMMANDS_PER_SECOND} / {GROUP_COMMANDS_PER_SECOND}"),
        ratio=None,
        target="limits",
        passed=lights <= LIGHT_COMMANDS_PER_SECOND and groups <= GROUP_COMMANDS_PER_SECOND and refused == 0,
        note=f"light / group; refused {refused}",
    )


def tls_request(figures: dict[str, Any]) -> Target:
    https, http = figures["round_trip_s"]["v1-https"], figures["round_trip_s"]["v1-http"]
    return Target(
        "api_cost.tls.request",
        "TLS: one request, new connection",
        "one GET /api/config over HTTPS against plain HTTP, each on a new connection (the bench as client)",
        https,
        http,
        "s",
        shown=(f"{https * 1000:.1f} ms", f"{http * 1000:.1f} ms"),
        ratio=ratio_of(https, http),
        target="-",
        passed=None,
        note="HTTPS vs HTTP; the round trips of the floors",
    )


def tls_actions(run: str, figures: dict[str, Any]) -> Target:
    def total(transport: str) -> float:
        return sum(figures["transports"][transport][a][run]["seconds"] for a in ACTION_LABEL)

    https, http = total("v1-https"), total("v1-http")
    return Target(
        f"api_cost.tls.actions.{run}",
        f"TLS: v1 off+on+colorloop, {run}",
        f"v1 off, on and colorloop ({run}) over HTTPS against the same over plain HTTP, summed",
        https,
        http,
        "s",
        shown=(ms(https), ms(http)),
        ratio=ratio_of(https, http),
        target="-",
        passed=None,
        note="HTTPS vs HTTP" + (" (HTTPS confirms the bridge id: GET /api/config)" if run == "cold" else ""),
    )


def section(figures: dict[str, Any]) -> list[Target]:
    records: list[Target] = []
    for transport in figures["transports"]:
        records.append(warm_requests(transport, figures))
        records += [warm_latency(transport, action, figures) for action in ACTION_LABEL]
        records.append(within_limits(transport, figures))
    records.append(tls_request(figures))
    records += [tls_actions("warm", figures), tls_actions("cold", figures)]
    return records
