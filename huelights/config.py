"""Environment -> one frozen, validated Settings object, read once when a function starts.

Handlers never read os.environ: they get the Settings built here. A bad value raises ConfigError whose
message starts with the variable's name; `load_or_exit` turns that into one line on stderr and exit 2,
so a misconfigured pod crash-loops with the reason in `kubectl logs` instead of failing at 05:35.
"""

from __future__ import annotations

import ipaddress
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from huelights.errors import ConfigError

TargetKind = Literal["all", "group", "lights"]
ApiSetting = Literal["auto", "v2", "v1"]
API_SETTINGS: tuple[ApiSetting, ...] = ("auto", "v2", "v1")
HOST_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# Bridges issue keys of letters, digits and '-'; the rest of the URL-safe set is allowed for other bridges.
APP_KEY_PATTERN = re.compile(r"[A-Za-z0-9._~-]+")
PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----"


@dataclass(frozen=True)
class Target:
    """Which lights an action is for, as written in HUE_TARGET (names are resolved against the bridge)."""

    kind: TargetKind
    group: str = ""
    lights: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.kind == "group":
            return f"group:{self.group}"
        if self.kind == "lights":
            return "lights:" + ",".join(self.lights)
        return "all"


@dataclass(frozen=True)
class Settings:
    bridge_url: str
    """Base URL of the bridge without a trailing slash, e.g. `https://192.168.1.2`."""
    app_key: str = field(repr=False)
    target: Target = Target("all")
    trigger_token: str | None = field(default=None, repr=False)
    budget_seconds: float = 25.0
    connect_timeout: float = 3.0
    read_timeout: float = 5.0
    max_attempts: int = 5
    ca_bundle: str | None = None
    bridge_id: str | None = None
    light_interval: float = 0.1
    group_interval: float = 1.0
    max_body_bytes: int = 65536
    external_cooldown_seconds: float = 10.0
    """After an external (gateway) call, further external calls get 429 for this long."""
    verify_delay_seconds: float = 1.0
    """Pause between a command and reading the lights back: a bulb that just got power applies its
    power-on setting a moment after the command, and the bridge only learns of it then."""
    api: ApiSetting = "auto"
    """HUE_API: `auto` speaks CLIP v2 where the bridge serves it (HTTPS only), else v1."""
    colorloop_saturation: int = 254
    """Sent with v1 `colorloop`, which cycles the hue at the light's current saturation: without it a
    bulb last used in white (saturation 0) would loop in white."""


def parse_target(raw: str) -> Target:
    text = raw.strip()
    if text.lower() == "all":
        return Target("all")
    kind, sep, rest = text.partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in ("group", "lights"):
        raise ConfigError("HUE_TARGET", f"{raw!r} is not 'all', 'group:<id or name>' or 'lights:<id or name>,...'")
    if kind == "group":
        if not rest.strip():
            raise ConfigError("HUE_TARGET", "'group:' needs a group id or room/zone name")
        return Target("group", group=rest.strip())
    names = tuple(part.strip() for part in rest.split(","))
    if not names or any(not name for name in names):
        raise ConfigError("HUE_TARGET", f"{raw!r} has an empty light id or name")
    if len(set(names)) != len(names):
        raise ConfigError("HUE_TARGET", f"{raw!r} names a light twice")
    return Target("lights", lights=names)


def parse_bridge_url(raw: str) -> str:
    text = raw.strip()
    if "://" not in text:
        # A bare address means https: the Bridge Pro serves nothing else and Signify is removing plain
        # HTTP from the square bridge too. Plain HTTP only when written (the round bridge has no https).
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise ConfigError("HUE_BRIDGE", f"scheme {parts.scheme!r} is not http or https")
    if not parts.hostname:
        raise ConfigError("HUE_BRIDGE", f"{raw!r} has no host")
    if not _valid_host(parts.hostname):
        raise ConfigError("HUE_BRIDGE", f"{parts.hostname!r} is not an IP address or a host name")
    try:
        parts.port  # noqa: B018 - urllib validates the port lazily, on access
    except ValueError:
        raise ConfigError("HUE_BRIDGE", f"{raw!r} has an invalid port") from None
    if parts.path.strip("/") or parts.query or parts.fragment or parts.username:
        raise ConfigError("HUE_BRIDGE", f"{raw!r} must be an address, not a URL with a path, query or user")
    return f"{parts.scheme}://{parts.netloc}"


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"{raw!r} is not a number") from None
    if not low <= value <= high:
        raise ConfigError(name, f"{raw} is outside {low:g}..{high:g}")
    return value


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(name, "is not set")
    return value


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return len(host) <= 253 and all(HOST_LABEL.fullmatch(label) for label in host.rstrip(".").split("."))


def parse_app_key(raw: str) -> str:
    key = raw.strip()
    if not key:
        raise ConfigError("HUE_APP_KEY", "is not set")
    if not APP_KEY_PATTERN.fullmatch(key):
        # It is a URL path segment: '/', '?', '#' or a space would silently address another resource.
        raise ConfigError("HUE_APP_KEY", "has characters a bridge key never has; copy it exactly as the bridge gave it")
    return key


def parse_trigger_token(raw: str) -> str | None:
    token = raw.strip() or None
    if token is not None and len(token) < 16:
        raise ConfigError("TRIGGER_TOKEN", "is shorter than 16 characters; use a long random token")
    return token


def parse_api(raw: str, bridge_url: str) -> ApiSetting:
    text = raw.strip().lower() or "auto"
    for choice in API_SETTINGS:
        if text == choice:
            if choice == "v2" and not bridge_url.startswith("https://"):
                raise ConfigError("HUE_API", "v2 needs an https:// HUE_BRIDGE (CLIP v2 is served over HTTPS only)")
            return choice
    raise ConfigError("HUE_API", f"{raw.strip()!r} is not auto, v2 or v1")


def load_settings(env: Mapping[str, str], *, require_app_key: bool = True) -> Settings:
    """Build Settings from an environment mapping; raise ConfigError on the first bad variable.

    `require_app_key=False` is for tools that run before a key exists (pairing); the key is then "".
    """
    bridge_url = parse_bridge_url(_required(env, "HUE_BRIDGE"))
    raw_key = env.get("HUE_APP_KEY", "")
    app_key = parse_app_key(raw_key) if require_app_key or raw_key.strip() else ""
    target = parse_target(env.get("HUE_TARGET", "all") or "all")
    token = parse_trigger_token(env.get("TRIGGER_TOKEN", ""))

    ca_bundle = env.get("HUE_CA_BUNDLE", "").strip() or None
    if ca_bundle is not None and not Path(ca_bundle).is_file():
        raise ConfigError("HUE_CA_BUNDLE", f"{ca_bundle} is not a readable file")
    if ca_bundle is not None and PEM_CERTIFICATE not in Path(ca_bundle).read_text(encoding="ascii", errors="replace"):
        raise ConfigError("HUE_CA_BUNDLE", f"{ca_bundle} holds no PEM certificate ({PEM_CERTIFICATE} ...)")
    if ca_bundle is not None and not bridge_url.startswith("https://"):
        raise ConfigError("HUE_CA_BUNDLE", "is set but HUE_BRIDGE is not an https:// address")
    bridge_id = env.get("HUE_BRIDGE_ID", "").strip().lower() or None
    if bridge_id is not None and not (len(bridge_id) == 16 and all(c in "0123456789abcdef" for c in bridge_id)):
        raise ConfigError("HUE_BRIDGE_ID", "must be the 16 hex digits of the bridge id (GET /api/config)")

    budget = _number(env, "HUE_BUDGET_SECONDS", 25.0, 1.0, 600.0)
    connect_timeout = _number(env, "HUE_CONNECT_TIMEOUT", 3.0, 0.1, 60.0)
    read_timeout = _number(env, "HUE_READ_TIMEOUT", 5.0, 0.1, 120.0)
    # functions-framework's own per-request timeout (set in the image) must not cut an invocation short:
    # that would answer with its HTML crash page and no log line, instead of an honest 503.
    request_timeout = _number(env, "CLOUD_RUN_TIMEOUT_SECONDS", 0, 0, 3600)
    if request_timeout and budget + connect_timeout >= request_timeout:
        raise ConfigError(
            "HUE_BUDGET_SECONDS",
            f"{budget:g} s plus HUE_CONNECT_TIMEOUT must stay below CLOUD_RUN_TIMEOUT_SECONDS ({request_timeout:g} s)",
        )
    attempts = _number(env, "HUE_MAX_ATTEMPTS", 5, 1, 20)
    if attempts != int(attempts):
        raise ConfigError("HUE_MAX_ATTEMPTS", "must be a whole number")
    saturation = _number(env, "HUE_COLORLOOP_SAT", 254, 0, 254)
    if saturation != int(saturation):
        raise ConfigError("HUE_COLORLOOP_SAT", "must be a whole number (0-254)")
    return Settings(
        bridge_url=bridge_url,
        app_key=app_key,
        target=target,
        trigger_token=token,
        budget_seconds=budget,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_attempts=int(attempts),
        ca_bundle=ca_bundle,
        bridge_id=bridge_id,
        light_interval=_number(env, "HUE_LIGHT_INTERVAL", 0.1, 0.0, 10.0),
        group_interval=_number(env, "HUE_GROUP_INTERVAL", 1.0, 0.0, 60.0),
        max_body_bytes=int(_number(env, "MAX_BODY_BYTES", 65536, 1024, 10 * 1024 * 1024)),
        external_cooldown_seconds=_number(env, "EXTERNAL_COOLDOWN_SECONDS", 10.0, 0.0, 3600.0),
        verify_delay_seconds=_number(env, "HUE_VERIFY_DELAY", 1.0, 0.0, 10.0),
        api=parse_api(env.get("HUE_API", ""), bridge_url),
        colorloop_saturation=int(saturation),
    )


def load_or_exit(env: Mapping[str, str]) -> Settings:
    """load_settings for process start: a mistake becomes one line on stderr and exit status 2."""
    try:
        return load_settings(env)
    except ConfigError as error:
        print(f"huelights: configuration error: {error}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
