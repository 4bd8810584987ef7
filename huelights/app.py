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


def _configure_logging() -> None:
    """Invocation records go to stdout as bare JSON lines; bridge retries and warnings to stderr."""
    if not invocation_log.handlers:
        handler = _ConsoleHandler("stdout")
        handler.setFormatter(logging.Formatter("%(message)s"))
        invocation_log.addHandler(handler)
        invocation_log.setLevel(logging.INFO)
        invocation_log.propagate = False
    library_log = logging.getLogger("huelights")
    if not library_log.handlers:
        handler = _ConsoleHandler("stderr")
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        library_log.addHandler(handler)
        library_log.setLevel(logging.INFO)


def create_function(action_name: str, env: Mapping[str, str] | None = None) -> Handler:
    """The request handler of one function; exits the process at once on a configuration mistake."""
    settings = load_or_exit(os.environ if env is None else env)
    _configure_logging()
    # Which API (HUE_API) is settled at the first invocation, not here: see api_choice.
    runner = build_runner(settings, HueBridge(settings))
    return FunctionService(action_for(action_name, settings), settings, runner).handle
