"""Headless Debian chromium for the browser tests, driven by Playwright's Python package.

What it needs is installed from the package registries when missing: chromium with apt-get (as root;
otherwise the test is skipped, saying why) and the pinned `playwright` from pyproject.toml with pip.
Playwright's own browser download is never used: it launches /usr/bin/chromium.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import REPO

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
ARTIFACTS = REPO / "test-artifacts"
STEP_MS = 20_000  # any one thing the page should show, at most


def ensure_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(
            f"{CHROMIUM} is missing and cannot be installed here (needs root and apt-get): apt-get install chromium"
        )
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "chromium-install.log"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    started = time.monotonic()
    with log_path.open("w") as log:
        for args, limit in (
            (["apt-get", "update", "-qq"], 180),
            (["apt-get", "install", "-y", "-qq", "chromium"], 420),
        ):
            try:
                subprocess.run(args, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=limit, check=True)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                log.flush()
                pytest.fail(f"{' '.join(args)} failed ({exc}); see {log_path}:\n{log_path.read_text()[-2000:]}")
    print(f"installed chromium with apt-get in {time.monotonic() - started:.0f} s", file=sys.stderr)


def ensure_playwright() -> None:
    if importlib.util.find_spec("playwright") is not None:
        return
    dev = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    pin = next(spec for spec in dev if spec.startswith("playwright=="))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", pin], check=True, timeout=300)


def ensure_browser() -> None:
    """Install (or skip) before any stack starts, so a skipped run starts nothing."""
    ensure_chromium()
    ensure_playwright()


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
