"""The three actions: what to send, how to tell it worked, and the send / read back / re-send loop.

A group target is one group action (a Zigbee broadcast, at most one a second), never one command per
light. Every action is verified by reading the lights back, because a bridge can silently miss lights
in a broadcast and a bulb that was just powered applies its power-on setting after the command; lights
that read back wrong get individual re-sends until they are right or the time budget is spent.

That loop (ActionRun) is shared by both APIs: `_V1Run` below speaks CLIP v1, huelights.v2.runner speaks v2.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from huelights.bridge import Deadline, HueBridge
from huelights.config import Settings, Target
from huelights.errors import BridgeError, ResourceNotFound, TargetNotFound

LightStatus = Literal["ok", "skipped", "unreachable", "error"]
Result = Literal["ok", "transient", "permanent", "busy"]
"""`busy`: another invocation held the bridge; nothing was sent."""

# Between a read-back and the re-sends it calls for: short, doubling, capped. The budget, not the round
# count, is the real bound; the count keeps a bug from spinning.
RESEND_PAUSE_SECONDS = 0.3
MAX_RESEND_PAUSE_SECONDS = 2.0
MAX_VERIFY_ROUNDS = 8
# Names and group members rarely change; a warm process reuses them so a warm group action costs one
# write and one read-back.
INVENTORY_TTL_SECONDS = 300.0
# Answers and log lines stay small whatever a bridge claims to hold: a v1 bridge has at most 63 lights
# and names of at most 32 characters.
MAX_LISTED_LIGHTS = 100
MAX_NAME_CHARS = 64
MAX_MESSAGE_CHARS = 1000
NO_EFFECT_DETAIL = "no `effect` in its v1 state: the bridge offers no colorloop for it"


@dataclass(frozen=True)
class Action:
    name: str
    command: Mapping[str, Any]
    colour_only: frozenset[str] = frozenset()
    """Attributes only colour bulbs have; white bulbs get the command without them and count as skipped."""

    def command_for(self, supports_effects: bool) -> dict[str, Any]:
        if supports_effects:
            return dict(self.command)
        return {key: value for key, value in self.command.items() if key not in self.colour_only}

    def judge(self, state: Mapping[str, Any]) -> LightStatus | None:
        """The light's status if it reached the desired state (or cannot), None if it should be re-sent."""
        if state.get("reachable", True) is False:
            return "unreachable"
        supports_effects = "effect" in state
        for key, wanted in self.command_for(supports_effects).items():
            if state.get(key) != wanted:
                return None
        return "ok" if supports_effects or not self.colour_only else "skipped"

    @staticmethod
    def succeeded(status: LightStatus) -> bool:
        # Unreachable is a warning, not a failure: the bridge has accepted the command (and one re-send),
        # and nothing more can be done for a bulb without power. Failing would make Knative retry and load
        # the bridge every day for a lamp switched off at the wall.
        return status in ("ok", "skipped", "unreachable")


FULL_SATURATION = 254


def colorloop_action(saturation: int = FULL_SATURATION) -> Action:
    """v1 `colorloop` cycles the hue at the light's current saturation: a bulb last used in white
    (saturation 0) would loop in white, so the saturation goes in the same body and is verified.
    `on: true` travels in that body too: an effect sent to a light that is off fails with error 201."""
    return Action(
        "colorloop", {"on": True, "effect": "colorloop", "sat": saturation}, colour_only=frozenset({"effect", "sat"})
    )


LIGHTS_OFF = Action("lights_off", {"on": False})
LIGHTS_ON = Action("lights_on", {"on": True})
COLORLOOP = colorloop_action()
ACTIONS: dict[str, Action] = {action.name: action for action in (LIGHTS_OFF, LIGHTS_ON, COLORLOOP)}


def action_for(name: str, settings: Settings) -> Action:
    """The action a function runs, with the configured colorloop saturation (HUE_COLORLOOP_SAT)."""
    return colorloop_action(settings.colorloop_saturation) if name == COLORLOOP.name else ACTIONS[name]


@dataclass(frozen=True)
class LightOutcome:
    id: str
    name: str
    status: LightStatus
    detail: str = ""
    effect: str = "none"
    """The loop this light was given: `prism` (v2), `colorloop` (v1) or `none` (off / on, or it cannot loop)."""


@dataclass
class Outcome:
    action: str
    target: str
    result: Result
    message: str
    lights: list[LightOutcome] = field(default_factory=list)
    bridge_requests: int = 0
    duration_ms: int = 0
    api: str = ""
    """`v1` or `v2`: the API the action spoke; "" when it never got as far as choosing one."""

    @property
    def http_status(self) -> int:
        return {"ok": 200, "transient": 503, "busy": 503, "permanent": 500}[self.result]

    def as_dict(self) -> dict[str, Any]:
        """The answer and log record; bounded whatever the bridge holds (see MAX_LISTED_LIGHTS)."""
        listed = self.lights[:MAX_LISTED_LIGHTS]
        record: dict[str, Any] = {
            "action": self.action,
            "target": self.target,
            "result": self.result,
            "message": _cut(self.message, MAX_MESSAGE_CHARS),
            "api": self.api or None,
            "lights": {
                _cut(light.id, MAX_NAME_CHARS): {
                    "name": _cut(light.name, MAX_NAME_CHARS),
                    "status": light.status,
                    "effect": light.effect,
                    "detail": _cut(light.detail, MAX_NAME_CHARS * 4),
                }
                for light in listed
            },
            "bridge_requests": self.bridge_requests,
            "duration_ms": self.duration_ms,
        }
        if len(self.lights) > len(listed):
            record["lights_not_listed"] = len(self.lights) - len(listed)
        return record


@dataclass(frozen=True)
class Plan:
    group_id: str | None
    """Send one action to this group; None means one command per light."""
    light_ids: tuple[str, ...] | None
    """The lights to verify; None means every light the bridge has (group 0)."""


class Inventory:
    """What the bridge has: light names and effect support, and the resolved target. Cached with a TTL."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.lights: dict[str, dict[str, Any]] = {}
        self._plans: dict[Target, tuple[float, Plan]] = {}

    def remember_lights(self, lights: Mapping[str, Any]) -> None:
        self.lights = {str(light_id): info for light_id, info in lights.items() if isinstance(info, dict)}

    def forget(self) -> None:
        self._plans.clear()

    def plan(self, target: Target, bridge: HueBridge, deadline: Deadline) -> Plan:
        cached = self._plans.get(target)
        if cached is not None and self._clock() - cached[0] < INVENTORY_TTL_SECONDS:
            return cached[1]
        plan = self._resolve(target, bridge, deadline)
        self._plans[target] = (self._clock(), plan)
        return plan

    def _resolve(self, target: Target, bridge: HueBridge, deadline: Deadline) -> Plan:
        if target.kind == "all" or (target.kind == "group" and target.group == "0"):
            return Plan(group_id="0", light_ids=None)
        if target.kind == "group":
            groups = bridge.groups(deadline)
            group_id = find_resource(target.group, groups, "group (room or zone)")
            return Plan(group_id=group_id, light_ids=tuple(str(i) for i in groups[group_id].get("lights", [])))
        lights = bridge.lights(deadline)
        self.remember_lights(lights)
        return Plan(group_id=None, light_ids=tuple(find_resource(name, lights, "light") for name in target.lights))


def find_resource(id_or_name: str, resources: Mapping[str, Any], kind: str) -> str:
    if id_or_name in resources:
        return id_or_name
    matches = [rid for rid, info in resources.items() if str(info.get("name", "")).casefold() == id_or_name.casefold()]
    if len(matches) == 1:
        return str(matches[0])
    if matches:
        raise TargetNotFound(f"HUE_TARGET: {len(matches)} {kind}s are named {id_or_name!r}; use the id")
    known = ", ".join(f"{rid} {info.get('name', '')!r}" for rid, info in sorted(resources.items()))
    raise TargetNotFound(f"HUE_TARGET: no {kind} with id or name {id_or_name!r} (the bridge has: {known or 'none'})")


class ActionRunner(Protocol):
    """What a function's request handling needs from a runner, whichever API it speaks."""

    @property
    def bridge(self) -> HueBridge: ...

    def run(self, action: Action, target: Target, budget_seconds: float) -> Outcome: ...


class Runner:
    """Carries one action out against the bridge over CLIP v1 and returns what happened to each light."""

    def __init__(
        self,
        bridge: HueBridge,
        inventory: Inventory,
        *,
        verify_delay: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.bridge = bridge
        self.inventory = inventory
        self.verify_delay = verify_delay
        self._clock = clock
        self.sleep = sleep  # public: each run's verify waits go through it (a fake clock in tests)

    def run(self, action: Action, target: Target, budget_seconds: float) -> Outcome:
        def carry_out(deadline: Deadline) -> Outcome:
            run = _V1Run(action, self, deadline)
            try:
                return run.carry_out(target)
            except BridgeError as error:
                if isinstance(error, ResourceNotFound | TargetNotFound):
                    self.inventory.forget()
                return run.failed(error, self.bridge.redact(str(error)), str(target))

        return timed(self.bridge, self._clock, budget_seconds, carry_out)


def timed(
    bridge: HueBridge, clock: Callable[[], float], budget_seconds: float, carry_out: Callable[[Deadline], Outcome]
) -> Outcome:
    """Run `carry_out` within the budget; stamp the outcome with the requests it cost and its duration."""
    started = clock()
    requests_before = bridge.requests_sent
    outcome = carry_out(Deadline(budget_seconds, clock))
    outcome.bridge_requests = bridge.requests_sent - requests_before
    outcome.duration_ms = round((clock() - started) * 1000)
    return outcome


class ActionRun(ABC):
    """One invocation's send / read back / re-send loop and its per-light bookkeeping, for either API.

    A subclass speaks one API: it sends the first round, reads the lights back and judges each one
    (`statuses`: None means wrong, re-send), and re-sends to single lights.
    """

    api = ""
    skipped_label = "skipped, no colour"

    def __init__(
        self, action_name: str, deadline: Deadline, verify_delay: float, sleep: Callable[[float], None]
    ) -> None:
        self.action_name = action_name
        self.deadline = deadline
        self.verify_delay = verify_delay
        self._sleep = sleep
        self.light_ids: tuple[str, ...] = ()
        self.statuses: dict[str, LightStatus | None] = {}
        self.details: dict[str, str] = {}
        self.effects: dict[str, str] = {}
        """Light id -> the loop it was given (`prism`, `colorloop`); absent: none."""

    @abstractmethod
    def send_first(self) -> None:
        """The first round: one group command where one covers the target, else one command per light."""

    @abstractmethod
    def read_back(self) -> None:
        """Read the lights once and judge every target light into `statuses` (and `details`)."""

    @abstractmethod
    def resend(self, light_id: str) -> None:
        """Send one light its command again."""

    @abstractmethod
    def name(self, light_id: str) -> str:
        """The light's name for messages."""

    def settle(self, target: str) -> Outcome:
        """Send, then read back and re-send the wrong lights until all are right or the budget is spent."""
        self.send_first()
        pause = RESEND_PAUSE_SECONDS
        for round_number in range(MAX_VERIFY_ROUNDS):
            self._wait(self.verify_delay)
            self.read_back()
            pending = [lid for lid in self.light_ids if self._needs_resend(lid, round_number)]
            if not pending or pause + self.verify_delay >= self.deadline.remaining():
                break
            self._wait(pause)
            pause = min(pause * 2, MAX_RESEND_PAUSE_SECONDS)
            for light_id in pending:
                self.resend(light_id)
        failed = [lid for lid in self.light_ids if not self._succeeded(lid)]
        if not failed:
            return self.outcome("ok", self._summary(), target)
        names = ", ".join(self.name(lid) for lid in failed[:10]) + (", ..." if len(failed) > 10 else "")
        return self.outcome(
            "transient",
            f"{len(failed)} of {len(self.light_ids)} light(s) still wrong when the budget ran out: {names}",
            target,
        )

    def _wait(self, seconds: float) -> None:
        """Sleep, but leave half of what is left of the budget for the work after it."""
        seconds = min(seconds, self.deadline.remaining() / 2)
        if seconds > 0:
            self._sleep(seconds)

    def _summary(self) -> str:
        by_status: dict[str, list[str]] = {}
        for light_id in self.light_ids:
            by_status.setdefault(str(self.statuses.get(light_id)), []).append(self.name(light_id))
        parts = [f"{len(by_status.get('ok', []))} light(s) reached the desired state"]
        if skipped := by_status.get("skipped"):
            parts.append(f"{self.skipped_label}: {', '.join(skipped)}")
        if unreachable := by_status.get("unreachable"):
            parts.append(f"unreachable, sent but not confirmed: {', '.join(unreachable)}")
        if group_error := self.details.get("group"):
            parts.append(f"group action: {group_error}")
        return "; ".join(parts)

    def _needs_resend(self, light_id: str, round_number: int) -> bool:
        status = self.statuses.get(light_id)
        # An unreachable bulb gets one re-send: `reachable` is only the bridge's last poll, and a command
        # to such a bulb is still delivered when it happens to be back.
        return status is None or (status == "unreachable" and round_number == 0)

    def _succeeded(self, light_id: str) -> bool:
        status = self.statuses.get(light_id)
        return status is not None and Action.succeeded(status)

    def failed(self, error: BridgeError, message: str, target: str) -> Outcome:
        return self.outcome("transient" if error.transient else "permanent", message, target)

    def outcome(self, result: Result, message: str, target: str) -> Outcome:
        lights = [self.light_outcome(light_id) for light_id in self.light_ids]
        return Outcome(self.action_name, target, result, message, lights, api=self.api)

    def light_outcome(self, light_id: str) -> LightOutcome:
        status = self.statuses.get(light_id)
        detail = self.details.get(light_id, "")
        if status is None:
            status, detail = "error", detail or "did not read back in the desired state"
        return LightOutcome(light_id, self.name(light_id), status, detail, self.effects.get(light_id, "none"))


class _V1Run(ActionRun):
    """The loop over CLIP v1: group actions, `/lights/<id>/state` re-sends, `GET /lights` read-backs."""

    api = "v1"

    def __init__(self, action: Action, runner: Runner, deadline: Deadline) -> None:
        super().__init__(action.name, deadline, runner.verify_delay, runner.sleep)
        self.action = action
        self.runner = runner
        self.bridge = runner.bridge
        self.plan = Plan(None, ())

    def carry_out(self, target: Target) -> Outcome:
        self.plan = self.runner.inventory.plan(target, self.bridge, self.deadline)
        self.light_ids = self.plan.light_ids or ()
        return self.settle(str(target))

    def send_first(self) -> None:
        if self.plan.group_id is not None:
            results = self.bridge.put(f"groups/{self.plan.group_id}/action", self.action.command, self.deadline)
            self._note_errors(results)
        else:
            for light_id in self.light_ids:
                self.resend(light_id)

    def resend(self, light_id: str) -> None:
        results = self.bridge.put(
            f"lights/{light_id}/state", self.action.command_for(self._supports_effects(light_id)), self.deadline
        )
        self._note_errors(results, light_id)

    def _supports_effects(self, light_id: str) -> bool:
        return "effect" in self.runner.inventory.lights.get(light_id, {}).get("state", {"effect": None})

    def _note_errors(self, results: list[Any], light_id: str | None = None) -> None:
        for result in results:
            if not result.ok:
                key = light_id or _light_of(result.address)
                self.details[key] = f"Hue error {result.error_type} at {result.address}: {result.description}"

    def read_back(self) -> None:
        lights = self.bridge.lights(self.deadline)
        self.runner.inventory.remember_lights(lights)
        if self.plan.light_ids is None:
            self.light_ids = tuple(sorted(self.runner.inventory.lights, key=id_order))
        for light_id in self.light_ids:
            info = self.runner.inventory.lights.get(light_id)
            if info is None:
                self.runner.inventory.forget()
                raise ResourceNotFound(f"light {light_id} of HUE_TARGET no longer exists on the bridge")
            state = info.get("state", {})
            self.statuses[light_id] = self.action.judge(state)
            if self.statuses[light_id] == "skipped":
                self.details[light_id] = NO_EFFECT_DETAIL
            if "effect" in self.action.command and "effect" in state:
                self.effects[light_id] = str(self.action.command["effect"])

    def name(self, light_id: str) -> str:
        return str(self.runner.inventory.lights.get(light_id, {}).get("name", light_id))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _light_of(address: str) -> str:
    """`/lights/3/state/effect` -> `3`; a group action's errors are kept under `group`."""
    parts = address.strip("/").split("/")
    return parts[1] if len(parts) >= 2 and parts[0] == "lights" else "group"


def id_order(resource_id: str) -> tuple[int, str]:
    """Sort key for bridge ids: numerically ("2" before "10"), anything non-numeric last."""
    return (int(resource_id), "") if resource_id.isdigit() else (1 << 30, resource_id)
