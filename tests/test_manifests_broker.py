"""The broker overlay: every tick through a Trigger with retries that end before the next tick, and
replies that never match a Trigger."""

from __future__ import annotations

import re

from huelights.actions import COLORLOOP, LIGHTS_ON
from huelights.trigger import OUTCOME_EVENT_TYPE
from tests.support.manifests import (
    Obj,
    by_name,
    needs_kustomize,
    ns_of,
    of_kind,
    rendered,
    schedule_problems,
    sink_problems,
)

PING_EVENT_TYPE = "dev.knative.sources.ping"


@needs_kustomize
def test_broker_overlay_routes_every_tick_through_a_trigger_with_retries() -> None:
    base = rendered("knative")
    objects = rendered("broker")
    assert sink_problems(objects) == []
    assert schedule_problems(objects) == []
    brokers = by_name(objects, "Broker")
    triggers = of_kind(objects, "Trigger")
    services = by_name(objects, "Service")
    sources = of_kind(objects, "PingSource")
    assert sources
    for source in sources:
        name = source["metadata"]["name"]
        assert source["spec"]["sink"]["ref"]["kind"] == "Broker"
        assert source["spec"]["sink"]["ref"]["name"] in brokers
        base_sink = by_name(base, "PingSource")[name]["spec"]["sink"]["ref"]["name"]
        mine = [
            t
            for t in triggers
            if t["spec"]["filter"]["attributes"].get("source")
            == f"/apis/v1/namespaces/{ns_of(source)}/pingsources/{name}"
        ]
        assert len(mine) == 1, f"one Trigger for PingSource {name}"
        trigger = mine[0]
        assert trigger["spec"]["subscriber"]["ref"]["name"] == base_sink
        delivery = trigger["spec"]["delivery"]
        assert delivery["retry"] >= 3
        assert delivery["backoffPolicy"] == "exponential"
        assert re.fullmatch(r"PT\d+(\.\d+)?S", delivery["backoffDelay"])
        assert "deadLetterSink" in delivery
        timeout = re.fullmatch(r"PT(\d+)S", delivery["timeout"])
        assert timeout
        assert int(timeout.group(1)) < services[base_sink]["spec"]["template"]["spec"]["timeoutSeconds"]


def _iso_seconds(text: str) -> float:
    match = re.fullmatch(r"PT(\d+(?:\.\d+)?)S", text)
    assert match, f"{text}: write seconds as PT<n>S"
    return float(match.group(1))


def worst_retry_window(delivery: Obj) -> float:
    """Seconds from a tick to its last attempt's end when every attempt fails as late as it can: each
    runs into the timeout, and the exponential waits are counted from 2^1 (a dispatcher counting from
    2^0 waits half as long)."""
    retries: int = delivery["retry"]
    delay = _iso_seconds(delivery["backoffDelay"])
    assert delivery["backoffPolicy"] == "exponential"
    waits = sum(delay * 2.0**k for k in range(1, retries + 1))
    return (retries + 1) * _iso_seconds(delivery["timeout"]) + waits


def seconds_to_next_tick(objects: list[Obj], source: Obj) -> float:
    """From this PingSource's daily tick to the next tick of any other PingSource (all act on the lights)."""

    def minute_of_day(ping: Obj) -> int:
        minute, hour, *_ = ping["spec"]["schedule"].split()
        return int(hour) * 60 + int(minute)

    mine = minute_of_day(source)
    others = [minute_of_day(s) for s in of_kind(objects, "PingSource") if s is not source]
    return min((other - mine) % (24 * 60) or 24 * 60 for other in others) * 60.0


def retry_overlaps(objects: list[Obj]) -> list[str]:
    triggers = of_kind(objects, "Trigger")
    problems = []
    for source in of_kind(objects, "PingSource"):
        address = f"/apis/v1/namespaces/{ns_of(source)}/pingsources/{source['metadata']['name']}"
        for trigger in triggers:
            if trigger["spec"]["filter"]["attributes"].get("source") != address:
                continue
            window, gap = worst_retry_window(trigger["spec"]["delivery"]), seconds_to_next_tick(objects, source)
            if window >= gap:
                problems.append(
                    f"{trigger['metadata']['name']}: retries for up to {window:.0f} s, next tick in {gap:.0f} s"
                )
    return problems


@needs_kustomize
def test_a_failing_tick_gives_up_before_the_next_tick() -> None:
    objects = rendered("broker")
    assert of_kind(objects, "Trigger"), "no Trigger: nothing to check"
    assert retry_overlaps(objects) == []
    broker = by_name(objects, "Broker")["huelights"]["spec"]["delivery"]
    assert worst_retry_window(broker) < seconds_to_next_tick(objects, by_name(objects, "PingSource")["lights-on"])


@needs_kustomize
def test_retry_window_check_catches_the_old_numbers() -> None:
    """7 attempts of up to 50 s with waits of 2 ... 64 s kept a 05:30 tick alive past 05:35."""
    objects = rendered("broker")
    by_name(objects, "Trigger")["lights-on"]["spec"]["delivery"].update(retry=6, backoffDelay="PT2S", timeout="PT50S")
    assert retry_overlaps(objects) == ["lights-on: retries for up to 602 s, next tick in 300 s"]


def test_a_late_lights_on_cannot_undo_a_colorloop() -> None:
    """Even a lights-on attempt that lands after the colorloop changes nothing the colorloop set: it sends
    only `on: true`, which the colorloop sent too, and a Hue light keeps its effect until told otherwise."""
    shared = set(LIGHTS_ON.command) & set(COLORLOOP.command)
    assert set(LIGHTS_ON.command) == shared == {"on"}
    assert all(LIGHTS_ON.command[key] == COLORLOOP.command[key] for key in shared)


@needs_kustomize
def test_function_replies_never_match_a_trigger() -> None:
    """A function answers a CloudEvent with an outcome event that the Broker takes back in."""
    triggers = of_kind(rendered("broker"), "Trigger")
    assert triggers
    for trigger in triggers:
        attributes = trigger["spec"]["filter"]["attributes"]
        assert attributes["type"] == PING_EVENT_TYPE
        assert attributes["type"] != OUTCOME_EVENT_TYPE


@needs_kustomize
def test_broker_checks_catch_a_dangling_dead_letter_sink() -> None:
    objects = rendered("broker")
    by_name(objects, "Trigger")["lights-on"]["spec"]["delivery"]["deadLetterSink"]["ref"]["name"] = "nowhere"
    by_name(objects, "Trigger")["colorloop"]["spec"]["broker"] = "default"
    assert len(sink_problems(objects)) == 2
