"""HTTP admin API of the simulated bridge, under /_sim/ (no key; dev only, loopback only).

    GET  /_sim/state                         lights, groups, counts, active faults
    GET  /_sim/requests                      request log   GET /_sim/counts   request counts
    POST /_sim/reset                         seeded state, no faults, empty log
    POST /_sim/clear-log                     empty log and counts, state kept
    POST /_sim/latency       {"seconds": 0.5}
    POST /_sim/outage        {"mode": "refuse"|"503"|"silent"|"none", "seconds": 5}
                             ("refuse" stops listening, so over HTTP give `seconds`: nothing could end it)
    POST /_sim/fail          {"kind": "429"|"503"|"500"|"901"|"html"|"invalid_json"|"drop"|"hang",
                              "count": 1, "methods": ["PUT"]}
    POST /_sim/linkbutton
    POST /_sim/rate-limits   {"enabled": false, "light_commands_per_second": 10, "group_commands_per_second": 1}
    POST /_sim/lights/<id>/reachable     {"reachable": false}
    POST /_sim/lights/<id>/power-cycle   {"delayed_revert": true}
    POST /_sim/lights/<id>/state         {"on": true, ...}   (sets state directly, no CLIP rules)
Each answers JSON; 404 for an unknown light or path, 400 for a bad body.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from devstack.bridge_sim import SimulatedBridge


def _answer(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")


def handle_admin(bridge: SimulatedBridge, request: Request) -> Response:
    parts = [p for p in request.path.split("/") if p][1:]
    try:
        body = json.loads(request.get_data() or b"{}")
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        return _dispatch(bridge, request.method, parts, body)
    except KeyError as exc:
        return _answer({"error": f"unknown {exc.args[0]}"}, 404)
    except (ValueError, TypeError) as exc:
        return _answer({"error": str(exc)}, 400)


def _dispatch(bridge: SimulatedBridge, method: str, parts: list[str], body: dict[str, Any]) -> Response:
    if method == "GET":
        views = {"state": bridge.snapshot, "requests": lambda: {"requests": bridge.requests()}, "counts": bridge.counts}
        if len(parts) == 1 and parts[0] in views:
            return _answer(views[parts[0]]())
        raise KeyError(f"path /_sim/{'/'.join(parts)}")
    if method != "POST":
        return _answer({"error": "use GET or POST"}, 405)
    if len(parts) == 3 and parts[0] == "lights":
        light_id, action = parts[1], parts[2]
        bridge.light(light_id)  # KeyError -> 404
        if action == "reachable":
            bridge.set_reachable(light_id, bool(body.get("reachable", True)))
        elif action == "power-cycle":
            bridge.power_cycle(light_id, delayed_revert=bool(body.get("delayed_revert", False)))
        elif action == "state":
            bridge.set_light_state(light_id, **body)
        else:
            raise KeyError(f"action {action}")
        return _answer({"light": light_id, "state": bridge.light(light_id)})
    if len(parts) != 1:
        raise KeyError(f"path /_sim/{'/'.join(parts)}")
    name = parts[0]
    if name == "reset":
        bridge.reset()
    elif name == "clear-log":
        bridge.clear_log()
    elif name == "latency":
        bridge.set_latency(float(body.get("seconds", 0)))
    elif name == "outage":
        mode = body.get("mode", "none")
        if mode == "none":
            bridge.end_outage()
        else:
            seconds = body.get("seconds")
            if mode == "refuse" and seconds is None:
                raise ValueError("outage mode refuse over HTTP needs seconds: nothing could end it otherwise")
            bridge.start_outage(str(mode), None if seconds is None else float(seconds))
    elif name == "fail":
        bridge.fail_next(int(body.get("count", 1)), str(body.get("kind", "")), body.get("methods"))
    elif name == "linkbutton":
        bridge.press_link_button()
    elif name == "rate-limits":
        bridge.set_rate_limits(
            enabled=body.get("enabled"),
            light_commands_per_second=body.get("light_commands_per_second"),
            group_commands_per_second=body.get("group_commands_per_second"),
        )
    else:
        raise KeyError(f"path /_sim/{name}")
    return _answer({"ok": True, "faults": bridge.snapshot()["faults"]})
