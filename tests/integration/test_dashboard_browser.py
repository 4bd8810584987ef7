"""The dashboard in a real browser: Debian's chromium, driven by Playwright's Python package, against the
whole local stack started as processes (python -m devstack) on an offset block of ports on 127.0.0.1.

Open the page, check that its fault menus are faults.py's lists, fire the 22:30 schedule and see every swatch
go dark; fire 05:35 and see the colour swatches cycle (the white bulb stays white), each light with the effect
it got and the API that set it (prism via v2 on lights 1-2, colorloop via v1 on the Bloom); power-cycle a bulb
from the page and watch the next 05:35 bring it back; press the external trigger with and without the token
and see 200 and 401. Screenshots go to test-artifacts/ (git-ignored); with UPDATE_SCREENSHOT=1 the last one
also replaces docs/dashboard.png, the picture in docs/local-stack.md.

What it needs is installed from the package registries when missing: chromium with apt-get (as root;
otherwise the test is skipped, saying why) and the pinned `playwright` from pyproject.toml with pip.
Playwright's own browser download is never used: it launches /usr/bin/chromium.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.bridge.faults import FAULT_KINDS, OUTAGE_MODES
from tests.support.browser import ARTIFACTS, open_page
from tests.support.local_stack import Stack, run_stack
from tests.support.servers import (
    PYTHON,
    REPO,
    free_port,
    start_process,
    stop_process_group,
    wait_for_http,
)

pytestmark = pytest.mark.integration

README_SCREENSHOT = REPO / "docs" / "dashboard.png"
TOKEN = "dashboard-browser-token-0123456789"
DARK = 16  # every channel at or below this: a light that is off


@pytest.fixture
def stack(browser_installed: None, tmp_path: Path) -> Iterator[Stack]:
    with run_stack(tmp_path / "stack.log", TOKEN) as running:
        yield running


@pytest.fixture
def real_bridge_stack(browser_installed: None, tmp_path: Path) -> Iterator[Stack]:
    """The stack driving a "real" bridge: a simulator in its own process, which the stack knows nothing about."""
    port, key = free_port(), "a-real-bridge-key-0123456789abcdef"
    args = [PYTHON, "-m", "devstack.bridge", "--port", str(port), "--app-key", key]
    bridge = start_process(args, tmp_path / "bridge.log")
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/config", timeout=30, proc=bridge)
        bridge_env = {"HUE_BRIDGE": f"http://127.0.0.1:{port}", "HUE_APP_KEY": key}
        with run_stack(tmp_path / "stack.log", TOKEN, bridge_env=bridge_env) as running:
            yield running
    finally:
        stop_process_group(bridge, timeout=5)


SWATCHES = "() => Array.from(document.querySelectorAll('.swatch')).map(s => getComputedStyle(s).backgroundColor)"
ALL_DARK = f"""() => {{
  const colours = ({SWATCHES})();
  return colours.length === 4 && colours.every(c => c.match(/\\d+/g).slice(0, 3).every(v => Number(v) <= {DARK}));
}}"""


def rgb(css: str) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in re.findall(r"\d+", css)[:3])
    return (r, g, b)


def swatches(page: Any) -> list[tuple[int, int, int]]:
    return [rgb(c) for c in page.evaluate(SWATCHES)]


def fire(page: Any, source: str) -> str:
    page.click(f"button[data-fire='{source}']")
    page.wait_for_function(
        f"() => document.querySelector('#fire-result').textContent.startsWith('{source}: HTTP')", timeout=60_000
    )
    text: str = page.text_content("#fire-result")
    return text


def looping_ids(page: Any) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(".light.looping", "cards => cards.map(c => c.dataset.lightId)")
    return ids


def badges(page: Any) -> dict[str, tuple[str | None, str | None]]:
    """Light id -> (effect badge, API badge) as the page shows them."""
    shown: list[list[Any]] = page.eval_on_selector_all(
        ".light",
        """cards => cards.map(c => [c.dataset.lightId,
            c.querySelector('.badge.effect')?.textContent ?? null,
            c.querySelector('.badge.api')?.textContent ?? null])""",
    )
    return {light_id: (effect, api) for light_id, effect, api in shown}


def menu(page: Any, select: str) -> list[str]:
    values: list[str] = page.eval_on_selector_all(f"{select} option", "options => options.map(o => o.value)")
    return values


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    return path


def test_dashboard_in_headless_chromium(stack: Stack) -> None:
    with open_page(stack.url("control")) as (page, errors):
        try:
            walk_through_a_morning(page)
        except Exception:
            screenshot(page, "dashboard-failure.png")
            raise
        final = screenshot(page, "dashboard.png")
        if os.environ.get("UPDATE_SCREENSHOT") == "1":
            shutil.copyfile(final, README_SCREENSHOT)
    assert errors == [], errors
    assert TOKEN not in stack.log.read_text()


def test_with_a_real_bridge_the_page_is_a_read_only_view(real_bridge_stack: Stack) -> None:
    with open_page(real_bridge_stack.url("control")) as (page, errors):
        try:
            page.wait_for_function(f"() => ({SWATCHES})().length === 4")
            mode = page.text_content("#mode")
            assert mode.startswith("real bridge http://127.0.0.1:") and mode.endswith("read-only")
            assert not page.is_visible("#faults-section") and page.is_visible("#real-note")
            assert page.eval_on_selector_all(".light-actions", "rows => rows.filter(r => !r.hidden).length") == 0
            assert all(max(colour) > 200 for colour in swatches(page))
            # The functions still drive the bridge; the page shows what they did.
            assert fire(page, "lights-off").startswith("lights-off: HTTP 200")
            page.wait_for_function(ALL_DARK, timeout=10_000)  # the dashboard re-reads a real bridge every 2 s
        except Exception:
            screenshot(page, "dashboard-real-bridge-failure.png")
            raise
        screenshot(page, "dashboard-real-bridge.png")
    assert errors == [], errors


def walk_through_a_morning(page: Any) -> None:
    page.wait_for_function(f"() => ({SWATCHES})().length === 4")
    assert page.text_content("#mode") == "simulated bridge"
    assert page.is_visible("#faults-section") and not page.is_visible("#real-note")
    page.wait_for_function("() => document.querySelectorAll('#schedules tbody tr').length === 3")
    schedules = page.inner_text("#schedules")
    assert "30 22 * * *" in schedules and "35 5 * * *" in schedules and "America/Toronto" in schedules
    assert all(max(colour) > 200 for colour in swatches(page))  # the seed: every bulb on, warm white
    # The fault menus are devstack/bridge/faults.py's lists, in its order; the page carries no copy.
    page.wait_for_function("() => document.querySelectorAll('#fail-kind option').length > 0")
    assert menu(page, "#fail-kind") == list(FAULT_KINDS) and menu(page, "#outage-mode") == list(OUTAGE_MODES)
    assert page.get_attribute("#fail-kind option[value='partial']", "title") == FAULT_KINDS["partial"]

    # 22:30: every swatch goes dark.
    assert fire(page, "lights-off").startswith("lights-off: HTTP 200")
    page.wait_for_function(ALL_DARK)
    assert page.eval_on_selector_all(".light.off", "cards => cards.length") == 4
    page.wait_for_selector("#invocations tbody tr:has-text('lights_off'):has-text('PingSource lights-off')")
    screenshot(page, "dashboard-lights-off.png")

    # 05:35: the colour bulbs come on looping, and the swatches cycle; the white bulb is on, plain white.
    assert fire(page, "colorloop").startswith("colorloop: HTTP 200")
    page.wait_for_function("() => document.querySelectorAll('.light.looping').length === 3")
    assert looping_ids(page) == ["1", "2", "3"]
    page.wait_for_function(f"() => ({SWATCHES})()[3] === 'rgb(255, 207, 119)'")  # after its fade-in
    samples = []
    for _ in range(4):
        samples.append(swatches(page))
        time.sleep(0.6)
    for index in range(3):
        seen = {sample[index] for sample in samples}
        assert len(seen) >= 3, f"swatch {index + 1} did not cycle: {seen}"
        assert all(max(colour) > 100 for colour in seen)
    assert {sample[3] for sample in samples} == {rgb("rgb(255, 207, 119)")}  # 2700 K, steady
    page.wait_for_selector("#invocations tbody tr:has-text('Hallway bulb: skipped')")
    # Each light says which effect it is in and which API set it: prism through v2 where the light offers it,
    # v1 colorloop on the Bloom (no v2 effects); the white bulb has no effect.
    assert badges(page) == {
        "1": ("prism", "via v2"),
        "2": ("prism", "via v2"),
        "3": ("colorloop", "via v1"),
        "4": (None, "via v2"),
    }
    colorloop_row = "#invocations tbody tr:has-text('colorloop'):has-text('PingSource colorloop')"
    row = page.inner_text(colorloop_row)
    assert "CLIP v2" in row and "Sofa lamp: ok · prism" in row and "Bloom: ok · colorloop" in row

    # A wall switch cycles bulb 2: it comes back warm white, no loop; the next 05:35 brings it back.
    page.click(".light[data-light-id='2'] button:has-text('power-cycle')")
    page.wait_for_function("() => !document.querySelector(\".light[data-light-id='2']\").classList.contains('looping')")
    assert fire(page, "colorloop").startswith("colorloop: HTTP 200")
    page.wait_for_function("() => document.querySelectorAll('.light.looping').length === 3")

    # The external trigger through the gateway: with the token it runs, without it the function says 401.
    page.click("#external-with-token")
    page.wait_for_function("() => document.querySelector('#external-result').textContent.includes('HTTP 200')")
    page.click("#external-without-token")
    page.wait_for_function("() => document.querySelector('#external-result').textContent.includes('HTTP 401')")
    result = page.text_content("#external-result")
    assert "without token" in result and "WWW-Authenticate: Bearer" in result
    page.wait_for_selector("#invocations tbody tr:has-text('rejected'):has-text('401')")
    page.mouse.move(0, 0)
