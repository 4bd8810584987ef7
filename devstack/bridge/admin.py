"""HTTP admin API of the simulated bridge, under /_sim/ (no key; dev only, loopback only).

On BridgeState; each fault is described in faults.py.

    GET  /_sim/state                         lights (each with `v2_id`, the `effect` running and the `api`
                                             of its last command), groups, counts, active faults
    GET  /_sim/requests                      request log   GET /_sim/counts   request counts
    GET  /_sim/faults                        faults.py's lists in its order: {"outage_modes": [{"name": "refuse",
                                             "does": "..."}, ...], "fault_kinds": [...]} (the dashboard's menus)
    POST /_sim/reset                         seeded state, no faults, empty log
    POST /_sim/clear-log                     empty log and counts, state kept
    POST /_sim/latency       {"seconds": 0.5}
    POST /_sim/outage        {"mode": <one of faults.OUTAGE_MODES>|"none", "seconds": 5}
                             ("refuse" stops listening, so over HTTP give `seconds`: nothing could end it)
    POST /_sim/fail          {"kind": <one of faults.FAULT_KINDS>, "count": 1, "methods": ["PUT"]}
    POST /_sim/linkbutton
    POST /_sim/rate-limits   {"enabled": false, "light_commands_per_second": 10, "group_commands_per_second": 1}
    POST /_sim/v2-over-http  {"allowed": true}   (serve CLIP v2 over plain HTTP too; a real bridge does not)
    POST /_sim/lights/<id>/reachable     {"reachable": false}
    POST /_sim/lights/<id>/power-cycle   {"delayed_revert": true}
    POST /_sim/lights/<id>/state         {"on": true, ...}   (sets state directly, no CLIP rules)
Each answers JSON; 404 for an unknown light or path, 400 for a bad body.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.bridge.faults import FAULT_KINDS, OUTAGE_MODES
from devstack.bridge.state import BridgeState
from devstack.web import JsonRouter, json_response

Body = dict[str, Any]


def _outage(bridge: BridgeState, body: Body) -> None:
    mode = body.get("mode", "none")
    if mode == "none":
        bridge.end_outage()
        return
    seconds = body.get("seconds")
    if mode == "refuse" and seconds is None:
        raise ValueError("outage mode refuse over HTTP needs seconds: nothing could end it otherwise")
    bridge.start_outage(str(mode), None if seconds is None else float(seconds))


ACTIONS: dict[str, Callable[[BridgeState, Body], None]] = {
    "reset": lambda bridge, _: bridge.reset(),
    "clear-log": lambda bridge, _: bridge.clear_log(),
    "latency": lambda bridge, body: bridge.set_latency(float(body.get("seconds", 0))),
    "outage": _outage,
    "fail": lambda bridge, body: bridge.fail_next(
        int(body.get("count", 1)), str(body.get("kind", "")), body.get("methods")
    ),
    "linkbutton": lambda bridge, _: bridge.press_link_button(),
    "v2-over-http": lambda bridge, body: bridge.set_v2_over_http(bool(body.get("allowed", True))),
    "rate-limits": lambda bridge, body: bridge.set_rate_limits(
        enabled=body.get("enabled"),
        light_commands_per_second=body.get("light_commands_per_second"),
        group_commands_per_second=body.get("group_commands_per_second"),
    ),
}
LIGHT_ACTIONS: dict[str, Callable[[BridgeState, str, Body], None]] = {
    "reachable": lambda bridge, light_id, body: bridge.set_reachable(light_id, bool(body.get("reachable", True))),
    "power-cycle": lambda bridge, light_id, body: bridge.power_cycle(
        light_id, delayed_revert=bool(body.get("delayed_revert", False))
    ),
    "state": lambda bridge, light_id, body: bridge.set_light_state(light_id, **body),
}


def admin_router(bridge: BridgeState) -> JsonRouter:
    router = JsonRouter()
    views: dict[str, Callable[[], Any]] = {
        "state": bridge.snapshot,
        "requests": lambda: {"requests": bridge.requests()},
        "counts": bridge.counts,
        "faults": lambda: {"outage_modes": _listed(OUTAGE_MODES), "fault_kinds": _listed(FAULT_KINDS)},
    }

    def view(request: Request, name: str) -> Response:
        if name not in views:
            raise KeyError(f"path /_sim/{name}")
        return json_response(views[name]())

    def action(request: Request, name: str) -> Response:
        if name not in ACTIONS:
            raise KeyError(f"path /_sim/{name}")
        ACTIONS[name](bridge, _body(request))
        return json_response({"ok": True, "faults": bridge.snapshot()["faults"]})

    def light_action(request: Request, light_id: str, name: str) -> Response:
        bridge.light(light_id)  # KeyError -> 404
        if name not in LIGHT_ACTIONS:
            raise KeyError(f"action {name}")
        LIGHT_ACTIONS[name](bridge, light_id, _body(request))
        return json_response({"light": light_id, "state": bridge.light(light_id)})

    router.add("/_sim/<name>", ("GET",), view)
    router.add("/_sim/<name>", ("POST",), action)
    router.add("/_sim/lights/<light_id>/<name>", ("POST",), light_action)
    return router


def handle_admin(bridge: BridgeState, request: Request, router: JsonRouter | None = None) -> Response:
    """Answer one /_sim/ request: JSON; 404 for an unknown light or path, 400 for a bad body."""
    try:
        answer = (router or admin_router(bridge)).dispatch(request)
    except KeyError as exc:
        return json_response({"error": f"unknown {exc.args[0]}"}, 404)
    except (ValueError, TypeError) as exc:
        return json_response({"error": str(exc)}, 400)
    if answer is None:
        return json_response({"error": f"unknown path {request.path}"}, 404)
    if answer.status_code == 405:
        return json_response({"error": "use GET or POST"}, 405)
    return answer


def _listed(described: dict[str, str]) -> list[dict[str, str]]:
    # A list, not an object: a browser orders an object's integer-like keys ("429", "503") numerically.
    return [{"name": name, "does": does} for name, does in described.items()]


def _body(request: Request) -> Body:
    body = json.loads(request.get_data() or b"{}")
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body
