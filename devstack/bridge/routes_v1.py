"""CLIP v1 resources of the simulated bridge: /api, /api/config, /api/<key>/{lights,groups,config,...}.

Called by BridgeState (devstack/bridge/app.py) with the state's lock held, after faults and latency
were applied. CLIP v2 (/clip/v2/...) is routes_v2.py, next to this one, on the same state. Like a real v1
bridge every answer here is HTTP 200 with a JSON body (errors included), except paths outside /api,
which the bridge's nginx answers with a 404 page, and rate-limited commands (429 from nginx).
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.bridge import model
from devstack.bridge.model import JsonDict, hue_error
from devstack.bridge.state import BridgeState
from devstack.web import html_response, json_response

EMPTY_RESOURCES = ("scenes", "sensors", "rules", "schedules", "resourcelinks")
# The bridge sends these two on every API answer; clients never rely on them, browsers do.
API_HEADERS = {"Cache-Control": "no-store, no-cache, must-revalidate", "Access-Control-Allow-Origin": "*"}


def api_json(payload: Any) -> Response:
    return json_response(payload, headers=API_HEADERS)


def command_kind(path_parts: list[str], method: str) -> str | None:
    """'light' or 'group' for the two rate-limited command paths (whatever the key), else None."""
    if method != "PUT" or len(path_parts) != 5 or path_parts[0] != "api":
        return None
    if path_parts[2] == "lights" and path_parts[4] == "state":
        return "light"
    if path_parts[2] == "groups" and path_parts[4] == "action":
        return "group"
    return None


def short_config(bridge: BridgeState) -> JsonDict:
    info = bridge.bridge_info
    bridge_id = str(info["bridgeid"])
    mac = ":".join([bridge_id[i : i + 2] for i in (0, 2, 4)] + [bridge_id[i : i + 2] for i in (10, 12, 14)]).lower()
    return {
        "name": info["name"],
        "datastoreversion": "163",
        "swversion": str(info["swversion"]),
        "apiversion": str(info["apiversion"]),
        "mac": mac,
        "bridgeid": bridge_id,
        "factorynew": False,
        "replacesbridgeid": None,
        "modelid": info["modelid"],
        "starterkitid": "",
    }


def full_config(bridge: BridgeState) -> JsonDict:
    # The real answer also lists the whitelist (every app key); left out so no key is ever echoed.
    return {
        **short_config(bridge),
        "zigbeechannel": 25,
        "ipaddress": "127.0.0.1",
        "dhcp": True,
        "UTC": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
        "linkbutton": bridge.link_button_active(),
        "portalservices": False,
    }


def _parse_body(body: bytes, address: str) -> tuple[JsonDict | None, list[JsonDict]]:
    try:
        data = json.loads(body)
    except ValueError:
        return None, [hue_error(2, address, "body contains invalid json")]
    if not isinstance(data, dict):
        return None, [hue_error(2, address, "body contains invalid json")]
    if not data:
        return None, [hue_error(5, address, "invalid/missing parameters in body")]
    return data, []


def pair(bridge: BridgeState, body: bytes) -> list[JsonDict]:
    data, errors = _parse_body(body, "")
    if errors or data is None:
        return errors
    devicetype = data.get("devicetype")
    if not isinstance(devicetype, str) or not 0 < len(devicetype) <= 40:
        return [hue_error(5, "", "invalid/missing parameters in body")]
    if not bridge.link_button_active():
        return [hue_error(101, "", "link button not pressed")]
    key = secrets.token_urlsafe(30)[:40]
    bridge.add_app_key(key)
    success: JsonDict = {"username": key}
    if data.get("generateclientkey") is True:
        success["clientkey"] = secrets.token_hex(16).upper()
    return [{"success": success}]


def route(bridge: BridgeState, request: Request, body: bytes) -> Response:
    parts = [p for p in request.path.split("/") if p]
    method = request.method
    if not parts or parts[0] != "api":
        return html_response(404)
    kind = command_kind(parts, method)
    if kind is not None and not bridge.take_rate_slot(kind):
        return html_response(429)
    if len(parts) == 1:
        if method == "POST":
            return api_json(pair(bridge, body))
        return api_json([hue_error(4, "/", f"method, {method}, not available for resource, /")])
    key, rest = parts[1], parts[2:]
    resource = "/" + "/".join(rest)
    authorized = bridge.is_authorized(key)
    # /api/config, and /api/<anything>/config without a valid key, answer the public subset.
    if method == "GET" and ((key == "config" and not rest) or (rest == ["config"] and not authorized)):
        bridge.count_read()
        return api_json(short_config(bridge))
    if not authorized:
        return api_json([hue_error(1, resource, "unauthorized user")])
    if method == "GET":
        bridge.count_read()
        return api_json(_get(bridge, rest, resource))
    if kind is not None:
        return api_json(_command(bridge, kind, rest[1], body, resource))
    return api_json([hue_error(4, resource, f"method, {method}, not available for resource, {resource}")])


def _get(bridge: BridgeState, rest: list[str], resource: str) -> Any:
    lights = bridge.light_models()
    if not rest:
        return {
            "lights": {lid: light.to_json() for lid, light in lights.items()},
            "groups": {gid: bridge.group_json(gid) for gid in bridge.group_ids()},
            "config": full_config(bridge),
            **{name: {} for name in EMPTY_RESOURCES},
        }
    if rest == ["config"]:
        return full_config(bridge)
    if rest == ["lights"]:
        return {lid: light.to_json() for lid, light in lights.items()}
    if rest == ["groups"]:
        return {gid: bridge.group_json(gid) for gid in bridge.group_ids()}
    if len(rest) == 2 and rest[0] == "lights" and rest[1] in lights:
        return lights[rest[1]].to_json()
    if len(rest) == 2 and rest[0] == "groups" and bridge.group_model(rest[1]) is not None:
        return bridge.group_json(rest[1])
    if len(rest) == 1 and rest[0] in EMPTY_RESOURCES:
        return {}
    return [hue_error(3, resource, f"resource, {resource}, not available")]


def _command(bridge: BridgeState, kind: str, target_id: str, body: bytes, resource: str) -> list[JsonDict]:
    bridge.count_command(kind, target_id)
    light = bridge.light_models().get(target_id) if kind == "light" else None
    group = bridge.group_model(target_id) if kind == "group" else None
    if light is None and group is None:
        return [hue_error(3, resource, f"resource, {resource}, not available")]
    data, errors = _parse_body(body, resource)
    if errors or data is None:
        return errors
    if light is not None:
        return model.put_light_state(light, data)
    assert group is not None
    return model.put_group_action(group, bridge.group_members(target_id), data)
