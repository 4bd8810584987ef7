"""What each CLIP API should do to the simulator's default Living room, for the integration tests that run
once per API (fault matrix, bad input, live functions, the day of the local stack).

`v1` runs with HUE_API=v1. `v2` runs with nothing set: the default HUE_API=auto must pick v2 against the
simulator's HTTPS (and say so in the invocation's log line). The default seed (devstack/bridge/state.py):
lights 1-2 colour with prism, 3 a Bloom (colour, no v2 effects), 4 white.

Per light after a colorloop, as the simulator's snapshot shows it (`effect` running, `api` of the last
command that reached the bulb) and as the function's outcome reports it (`status`, `effect` given):

    light         v1: snapshot / outcome          v2 (auto): snapshot / outcome
    1, 2 colour   colorloop v1 / ok colorloop     prism v2 / ok prism (verified by a v2 read-back)
    3 Bloom       colorloop v1 / ok colorloop     colorloop v1 / ok colorloop (v1 fallback, read back in v1)
    4 white       none v1 / skipped none          none v2 / skipped none (switched on)

With HUE_API=v2 (never v1) the Bloom is switched on and skipped instead (test_functions_live.py).

Bridge requests of one cold colorloop on the room (a fresh process; HTTPS with the bridge id pinned):
v1 = 3 (GET groups, PUT the group action, GET lights); v2 = 8 (GET resource/bridge: the API question,
GET resource: the inventory, PUT light x3: prism, prism, on, v1 PUT lights/3/state, GET resource/light,
v1 GET lights); the exact sequences with a re-send are POWER_CYCLED_COLORLOOP. A warm off / on of the
room is 2 on both (v2: PUT grouped_light, GET resource/light). How each fault looks on each API is the
table in tests/integration/test_faults.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

APIS = ("v1", "v2")


def api_env(api: str) -> dict[str, str]:
    """The settings that select `api`: v1 is asked for; v2 is what the default `auto` must find by itself."""
    return {"HUE_API": "v1"} if api == "v1" else {}


@dataclass(frozen=True)
class Looped:
    """One light after a colorloop: what the simulator shows and what the function reports."""

    effect: str
    """The effect running on the bulb (snapshot `effect`): `prism`, `colorloop` or `none`."""
    api: str
    """The API of the last command that reached it (snapshot `api`)."""
    status: str
    """Its status in the function's outcome."""
    given: str
    """The loop the outcome says it was given (`effect` per light in the outcome)."""


COLORLOOP_LIVING_ROOM: dict[str, dict[str, Looped]] = {
    "v1": {
        "1": Looped("colorloop", "v1", "ok", "colorloop"),
        "2": Looped("colorloop", "v1", "ok", "colorloop"),
        "3": Looped("colorloop", "v1", "ok", "colorloop"),
        "4": Looped("none", "v1", "skipped", "none"),
    },
    "v2": {
        "1": Looped("prism", "v2", "ok", "prism"),
        "2": Looped("prism", "v2", "ok", "prism"),
        "3": Looped("colorloop", "v1", "ok", "colorloop"),
        "4": Looped("none", "v2", "skipped", "none"),
    },
}

COLD_COLORLOOP_REQUESTS = {"v1": 3, "v2": 8}
# Room off / on, without the id check (GET /api/config) an unpinned HUE_BRIDGE_ID adds once per process.
# v1 cold: GET groups, PUT group action, GET lights; warm: the group is cached. v2 cold: the API question
# and the inventory, then PUT grouped_light, GET resource/light; warm: those two.
OFF_ON_REQUESTS = {"v1": {"cold": 3, "warm": 2}, "v2": {"cold": 4, "warm": 2}}


PRISM = {"on": {"on": True}, "effects_v2": {"action": {"effect": "prism"}}}
V1_LOOP = {"on": True, "effect": "colorloop", "sat": 254}
# Exactly what reaches the bridge for a cold colorloop on the room while bulb 2 re-applies its power-on
# state just after our command (without GET /api/config; v2 lights as <light N>, N their v1 id).
POWER_CYCLED_COLORLOOP: dict[str, list[tuple[str, str, Any]]] = {
    "v1": [
        ("GET", "/api/<key>/groups", None),
        ("PUT", "/api/<key>/groups/1/action", V1_LOOP),
        ("GET", "/api/<key>/lights", None),
        ("PUT", "/api/<key>/lights/2/state", V1_LOOP),  # bulb 2 fell out of the loop: sent again
        ("GET", "/api/<key>/lights", None),
    ],
    "v2": [
        ("GET", "/clip/v2/resource/bridge", None),  # the API question (HUE_API=auto), once per process
        ("GET", "/clip/v2/resource", None),  # the inventory, cached
        ("PUT", "/clip/v2/resource/light/<light 1>", PRISM),  # prism with `on` in the same body
        ("PUT", "/clip/v2/resource/light/<light 2>", PRISM),
        ("PUT", "/clip/v2/resource/light/<light 4>", {"on": {"on": True}}),  # white: on, skipped
        ("PUT", "/api/<key>/lights/3/state", V1_LOOP),  # the Bloom has no prism: v1 colorloop
        ("GET", "/clip/v2/resource/light", None),  # prism read back through v2
        ("GET", "/api/<key>/lights", None),  # the v1 loop read back through v1
        ("PUT", "/clip/v2/resource/light/<light 2>", PRISM),  # bulb 2 lost prism: sent again
        ("GET", "/clip/v2/resource/light", None),  # only v2 had a light left to confirm
    ],
}


def requests_seen(requests: list[dict[str, Any]], snapshot: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """The simulator's request log as (method, path, body), v2 light ids written <light N>, no /api/config."""
    named = {light["v2_id"]: f"<light {lid}>" for lid, light in snapshot["lights"].items()}
    seen = []
    for entry in requests:
        if entry["path"] == "/api/config":
            continue
        path = entry["path"]
        for v2_id, name in named.items():
            path = path.replace(v2_id, name)
        seen.append((entry["method"], path, entry["body"]))
    return seen


def by_v1_id(outcome: dict[str, Any], snapshot: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The outcome's per-light entries keyed by v1 id (a v2 outcome names lights by their v2 id)."""
    v1_of = {light["v2_id"]: lid for lid, light in snapshot["lights"].items()}
    return {v1_of.get(key, key): entry for key, entry in outcome["lights"].items()}


def statuses(outcome: dict[str, Any], snapshot: dict[str, Any]) -> dict[str, str]:
    return {lid: entry["status"] for lid, entry in by_v1_id(outcome, snapshot).items()}


def assert_colorloop(api: str, outcome: dict[str, Any], snapshot: dict[str, Any], lights: str = "1234") -> None:
    """The outcome and the simulator agree with COLORLOOP_LIVING_ROOM[api], light by light (the target's `lights`)."""
    expected = {lid: looped for lid, looped in COLORLOOP_LIVING_ROOM[api].items() if lid in lights}
    assert outcome["api"] == api, outcome
    reported = by_v1_id(outcome, snapshot)
    assert {lid: (e["status"], e["effect"]) for lid, e in reported.items()} == {
        lid: (x.status, x.given) for lid, x in expected.items()
    }, outcome
    shown = snapshot["lights"]
    assert {lid: (shown[lid]["effect"], shown[lid]["api"]) for lid in expected} == {
        lid: (x.effect, x.api) for lid, x in expected.items()
    }
    assert all(shown[lid]["state"]["on"] for lid in expected)


def invocation_records(log: str) -> list[dict[str, Any]]:
    """The one-JSON-line-per-invocation records of a function's (or the stack's prefixed) log."""
    records = []
    for line in log.splitlines():
        start = line.find('{"action"')
        if start >= 0:
            records.append(json.loads(line[start:]))
    return records


def assert_spoke(api: str, log: str) -> None:
    """Every invocation record says `api`, and the process said once why it chose it."""
    records = [r for r in invocation_records(log) if r.get("api") is not None]
    assert records and {r["api"] for r in records} == {api}, log[-3000:]
    reason = "HUE_API=v1" if api == "v1" else "HUE_API=auto and GET /clip/v2/resource/bridge answered"
    assert f"speaking CLIP {api}: {reason}" in log, log[-3000:]
