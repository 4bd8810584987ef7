"""The three actions over CLIP v2, with the v1 runner's contract and its send / read back / re-send loop.

What to send comes from plan.py (one grouped_light PUT for a group's off / on; prism per light with `on`
in the same body; v1 colorloop for a colour light without prism when v1 may be used), the loop from
actions.ActionRun. A read-back is one `GET /clip/v2/resource/light`, plus one v1 `GET /lights` while a
light looped through v1 is not yet confirmed (each API's effect is read through the API that set it),
plus one `GET /clip/v2/resource/zigbee_connectivity` while a target light's device was last seen not
`connected` (the inventory's link status may be minutes old; v1 re-reads `reachable` with every read).
A 404 (a light, room or grouped_light the cached id map names is gone) rebuilds the map once within
the invocation; a second one is permanent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import cast

from huelights.actions import Action, ActionRun, LightOutcome, Outcome, Result, timed
from huelights.bridge import AttributeResult, Deadline, HueBridge
from huelights.config import Target
from huelights.errors import BridgeError, BridgeRejected, ResourceNotFound, TargetNotFound
from huelights.v2.client import V2Client, V2Inventory
from huelights.v2.inventory import resolve_target
from huelights.v2.plan import (
    CONNECTED,
    ActionName,
    LightStep,
    V2Plan,
    V2Put,
    Verdict,
    evaluate,
    evaluate_v1,
    outcome,
    plan_action,
)
from huelights.v2.resources import Resources, parse_resources

ACTION_NAMES: frozenset[str] = frozenset({"lights_off", "lights_on", "colorloop"})
# Statuses after which a light needs no further read-back in this invocation.
SETTLED = frozenset({"ok", "skipped"})

log = logging.getLogger("huelights.v2")


class V2Runner:
    """Carries one action out over CLIP v2 and returns what happened to each light."""

    def __init__(
        self,
        bridge: HueBridge,
        inventory: V2Inventory,
        *,
        v1_allowed: bool,
        colorloop_saturation: int,
        verify_delay: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.bridge = bridge
        self.client = V2Client(bridge)
        self.inventory = inventory
        self.v1_allowed = v1_allowed
        """HUE_API=auto: a colour light without prism may loop through v1; HUE_API=v2 never touches v1."""
        self.colorloop_saturation = colorloop_saturation
        self.verify_delay = verify_delay
        self._clock = clock
        self.sleep = sleep  # public, as Runner.sleep: the verify waits go through it

    def run(self, action: Action, target: Target, budget_seconds: float) -> Outcome:
        if action.name not in ACTION_NAMES:
            raise ValueError(f"no v2 form for action {action.name!r}")
        name = cast(ActionName, action.name)
        return timed(self.bridge, self._clock, budget_seconds, lambda deadline: self._carry_out(name, target, deadline))

    def _carry_out(self, action: ActionName, target: Target, deadline: Deadline) -> Outcome:
        rebuilt = False
        while True:
            run: _V2Run | None = None
            try:
                resources, fresh = self.inventory.resources(self.client, deadline)
                plan = plan_action(
                    action,
                    resolve_target(target, resources),
                    resources,
                    v1_allowed=self.v1_allowed,
                    saturation=self.colorloop_saturation,
                )
                run = _V2Run(self, plan, resources, deadline)
                return run.settle(str(target))
            except (ResourceNotFound, TargetNotFound) as error:
                self.inventory.forget()
                if fresh or rebuilt:
                    return self._failed(action, target, run, error)
                # The cached id map may be older than a light, room or name on the bridge: one rebuild.
                log.info("%s; reading the bridge's resources again", self.bridge.redact(str(error)))
                rebuilt = True
            except V1NotServed as error:
                # The lights that needed v1 colorloop are switched on and skipped from now on; the rest of
                # the action is sent again from the start (every command in it is idempotent).
                log.warning("%s; colour lights without prism will be switched on only", self.bridge.redact(str(error)))
                self.v1_allowed = False
            except BridgeError as error:
                return self._failed(action, target, run, error)

    def _failed(self, action: ActionName, target: Target, run: _V2Run | None, error: BridgeError) -> Outcome:
        message = self.bridge.redact(str(error))
        if run is not None:
            return run.failed(error, message, str(target))
        result: Result = "transient" if error.transient else "permanent"
        return Outcome(action, str(target), result, message, api="v2")


class V1NotServed(BridgeRejected):
    """Under HUE_API=auto, the bridge refused the v1 colorloop request itself (not a light's attribute)."""


class _V2Run(ActionRun):
    """One invocation's loop over v2 (and v1 for the lights that loop through v1 colorloop)."""

    api = "v2"
    skipped_label = "skipped, no loop to give"

    def __init__(self, runner: V2Runner, plan: V2Plan, resources: Resources, deadline: Deadline) -> None:
        super().__init__(plan.action, deadline, runner.verify_delay, runner.sleep)
        self.runner = runner
        self.plan = plan
        self.steps: dict[str, LightStep] = {step.light_id: step for step in plan.lights}
        self.light_ids = plan.target.light_ids
        self.connectivity = resources.device_connectivity()
        self.verdicts: dict[str, Verdict] = {}
        self.warnings: dict[str, str] = {}

    def send_first(self) -> None:
        for put in self.plan.first_puts():
            self._send_v2(put, put.rid if put.rtype == "light" else "group")
        for step in self.plan.v1_steps():
            self._send_v1(step)

    def resend(self, light_id: str) -> None:
        step = self.steps[light_id]
        if step.v1 is not None:
            self._send_v1(step)
        elif step.put is not None:
            self._send_v2(step.put, light_id)

    def _send_v2(self, put: V2Put, key: str) -> None:
        answer = self.runner.client.put(put, self.deadline)
        if answer.warnings:
            self.warnings[key] = f"HTTP {answer.status}: {'; '.join(answer.warnings)}"
            if key == "group":
                self.details["group"] = self.warnings[key]

    def _send_v1(self, step: LightStep) -> None:
        if step.v1 is None:
            return
        try:
            results = self.runner.bridge.put(step.v1.path, step.v1.body, self.deadline)
        except BridgeRejected as error:
            # HTTP 4xx or a Hue error about the request: this bridge no longer takes v1 light commands.
            raise V1NotServed(f"v1 colorloop for light {step.name!r} refused: {error}") from None
        for result in results:
            self._note_v1_error(step.light_id, result)

    def _note_v1_error(self, light_id: str, result: AttributeResult) -> None:
        if not result.ok:
            self.warnings[light_id] = f"Hue error {result.error_type} at {result.address}: {result.description}"

    def read_back(self) -> None:
        # Each API is read only while one of its lights is not settled; a read judges all of that API's
        # lights again (a bulb power-cycled after its command falls out of its loop).
        unsettled = [self.steps[lid] for lid in self.light_ids if self.statuses.get(lid) not in SETTLED]
        if any(step.v1 is None for step in unsettled):
            lights = parse_resources(self.runner.client.get("light", self.deadline).data)
            if self._links_in_doubt(lights):
                links = parse_resources(self.runner.client.get("zigbee_connectivity", self.deadline).data)
                self.connectivity = links.device_connectivity()
            self._take(evaluate(self.plan, lights, self.connectivity))
        if any(step.v1 is not None for step in unsettled):
            self._take(evaluate_v1(self.plan, self.runner.bridge.lights(self.deadline)))

    def _links_in_doubt(self, read_back: Resources) -> bool:
        """Whether a target light judged through v2 has a device whose link was not `connected` when last read."""
        for step in self.plan.lights:
            light = read_back.lights.get(step.light_id)
            if step.v1 is None and light is not None and self.connectivity.get(light.owner, CONNECTED) != CONNECTED:
                return True
        return False

    def _take(self, verdicts: Mapping[str, Verdict]) -> None:
        for light_id, verdict in verdicts.items():
            self.verdicts[light_id] = verdict
            self.statuses[light_id] = verdict.status
            self.details[light_id] = verdict.detail

    def name(self, light_id: str) -> str:
        return self.steps[light_id].name

    def light_outcome(self, light_id: str) -> LightOutcome:
        result = outcome(self.steps[light_id], self.verdicts.get(light_id))
        warning = self.warnings.get(light_id)
        if warning and result.status == "error":
            # A 207 "may not have effect" was only a warning until the read-back showed it was right.
            return LightOutcome(
                result.id, result.name, result.status, f"{result.detail}; bridge: {warning}", result.effect
            )
        return result
