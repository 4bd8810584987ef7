"""CLIP v2 over the bridge's generic call: paths, pacing kinds, the envelope, and the cached inventory.

Transport (TLS, budget, bounded retries, pacing) is HueBridge.request, shared with v1: both APIs drive
the same Zigbee network, so a v2 light PUT and a v1 light PUT wait for the same pacer. What a v2 answer
means (data, 207 warnings, error classes) is envelope.py's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from huelights.actions import INVENTORY_TTL_SECONDS
from huelights.bridge import Deadline, HueBridge, PaceKind
from huelights.errors import BridgeRejected, ResourceNotFound
from huelights.v2.envelope import V2Answer, read_answer
from huelights.v2.plan import V2Put
from huelights.v2.resources import Resources, parse_resources

RESOURCE_ROOT = "/clip/v2/resource"
# A grouped_light PUT is a Zigbee group command: the bridge takes about one a second.
PACE_KINDS: dict[str, PaceKind] = {"light": "light", "grouped_light": "group"}

log = logging.getLogger("huelights.v2")


class V2Client:
    """`GET /clip/v2/resource[/<type>]` and `PUT /clip/v2/resource/<type>/<id>`, answers checked."""

    def __init__(self, bridge: HueBridge) -> None:
        self.bridge = bridge

    def get(self, rtype: str | None, deadline: Deadline) -> V2Answer:
        """One type (`light`), or every resource the bridge has when `rtype` is None."""
        path = f"{RESOURCE_ROOT}/{rtype}" if rtype else RESOURCE_ROOT
        status, body = self.bridge.request("GET", path, None, deadline, None)
        return read_answer(status, body, f"GET {rtype or 'resource'}")

    def put(self, put: V2Put, deadline: Deadline) -> V2Answer:
        """Raises on refusal; a 207's `errors` come back as warnings (the read-back settles them)."""
        status, body = self.bridge.request(
            "PUT", f"{RESOURCE_ROOT}/{put.path}", put.body, deadline, PACE_KINDS[put.rtype]
        )
        answer = read_answer(status, body, f"PUT {put.path}")
        if answer.warnings:
            log.warning("PUT %s: HTTP %d, the bridge warns: %s", put.path, status, "; ".join(answer.warnings))
        return answer


class V2Inventory:
    """The bridge's v2 resources (one `GET /clip/v2/resource`), cached with v1's TTL; forgotten on a 404."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, Resources] | None = None

    def resources(self, client: V2Client, deadline: Deadline) -> tuple[Resources, bool]:
        """(resources, fresh): `fresh` is True when they were fetched for this call, not taken from the cache."""
        with self._lock:
            cached = self._cached
        if cached is not None and self._clock() - cached[0] < INVENTORY_TTL_SECONDS:
            return cached[1], False
        try:
            answer = client.get(None, deadline)
        except ResourceNotFound as error:
            # The list of every resource cannot be an unknown id: this bridge has no CLIP v2 at all.
            raise BridgeRejected(
                f"{error}; the bridge does not serve CLIP v2 (HUE_API=auto or v1 would use v1)"
            ) from None
        resources = parse_resources(answer.data)
        with self._lock:
            self._cached = (self._clock(), resources)
        return resources, True

    def forget(self) -> None:
        with self._lock:
            self._cached = None
