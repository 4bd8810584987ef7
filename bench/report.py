"""Raw runs -> medians, ratios against the same-run baselines, targets; the table and the JSON.

Nothing here judges absolute times: every time and size is compared with a baseline measured in the
same run on the same machine, and the only exact figures (bridge request counts) are counts.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from bench.environment import BASELINE, FUNCTIONS

COLD_START_LIMIT = 1.10
MEMORY_LIMIT = 1.10
IMAGE_LIMIT = 1.15
LATENCY_LIMIT = 1.2
WARM_GROUP_REQUESTS = 2  # one group action and one read-back
BRIDGE_LIGHT_COMMANDS_PER_SECOND = 10
BRIDGE_GROUP_COMMANDS_PER_SECOND = 1


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def _ratio(value: float, baseline: float) -> float:
    return round(value / baseline, 3) if baseline else float("inf")


def _target(
    key: str, label: str, value: float, baseline: float, limit: float, unit: str, **extra: Any
) -> dict[str, Any]:
    ratio = _ratio(value, baseline)
    return {
        "key": key,
        "figure": label,
        "value": value,
        "baseline": baseline,
        "unit": unit,
        "ratio": ratio,
        "limit": limit,
        "passed": ratio <= limit,
        **extra,
    }


def paced_floor(sequence: list[str], latency: float, light_interval: float) -> float:
    """The least time `sequence` can take: each request's latency, plus the wait the client's pacing
    (the bridge's 10 light commands a second) adds between consecutive light commands."""
    floor = len(sequence) * latency
    previous_was_light = False
    for request in sequence:
        is_light = request.startswith("PUT /lights/")
        if is_light and previous_was_light:
            floor += max(0.0, light_interval - latency)
        previous_was_light = is_light
    return floor


def summarize(
    cold: dict[str, list[dict[str, Any]]],
    bridge: dict[str, list[dict[str, Any]]],
    throughput: dict[str, list[dict[str, Any]]],
    weight: dict[str, Any],
    light_interval: float,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    figures: dict[str, Any] = {"cold_start": {}, "memory": {}, "image_weight": weight, "bridge_cost": {}}
    targets: list[dict[str, Any]] = []

    for name, runs in cold.items():
        figures["cold_start"][name] = {
            "ready_s": round(median([r["ready_s"] for r in runs]), 4),
            "action_s": round(median([r["action_s"] for r in runs]), 4),
            "cpu_s": round(median([r["cpu_s"] for r in runs]), 3),
            "deliberate_wait_s": median([r["deliberate_wait_s"] for r in runs]),
            "action_less_wait_s": round(median([r["action_s"] - r["deliberate_wait_s"] for r in runs]), 4),
            "ready_runs_s": [round(r["ready_s"], 4) for r in runs],
            "action_runs_s": [round(r["action_s"], 4) for r in runs],
            "bridge_requests": [r["bridge_requests"] for r in runs],
        }
        sampled = [r["memory_kib"] for r in runs if r["memory_kib"] is not None]
        figures["memory"][name] = {
            f"{kind}_kib": median([m[kind] for m in sampled]) for kind in ("peak_rss", "rss", "pss")
        } | {"peak_rss_runs_kib": [m["peak_rss"] for m in sampled]}
    base_cold, base_mem = figures["cold_start"][BASELINE], figures["memory"][BASELINE]
    for name in FUNCTIONS:
        mine = figures["cold_start"][name]
        targets.append(
            _target(
                f"cold_start.{name}.ready",
                f"cold start to /health/readiness 200, {name}",
                mine["ready_s"],
                base_cold["ready_s"],
                COLD_START_LIMIT,
                "s",
                cpu_ratio=_ratio(mine["cpu_s"], base_cold["cpu_s"]),
            )
        )
        targets.append(
            _target(
                f"cold_start.{name}.action",
                f"cold start to first PingSource action, {name}",
                mine["action_s"],
                base_cold["action_s"],
                COLD_START_LIMIT,
                "s",
                less_wait_ratio=_ratio(mine["action_less_wait_s"], base_cold["action_s"]),
            )
        )
    for name in FUNCTIONS:
        mem = figures["memory"][name]
        targets.append(
            _target(
                f"memory.{name}.peak_rss",
                f"peak RSS of the process tree after the first action, at the same age as the baseline's, {name}",
                mem["peak_rss_kib"],
                base_mem["peak_rss_kib"],
                MEMORY_LIMIT,
                "KiB",
                pss_ratio=_ratio(mem["pss_kib"], base_mem["pss_kib"]),
            )
        )
    targets.append(
        _target(
            "image_weight",
            "image weight: runtime install + /app",
            weight["image_bytes"],
            weight["baseline_bytes"],
            IMAGE_LIMIT,
            "bytes",
        )
    )

    for kind, reps in bridge.items():
        latency = reps[0]["latency_s"]
        wait = reps[0]["deliberate_wait_s"]
        entry: dict[str, Any] = {
            "target": reps[0]["target"],
            "latency_per_request_s": latency,
            "deliberate_wait_s": wait,
        }
        for run in ("cold", "warm"):
            actions = [a for rep in reps for a in rep["actions"] if a["run"] == run]
            counts = [a["requests"] for a in actions]
            sequence = actions[0]["sequence"]
            seconds = round(median([a["seconds"] for a in actions]), 4)
            floor = round(len(sequence) * latency, 4)
            paced = round(paced_floor(sequence, latency, light_interval), 4)
            entry[run] = {
                "requests": int(median(counts)),
                "requests_runs": counts,
                "reported_by_function": [a["reported_requests"] for a in actions],
                "sequence": sequence,
                "seconds": seconds,
                "seconds_runs": [round(a["seconds"], 4) for a in actions],
                "floor_s": floor,
                "paced_floor_s": paced,
                "ratio_to_paced_floor": _ratio(seconds, paced),
                "design_floor_s": round(paced + wait, 4),
                "ratio_to_design_floor": _ratio(seconds, paced + wait),
            }
            targets.append(
                _target(
                    f"bridge_cost.{kind}.{run}.latency",
                    f"action latency at {latency * 1000:.0f} ms a request, {entry['target']}, {run}",
                    seconds,
                    floor,
                    LATENCY_LIMIT,
                    "s",
                    ratio_to_paced_floor=entry[run]["ratio_to_paced_floor"],
                    ratio_to_design_floor=entry[run]["ratio_to_design_floor"],
                )
            )
        figures["bridge_cost"][kind] = entry
    if "group" in figures["bridge_cost"]:
        warm = figures["bridge_cost"]["group"]["warm"]
        targets.append(
            {
                "key": "bridge_cost.group.warm.requests",
                "figure": "bridge requests of a warm group action (one write, one read-back)",
                "value": warm["requests"],
                "baseline": WARM_GROUP_REQUESTS,
                "unit": "requests",
                "ratio": _ratio(max(warm["requests_runs"]), WARM_GROUP_REQUESTS),
                "limit": 1.0,
                "passed": all(count == WARM_GROUP_REQUESTS for count in warm["requests_runs"]),
            }
        )

    figures["throughput"] = {}
    for name, bursts in throughput.items():
        figures["throughput"][name] = {
            "answered_per_second": median([b["answered_per_second"] for b in bursts]),
            "bridge_requests_per_second": median([b["bridge_requests_per_second"] for b in bursts]),
            "most_bridge_requests_in_a_second": max(b["most_bridge_requests_in_a_second"] for b in bursts),
            "most_group_commands_in_a_second": max(b["most_group_commands_in_a_second"] for b in bursts),
            "most_light_commands_in_a_second": max(b["most_light_commands_in_a_second"] for b in bursts),
            "rate_limited": sum(b["rate_limited"] for b in bursts),
            "failed_calls": sum(b["failed_calls"] for b in bursts),
            "calls_sent": sum(b["calls_sent"] for b in bursts),
            "bursts": bursts,
        }
    if "colorloop" in figures["throughput"]:
        mine = figures["throughput"]["colorloop"]
        within = (
            mine["most_group_commands_in_a_second"] <= BRIDGE_GROUP_COMMANDS_PER_SECOND
            and mine["most_light_commands_in_a_second"] <= BRIDGE_LIGHT_COMMANDS_PER_SECOND
            and mine["rate_limited"] == 0
        )
        targets.append(
            {
                "key": "throughput.bridge_within_limits",
                "figure": "bridge load under bursts: <= 1 group and <= 10 light commands a second, none refused",
                "value": mine["bridge_requests_per_second"],
                "baseline": None,
                "unit": "requests/s",
                "ratio": None,
                "limit": None,
                "passed": within,
            }
        )
        targets.append(
            {
                "key": "throughput.every_call_answered",
                "figure": "every call of the bursts answered",
                "value": mine["calls_sent"] - mine["failed_calls"],
                "baseline": mine["calls_sent"],
                "unit": "calls",
                "ratio": None,
                "limit": None,
                "passed": mine["failed_calls"] == 0,
            }
        )
    return figures, targets


# ----- the table --------------------------------------------------------------------------------------
def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms"


def _mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


def _mb(size: float) -> str:
    return f"{size / 1_000_000:.2f} MB"


def _verdict(target: dict[str, Any]) -> str:
    return "pass" if target["passed"] else "MISS"


def table(report: dict[str, Any]) -> str:
    machine, settings, figures = report["machine"], report["settings"], report["figures"]
    targets = {t["key"]: t for t in report["targets"]}
    lines = [
        f"huelights bench, {report['generated_at']}: {machine['nproc']} cores {machine['cpu_model']}, "
        f"{machine['memory_gib']} GiB, Python {machine['python']}, functions-framework "
        f"{machine['functions_framework']}; medians of {settings['cold_repeats']} cold starts and "
        f"{settings['repeats']} bridge-cost runs; memory read at {settings['memory_age_s']:g} s of process age; "
        f"load average at start {machine['load_average_at_start'][0]}",
        f"runtime: {figures['image_weight']['method']}",
        "",
    ]
    row = "{:<46} {:>11} {:>11} {:>7} {:>8}  {}"
    lines.append(row.format("figure", "function", "baseline", "ratio", "target", ""))
    lines.append("-" * 96)

    def add(key: str, label: str, value: str, baseline: str, note: str = "") -> None:
        t = targets[key]
        ratio = f"{t['ratio']:.2f}" if isinstance(t["ratio"], float) else "-"
        limit = f"<= {t['limit']:.2f}" if isinstance(t["limit"], float) else "-"
        lines.append(row.format(label, value, baseline, ratio, limit, f"{_verdict(t)}{note}"))

    cold = figures["cold_start"]
    for name in FUNCTIONS:
        cpu = f" (CPU {_seconds(cold[name]['cpu_s'])} vs {_seconds(cold[BASELINE]['cpu_s'])})"
        add(f"cold_start.{name}.ready", f"cold start to readiness, {name}", _seconds(cold[name]["ready_s"]),
            _seconds(cold[BASELINE]["ready_s"]), cpu)  # fmt: skip
        wait = cold[name]["deliberate_wait_s"]
        less = targets[f"cold_start.{name}.action"]["less_wait_ratio"]
        note = f" (less the {_seconds(wait)} verify delay: ratio {less:.2f})" if wait else ""
        add(f"cold_start.{name}.action", f"cold start to first action, {name}", _seconds(cold[name]["action_s"]),
            _seconds(cold[BASELINE]["action_s"]), note)  # fmt: skip
    memory = figures["memory"]
    for name in FUNCTIONS:
        t = targets[f"memory.{name}.peak_rss"]
        add(t["key"], f"peak RSS after first action, {name}", _mib(memory[name]["peak_rss_kib"]),
            _mib(memory[BASELINE]["peak_rss_kib"]), f" (PSS ratio {t['pss_ratio']:.2f})")  # fmt: skip
    weight = figures["image_weight"]
    added = ", ".join(f"{n} {_mb(b)}" for n, b in weight["added_distributions"].items()) or "none"
    add("image_weight", "image weight (runtime install + /app)", _mb(weight["image_bytes"]),
        _mb(weight["baseline_bytes"]), f" (added: {added})")  # fmt: skip

    lines += ["", "bridge cost per colorloop action (baseline = floor: requests x latency)"]
    for kind, entry in figures["bridge_cost"].items():
        for run in ("cold", "warm"):
            r = entry[run]
            wait = entry["deliberate_wait_s"]
            waits = "pacing" + (f" + {_seconds(wait)} verify delay" if wait else "")
            design = f"{_seconds(r['design_floor_s'])}, ratio {r['ratio_to_design_floor']:.2f}"
            note = f" ({r['requests']} requests; floor with {waits}: {design})"
            add(f"bridge_cost.{kind}.{run}.latency", f"{entry['target']}, {run}", _seconds(r["seconds"]),
                _seconds(r["floor_s"]), note)  # fmt: skip
    if "bridge_cost.group.warm.requests" in targets:
        t = targets["bridge_cost.group.warm.requests"]
        lines.append(row.format("warm group action, bridge requests", str(t["value"]), "2", "-", "== 2", _verdict(t)))

    throughput = figures["throughput"]
    if throughput:
        lines += ["", "bursts of concurrent external colorloop calls (the load test's shape)"]
        mine, base = throughput.get("colorloop"), throughput.get(BASELINE)
        if mine is not None and base is not None:
            lines.append(row.format("calls answered per second", f"{mine['answered_per_second']:.0f}/s",
                                    f"{base['answered_per_second']:.0f}/s",
                                    f"{_ratio(mine['answered_per_second'], base['answered_per_second']):.2f}", "-",
                                    f"failed calls: {mine['failed_calls']} of {mine['calls_sent']} "
                                    f"(baseline {base['failed_calls']} of {base['calls_sent']})"))  # fmt: skip
        if mine is not None:
            t = targets["throughput.bridge_within_limits"]
            most = str(mine["most_bridge_requests_in_a_second"])
            lines.append(row.format("bridge requests, most in any second", most, "-", "-", "limits",
                                    f"{_verdict(t)} (commands: "
                                    f"{mine['most_group_commands_in_a_second']} group, "
                                    f"{mine['most_light_commands_in_a_second']} light; refused "
                                    f"{mine['rate_limited']})"))  # fmt: skip
            t = targets["throughput.every_call_answered"]
            lines.append(row.format("calls answered", str(t["value"]), str(t["baseline"]), "-", "all", _verdict(t)))
    passed = sum(1 for t in report["targets"] if t["passed"])
    lines += ["", f"targets: {passed} of {len(report['targets'])} pass"]
    return "\n".join(lines)
