"""Wiring: settings, bridge, runner and request handling for one function, built once per process."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping

import flask

from huelights.actions import action_for
from huelights.api_choice import build_runner
from huelights.bridge import HueBridge
from huelights.config import load_or_exit
from huelights.request_body import finish
from huelights.trigger import FunctionService, invocation_log

Handler = Callable[[flask.Request], flask.Response]


class _ConsoleHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout / sys.stderr is at the time of the record, not at set-up."""

    def __init__(self, stream_name: str) -> None:
        super().__init__()
        self._stream_name = stream_name

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = getattr(sys, self._stream_name)
        super().emit(record)


class _Redact(logging.Filter):
    """Takes the secrets out of a record, tracebacks included, and keeps it to one line of bounded length.

    Libraries quote URLs, and a v1 URL carries the key: urllib3 logs `Failed to parse headers
    (url=http://.../api/<key>/...)` with a traceback for a malformed header line from the bridge.
    """

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and record.name.startswith("huelights"):
            message += "\n" + logging.Formatter().formatException(record.exc_info)
        for secret in self._secrets:
            message = message.replace(secret, "<redacted>")
        record.msg, record.args = message[:MAX_LOG_CHARS], ()
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


MAX_LOG_CHARS = 16384
"""A library's record is cut to this; invocation records are bounded by construction (actions.py)."""


def _configure_logging(secrets: list[str]) -> None:
    """Invocation records go to stdout as bare JSON lines; bridge retries and warnings to stderr.

    Every other library's records (urllib3, requests, cloudevents) pass the same redaction: urllib3's
    through our stderr handler, anything reaching the root logger through a filter on its handlers. Our
    loggers do not propagate, so with LOG_EXECUTION_ID (functions-framework then puts a handler on the
    root logger and wraps stdout) an invocation record is still written once, as one JSON line (with
    functions-framework's execution id label added).
    """
    redact = _Redact(secrets)
    if not invocation_log.handlers:
        handler = _ConsoleHandler("stdout")
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.addFilter(redact)
        invocation_log.addHandler(handler)
        invocation_log.setLevel(logging.INFO)
        invocation_log.propagate = False
    library_log = logging.getLogger("huelights")
    if not library_log.handlers:
        handler = _ConsoleHandler("stderr")
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler.addFilter(redact)
        library_log.addHandler(handler)
        library_log.setLevel(logging.INFO)
        library_log.propagate = False
        urllib3_log = logging.getLogger("urllib3")
        urllib3_log.addHandler(handler)
        urllib3_log.setLevel(logging.WARNING)
        urllib3_log.propagate = False
    root = logging.getLogger()
    if not root.handlers:
        # Else Python's last-resort handler would print other libraries' warnings unredacted.
        fallback = _ConsoleHandler("stderr")
        fallback.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        fallback.setLevel(logging.WARNING)
        root.addHandler(fallback)
    for root_handler in root.handlers:
        if not any(isinstance(existing, _Redact) for existing in root_handler.filters):
            root_handler.addFilter(redact)


def create_function(action_name: str, env: Mapping[str, str] | None = None) -> Handler:
    """The request handler of one function; exits the process at once on a configuration mistake."""
    settings = load_or_exit(os.environ if env is None else env)
    _configure_logging([settings.app_key, settings.trigger_token or ""])
    # Which API (HUE_API) is settled at the first invocation, not here: see api_choice.
    runner = build_runner(settings, HueBridge(settings))
    service = FunctionService(action_for(action_name, settings), settings, runner)
    if flask.has_app_context():
        # functions-framework imports the function inside its app's context: errors raised outside our
        # handler (a method Flask refuses, the framework's request timeout) get our answer, not its page.
        flask.current_app.register_error_handler(
            Exception, lambda error: finish(flask.request, service.answer_error(error))
        )
    return service.handle
