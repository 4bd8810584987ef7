"""Headless Debian chromium for the browser tests, driven by Playwright's Python package.

What it needs is installed from the package registries when missing, once however many workers ask
(tests/support/tools.py): chromium with apt-get (as root; otherwise the test is skipped, saying why, or
fails under CI=true) and the pinned `playwright` from pyproject.toml with pip. Playwright's own browser
download is never used: it launches /usr/bin/chromium.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.tools import ARTIFACTS, apt_install, ensure_module

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # this machine's network is closed: no update or sync probes
    "--disable-component-update",
    "--disable-sync",
]
STEP_MS = 20_000  # any one thing the page should show, at most


def ensure_browser() -> None:
    """Install (or skip; fail under CI=true) before any stack starts, so a skipped run starts nothing."""
    apt_install(["chromium"], CHROMIUM.exists, ARTIFACTS / "chromium-install.log")
    ensure_module("playwright", "playwright")


@contextlib.contextmanager
def open_page(url: str) -> Iterator[tuple[Any, list[str]]]:
    """A 1200x800 page of headless Debian chromium at `url`, and the page's uncaught errors."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.set_default_timeout(STEP_MS)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url)
            yield page, errors
        finally:
            browser.close()
