"""HTTP request -> invocation -> HTTP response, for every function.

Three kinds of caller reach the same `@http` entry point: Knative's PingSource (binary CloudEvent),
`func invoke` (binary CloudEvent or plain HTTP) and the Gateway (plain HTTP, stamped by the HTTPRoute
with EXTERNAL_HEADER). A CloudEvent request gets a CloudEvent reply, because behind a Broker/Trigger a
plain body counts as a failed delivery and the lights call would be repeated.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import re
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import flask
from cloudevents.conversion import to_binary
from cloudevents.exceptions import GenericException
from cloudevents.http import CloudEvent, from_http

from huelights.actions import Action, ActionRunner, Outcome
from huelights.bridge import Deadline
from huelights.config import Settings
from huelights.errors import InvalidRequest, shorten
from huelights.request_body import finish, read_body

EXTERNAL_HEADER = "X-Gohome-External"
"""Set by the HTTPRoute on everything that came through the Gateway; such traffic must carry the token."""
OUTCOME_EVENT_TYPE = "dev.gohome.lights.outcome"
HEALTH_PATHS = frozenset({"/health/liveness", "/health/readiness"})
REQUIRED_BINARY_HEADERS = ("ce-specversion", "ce-id", "ce-source", "ce-type")
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
# An event id is echoed as the reply's `ce-subject` only when it is safe in a header: printable ASCII.
# Anything else (CR/LF, non-Latin-1) would break the reply after the lights were switched.
HEADER_SAFE = re.compile(r"[\x20-\x7e]{1,256}")
LOGGED_FIELD_CHARS = 200
BUSY_RETRY_AFTER_SECONDS = 5
TRANSIENT_RETRY_AFTER_SECONDS = 30
# A tick Knative re-delivers (same ce-id) after a slow cold start must not run twice.
RECENT_EVENTS_KEPT = 128
RECENT_EVENTS_TTL_SECONDS = 900.0

invocation_log = logging.getLogger("huelights.invocation")
library_log = logging.getLogger("huelights.trigger")


@dataclass(frozen=True)
class Invocation:
    kind: str
    """`cloudevent-binary`, `cloudevent-structured` or `http`."""
    external: bool
    event: CloudEvent | None = None

    @property
    def event_key(self) -> tuple[str, str] | None:
        return (str(self.event["source"]), str(self.event["id"])) if self.event is not None else None

    def log_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"trigger": self.kind, "external": self.external}
        if self.event is not None:
            fields.update(
                event_id=shorten(str(self.event["id"]), LOGGED_FIELD_CHARS),
                event_source=shorten(str(self.event["source"]), LOGGED_FIELD_CHARS),
                event_type=shorten(str(self.event["type"]), LOGGED_FIELD_CHARS),
            )
        return fields


class FunctionService:
    """One function's request handling: the process-wide state behind a functions-framework target."""

    def __init__(self, action: Action, settings: Settings, runner: ActionRunner) -> None:
        self.action = action
        self.settings = settings
        self.runner = runner
        # One action at a time per process: overlapping callers would interleave commands to the bridge.
        self._busy = threading.Lock()
        self._last_external_end = -math.inf
        self._recent: OrderedDict[tuple[str, str], tuple[float, Outcome]] = OrderedDict()

    def handle(self, request: flask.Request) -> flask.Response:
        """Every request ends here in our answer and (except health checks) one log line."""
        started = time.monotonic()
        try:
            response = self._handle(request, started)
        except Exception as error:
            response = self.answer_error(error, started)
        return finish(request, response)

    def answer_error(self, error: BaseException, started: float | None = None) -> flask.Response:
        """The answer for an exception outside the action (ours or the framework's): one log line, and
        a JSON body instead of functions-framework's HTML page. Registered as the app's error handler."""
        status = getattr(error, "code", None)
        if isinstance(status, int) and 400 <= status < 500:
            message = shorten(f"{getattr(error, 'description', '') or type(error).__name__}", 200)
            self._log({"trigger": "rejected", "status": status, "message": message}, started or time.monotonic())
            return _text(status, message)
        message = self.runner.bridge.redact(shorten(f"internal error: {type(error).__name__}: {error}", 500))
        library_log.error("%s", self.runner.bridge.redact(shorten(traceback.format_exc(), 8000)))
        outcome = Outcome(self.action.name, str(self.settings.target), "permanent", message)
        self._log({"trigger": "error", **outcome.as_dict(), "status": 500}, started or time.monotonic())
        return flask.Response(json.dumps(outcome.as_dict()), 500, mimetype="application/json")

    def _handle(self, request: flask.Request, started: float) -> flask.Response:
        if request.path in HEALTH_PATHS:
            if request.method not in ("GET", "HEAD"):
                return _text(405, "health endpoints answer GET", {"Allow": "GET, HEAD"})
            return _text(200, "ok")
        try:
            invocation = self._admit(request)
        except InvalidRequest as rejection:
            self._log({"trigger": "rejected", "status": rejection.status, "message": str(rejection)}, started)
            return _text(rejection.status, str(rejection), rejection.headers)
        try:
            outcome, duplicate = self._run(invocation)
        except Exception as error:
            # A bug must still end in one log line and an answer in the caller's format, never in
            # functions-framework's HTML crash page (which a Trigger would count as a failed delivery).
            message = self.runner.bridge.redact(f"internal error: {type(error).__name__}: {error}")
            library_log.error("%s", self.runner.bridge.redact(traceback.format_exc()))
            outcome, duplicate = Outcome(self.action.name, str(self.settings.target), "permanent", message), False
        status, headers = self._status(invocation, outcome)
        self._log({**invocation.log_fields(), **outcome.as_dict(), "status": status, "duplicate": duplicate}, started)
        return self._respond(invocation, outcome, status, headers)

    def _admit(self, request: flask.Request) -> Invocation:
        """Check path, method, size, token and body; return what kind of invocation this is."""
        if request.path != "/":
            raise InvalidRequest(f"no such path {shorten(request.path)!r}; POST / to run {self.action.name}", 404)
        if request.method != "POST":
            raise InvalidRequest(f"method {shorten(request.method)} not allowed; use POST", 405, {"Allow": "POST"})
        external = EXTERNAL_HEADER in request.headers  # werkzeug headers compare case-insensitively
        if external:
            self._authorize(request.headers.get("Authorization", ""))
        body = read_body(request, self.settings.max_body_bytes)
        headers = {name.lower(): value for name, value in request.headers.items()}
        if any(name.startswith("ce-") for name in headers):
            missing = [name for name in REQUIRED_BINARY_HEADERS if not headers.get(name)]
            if missing:
                raise InvalidRequest(f"binary CloudEvent is missing header(s): {', '.join(missing)}")
            return Invocation("cloudevent-binary", external, _parse_event(headers, body))
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == BATCH_CONTENT_TYPE:
            raise InvalidRequest("batched CloudEvents are not supported; send one event per request")
        if content_type == STRUCTURED_CONTENT_TYPE:
            try:
                json.loads(body)
            except (ValueError, RecursionError):
                raise InvalidRequest("structured CloudEvent body is not valid JSON") from None
            return Invocation("cloudevent-structured", external, _parse_event(headers, body))
        _require_json_or_empty(body, "request body")
        return Invocation("http", external)

    def _authorize(self, authorization: str) -> None:
        if self.settings.trigger_token is None:
            raise InvalidRequest("external triggers are disabled: the function has no TRIGGER_TOKEN configured", 403)
        challenge = {"WWW-Authenticate": 'Bearer realm="huelights"'}
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidRequest("external trigger needs 'Authorization: Bearer <token>'", 401, challenge)
        if not hmac.compare_digest(token.strip().encode(), self.settings.trigger_token.encode()):
            raise InvalidRequest(
                "external trigger token is wrong",
                401,
                {"WWW-Authenticate": 'Bearer realm="huelights", error="invalid_token"'},
            )

    def _run(self, invocation: Invocation) -> tuple[Outcome, bool]:
        # Waiting for a running invocation counts against this one's budget, so that the whole request
        # still ends within Knative's timeout.
        deadline = Deadline(self.settings.budget_seconds)
        if invocation.external:
            # A burst from outside gets a quick 429 instead of queueing work for the bridge: while an action
            # runs, and for a cool-down after each external one (Knative's containerConcurrency 1 queues a
            # burst in front of the function, so the lock alone would only see one request at a time).
            if self._cooldown_left() > 0:
                return self._busy_outcome(), False
            acquired = self._busy.acquire(blocking=False)
        else:
            acquired = self._busy.acquire(timeout=deadline.remaining())
        if not acquired:
            return self._busy_outcome(), False
        try:
            key = invocation.event_key
            if key is not None and (earlier := self._earlier_success(key)) is not None:
                return earlier, True
            outcome = self.runner.run(self.action, self.settings.target, deadline.remaining())
            if key is not None and outcome.result == "ok":
                self._remember(key, outcome)
            if invocation.external:
                self._last_external_end = time.monotonic()
            return outcome, False
        finally:
            self._busy.release()

    def _cooldown_left(self) -> float:
        return self._last_external_end + self.settings.external_cooldown_seconds - time.monotonic()

    def _busy_outcome(self) -> Outcome:
        message = f"{self.action.name} is running or has just run; try again later"
        return Outcome(self.action.name, str(self.settings.target), "busy", message)

    def _earlier_success(self, key: tuple[str, str]) -> Outcome | None:
        now = time.monotonic()
        while self._recent and now - next(iter(self._recent.values()))[0] > RECENT_EVENTS_TTL_SECONDS:
            self._recent.popitem(last=False)
        entry = self._recent.get(key)
        return entry[1] if entry is not None else None

    def _remember(self, key: tuple[str, str], outcome: Outcome) -> None:
        self._recent[key] = (time.monotonic(), outcome)
        while len(self._recent) > RECENT_EVENTS_KEPT:
            self._recent.popitem(last=False)

    def _status(self, invocation: Invocation, outcome: Outcome) -> tuple[int, dict[str, str]]:
        """The HTTP status and extra headers for an outcome: busy is 429 for callers from outside."""
        if outcome.result == "busy":
            cooldown = self._cooldown_left() if invocation.external else 0.0
            retry_after = math.ceil(cooldown) if cooldown > 0 else BUSY_RETRY_AFTER_SECONDS
            return (429 if invocation.external else 503), {"Retry-After": str(retry_after)}
        if outcome.http_status == 503:
            return 503, {"Retry-After": str(TRANSIENT_RETRY_AFTER_SECONDS)}
        return outcome.http_status, {}

    def _respond(
        self, invocation: Invocation, outcome: Outcome, status: int, headers: dict[str, str]
    ) -> flask.Response:
        if invocation.event is None:
            return flask.Response(json.dumps(outcome.as_dict()), status, headers, mimetype="application/json")
        attributes = {
            "type": OUTCOME_EVENT_TYPE,
            "source": f"/gohome/huelights/{self.action.name}",
            "datacontenttype": "application/json",
        }
        event_id = str(invocation.event["id"])
        if HEADER_SAFE.fullmatch(event_id):
            attributes["subject"] = event_id
        reply = CloudEvent(attributes, outcome.as_dict())
        reply_headers, body = to_binary(reply)
        return flask.Response(body, status, {**reply_headers, **headers})

    def _log(self, fields: Mapping[str, Any], started: float) -> None:
        record = {"action": self.action.name, **fields}
        record.setdefault("duration_ms", round((time.monotonic() - started) * 1000))
        invocation_log.info(self.runner.bridge.redact(json.dumps(record, default=str)))


def _parse_event(headers: Mapping[str, str], body: bytes) -> CloudEvent:
    try:
        event = from_http(dict(headers), body)
    except GenericException as error:
        raise InvalidRequest(f"malformed CloudEvent: {str(error)[:200]}") from None
    except (ValueError, TypeError, RecursionError) as error:
        raise InvalidRequest(f"malformed CloudEvent ({type(error).__name__})") from None
    data = event.data
    if isinstance(data, str | bytes):
        _require_json_or_empty(data.encode() if isinstance(data, str) else data, "CloudEvent data")
    return event


def _require_json_or_empty(body: bytes, what: str) -> None:
    if not body.strip():
        return
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        # RecursionError: a few KB of `[[[[...` nest deeper than the parser's recursion limit.
        raise InvalidRequest(f"{what} must be empty or JSON") from None


def _text(status: int, message: str, headers: Mapping[str, str] | None = None) -> flask.Response:
    return flask.Response(message + "\n", status, dict(headers or {}), mimetype="text/plain")
