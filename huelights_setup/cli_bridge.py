"""The commands that talk to the bridge: `pair`, `lights`, `groups` and `check` (which only reads), on v1
(cli_v2 lists and checks a bridge the functions would talk to over CLIP v2).

They use the functions' own client (HueBridge: timeouts, retries, TLS by CA bundle and bridge id) and
target resolution (Inventory), so what they report is what a function would meet. Fatal problems are
raised as BridgeError and become one line on stderr in cli.main.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import ssl
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import urlsplit

from huelights.actions import ACTIONS, Action, Inventory, action_for, find_resource, id_order
from huelights.bridge import Deadline, HueBridge
from huelights.config import Settings, parse_target
from huelights.errors import (
    BridgeUnreachable,
    ConfigError,
    LinkButtonNotPressed,
    PermanentBridgeError,
    TargetNotFound,
    shorten,
)
from huelights_setup.safe_text import (
    export_command,
    for_terminal,
    json_for_terminal,
    shell_assignments,
    shell_word,
    shows_as_written,
)

PROG = "python -m huelights_setup"
# Bridges that serve https (hue-api-v2 reference: /api/config `modelid`); the round BSB001 has only http.
HTTPS_MODELS = {"BSB002": "square bridge", "BSB003": "Hue Bridge Pro"}


def say(text: str) -> None:
    """Prompts and hints go to stderr, so stdout carries only the result (the key, a table, JSON)."""
    print(for_terminal(text), file=sys.stderr, flush=True)


def show(text: str) -> None:
    """A line of a command's result on stdout; what the bridge named in it cannot reach the terminal as codes."""
    print(for_terminal(text))


@dataclass(frozen=True)
class BridgeInfo:
    """What the bridge says about itself at `GET /api/config`, checked: a bridge id, and name and model as text."""

    bridge_id: str
    name: str
    model: str

    @classmethod
    def read(cls, bridge: HueBridge, deadline: Deadline) -> BridgeInfo:
        info = bridge.public_config(deadline)
        from huelights.tls import is_bridge_id  # it loads requests, as the call above just did: no cost here

        reported = info.get("bridgeid")
        bridge_id = reported.lower() if isinstance(reported, str) else ""
        if not is_bridge_id(bridge_id):
            raise PermanentBridgeError(
                f"GET /api/config: bridgeid {shorten(str(reported), 40)!r} is not a bridge id (16 hex digits); "
                "is HUE_BRIDGE a Hue bridge?"
            )
        return cls(bridge_id, shorten(str(info.get("name", "?")), 64), shorten(str(info.get("modelid", "?")), 32))

    @property
    def described(self) -> str:
        return f"{self.name!r}, id {self.bridge_id}, model {self.model}"


# ----- pair -------------------------------------------------------------------------------------------


class Countdown:
    """Seconds left, rewritten in place on a terminal, one line per second elsewhere (logs, tests)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._shown: int | None = None

    def show(self, seconds_left: float) -> None:
        whole = math.ceil(seconds_left)
        if whole == self._shown:
            return
        self._shown = whole
        text = f"  waiting for the link button: {whole} s left"
        # On a terminal the line is rewritten; trailing blanks cover the longer text before it ("10 s").
        self._stream.write(f"\r{text}  " if self._tty else f"{text}\n")
        self._stream.flush()

    def end(self) -> None:
        if self._tty and self._shown is not None:
            self._stream.write("\n")
            self._stream.flush()


def pair(args: argparse.Namespace, bridge: HueBridge, settings: Settings) -> int:
    save_to: str | None = args.save
    if save_to is not None and os.path.lexists(save_to):
        raise ConfigError("--save", f"{save_to} already exists; name a new file (an old key is never overwritten)")
    info = BridgeInfo.read(bridge, Deadline(settings.budget_seconds))
    https = settings.bridge_url.startswith("https://")
    say(f"Bridge {info.name!r} at {settings.bridge_url}: id {info.bridge_id}, model {info.model}")
    if https:
        say(f"  its certificate is verified: issued for bridge {info.bridge_id} by {_trusted_by(settings)}")
    say(f"Press the round link button on the bridge now; waiting up to {args.wait:g} s.")
    key = poll_for_key(bridge, settings, args.device_type, args.wait, args.interval)
    if save_to is None:
        print(key, flush=True)
    else:
        fd = os.open(save_to, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            # For `set -a; . ./FILE; set +a`: quoted, so that sourcing can only assign it.
            file.write(shell_assignments({"HUE_APP_KEY": key}) + "\n")
        say(f"Saved the new key to {save_to} (HUE_APP_KEY=..., readable only by you).")
    connection = {"HUE_BRIDGE": settings.bridge_url, **({"HUE_BRIDGE_ID": info.bridge_id} if https else {})}
    say(f"Paired as {args.device_type!r}. Next: {export_command(connection)} and HUE_APP_KEY, then")
    say(f"  {PROG} groups; {PROG} check; {PROG} secret | kubectl apply -f -")
    return 0


def poll_for_key(bridge: HueBridge, settings: Settings, device_type: str, wait: float, interval: float) -> str:
    """POST /api until the bridge hands out a key; error 101 means not pressed yet. At most `wait` s (+ 1 call)."""
    give_up = Deadline(wait)
    countdown = Countdown(sys.stderr)
    try:
        while True:
            try:
                return bridge.create_app_key(device_type, Deadline(settings.connect_timeout + settings.read_timeout))
            except LinkButtonNotPressed:
                left = give_up.remaining()
                if left <= 0:
                    raise LinkButtonNotPressed(
                        f"the link button was not pressed within {wait:g} s; run pair again and press the "
                        "button while it waits"
                    ) from None
                countdown.show(left)
                time.sleep(min(interval, left))
    finally:
        countdown.end()


# ----- lights and groups ------------------------------------------------------------------------------


def target_value(kind: str, resource_id: str, resources: Mapping[str, Any]) -> str:
    """The HUE_TARGET that selects this light or group: by name when the name resolves back to it, else id."""
    prefix = "lights" if kind == "light" else "group"
    name = str(resources[resource_id].get("name", ""))
    if not shows_as_written(name):
        return f"{prefix}:{resource_id}"  # a name with control characters cannot be read off the screen
    try:
        parsed = parse_target(f"{prefix}:{name}")
        as_written = parsed.lights == (name,) if kind == "light" else parsed.group == name != "0"
        if as_written and find_resource(name, resources, "group" if kind == "group" else kind) == resource_id:
            return f"{prefix}:{name}"
    except (ConfigError, TargetNotFound):
        pass  # empty, duplicate, or not writable in HUE_TARGET: the id always works
    return f"{prefix}:{resource_id}"


def light_rows(lights: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for light_id in sorted(lights, key=id_order):
        info = lights[light_id]
        state = info.get("state")
        state = state if isinstance(state, dict) else {}
        rows.append(
            {
                "id": light_id,
                "name": str(info.get("name", "")),
                "type": str(info.get("type", "")),
                # The functions' own test (Action.command_for): a light with `effect` can show colorloop.
                "colour": "effect" in state,
                "reachable": state.get("reachable"),
                "on": state.get("on"),
                "effect": state.get("effect"),
                "target": target_value("light", light_id, lights),
            }
        )
    return rows


def group_rows(groups: Mapping[str, dict[str, Any]], lights: Mapping[str, Any]) -> list[dict[str, Any]]:
    every = {"id": "0", "name": "(every light)", "type": "", "lights": sorted(lights, key=id_order), "target": "all"}
    rows = [every]
    for group_id in sorted(groups, key=id_order):
        info = groups[group_id]
        members = [str(light_id) for light_id in info.get("lights", [])]
        rows.append(
            {
                "id": group_id,
                "name": str(info.get("name", "")),
                "type": str(info.get("type", "")),
                "lights": members,
                "target": target_value("group", group_id, groups),
            }
        )
    return rows


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "-" if value is None or value == "" else for_terminal(str(value))


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [headers, *[[_cell(value) for value in row] for row in rows]]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]
    return "\n".join(
        "  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def listing(command: str, bridge: HueBridge, deadline: Deadline, *, as_json: bool) -> int:
    lights = bridge.lights(deadline)
    if command == "lights":
        rows = light_rows(lights)
        columns = ["id", "name", "type", "colour", "reachable", "on", "effect", "target"]
    else:
        rows = group_rows(bridge.groups(deadline), lights)
        for row in rows:
            row["members"] = ", ".join(str(lights.get(lid, {}).get("name", lid)) for lid in row["lights"])
        columns = ["id", "name", "type", "members", "target"]
    if as_json:
        for row in rows:
            row.pop("members", None)
        print(json_for_terminal(rows))
    else:
        headers = [("HUE_TARGET" if column == "target" else column.upper()) for column in columns]
        print(table(headers, [[row[column] for column in columns] for row in rows]))
    return 0


# ----- check ------------------------------------------------------------------------------------------


def _trusted_by(settings: Settings) -> str:
    return "Signify's Hue roots or HUE_CA_BUNDLE" if settings.ca_bundle else "Signify's Hue roots"


def _transport_note(settings: Settings) -> str:
    if not settings.bridge_url.startswith("https://"):
        return (
            "plain HTTP: the key crosses the LAN unencrypted; only the round first-generation bridge needs it "
            "(write the bare address or https:// for any other)"
        )
    if settings.bridge_id:
        return f"TLS verified against {_trusted_by(settings)}, certificate CN = HUE_BRIDGE_ID"
    return f"TLS verified against {_trusted_by(settings)}, certificate CN = the bridgeid of /api/config"


def dry_run_status(action: Action, state: Mapping[str, Any]) -> str:
    """What sending `action` would do to a light in `state`, by the functions' own rules (judge)."""
    if state.get("reachable", True) is False:
        return "unreachable: sent anyway and once more, then reported as a warning"
    if action.colour_only and "effect" not in state:
        return f"no colour: gets {json.dumps(action.command_for(False))}, counts as skipped"
    return "already so" if action.judge(state) is not None else "would change"


def check_bridge(bridge: HueBridge, settings: Settings, deadline: Deadline) -> int:
    """The part of `check` both APIs share: the settings, the transport, and which bridge answers.
    Returns the number of warnings it printed."""
    show(f"Checking HUE_BRIDGE={settings.bridge_url} HUE_TARGET={settings.target} (read-only)")
    show("  ok    settings are valid")
    show(f"  note  {_transport_note(settings)}")
    if settings.trigger_token is None:
        show("  note  TRIGGER_TOKEN is not set: calls through the Gateway will be refused (403)")
    info = BridgeInfo.read(bridge, deadline)
    if settings.bridge_id and settings.bridge_id != info.bridge_id:
        raise PermanentBridgeError(f"HUE_BRIDGE_ID is {settings.bridge_id}, but the bridge there is {info.bridge_id}")
    show(f"  ok    bridge answers: {info.described}")
    https = settings.bridge_url.startswith("https://")
    if https and not settings.bridge_id:
        pin = shell_assignments({"HUE_BRIDGE_ID": info.bridge_id})
        show(f"  note  pin this bridge: {pin} (`{PROG} config` writes it into the ConfigMap)")
    if not https and info.model in HTTPS_MODELS:
        show(
            f"  warn  this {HTTPS_MODELS[info.model]} ({info.model}) serves https: over http:// lamps get v1 "
            "colorloop instead of prism (CLIP v2 is https only); write HUE_BRIDGE without http:// (a bare address "
            "means https)"
        )
        return 1
    return 0


def check_v1(bridge: HueBridge, settings: Settings, deadline: Deadline, warnings: int) -> int:
    """The rest of `check` on a bridge the functions talk to over v1, after `warnings` warnings."""
    lights = bridge.lights(deadline)
    show(f"  ok    application key accepted; the bridge has {len(lights)} light(s)")
    inventory = Inventory()
    plan = inventory.plan(settings.target, bridge, deadline)
    light_ids = list(plan.light_ids) if plan.light_ids is not None else sorted(lights, key=id_order)
    if not light_ids:
        raise TargetNotFound(f"HUE_TARGET: {settings.target} has no lights; nothing would be switched")
    sent_to = f"group {plan.group_id}" if plan.group_id is not None else "each light"
    show(f"  ok    target {settings.target}: {len(light_ids)} light(s), commands go to {sent_to}")

    rows = [row for row in light_rows(lights) if row["id"] in light_ids]
    for light_id in light_ids:
        if light_id not in lights:
            show(f"  warn  light {light_id} of the target is missing from the bridge's light list")
            warnings += 1
    for row in rows:
        if row["reachable"] is False:
            show(f"  warn  light {row['id']} {row['name']!r} is not reachable (commands still go out, then verified)")
            warnings += 1
    if not any(row["colour"] for row in rows):
        show("  warn  no light in the target can show colour: colorloop would only switch them on")
        warnings += 1
    print()
    columns = ["id", "name", "type", "colour", "reachable", "on", "effect"]
    print(
        table(["ID", "NAME", "TYPE", "COLORLOOP", "REACHABLE", "ON", "EFFECT"], [[r[c] for c in columns] for r in rows])
    )
    print()
    show("What each action would do now (dry run: nothing was sent):")
    for action in (action_for(name, settings) for name in ACTIONS):
        body = json.dumps(dict(action.command))
        if plan.group_id is not None:
            show(f"  {action.name}: PUT groups/{plan.group_id}/action {body}, then read back {len(rows)} light(s)")
        else:
            show(f"  {action.name}: PUT lights/<id>/state {body} to each of {len(rows)} light(s), then read back")
        for row in rows:
            status = dry_run_status(action, lights[row["id"]].get("state", {}))
            show(f"    {row['id']:>3} {row['name']:<24} {status}")
    print()
    show(f"No problems found ({warnings} warning(s)).")
    return 0


# ----- trust-cert ---------------------------------------------------------------------------------------


def trust_cert(settings: Settings, save_to: str, *, assume_yes: bool) -> int:
    """Trust on first use, explicitly: show an older bridge's self-signed certificate, save it once confirmed."""
    from huelights import tls  # loads requests: only for this command

    parts = urlsplit(settings.bridge_url)
    if parts.scheme != "https" or parts.hostname is None:
        raise ConfigError("HUE_BRIDGE", "trust-cert needs an https bridge (the round bridge has no certificate)")
    if os.path.lexists(save_to):
        raise ConfigError("--save", f"{save_to} already exists; name a new file")
    address = (parts.hostname, parts.port or 443)
    timeout = settings.connect_timeout + settings.read_timeout
    try:
        certificate = tls.peer_certificate(*address, tls.bridge_context(None, None), timeout)
        say(f"The certificate of {settings.bridge_url} is issued by Signify for bridge {tls.common_name(certificate)}:")
        say("nothing to trust by hand. Leave HUE_CA_BUNDLE unset.")
        return 0
    except ssl.SSLCertVerificationError as error:
        if isinstance(error, tls.BridgeCertificateError):
            raise PermanentBridgeError(f"TLS verification of the bridge failed: {error.message}") from None
    except OSError as error:
        raise BridgeUnreachable(f"cannot reach {address[0]}:{address[1]} ({type(error).__name__})") from None
    try:
        pem = ssl.get_server_certificate(address, timeout=timeout)  # handshake only: nothing is sent
        with tempfile.NamedTemporaryFile("w", suffix=".pem") as candidate:
            candidate.write(pem)
            candidate.flush()
            # The functions' own checks with this file as HUE_CA_BUNDLE: save only what will work.
            certificate = tls.peer_certificate(*address, tls.bridge_context(candidate.name, None), timeout)
    except tls.BridgeCertificateError as error:
        raise PermanentBridgeError(f"not a Hue bridge certificate: {error.message}") from None
    except ssl.SSLCertVerificationError as error:
        raise PermanentBridgeError(f"nothing saved: {tls.failure_message(error)}") from None
    except OSError as error:
        raise BridgeUnreachable(f"cannot reach {address[0]}:{address[1]} ({type(error).__name__})") from None
    bridge_id = tls.common_name(certificate) or "?"
    fingerprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
    say(f"{settings.bridge_url} presents a certificate that Signify's roots do not vouch for:")
    say(f"  CN (bridge id)      {bridge_id}")
    say(f"  SHA-256 fingerprint {':'.join(fingerprint[i : i + 2] for i in range(0, len(fingerprint), 2))}")
    say(f"  valid until         {certificate.get('notAfter', '?')}")
    say("Compare: the id's last six digits are the end of the bridge's MAC address (label, router's client list).")
    if not assume_yes and not _confirmed("Trust this certificate for this bridge? [y/N] "):
        say("Nothing saved.")
        return 1
    fd = os.open(save_to, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w") as file:
        file.write(pem)
    say(f"Saved to {save_to}. Use it: {export_command({'HUE_CA_BUNDLE': save_to, 'HUE_BRIDGE_ID': bridge_id})}")
    from_file = shell_word(f"--from-file=ca.pem={save_to}")
    say(f"In the cluster: kubectl -n gohome create configmap huelights-ca-bundle {from_file}")
    say("  and add the component knative/components/ca-bundle (docs/deploy.md).")
    return 0


def _confirmed(question: str) -> bool:
    if not sys.stdin.isatty():
        say("Not a terminal: pass --yes to trust it without asking.")
        return False
    sys.stderr.write(question)
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")
