"""Hue CLIP v1 client: timeouts, body-level error parsing, bounded retries with jitter, and pacing.

A v1 bridge answers HTTP 200 for most failures and puts a list of `success` / `error` items in the
body, one per attribute, so every body is read item by item. Errors about the whole request (bad key,
unknown resource, internal error 901) raise; errors about one attribute of one light (6, 7, 8, 201) are
returned to the caller, because the rest of that PUT was applied and the action decides what they mean.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from huelights.config import Settings
from huelights.errors import (
    ATTRIBUTE_ERROR_TYPES,
    BridgeBusy,
    BridgeRejected,
    BridgeUnreachable,
    BudgetExhausted,
    PermanentBridgeError,
    TransientBridgeError,
    error_for_hue_type,
)

if TYPE_CHECKING:
    import requests

Clock = Callable[[], float]
Sleep = Callable[[float], None]
PaceKind = Literal["light", "group"]
"""Which rate limit a command counts against: ~10 light commands/s, ~1 group command/s, whatever the API."""

# Backoff between attempts of one call: 0.25 s, 0.5 s, 1 s, ... capped, each scaled by a random factor
# in [0.5, 1) so that three functions retrying against one bridge do not stay in lockstep.
BACKOFF_BASE_SECONDS = 0.25
BACKOFF_CAP_SECONDS = 4.0


class Deadline:
    """The end of an invocation's time budget, on a monotonic clock."""

    def __init__(self, seconds: float, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._expires_at = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self._expires_at - self._clock())


class Pacer:
    """Keeps commands of one kind at least `interval` seconds apart, across threads.

    Each caller reserves the next free slot under the lock and sleeps outside it, so the spacing holds
    even when a retried PingSource tick and an external call overlap in one process.
    """

    def __init__(self, interval: float, clock: Clock, sleep: Sleep) -> None:
        self._interval = interval
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot = 0.0

    def wait_for_slot(self, deadline: Deadline) -> None:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            if slot - now >= deadline.remaining():
                raise BudgetExhausted("time budget spent waiting for the bridge's rate limit")
            self._next_slot = slot + self._interval
        if slot > now:
            self._sleep(slot - now)


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
        self._session = session
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        self._light_pacer = Pacer(settings.light_interval, clock, sleep)
        self._group_pacer = Pacer(settings.group_interval, clock, sleep)
        self._count_lock = threading.Lock()
        self.requests_sent = 0
        self.log = logging.getLogger(f"huelights.bridge.{settings.bridge_url.split('://', 1)[1]}")

    @property
    def session(self) -> requests.Session:
        """Created on first use, not at import: functions-framework imports the function before gunicorn
        forks, and requests (with urllib3) would then start, and sit in memory, in both processes."""
        if self._session is None:
            from huelights.session import make_session

            self._session = make_session(self._settings)
        return self._session

    def redact(self, text: str) -> str:
        """Remove the application key from text that may quote a URL (requests' errors do)."""
        key = self._settings.app_key
        return text.replace(key, "<app-key>") if key else text

    def get(self, resource: str, deadline: Deadline) -> Any:
        """GET /api/<key>/<resource> and return the JSON; raises on any error item."""
        return self._call("GET", resource, None, deadline, pacer=None)

    def public_config(self, deadline: Deadline) -> dict[str, Any]:
        """GET /api/config: bridge id, model and software version; needs no key."""
        payload = self._call("GET", "/api/config", None, deadline, pacer=None)
        if not isinstance(payload, dict):
            raise BridgeBusy(f"GET /api/config: expected an object, got {type(payload).__name__}")
        return payload

    def create_app_key(self, device_type: str, deadline: Deadline) -> str:
        """POST /api: a new application key, or LinkButtonNotPressed (error 101) until the button is pressed."""
        payload = self._call("POST", "/api", {"devicetype": device_type}, deadline, pacer=None)
        for item in payload if isinstance(payload, list) else []:
            username = item.get("success", {}).get("username") if isinstance(item, dict) else None
            if isinstance(username, str) and username:
                return username
        raise BridgeBusy("POST /api: the bridge answered without a new key")

    def put(self, resource: str, body: Mapping[str, Any], deadline: Deadline) -> list[AttributeResult]:
        """PUT a light state or group action; returns one result per attribute."""
        pacer = self._group_pacer if resource.startswith("groups/") else self._light_pacer
        payload = self._call("PUT", resource, dict(body), deadline, pacer=pacer)
        if not isinstance(payload, list):
            raise BridgeBusy(f"PUT {resource}: expected a list of results, got {type(payload).__name__}")
        return [_attribute_result(item) for item in payload]

    # --- The generic call (issue 14: CLIP v2 speaks through it; issue 12's transport is to provide it) ---
    def request(
        self, method: str, path: str, body: Mapping[str, Any] | None, deadline: Deadline, pace_kind: PaceKind | None
    ) -> tuple[int, bytes]:
        """One call to an absolute path (`/clip/v2/resource/light`) with the `hue-application-key` header and
        a JSON body; the same pacers (both APIs drive one Zigbee network), budget and bounded retries as v1.

        Retried: connection failures, timeouts, HTTP 429 and 5xx, and a 2xx whose body is not JSON (an
        overloaded bridge's HTML page). Returned: every other answer, as status and raw body; the caller
        reads the API's own envelope. Raises TransientBridgeError subclasses when the retries or the
        budget run out.
        """
        pacer = {"light": self._light_pacer, "group": self._group_pacer, None: None}[pace_kind]
        answer = self._call(method, path, dict(body) if body is not None else None, deadline, pacer, raw=True)
        return cast("tuple[int, bytes]", answer)

    def _call(
        self,
        method: str,
        resource: str,
        body: dict[str, Any] | None,
        deadline: Deadline,
        pacer: Pacer | None,
        *,
        raw: bool = False,
    ) -> Any:
        attempts = self._settings.max_attempts
        last_error: TransientBridgeError | None = None
        for attempt in range(1, attempts + 1):
            try:
                if pacer is not None:
                    pacer.wait_for_slot(deadline)
                return self._send_once(method, resource, body, deadline, raw=raw)
            except BudgetExhausted:
                if last_error is None:
                    raise
                # Report what kept failing, not merely that time ran out.
                raise type(last_error)(f"{last_error} (time budget spent after {attempt - 1} attempts)") from None
            except TransientBridgeError as error:
                if attempt == attempts:
                    raise type(error)(f"{error} (gave up after {attempts} attempts)") from None
                last_error = error
                delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
                delay *= 0.5 + self._jitter() / 2
                if delay >= deadline.remaining():
                    raise type(error)(f"{error} (time budget spent after {attempt} attempts)") from None
                self.log.warning("%s; retry %d/%d in %.2fs", error, attempt, attempts, delay)
                self._sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")

    def _send_once(
        self, method: str, resource: str, body: dict[str, Any] | None, deadline: Deadline, *, raw: bool = False
    ) -> Any:
        import requests  # loaded by the first call (see `session`); a dictionary lookup after that

        remaining = deadline.remaining()
        if remaining <= 0:
            raise BudgetExhausted(f"time budget spent before {method} {resource}")
        timeout = (
            min(self._settings.connect_timeout, remaining),
            min(self._settings.read_timeout, remaining),
        )
        # `resource` is relative to the authenticated API root, or an absolute path such as `/api/config`.
        path = resource if resource.startswith("/") else f"/api/{self._settings.app_key}/{resource}"
        url = self._settings.bridge_url + path
        headers = {"hue-application-key": self._settings.app_key} if raw else None
        with self._count_lock:
            self.requests_sent += 1
        try:
            response = self.session.request(
                method, url, json=body, headers=headers, timeout=timeout, allow_redirects=False
            )
        except requests.exceptions.SSLError as error:
            raise PermanentBridgeError(
                f"TLS verification of the bridge failed (check HUE_CA_BUNDLE and HUE_BRIDGE_ID): "
                f"{self.redact(str(error))}"
            ) from None
        except requests.Timeout:
            raise BridgeUnreachable(f"{method} {resource}: no answer within {timeout[1]:.1f}s") from None
        except requests.ConnectionError as error:
            raise BridgeUnreachable(f"{method} {resource}: cannot reach the bridge ({_reason(error)})") from None
        except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema) as error:
            raise PermanentBridgeError(f"HUE_BRIDGE does not make a valid URL ({type(error).__name__})") from None
        except requests.RequestException as error:
            # E.g. ChunkedEncodingError: the connection broke in the middle of the answer, as an overloaded
            # bridge's does. Worth another attempt like any other reset.
            raise BridgeUnreachable(f"{method} {resource}: the answer broke off ({type(error).__name__})") from None
        return _raw_answer(method, resource, response) if raw else self._parse(method, resource, response)

    def _parse(self, method: str, resource: str, response: requests.Response) -> Any:
        status = response.status_code
        if 300 <= status < 400:
            location = self.redact(response.headers.get("Location", "?"))
            raise BridgeRejected(
                f"{method} {resource}: the bridge redirects to {location}; "
                "set HUE_BRIDGE to that scheme (a Hue Bridge Pro serves v1 only on https://)"
            )
        if status == 429 or status >= 500:
            raise BridgeBusy(f"{method} {resource}: HTTP {status} from the bridge")
        if status >= 400:
            raise BridgeRejected(f"{method} {resource}: HTTP {status} from the bridge")
        try:
            payload = response.json()
        except ValueError:
            # Overloaded bridges answer with their web server's HTML error page, even at 200.
            raise BridgeBusy(f"{method} {resource}: the bridge answered with a body that is not JSON") from None
        if isinstance(payload, list):
            _raise_request_errors(payload)
        return payload


def _raw_answer(method: str, path: str, response: requests.Response) -> tuple[int, bytes]:
    """The generic call's answer: overload raises (to be retried), anything else goes to the caller."""
    status = response.status_code
    if status == 429 or status >= 500:
        raise BridgeBusy(f"{method} {path}: HTTP {status} from the bridge")
    content = response.content
    if 200 <= status < 300:
        try:
            json.loads(content)
        except ValueError:
            raise BridgeBusy(f"{method} {path}: HTTP {status} with a body that is not JSON") from None
    return status, content


def _reason(error: Exception) -> str:
    """A short cause for a connection error, without the URL (which carries the key)."""
    cause: BaseException | None = error
    while cause is not None and cause.__context__ is not None and not isinstance(cause, OSError):
        cause = cause.__context__
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, ConnectionResetError):
        return "connection reset"
    text = str(error)
    for marker in ("Connection refused", "Connection reset", "Name or service not known", "No route to host"):
        if marker in text:
            return marker.lower()
    return type(error).__name__


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
    raise BridgeBusy(f"unexpected item in the bridge's answer: {str(item)[:80]}")
