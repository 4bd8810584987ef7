"""The real bridge's `GET /clip/v2/resource` (tests/data/hue_v2) and the ids the v2 tests refer to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DUMP_PATH = Path(__file__).resolve().parent.parent / "data" / "hue_v2" / "v2_resources.json"

# Lights of the dump, by what makes each one interesting.
PRISM_OFF = "01b1da1b-2cb1-eb71-5391-63b5ae1ceb6c"  # /lights/128, colour, offers prism, off; device "Device 36"
WHITE_AMBIANCE = "f427202e-d8cd-cb0e-479f-72955a2d7cbe"  # /lights/72, LTA009: effects without prism, no colour
COLOUR_NO_EFFECTS = "1a49f893-e2fc-908a-9046-fa7629f1e770"  # /lights/120, Zigbee connectivity_issue
WHITE_NO_EFFECTS = "183cce41-63a6-f1c4-a349-0749a55351ac"  # /lights/63, no effects, no powerup
PRISM_ON = "24d60506-22e8-f564-cff5-c7b702b62504"  # /lights/112, colour, offers prism, on
HOME_GROUPED_LIGHT = "c3793415-1f6a-b694-2b5f-12ec5f37d265"  # bridge_home's, /groups/0
ROOM_9 = "6fbbf09d-87b1-a7a1-e347-0c574f92ae3f"  # /groups/104: /lights/71, 72, 75, 112 via devices; no grouped_light
ZONE_8 = "2a6c3bd5-12e4-7d7f-f8b4-1b75c193e373"  # /groups/105: /lights/71 and 72 as light children
ZONE_7_GROUPED_LIGHT = "56ce43c1-eae0-387d-169d-37f0278e14b0"  # zone /groups/119: a grouped_light, no lights
ALL_LIGHTS_BY_V1 = ("40", "63", "71", "72", "75", "112", "120", "128")


def load_dump() -> list[dict[str, Any]]:
    """A fresh copy each call: tests edit it to make the bridge answer differently."""
    document: list[dict[str, Any]] = json.loads(DUMP_PATH.read_text(encoding="utf-8"))
    return document


def resource(document: list[dict[str, Any]], resource_id: str) -> dict[str, Any]:
    return next(item for item in document if item["id"] == resource_id)


def of_type(document: list[dict[str, Any]], *types: str) -> list[dict[str, Any]]:
    return [item for item in document if item["type"] in types]
