"""`lights`, `groups` and `check` on a bridge that the functions would talk to over CLIP v2.

Which API that is, is the functions' own decision (api_choice.ApiChoice: HUE_API, https, the probe); the
resources, the target resolution and the effect each light gets come from the same library code the v2
runner uses (V2Inventory, resolve_target, plan_action, judge), so what is listed is what a function does.
Only reads: one probe, one `GET /clip/v2/resource`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from huelights.actions import id_order
from huelights.api_choice import ApiChoice, ApiName
from huelights.bridge import Deadline, HueBridge
from huelights.config import Settings, Target, parse_target
from huelights.errors import ConfigError, TargetNotFound
from huelights.v2.client import V2Client, V2Inventory
from huelights.v2.inventory import V2Target, group_light_ids, light_name, light_names, light_order, resolve_target
from huelights.v2.plan import CONNECTED, ActionName, LightStep, V2Plan, judge, plan_action
from huelights.v2.resources import Group, Light, Powerup, Resources
from huelights_setup.cli_bridge import PROG, say, show, table
from huelights_setup.safe_text import json_for_terminal, shows_as_written

ACTION_NAMES: tuple[ActionName, ...] = ("lights_off", "lights_on", "colorloop")
# What a light shows when mains power returns, per preset (reference: the spec's Powerup schema).
PRESET_MEANING = {
    "safety": "on, full brightness, warm white",
    "powerfail": "on or off as before the cut, same brightness and colour",
    "last_on_state": "on, in its last on-state's brightness and colour",
}


def api_in_use(bridge: HueBridge, settings: Settings, deadline: Deadline) -> tuple[ApiName, str]:
    """(api, why): HUE_API decided as a function decides it at its first invocation."""
    choice = ApiChoice(settings, bridge)
    api = choice.resolve(deadline)
    return api, choice.reason


def read_resources(bridge: HueBridge, deadline: Deadline) -> Resources:
    resources, _ = V2Inventory().resources(V2Client(bridge), deadline)
    return resources


# ----- HUE_TARGET values ------------------------------------------------------------------------------


def _resolves_to(text: str, written: str, wanted: V2Target, resources: Resources) -> bool:
    """Whether HUE_TARGET=`text` parses back to the id or name `written` (a comma splits it, blanks are
    stripped), the functions' own resolution then gives `wanted`, and it can be read off the screen."""
    if not shows_as_written(text):
        return False
    try:
        target = parse_target(text)
        as_written = target.lights == (written,) if target.kind == "lights" else target.group == written
        return as_written and resolve_target(target, resources) == wanted
    except (ConfigError, TargetNotFound):
        return False  # not writable in HUE_TARGET, or a name shared by two: another form works


def light_targets(light: Light, resources: Resources) -> list[str]:
    """Every HUE_TARGET that selects exactly this light, the preferred first: name, v1 id, v2 id."""
    wanted = resolve_target(Target("lights", lights=(light.id,)), resources)
    names = [light_name(light, resources), *sorted(light_names(light, resources))]
    forms = [*names, light.v1_id or "", light.id]
    found: list[str] = []
    for form in forms:
        text = f"lights:{form}"
        if form and text not in found and _resolves_to(text, form, wanted, resources):
            found.append(text)
    return found


def group_targets(group: Group, resources: Resources) -> list[str]:
    """Every HUE_TARGET that selects exactly this room or zone: name, v1 id, v2 id."""
    wanted = resolve_target(Target("group", group=group.id), resources)
    found: list[str] = []
    for form in (group.name, group.v1_id or "", group.id):
        text = f"group:{form}"
        if form and text not in found and _resolves_to(text, form, wanted, resources):
            found.append(text)
    return found


# ----- lights and groups ------------------------------------------------------------------------------


def _short_id(light_or_group: Light | Group) -> str:
    """The id people know from the Hue app era: v1's number, else the v2 id."""
    return light_or_group.v1_id or light_or_group.id


def loop_steps(resources: Resources, settings: Settings) -> dict[str, LightStep]:
    """What colorloop gives each light of the bridge, planned as the v2 runner plans it."""
    every = V2Target("all lights", None, light_order(resources.lights.values()))
    plan = plan_action(
        "colorloop", every, resources, v1_allowed=settings.api == "auto", saturation=settings.colorloop_saturation
    )
    return {step.light_id: step for step in plan.lights}


def light_rows(resources: Resources, settings: Settings) -> list[dict[str, Any]]:
    links = resources.device_connectivity()
    steps = loop_steps(resources, settings)
    rows = []
    for light_id in light_order(resources.lights.values()):
        light = resources.lights[light_id]
        device = resources.devices.get(light.owner)
        link = links.get(light.owner)
        targets = light_targets(light, resources)
        rows.append(
            {
                "id": _short_id(light),
                "name": light_name(light, resources),
                "type": device.model_id if device else "",
                "colour": light.has_color,
                "reachable": None if link is None else link == CONNECTED,
                "on": light.on,
                "effect": light.effect_status,
                "target": targets[0] if targets else "",
                "api": "v2",
                "v2_id": light.id,
                "targets": targets,
                "loop": steps[light_id].effect,
                "loop_note": steps[light_id].skip_reason,
                "connectivity": link,
                "powerup": light.powerup.preset if light.powerup else None,
            }
        )
    return rows


def group_rows(resources: Resources) -> list[dict[str, Any]]:
    every = resources.bridge_home
    rows: list[dict[str, Any]] = [
        {
            "id": "0",
            "name": "(every light)",
            "type": "",
            "lights": [_short_id(resources.lights[lid]) for lid in light_order(resources.lights.values())],
            "target": "all",
            "api": "v2",
            "v2_id": every.id if every else None,
            "targets": ["all"],
            "grouped_light": every.grouped_light if every else None,
        }
    ]
    for group in sorted(resources.groups.values(), key=lambda g: (id_order(g.v1_id or ""), g.id)):
        targets = group_targets(group, resources)
        rows.append(
            {
                "id": _short_id(group),
                "name": group.name,
                "type": group.kind.capitalize(),
                "lights": [_short_id(resources.lights[lid]) for lid in group_light_ids(group, resources)],
                "target": targets[0] if targets else "",
                "api": "v2",
                "v2_id": group.id,
                "targets": targets,
                "grouped_light": group.grouped_light,
            }
        )
    return rows


def _loop_cell(row: Mapping[str, Any]) -> str:
    return {"prism": "prism", "colorloop": "colorloop (v1)"}.get(row["loop"], "none")


def listing(command: str, bridge: HueBridge, settings: Settings, deadline: Deadline, *, as_json: bool) -> int:
    resources = read_resources(bridge, deadline)
    if command == "lights":
        rows = light_rows(resources, settings)
        for row in rows:
            row["loop_cell"] = _loop_cell(row)
        columns = ["id", "name", "colour", "reachable", "on", "effect", "loop_cell", "target"]
        headers = ["ID", "NAME", "COLOUR", "REACHABLE", "ON", "EFFECT", "COLORLOOP GIVES", "HUE_TARGET"]
    else:
        rows = group_rows(resources)
        names = {_short_id(light): light_name(light, resources) for light in resources.lights.values()}
        for row in rows:
            row["members"] = ", ".join(names.get(lid, lid) for lid in row["lights"])
        columns = ["id", "name", "type", "members", "target"]
        headers = ["ID", "NAME", "TYPE", "MEMBERS", "HUE_TARGET"]
    if as_json:
        for row in rows:
            row.pop("members", None)
            row.pop("loop_cell", None)
        print(json_for_terminal(rows))
    else:
        print(table(headers, [[row[column] for column in columns] for row in rows]))
        say(f"huelights: listed through CLIP v2; `{PROG} {command} --json` shows every HUE_TARGET form (`targets`)")
    return 0


# ----- check ------------------------------------------------------------------------------------------


def powerup_text(powerup: Powerup | None) -> str:
    if powerup is None:
        return "powerup not reported"
    if powerup.preset == "custom":
        return f"custom (on mode {powerup.on_mode or 'not given'})"
    return f"{powerup.preset} ({PRESET_MEANING.get(powerup.preset, 'as the preset says')})"


def _dry_run_line(plan: V2Plan, step: LightStep, light: Light, link: str | None) -> str:
    if step.v1 is not None:
        body = json.dumps(step.v1.body)
        return f"v1 colorloop: PUT lights/{step.v1.v1_id}/state {body}, verified through v1"
    put = json.dumps(dict(step.put.body)) if step.put is not None else "{}"
    if step.skip_reason:
        return f"no loop ({step.skip_reason}): gets {put}, counts as skipped"
    verdict = judge(plan.action, step, light, link)
    if verdict.status == "unreachable":
        return f"unreachable ({verdict.detail}): sent anyway and once more, then reported as a warning"
    state = "already so" if verdict.status is not None else "would change"
    return f"{step.effect} {put}: {state}" if step.effect != "none" else state


def check(bridge: HueBridge, settings: Settings, deadline: Deadline, warnings: int) -> int:
    """The v2 part of `check`, after the settings, TLS and the bridge's identity were checked (and `warnings`)."""
    resources = read_resources(bridge, deadline)
    show(f"  ok    application key accepted; the bridge has {len(resources.lights)} light(s)")
    target = resolve_target(settings.target, resources)
    if not target.light_ids:
        raise TargetNotFound(f"HUE_TARGET: {settings.target} has no lights; nothing would be switched")
    sent_to = "one grouped_light PUT" if target.grouped_light else "one PUT per light"
    show(
        f"  ok    target {settings.target}: {target.label}, {len(target.light_ids)} light(s); "
        f"off and on: {sent_to}; colorloop: one PUT per light"
    )
    links = resources.device_connectivity()
    steps = loop_steps(resources, settings)
    lights = [resources.lights[light_id] for light_id in target.light_ids]
    for light in lights:
        link = links.get(light.owner)
        if link is not None and link != CONNECTED:
            name = light_name(light, resources)
            what = f"light {_short_id(light)} {name!r} is not reachable (Zigbee {link})"
            show(f"  warn  {what}: commands still go out, then verified")
            warnings += 1
    looping = [light for light in lights if steps[light.id].effect != "none"]
    if not looping:
        show("  warn  no light in the target can loop (prism or colorloop): colorloop would only switch them on")
        warnings += 1
    if looping:
        show(
            "  note  a power cut ends the loop: a light comes back in its powerup preset and no preset keeps an "
            "effect, which is why the 05:35 colorloop job re-applies it every morning"
        )
        by_preset: dict[str, list[str]] = {}
        for light in looping:
            by_preset.setdefault(powerup_text(light.powerup), []).append(light_name(light, resources))
        for preset, names in by_preset.items():
            show(f"          {', '.join(names)}: {preset}")
    print()
    rows = {row["v2_id"]: row for row in light_rows(resources, settings)}
    columns = ["id", "name", "colour", "connectivity", "on", "effect", "loop", "powerup"]
    headers = ["ID", "NAME", "COLOUR", "ZIGBEE", "ON", "EFFECT", "COLORLOOP GIVES", "POWERUP"]
    print(table(headers, [[rows[light.id][column] for column in columns] for light in lights]))
    print()
    show("What each action would do now (dry run: nothing was sent):")
    for action in ACTION_NAMES:
        plan = plan_action(
            action,
            target,
            resources,
            v1_allowed=settings.api == "auto",
            saturation=settings.colorloop_saturation,
        )
        if plan.group_put is not None:
            body = json.dumps(dict(plan.group_put.body))
            show(f"  {action}: PUT {plan.group_put.path} {body}, then one GET light reads back {len(lights)} light(s)")
        else:
            show(f"  {action}: one PUT per light, then one GET light reads them back")
        for step, light in zip(plan.lights, lights, strict=True):
            line = _dry_run_line(plan, step, light, links.get(light.owner))
            show(f"    {_short_id(light):>3} {step.name:<24} {line}")
    print()
    show(f"No problems found ({warnings} warning(s)).")
    return 0
