"""The three actions on CLIP v2: the exact PUTs for a resolved target, and judging a read-back.

Off / on for a group is one PUT to its grouped_light (a Zigbee broadcast); re-sends go to single lights.
The loop has no group form (a grouped_light takes no effects), so every light gets its own PUT with `on`
in the same body: prism where the light offers it, sent in the `effects_v2` form where the light has that
field, else in `effects`. A colour light without prism can still loop through v1 `colorloop`, which
cycles the hue at the light's current saturation: it goes out with full saturation, or a bulb last used
in white would "loop" in white; it is written and verified through v1, never judged from a v2 read-back
(no source says how one API shows the other's effect). Every other light is switched on and reported
skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from huelights.actions import FULL_SATURATION, Action, LightOutcome, LightStatus, colorloop_action
from huelights.errors import ResourceNotFound
from huelights.v2.inventory import V2Target, light_name
from huelights.v2.resources import PRISM, Light, Resources

ActionName = Literal["lights_off", "lights_on", "colorloop"]
Effect = Literal["prism", "colorloop", "none"]
"""The loop a light gets: v2 prism, v1 colorloop, or none (switched on only)."""

CONNECTED = "connected"
V1_LOOP_UNCONFIRMED = "v1 colorloop sent but not confirmed: the light's v1 state has no `effect`"


@dataclass(frozen=True)
class V2Put:
    """One `PUT /clip/v2/resource/<rtype>/<rid>` with a JSON body; `rtype` also picks the pacing."""

    rtype: Literal["light", "grouped_light"]
    rid: str
    body: Mapping[str, Any]

    @property
    def path(self) -> str:
        """Relative to `/clip/v2/resource/`."""
        return f"{self.rtype}/{self.rid}"


@dataclass(frozen=True)
class V1Colorloop:
    """`PUT /api/<key>/lights/<v1_id>/state` with the v1 loop, judged by reading `/lights` through v1."""

    v1_id: str
    action: Action

    @property
    def path(self) -> str:
        return f"lights/{self.v1_id}/state"

    @property
    def body(self) -> dict[str, Any]:
        return self.action.command_for(True)

    def judge(self, state: Mapping[str, Any]) -> LightStatus | None:
        """A v1 light `state`: None means it is not looping at full saturation yet (re-send)."""
        return self.action.judge(state)


@dataclass(frozen=True)
class LightStep:
    """What one target light gets: a v2 PUT (first send unless a group PUT covers it, and every re-send),
    or a v1 colorloop; and, when it cannot loop, why it counts as skipped."""

    light_id: str
    name: str
    effect: Effect
    put: V2Put | None
    v1: V1Colorloop | None = None
    skip_reason: str = ""


@dataclass(frozen=True)
class V2Plan:
    action: ActionName
    target: V2Target
    group_put: V2Put | None
    lights: tuple[LightStep, ...]

    def first_puts(self) -> tuple[V2Put, ...]:
        """The v2 PUTs of the first round, in order; v1 colorloops are in `v1_steps`."""
        if self.group_put is not None:
            return (self.group_put,)
        return tuple(step.put for step in self.lights if step.put is not None)

    def v1_steps(self) -> tuple[LightStep, ...]:
        return tuple(step for step in self.lights if step.v1 is not None)


@dataclass(frozen=True)
class Verdict:
    """One light after a read-back. `status` None: wrong, re-send it."""

    light_id: str
    status: LightStatus | None
    effect: str
    """The effect the light reads back with (`prism`, `no_effect`, v1 `colorloop`, ...); "" if it has none."""
    detail: str = ""


def on_body(on: bool) -> dict[str, Any]:
    return {"on": {"on": on}}


def prism_body(light: Light) -> dict[str, Any]:
    effect: dict[str, Any] = {"action": {"effect": PRISM}} if light.effect_field == "effects_v2" else {"effect": PRISM}
    return {**on_body(True), light.effect_field or "effects": effect}


def plan_action(
    action: ActionName,
    target: V2Target,
    resources: Resources,
    *,
    v1_allowed: bool,
    saturation: int = FULL_SATURATION,
) -> V2Plan:
    """`v1_allowed`: the bridge serves v1 and HUE_API is `auto`; `saturation`: sent with the v1 colorloop."""
    v1_loop = colorloop_action(saturation) if v1_allowed else None
    steps = tuple(_light_step(action, resources.lights[light_id], resources, v1_loop) for light_id in target.light_ids)
    group_put = None
    if action != "colorloop" and target.grouped_light is not None:
        group_put = V2Put("grouped_light", target.grouped_light, on_body(action == "lights_on"))
    return V2Plan(action, target, group_put, steps)


def _light_step(action: ActionName, light: Light, resources: Resources, v1_loop: Action | None) -> LightStep:
    name = light_name(light, resources)
    if action != "colorloop":
        return LightStep(light.id, name, "none", V2Put("light", light.id, on_body(action == "lights_on")))
    if light.offers_prism:
        return LightStep(light.id, name, "prism", V2Put("light", light.id, prism_body(light)))
    switch_on = V2Put("light", light.id, on_body(True))
    if not light.has_color:
        return LightStep(light.id, name, "none", switch_on, skip_reason="white light: no colour to loop")
    if v1_loop is None:
        reason = "colour light without prism; v1 colorloop is off (HUE_API=v2 or the bridge serves no v1)"
        return LightStep(light.id, name, "none", switch_on, skip_reason=reason)
    if light.v1_id is None:
        reason = "colour light without prism and without a v1 id"
        return LightStep(light.id, name, "none", switch_on, skip_reason=reason)
    return LightStep(light.id, name, "colorloop", None, v1=V1Colorloop(light.v1_id, v1_loop))


def evaluate(plan: V2Plan, read_back: Resources, connectivity: Mapping[str, str]) -> dict[str, Verdict]:
    """Judge the lights of a `GET /clip/v2/resource/light`; lights looped through v1 are left out.

    `connectivity`: device id -> zigbee_connectivity status, from the inventory or a fresh GET; a light
    whose device is not `connected` is `unreachable` (sent, not confirmed), as v1's `reachable: false`.
    Raises ResourceNotFound when a target light is gone from the bridge (the id map must be rebuilt).
    """
    verdicts: dict[str, Verdict] = {}
    for step in plan.lights:
        if step.v1 is not None:
            continue
        light = read_back.lights.get(step.light_id)
        if light is None:
            raise ResourceNotFound(f"light {step.name!r} ({step.light_id}) of HUE_TARGET is no longer on the bridge")
        verdicts[step.light_id] = judge(plan.action, step, light, connectivity.get(light.owner))
    return verdicts


def evaluate_v1(plan: V2Plan, v1_lights: Mapping[str, Any]) -> dict[str, Verdict]:
    """Judge the v1-looped lights of the plan from a v1 `GET /api/<key>/lights` (id -> light object)."""
    verdicts: dict[str, Verdict] = {}
    for step in plan.lights:
        if step.v1 is None:
            continue
        info = v1_lights.get(step.v1.v1_id)
        if not isinstance(info, Mapping):
            raise ResourceNotFound(f"light {step.name!r} (v1 id {step.v1.v1_id}) no longer exists on the bridge")
        state = info.get("state")
        state = state if isinstance(state, Mapping) else {}
        status = step.v1.judge(state)
        detail = "" if status is not None else f"v1 state reads {_v1_loop_view(state)}"
        if status == "skipped":
            # The v1 view shows no `effect` for a light v2 calls colour (a real bridge shows it on colour
            # lights; the diyHue emulator never does): the loop cannot be confirmed, so none is claimed.
            detail = V1_LOOP_UNCONFIRMED
        verdicts[step.light_id] = Verdict(step.light_id, status, str(state.get("effect", "")), detail)
    return verdicts


def _v1_loop_view(state: Mapping[str, Any]) -> str:
    return ", ".join(f"{key} {state.get(key)!r}" for key in ("on", "effect", "sat", "reachable") if key in state)


def judge(action: ActionName, step: LightStep, light: Light, link: str | None) -> Verdict:
    effect = light.effect_status or ""
    if link is not None and link != CONNECTED:
        return Verdict(light.id, "unreachable", effect, f"Zigbee connectivity: {link}")
    if light.on != (action != "lights_off"):
        return Verdict(light.id, None, effect, f"reads back {'on' if light.on else 'off'}")
    if step.effect == "prism" and effect != PRISM:
        return Verdict(light.id, None, effect, f"reads back with effect {effect or 'none'}, not prism")
    if step.skip_reason:
        return Verdict(light.id, "skipped", effect, step.skip_reason)
    return Verdict(light.id, "ok", effect)


def outcome(step: LightStep, verdict: Verdict | None) -> LightOutcome:
    """The per-light outcome the v1 actions report; the effect the light got leads the detail."""
    if verdict is None or verdict.status is None:
        why = verdict.detail if verdict is not None else "was not read back"
        return LightOutcome(step.light_id, step.name, "error", f"did not reach the desired state: {why}", step.effect)
    detail = f"effect {step.effect}" if step.effect != "none" and verdict.status == "ok" else ""
    joined = "; ".join(p for p in (detail, verdict.detail) if p)
    # A skipped light has no loop, whatever was sent to it (a v1 colorloop the read-back cannot confirm).
    effect: Effect = "none" if verdict.status == "skipped" else step.effect
    return LightOutcome(step.light_id, step.name, verdict.status, joined, effect)
