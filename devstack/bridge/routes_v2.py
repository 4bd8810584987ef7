"""CLIP v2 resources of the simulated bridge: /clip/v2/resource[/<type>[/<id>]], on the same state as v1.

Called by SimulatedBridge (app.py) with the state's lock held, after faults and latency were applied.
Like a real bridge (hue-api-v2 notes §1-§3), and unlike the diyHue emulator:

- HTTPS only: over plain HTTP the answer is nginx's 301 to https:// (as a Bridge Pro answers), unless the
  simulator allows v2 over HTTP (`v2_over_http` in its config, `--v2-over-http`).
- every answer is `{"errors": [{"description": ...}], "data": [...]}`, both keys, errors included;
- 403 for a missing or unknown `hue-application-key` header; 404 for an unknown type or id; 405 for a
  method the resource does not take; 400 for invalid JSON, unknown fields, bad values, an effect the light
  does not offer, or any effect on a grouped_light; 207 with `data` and a "may not have effect" error for a
  command the bulb will not carry out (resources_v2.may_not_have_effect);
- light and grouped_light PUTs share the v1 rate limits (10 light / 1 group command per second) and
  answer 429 with a JSON `errors` body when over them (the fault controls give HTML 429 / 503 pages).
Commands are counted with the v1 id of their target (light N, group N; the bridge_home is group 0).
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.bridge import resources_v2
from devstack.bridge.model import JsonDict
from devstack.bridge.resources_v2 import V2Refused
from devstack.bridge.routes_v1 import API_HEADERS
from devstack.bridge.state import BridgeState
from devstack.web import json_response, nginx_page

PREFIX = "/clip/v2/"
KEY_HEADER = "hue-application-key"
COMMAND_KINDS = {"light": "light", "grouped_light": "group"}


def v2_json(status: int, data: list[Any], errors: list[str] | tuple[str, ...] = ()) -> Response:
    return json_response(
        {"errors": [{"description": text} for text in errors], "data": data}, status, headers=API_HEADERS
    )


def v2_error(status: int, description: str) -> Response:
    return v2_json(status, [], [description])


def https_redirect(request: Request) -> Response:
    location = f"https://{request.host.split(':')[0]}{request.full_path.rstrip('?')}"
    return Response(nginx_page(301, "Moved Permanently"), 301, headers={"Location": location}, content_type="text/html")


def route(bridge: BridgeState, request: Request, body: bytes, secure: bool) -> Response:
    if not secure and not bridge.v2_over_http:
        return https_redirect(request)
    parts = [p for p in request.path[len(PREFIX) :].split("/") if p]
    method = request.method
    kind = COMMAND_KINDS.get(parts[1]) if method == "PUT" and len(parts) == 3 and parts[0] == "resource" else None
    if kind is not None and not bridge.take_rate_slot(kind):
        return v2_error(429, "rate limit exceeded")
    key = request.headers.get(KEY_HEADER, "")
    if not key or not bridge.is_authorized(key):
        return v2_error(403, "unauthorized user")
    if not parts or parts[0] != "resource" or len(parts) > 3:
        return v2_error(404, f"resource, {request.path}, not found")
    document = bridge.v2_document()
    rtype = parts[1] if len(parts) > 1 else None
    if rtype is not None and rtype not in resources_v2.RESOURCE_ORDER:
        return v2_error(404, f"resource type {rtype} not found")
    matches = [item for item in document if rtype is None or item["type"] == rtype]
    if len(parts) == 3:
        matches = [item for item in matches if item["id"] == parts[2]]
        if not matches:
            return v2_error(404, f"resource {rtype}/{parts[2]} not found")
    if method == "GET":
        bridge.count_read()
        return v2_json(200, matches)
    if kind is None:
        return v2_error(405, f"method {method} not allowed for {request.path[len(PREFIX) - 1 :]}")
    target = matches[0]
    v1_id = str(target["id_v1"]).rsplit("/", 1)[1]
    bridge.count_command(kind, v1_id)
    try:
        data = json.loads(body)
    except ValueError:
        return v2_error(400, "body contains invalid JSON")
    if not isinstance(data, dict) or not data:
        return v2_error(400, "body must be a JSON object with at least one property")
    try:
        warning = _put_light(bridge, v1_id, data) if kind == "light" else _put_grouped(bridge, v1_id, data)
    except V2Refused as refused:
        return v2_error(400, str(refused))
    answer = [resources_v2.ref(target["id"], target["type"])]
    return v2_json(207, answer, [warning]) if warning else v2_json(200, answer)


def _put_light(bridge: BridgeState, light_id: str, data: JsonDict) -> str | None:
    light = bridge.light_models()[light_id]
    light.settle()  # a late-booting bulb's revert first, so the off/on check sees what the bulb shows
    changes, preset = resources_v2.light_changes(light, data)
    warning = resources_v2.may_not_have_effect(light, changes, data)
    if warning is None:
        if preset is not None:
            light.powerup = preset
        if changes:
            resources_v2.apply_light(light, changes)
    return warning


def _put_grouped(bridge: BridgeState, group_id: str, data: JsonDict) -> str | None:
    # A Zigbee broadcast: the bridge does not know which bulbs heard it, so it answers 200 (read back).
    changes = resources_v2.grouped_changes(data)
    resources_v2.apply_grouped(bridge.group_members(group_id), changes)
    group = bridge.group_model(group_id)
    if group is not None:  # v1 shows the group's last action, whichever API sent it
        group.action.update(changes)
    return None
