"""A CLIP v2 bridge at the HTTP edge (`responses`), answering from the real bridge's dump."""

from __future__ import annotations

import json
from typing import Any

import responses

from tests.support.hue import APP_KEY
from tests.support.v2_dump import load_dump, of_type, resource

HTTPS_BRIDGE = "https://127.0.0.1:9"  # loopback discard port: `responses` answers, nothing is sent
# Pinned, as HUE_BRIDGE_ID does: the TLS adapter then needs no GET /api/config before the first call.
BRIDGE_ID = "001788fffe000001"
V2 = f"{HTTPS_BRIDGE}/clip/v2/resource"
V1 = f"{HTTPS_BRIDGE}/api/{APP_KEY}"
PROBE = f"{V2}/bridge"
MAY_NOT_HAVE_EFFECT = (
    "device (light) has communication issues, command (.on.on) may not have effect"  # openhab-addons#15511
)


def envelope(data: list[dict[str, Any]], *errors: str) -> dict[str, Any]:
    return {"errors": [{"description": text} for text in errors], "data": data}


def connected_dump() -> list[dict[str, Any]]:
    """The dump with every Zigbee link `connected` (the real one has a light with `connectivity_issue`)."""
    document = load_dump()
    for link in of_type(document, "zigbee_connectivity"):
        link["status"] = "connected"
    return document


def changed(document: list[dict[str, Any]], **changes: dict[str, Any]) -> list[dict[str, Any]]:
    """A copy of `document` with some lights' fields replaced: changed(doc, **{light_id: {"on": {"on": True}}})."""
    copy: list[dict[str, Any]] = json.loads(json.dumps(document))
    for light_id, fields in changes.items():
        resource(copy, light_id).update(fields)
    return copy


def all_lights(document: list[dict[str, Any]], **fields: Any) -> list[dict[str, Any]]:
    return changed(document, **{light["id"]: fields for light in of_type(document, "light")})


def prism(document: list[dict[str, Any]], light_id: str) -> dict[str, Any]:
    """The fields of a light that is on and running prism, in both effect forms it reports."""
    light = json.loads(json.dumps(resource(document, light_id)))
    light["effects_v2"]["status"]["effect"] = "prism"
    light["effects"]["status"] = "prism"
    return {"on": {"on": True}, "effects_v2": light["effects_v2"], "effects": light["effects"]}


def serve_inventory(document: list[dict[str, Any]]) -> None:
    responses.get(V2, json=envelope(document))


def serve_light_read(document: list[dict[str, Any]]) -> None:
    responses.get(f"{V2}/light", json=envelope(of_type(document, "light")))


def serve_links(document: list[dict[str, Any]]) -> None:
    """`GET /clip/v2/resource/zigbee_connectivity` from `document`."""
    responses.get(f"{V2}/zigbee_connectivity", json=envelope(of_type(document, "zigbee_connectivity")))


def accept_put(rtype: str, rid: str, status: int = 200, *warnings: str) -> None:
    responses.put(f"{V2}/{rtype}/{rid}", status=status, json=envelope([{"rid": rid, "rtype": rtype}], *warnings))


def serve_probe(status: int = 200) -> None:
    bridge = next(item for item in load_dump() if item["type"] == "bridge")
    responses.get(
        PROBE, status=status, json=envelope([bridge] if status == 200 else [], *([] if status == 200 else ["nope"]))
    )


def v2_calls() -> list[tuple[str, str, Any]]:
    """(method, path after /clip/v2/resource or /api/<key>, body) of every call, in order."""
    found = []
    for call in responses.calls:
        url = call.request.url or ""
        path = url.removeprefix(V2).removeprefix(V1)
        api = "v2" if url.startswith(V2) else "v1"
        body = json.loads(call.request.body) if call.request.body else None
        found.append((f"{api} {call.request.method}", path, body))
    return found
