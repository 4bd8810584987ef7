"""The tests' fixtures, registered as a pytest plugin by tests/conftest.py: request them by name."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from devstack.bridge.modes import DEFAULT_MODE
from tests.support import tools
from tests.support.browser import ensure_browser
from tests.support.hue import FakeClock
from tests.support.servers import RunningBridge, serve_simulated_bridge


@pytest.fixture
def clock() -> FakeClock:
    """A monotonic clock that moves only when the code under test sleeps on it."""
    return FakeClock()


@pytest.fixture
def sim(request: pytest.FixtureRequest) -> Iterator[RunningBridge]:
    """A fresh simulated bridge on ephemeral 127.0.0.1 ports, in this process: a gen-2 bridge (HTTPS and
    HTTP) unless a test asks for another mode with `@pytest.mark.parametrize("sim", ["pro"], indirect=True)`."""
    with serve_simulated_bridge(getattr(request, "param", DEFAULT_MODE)) as running:
        yield running


@pytest.fixture(autouse=True)
def _restore_library_logging() -> Iterator[None]:
    """create_function sets up the library's log handlers once per process, as it should in a pod; in a
    test process that would leak retry warnings into later tests that read stderr (the CLI's)."""
    loggers = [logging.getLogger(name) for name in ("huelights", "huelights.invocation", "urllib3")]
    saved = [(logger, list(logger.handlers), logger.level, logger.propagate) for logger in loggers]
    yield
    for logger, handlers, level, propagate in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


@pytest.fixture(scope="module")
def browser_installed() -> None:
    """Headless chromium and Playwright ready (installed when missing, else skipped; failed under CI=true)."""
    ensure_browser()


@pytest.fixture(scope="session")
def kubectl() -> str:
    """kubectl's path for `kubectl kustomize` (skipped without it; failed under CI=true)."""
    return tools.kubectl()
