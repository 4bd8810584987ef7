"""HUE_API: which API a function speaks, decided once per process at its first invocation.

`auto` (the default) speaks CLIP v2 when the bridge serves it: only over HTTPS (v2 is HTTPS only, so
an http:// bridge such as the round first-generation one stays on v1 without a request), and only when
`GET /clip/v2/resource/bridge` answers 200 with a v2 envelope. The question is asked at the first
invocation, not at import: functions-framework imports the function before gunicorn forks, and a cold
start must not wait for the bridge twice. A bridge that cannot be reached leaves the question open for
the next invocation; a rejected key is reported as such (it would fail on either API).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Literal

from huelights.actions import Action, Inventory, Outcome, Result, Runner, timed
from huelights.bridge import Deadline, HueBridge
from huelights.config import Settings, Target
from huelights.errors import BridgeError, PermanentBridgeError
from huelights.v2.client import RESOURCE_ROOT, V2Inventory
from huelights.v2.envelope import read_answer
from huelights.v2.resources import parse_resources
from huelights.v2.runner import V2Runner

ApiName = Literal["v1", "v2"]
PROBE_PATH = f"{RESOURCE_ROOT}/bridge"

log = logging.getLogger("huelights.api")


class ApiChoice:
    """HUE_API resolved against the bridge once; thread-safe, logged once."""

    def __init__(self, settings: Settings, bridge: HueBridge) -> None:
        self._settings = settings
        self._bridge = bridge
        self._lock = threading.Lock()
        self.chosen: ApiName | None = None
        self.reason = ""
        """Why `chosen` was chosen (what the log line says), for the setup tool's check."""

    def resolve(self, deadline: Deadline) -> ApiName:
        """The API to speak; raises BridgeError when `auto` cannot find out (transient: ask again next time)."""
        with self._lock:
            if self.chosen is None:
                api, reason = self._decide(deadline)
                log.info("speaking CLIP %s: %s", api, reason)
                self.chosen, self.reason = api, reason
            return self.chosen

    def _decide(self, deadline: Deadline) -> tuple[ApiName, str]:
        setting = self._settings.api
        if setting != "auto":
            return setting, f"HUE_API={setting}"
        if not self._settings.bridge_url.startswith("https://"):
            return "v1", "HUE_API=auto and HUE_BRIDGE is http:// (CLIP v2 is served over HTTPS only)"
        served, reason = probe_v2(self._bridge, deadline)
        return ("v2" if served else "v1"), f"HUE_API=auto and {reason}"


def probe_v2(bridge: HueBridge, deadline: Deadline) -> tuple[bool, str]:
    """Whether the bridge serves CLIP v2, and why; transport failures raise (nothing was learned)."""
    status, body = bridge.request("GET", PROBE_PATH, None, deadline, None)
    request = f"GET {PROBE_PATH}"
    if status in (401, 403):
        # A v2 bridge that refuses the key (v1 would refuse it as well): raises Unauthorized naming
        # HUE_APP_KEY, and nothing is cached, so a corrected Secret works after the restart it needs anyway.
        read_answer(status, body, request)
    if not 200 <= status < 300:
        return False, f"{request} answered HTTP {status}"
    try:
        resources = parse_resources(read_answer(status, body, request).data)
    except BridgeError as error:
        return False, f"{request} answered without a CLIP v2 envelope ({error})"
    return True, f"{request} answered (bridge id {resources.bridge_id or 'not given'})"


class ApiRunner:
    """The runner a function uses: asks ApiChoice once, then hands each action to the v1 or v2 runner."""

    def __init__(
        self,
        choice: ApiChoice,
        v1: Runner,
        v2: V2Runner,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.choice = choice
        self.v1 = v1
        self.v2 = v2
        self.bridge = v1.bridge
        self._clock = clock

    def run(self, action: Action, target: Target, budget_seconds: float) -> Outcome:
        def carry_out(deadline: Deadline) -> Outcome:
            try:
                api = self.choice.resolve(deadline)
            except BridgeError as error:
                result: Result = "transient" if error.transient else "permanent"
                message = self.bridge.redact(f"cannot tell whether the bridge serves CLIP v2: {error}")
                if isinstance(error, PermanentBridgeError):
                    message = self.bridge.redact(str(error))
                return Outcome(action.name, str(target), result, message)
            runner = self.v2 if api == "v2" else self.v1
            return runner.run(action, target, deadline.remaining())

        # The outer count includes the one probe a process makes.
        return timed(self.bridge, self._clock, budget_seconds, carry_out)


def build_runner(settings: Settings, bridge: HueBridge) -> ApiRunner:
    """Both runners over one bridge (one connection pool, one pacer per kind), chosen between lazily."""
    v1 = Runner(bridge, Inventory(), verify_delay=settings.verify_delay_seconds)
    v2 = V2Runner(
        bridge,
        V2Inventory(),
        v1_allowed=settings.api == "auto",
        colorloop_saturation=settings.colorloop_saturation,
        verify_delay=settings.verify_delay_seconds,
    )
    return ApiRunner(ApiChoice(settings, bridge), v1, v2)
