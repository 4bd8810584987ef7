"""Raw runs -> medians, ratios against the same-run baselines, targets; the table and the JSON.

Nothing here judges absolute times: every time and size is compared with a baseline measured in the
same run on the same machine, and the only exact figures (bridge request counts) are counts.

`summarize` turns the raw runs into figures (medians); each target is one small function that reads
the figures and returns a `Target` record. The JSON's `targets` and the table are both built from
those records, so a figure is judged in one place.
"""

from __future__ import annotations

from typing import Any

from bench import api_report
from bench.environment import BASELINE, FUNCTIONS
from bench.targets import Target, mb, median, mib, ms, paced_floor, ratio_of, ratio_target

COLD_START_LIMIT = 1.10
MEMORY_LIMIT = 1.10
IMAGE_LIMIT = 1.15
LATENCY_LIMIT = 1.2
WARM_GROUP_REQUESTS = 2  # one group action and one read-back
BRIDGE_LIGHT_COMMANDS_PER_SECOND = 10
BRIDGE_GROUP_COMMANDS_PER_SECOND = 1
BRIDGE_COST_HEADING = "bridge cost per colorloop action, v1 over HTTP (baseline = floor: requests x latency)"
THROUGHPUT_HEADING = "bursts of concurrent external colorloop calls (the load test's shape)"


# ----- figures: medians of the raw runs ---------------------------------------------------------------


def cold_start_figures(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "ready_s": round(median([r["ready_s"] for r in runs]), 4),
        "action_s": round(median([r["action_s"] for r in runs]), 4),
        "cpu_s": round(median([r["cpu_s"] for r in runs]), 3),
        "deliberate_wait_s": median([r["deliberate_wait_s"] for r in runs]),
        "action_less_wait_s": round(median([r["action_s"] - r["deliberate_wait_s"] for r in runs]), 4),
        "ready_runs_s": [round(r["ready_s"], 4) for r in runs],
        "action_runs_s": [round(r["action_s"], 4) for r in runs],
        "bridge_requests": [r["bridge_requests"] for r in runs],
    }


def memory_figures(runs: list[dict[str, Any]]) -> dict[str, Any]:
    sampled = [r["memory_kib"] for r in runs if r["memory_kib"] is not None]
    medians = {f"{kind}_kib": median([m[kind] for m in sampled]) for kind in ("peak_rss", "rss", "pss")}
    return medians | {"peak_rss_runs_kib": [m["peak_rss"] for m in sampled]}


def action_figures(actions: list[dict[str, Any]], latency: float, wait: float, light_interval: float) -> dict[str, Any]:
    counts = [a["requests"] for a in actions]
    sequence = actions[0]["sequence"]
    seconds = round(median([a["seconds"] for a in actions]), 4)
    paced = round(paced_floor(sequence, latency, light_interval), 4)
    return {
        "requests": int(median(counts)),
        "requests_runs": counts,
        "reported_by_function": [a["reported_requests"] for a in actions],
        "sequence": sequence,
        "seconds": seconds,
        "seconds_runs": [round(a["seconds"], 4) for a in actions],
        "floor_s": round(len(sequence) * latency, 4),
        "paced_floor_s": paced,
        "ratio_to_paced_floor": ratio_of(seconds, paced),
        "design_floor_s": round(paced + wait, 4),
        "ratio_to_design_floor": ratio_of(seconds, paced + wait),
    }


def bridge_cost_figures(reps: list[dict[str, Any]], light_interval: float) -> dict[str, Any]:
    latency, wait = reps[0]["latency_s"], reps[0]["deliberate_wait_s"]
    entry: dict[str, Any] = {"target": reps[0]["target"], "latency_per_request_s": latency, "deliberate_wait_s": wait}
    for run in ("cold", "warm"):
        actions = [a for rep in reps for a in rep["actions"] if a["run"] == run]
        entry[run] = action_figures(actions, latency, wait, light_interval)
    return entry


def throughput_figures(bursts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
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


# ----- targets: one record per figure -----------------------------------------------------------------


def cold_start_ready(name: str, figures: dict[str, Any]) -> Target:
    mine, base = figures["cold_start"][name], figures["cold_start"][BASELINE]
    return ratio_target(
        f"cold_start.{name}.ready",
        f"cold start to readiness, {name}",
        f"cold start to /health/readiness 200, {name}",
        mine["ready_s"],
        base["ready_s"],
        COLD_START_LIMIT,
        "s",
        shown=(ms(mine["ready_s"]), ms(base["ready_s"])),
        note=f"CPU {ms(mine['cpu_s'])} vs {ms(base['cpu_s'])}",
        details={"cpu_ratio": ratio_of(mine["cpu_s"], base["cpu_s"])},
    )


def cold_start_action(name: str, figures: dict[str, Any]) -> Target:
    mine, base = figures["cold_start"][name], figures["cold_start"][BASELINE]
    less_wait = ratio_of(mine["action_less_wait_s"], base["action_s"])
    wait = mine["deliberate_wait_s"]
    return ratio_target(
        f"cold_start.{name}.action",
        f"cold start to first action, {name}",
        f"cold start to first PingSource action, {name}",
        mine["action_s"],
        base["action_s"],
        COLD_START_LIMIT,
        "s",
        shown=(ms(mine["action_s"]), ms(base["action_s"])),
        note=f"less the {ms(wait)} verify delay: ratio {less_wait:.2f}" if wait else "",
        details={"less_wait_ratio": less_wait},
    )


def peak_memory(name: str, figures: dict[str, Any]) -> Target:
    mine, base = figures["memory"][name], figures["memory"][BASELINE]
    pss = ratio_of(mine["pss_kib"], base["pss_kib"])
    return ratio_target(
        f"memory.{name}.peak_rss",
        f"peak RSS after first action, {name}",
        f"peak RSS of the process tree after the first action, at the same age as the baseline's, {name}",
        mine["peak_rss_kib"],
        base["peak_rss_kib"],
        MEMORY_LIMIT,
        "KiB",
        shown=(mib(mine["peak_rss_kib"]), mib(base["peak_rss_kib"])),
        note=f"PSS ratio {pss:.2f}",
        details={"pss_ratio": pss},
    )


def image_weight(figures: dict[str, Any]) -> Target:
    weight = figures["image_weight"]
    added = ", ".join(f"{n} {mb(b)}" for n, b in weight["added_distributions"].items()) or "none"
    return ratio_target(
        "image_weight",
        "image weight (runtime install + /app)",
        "image weight: runtime install + /app",
        weight["image_bytes"],
        weight["baseline_bytes"],
        IMAGE_LIMIT,
        "bytes",
        shown=(mb(weight["image_bytes"]), mb(weight["baseline_bytes"])),
        note=f"added: {added}",
    )


def action_latency(kind: str, run: str, figures: dict[str, Any]) -> Target:
    entry = figures["bridge_cost"][kind]
    mine, wait = entry[run], entry["deliberate_wait_s"]
    waits = "pacing" + (f" + {ms(wait)} verify delay" if wait else "")
    design = f"{ms(mine['design_floor_s'])}, ratio {mine['ratio_to_design_floor']:.2f}"
    return ratio_target(
        f"bridge_cost.{kind}.{run}.latency",
        f"{entry['target']}, {run}",
        f"action latency at {entry['latency_per_request_s'] * 1000:.0f} ms a request, {entry['target']}, {run}",
        mine["seconds"],
        mine["floor_s"],
        LATENCY_LIMIT,
        "s",
        shown=(ms(mine["seconds"]), ms(mine["floor_s"])),
        note=f"{mine['requests']} requests; floor with {waits}: {design}",
        details={
            "ratio_to_paced_floor": mine["ratio_to_paced_floor"],
            "ratio_to_design_floor": mine["ratio_to_design_floor"],
        },
    )


def warm_group_requests(figures: dict[str, Any]) -> Target:
    """An exact count, judged on every run, not on the median."""
    warm = figures["bridge_cost"]["group"]["warm"]
    return Target(
        "bridge_cost.group.warm.requests",
        "warm group action, bridge requests",
        "bridge requests of a warm group action (one write, one read-back)",
        warm["requests"],
        WARM_GROUP_REQUESTS,
        "requests",
        shown=(str(warm["requests"]), str(WARM_GROUP_REQUESTS)),
        ratio=None,
        target=f"== {WARM_GROUP_REQUESTS}",
        passed=all(count == WARM_GROUP_REQUESTS for count in warm["requests_runs"]),
    )


def answered_per_second(figures: dict[str, Any]) -> Target:
    """Context, not a target: a function does more per call than the hello-world."""
    mine, base = figures["throughput"]["colorloop"], figures["throughput"][BASELINE]
    return Target(
        "throughput.answered_per_second",
        "calls answered per second",
        "calls answered per second under the bursts",
        mine["answered_per_second"],
        base["answered_per_second"],
        "calls/s",
        shown=(f"{mine['answered_per_second']:.0f}/s", f"{base['answered_per_second']:.0f}/s"),
        ratio=ratio_of(mine["answered_per_second"], base["answered_per_second"]),
        target="-",
        passed=None,
        note=f"failed calls: {mine['failed_calls']} of {mine['calls_sent']} "
        f"(baseline {base['failed_calls']} of {base['calls_sent']})",
    )


def bridge_within_limits(figures: dict[str, Any]) -> Target:
    mine = figures["throughput"]["colorloop"]
    groups, lights = mine["most_group_commands_in_a_second"], mine["most_light_commands_in_a_second"]
    return Target(
        "throughput.bridge_within_limits",
        "bridge requests, most in any second",
        "bridge load under bursts: <= 1 group and <= 10 light commands a second, none refused",
        mine["bridge_requests_per_second"],
        None,
        "requests/s",
        shown=(str(mine["most_bridge_requests_in_a_second"]), "-"),
        ratio=None,
        target="limits",
        passed=groups <= BRIDGE_GROUP_COMMANDS_PER_SECOND
        and lights <= BRIDGE_LIGHT_COMMANDS_PER_SECOND
        and mine["rate_limited"] == 0,
        note=f"commands: {groups} group, {lights} light; refused {mine['rate_limited']}",
    )


def every_call_answered(figures: dict[str, Any]) -> Target:
    mine = figures["throughput"]["colorloop"]
    answered = mine["calls_sent"] - mine["failed_calls"]
    return Target(
        "throughput.every_call_answered",
        "calls answered",
        "every call of the bursts answered",
        answered,
        mine["calls_sent"],
        "calls",
        shown=(str(answered), str(mine["calls_sent"])),
        ratio=None,
        target="all",
        passed=mine["failed_calls"] == 0,
    )


def sections(figures: dict[str, Any]) -> list[tuple[str, list[Target]]]:
    """Every record, grouped as the table shows them (the first section has no heading)."""
    startup: list[Target] = []
    for name in FUNCTIONS:
        startup += [cold_start_ready(name, figures), cold_start_action(name, figures)]
    startup += [peak_memory(name, figures) for name in FUNCTIONS]
    startup.append(image_weight(figures))
    bridge = [action_latency(kind, run, figures) for kind in figures["bridge_cost"] for run in ("cold", "warm")]
    if "group" in figures["bridge_cost"]:
        bridge.append(warm_group_requests(figures))
    load: list[Target] = []
    if "colorloop" in figures["throughput"]:
        if BASELINE in figures["throughput"]:
            load.append(answered_per_second(figures))
        load += [bridge_within_limits(figures), every_call_answered(figures)]
    api = api_report.section(figures["api_cost"]) if "api_cost" in figures else []
    return [("", startup), (BRIDGE_COST_HEADING, bridge), (api_report.HEADING, api), (THROUGHPUT_HEADING, load)]


def judged(figures: dict[str, Any]) -> list[Target]:
    return [t for _, records in sections(figures) for t in records if t.passed is not None]


def summarize(
    cold: dict[str, list[dict[str, Any]]],
    bridge: dict[str, list[dict[str, Any]]],
    throughput: dict[str, list[dict[str, Any]]],
    weight: dict[str, Any],
    light_interval: float,
    api: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    figures: dict[str, Any] = {
        "cold_start": {name: cold_start_figures(runs) for name, runs in cold.items()},
        "memory": {name: memory_figures(runs) for name, runs in cold.items()},
        "image_weight": weight,
        "bridge_cost": {kind: bridge_cost_figures(reps, light_interval) for kind, reps in bridge.items()},
        "throughput": {name: throughput_figures(bursts) for name, bursts in throughput.items()},
    }
    if api is not None:
        figures["api_cost"] = api_report.figures(api, light_interval)
    return figures, [target.as_json() for target in judged(figures)]


# ----- the table --------------------------------------------------------------------------------------

ROW = "{:<46} {:>11} {:>11} {:>7} {:>8}  {}"


def row(target: Target) -> str:
    ratio = "-" if target.ratio is None else f"{target.ratio:.2f}"
    outcome = f"{target.verdict} ({target.note})" if target.verdict and target.note else target.verdict or target.note
    return ROW.format(target.name, *target.shown, ratio, target.target, outcome)


def heading(report: dict[str, Any]) -> list[str]:
    machine, settings = report["machine"], report["settings"]
    return [
        f"huelights bench, {report['generated_at']}: {machine['nproc']} cores {machine['cpu_model']}, "
        f"{machine['memory_gib']} GiB, Python {machine['python']}, functions-framework "
        f"{machine['functions_framework']}; medians of {settings['cold_repeats']} cold starts and "
        f"{settings['repeats']} bridge-cost runs, {settings.get('api_repeats', '-')} per action and API; "
        f"memory read at {settings['memory_age_s']:g} s of process age; "
        f"load average at start {machine['load_average_at_start'][0]}",
        f"runtime: {report['figures']['image_weight']['method']}",
        "",
        ROW.format("figure", "function", "baseline", "ratio", "target", ""),
        "-" * 96,
    ]


def table(report: dict[str, Any]) -> str:
    lines = heading(report)
    for title, records in sections(report["figures"]):
        if title and records:
            lines += ["", title]
        lines += [row(target) for target in records]
    passed = sum(1 for t in report["targets"] if t["passed"])
    lines += ["", f"targets: {passed} of {len(report['targets'])} pass"]
    return "\n".join(lines)
