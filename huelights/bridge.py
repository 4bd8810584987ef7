"""Hue CLIP v1 client: timeouts, body-level error parsing, bounded retries with jitter, and pacing.

A v1 bridge answers HTTP 200 for most failures and puts a list of `success` / `error` items in the
body, one per attribute, so every body is read item by item. Errors about the whole request (bad key,
unknown resource, internal error 901) raise; errors about one attribute of one light (6, 7, 8, 201) are
returned to the caller, because the rest of that PUT was applied and the action decides what they mean.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from huelights.config import Settings
from huelights.errors import (
    ATTRIBUTE_ERROR_TYPES,
    BridgeBusy,
    BridgeRejected,
    TransientBridgeError,
    error_for_hue_type,
    shorten,
)
from huelights.transport import Clock, Deadline, HttpAnswer, Pacer, Sleep, Transport

if TYPE_CHECKING:
    import requests

__all__ = ["AttributeResult", "Deadline", "HueBridge", "PaceKind", "Pacer"]

PaceKind = Literal["light", "group"]
"""Which rate limit a command counts against: ~10 light commands/s, ~1 group command/s, whatever the API."""

APP_KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]{10,40}")
"""An application key as a bridge hands it out at pairing: Signify's bridges generate 40 letters, digits and
'-'; older firmware took 10 to 40 letters and digits; bridge emulators use '_' as well. The key goes into
URLs, headers and the files and commands the setup tool writes, so anything else is refused."""

MAX_NAME_CHARS = 64
"""Names from the bridge are cut to this in outcomes and messages (a bridge allows 32)."""


@dataclass(frozen=True)
class AttributeResult:
    """One item of a PUT answer: `address` like `/lights/3/state/effect`, and either a value or an error."""

    address: str
    ok: bool
    error_type: int = 0
    description: str = ""

    @property
    def attribute(self) -> str:
        return self.address.rsplit("/", 1)[-1]


class HueBridge:
    """One bridge, shared by all invocations of a process (connection reuse, one pacer per kind)."""

    def __init__(
        self,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._settings = settings
        self.log = logging.getLogger(f"huelights.bridge.{settings.bridge_url.split('://', 1)[1]}")
        self.transport = Transport(
            settings.bridge_url,
            (lambda: session) if session is not None else self._new_session,
            redact=self.redact,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            max_attempts=settings.max_attempts,
            clock=clock,
            sleep=sleep,
            jitter=jitter,
            log=self.log,
        )
        self._light_pacer = Pacer(settings.light_interval, clock, sleep)
        self._group_pacer = Pacer(settings.group_interval, clock, sleep)

    def _new_session(self) -> requests.Session:
        from huelights.session import make_session

        return make_session(self._settings)

    @property
    def requests_sent(self) -> int:
        return self.transport.requests_sent

    def redact(self, text: str) -> str:
        """Remove the application key from text that may quote a URL (requests' errors do)."""
        key = self._settings.app_key
        return text.replace(key, "<app-key>") if key else text

    def get(self, resource: str, deadline: Deadline) -> Any:
        """GET /api/<key>/<resource> and return the JSON; raises on any error item."""
        return self._call("GET", resource, None, deadline, pacer=None)

    def lights(self, deadline: Deadline) -> dict[str, dict[str, Any]]:
        """GET /api/<key>/lights, checked: an object of light objects whose `state` is an object."""
        return _resources(self.get("lights", deadline), "GET lights", inner="state")

    def groups(self, deadline: Deadline) -> dict[str, dict[str, Any]]:
        """GET /api/<key>/groups, checked: an object of group objects whose `lights` is a list of ids."""
        groups = _resources(self.get("groups", deadline), "GET groups", inner=None)
        for group_id, group in groups.items():
            members = group.get("lights", [])
            if not isinstance(members, list) or not all(isinstance(m, str | int) for m in members):
                raise BridgeBusy(f"GET groups: `lights` of group {_short(group_id)} is not a list of ids")
        return groups

    def public_config(self, deadline: Deadline) -> dict[str, Any]:
        """GET /api/config: bridge id, model and software version; needs no key."""
        payload = self._call("GET", "/api/config", None, deadline, pacer=None)
        if not isinstance(payload, dict):
            raise BridgeBusy(f"GET /api/config: expected an object, got {type(payload).__name__}")
        return payload

    def create_app_key(self, device_type: str, deadline: Deadline) -> str:
        """POST /api: a new application key, or LinkButtonNotPressed (error 101) until the button is pressed.

        The registration Signify documents for CLIP v2 clients (v2 has none of its own) asks for a client key
        too; that key is for Entertainment streaming only, so it is dropped here, never shown or kept."""
        body = {"devicetype": device_type, "generateclientkey": True}
        payload = self._call("POST", "/api", body, deadline, pacer=None)
        for item in payload if isinstance(payload, list) else []:
            success = item.get("success") if isinstance(item, dict) else None
            username = success.get("username") if isinstance(success, dict) else None
            if isinstance(username, str) and username:
                if APP_KEY_SHAPE.fullmatch(username) is None:
                    # Never quoted: it is a secret if genuine, and anything at all if not.
                    raise BridgeRejected(
                        "POST /api: the bridge answered with a key that is not a Hue application key (10 to 40 "
                        "letters, digits, '-' or '_'); nothing was kept. Is HUE_BRIDGE a Hue bridge?"
                    )
                return username
        raise BridgeBusy("POST /api: the bridge answered without a new key")

    def put(self, resource: str, body: Mapping[str, Any], deadline: Deadline) -> list[AttributeResult]:
        """PUT a light state or group action; returns one result per attribute."""
        pacer = self._group_pacer if resource.startswith("groups/") else self._light_pacer
        payload = self._call("PUT", resource, dict(body), deadline, pacer=pacer)
        if not isinstance(payload, list):
            raise BridgeBusy(f"PUT {resource}: expected a list of results, got {type(payload).__name__}")
        if len(payload) > MAX_PUT_RESULTS:
            raise BridgeBusy(f"PUT {resource}: {len(payload)} results for {len(body)} attribute(s)")
        return [_attribute_result(item) for item in payload]

    def request(
        self, method: str, path: str, body: Mapping[str, Any] | None, deadline: Deadline, pace_kind: PaceKind | None
    ) -> tuple[int, bytes]:
        """One call to an absolute path (`/clip/v2/resource/light`) with the `hue-application-key` header and
        a JSON body, through the same transport as v1: one size cap, one deadline, the same pacers (both
        APIs drive one Zigbee network) and the same bounded retries.

        Retried: connection failures, timeouts, HTTP 429 and 5xx, and a 2xx whose body is not JSON (an
        overloaded bridge's HTML page). Returned: every other answer, as status and raw body; the caller
        reads the API's own envelope. Raises TransientBridgeError subclasses when the retries or the
        budget run out.
        """
        pacer = {"light": self._light_pacer, "group": self._group_pacer, None: None}[pace_kind]
        what = self.redact(f"{method} {path}")
        headers = {"hue-application-key": self._settings.app_key}
        json_body = dict(body) if body is not None else None

        def attempt() -> tuple[int, bytes]:
            answer = self.transport.send(method, path, deadline, headers=headers, json_body=json_body, what=what)
            if answer.status == 429 or answer.status >= 500:
                raise BridgeBusy(f"{what}: HTTP {answer.status} from the bridge")
            if 200 <= answer.status < 300:
                answer.json()  # an HTML page or a broken body at 2xx is an overloaded bridge: BridgeBusy
            return answer.status, answer.content

        return self.transport.call(attempt, deadline, pacer)

    def _call(
        self, method: str, resource: str, body: dict[str, Any] | None, deadline: Deadline, pacer: Pacer | None
    ) -> Any:
        # `resource` is relative to the authenticated API root, or an absolute path such as `/api/config`.
        path = resource if resource.startswith("/") else f"/api/{self._settings.app_key}/{resource}"
        what = f"{method} {resource}"

        def attempt() -> Any:
            answer = self.transport.send(method, path, deadline, json_body=body, what=self.redact(what))
            return _v1_payload(answer, self.redact)

        return self.transport.call(attempt, deadline, pacer)


MAX_PUT_RESULTS = 64
"""A v1 PUT answers one item per attribute sent (a handful); far more is not a bridge's answer."""


def _v1_payload(answer: HttpAnswer, redact: Callable[[str], str]) -> Any:
    """A v1 answer's JSON, after the status and the whole-request error items have been checked."""
    what, status = answer.what, answer.status
    if 300 <= status < 400:
        location = redact(answer.headers.get("Location", "?"))
        raise BridgeRejected(
            f"{what}: the bridge redirects to {_short(location, 120)}; "
            "set HUE_BRIDGE to that scheme (a Hue Bridge Pro serves the API only on https://; "
            "a bare address like 192.168.1.2 means https)"
        )
    if status == 429 or status >= 500:
        raise BridgeBusy(f"{what}: HTTP {status} from the bridge")
    if status >= 400:
        raise BridgeRejected(f"{what}: HTTP {status} from the bridge")
    payload = answer.json()
    if isinstance(payload, list):
        _raise_request_errors(payload)
    return payload


def _resources(payload: Any, what: str, inner: str | None) -> dict[str, dict[str, Any]]:
    """A v1 collection (`{"1": {...}, ...}`) checked item by item; BridgeBusy naming the first odd part."""
    if not isinstance(payload, dict):
        raise BridgeBusy(f"{what}: expected an object of resources, got {type(payload).__name__}")
    for resource_id, resource in payload.items():
        if not isinstance(resource, dict):
            raise BridgeBusy(f"{what}: resource {_short(resource_id)} is {type(resource).__name__}, not an object")
        if not isinstance(resource.get("name", ""), str):
            raise BridgeBusy(f"{what}: resource {_short(resource_id)} has a `name` that is not text")
        if inner is not None and not isinstance(resource.get(inner, {}), dict):
            raise BridgeBusy(f"{what}: `{inner}` of resource {_short(resource_id)} is not an object")
    return payload


def _short(text: object, limit: int = 40) -> str:
    return repr(shorten(str(text), limit))


def _raise_request_errors(items: list[Any]) -> None:
    """Raise for error items about the whole request; leave per-attribute ones to the caller.

    A permanent error wins over a transient one in the same body: retrying cannot fix a bad key.
    """
    transient: TransientBridgeError | None = None
    for item in items:
        error = item.get("error") if isinstance(item, dict) else None
        if not isinstance(error, dict):
            continue
        hue_type = error.get("type")
        if not isinstance(hue_type, int) or hue_type in ATTRIBUTE_ERROR_TYPES:
            continue
        exception = error_for_hue_type(hue_type, str(error.get("description", "")), str(error.get("address", "")))
        if not isinstance(exception, TransientBridgeError):
            raise exception
        transient = transient or exception
    if transient is not None:
        raise transient


def _attribute_result(item: Any) -> AttributeResult:
    if isinstance(item, dict) and isinstance(item.get("success"), dict) and item["success"]:
        address = next(iter(item["success"]))
        return AttributeResult(address=str(address), ok=True)
    if isinstance(item, dict) and isinstance(item.get("error"), dict):
        error = item["error"]
        return AttributeResult(
            address=str(error.get("address", "")),
            ok=False,
            error_type=error["type"] if isinstance(error.get("type"), int) else 0,
            description=str(error.get("description", "")),
        )
    raise BridgeBusy(f"unexpected item in the bridge's answer: {_short(item, 80)}")
