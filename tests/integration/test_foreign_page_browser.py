"""A hostile web page in a real browser (headless Debian chromium) against the running local stack.

The page is served from another port on 127.0.0.1, as any site open in the developer's browser could be,
and does what issue 12 found working: no-cors `fetch` POSTs with `Content-Type: text/plain` to a function
port, the simulator's admin API, the control API's /fire and the dashboard's fault controls, plus a form
posted into a hidden frame. Afterwards no light, fault or PingSource may have moved.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.wrappers import Response

from devstack.web import WsgiServer
from tests.support.browser import open_page
from tests.support.local_stack import Stack, run_stack

pytestmark = pytest.mark.integration

TOKEN = "foreign-page-token-0123456789"
PAGE = """<!doctype html><html><head><title>cute cats</title></head><body>
<iframe name="sink" style="display:none"></iframe>
<form id="form" method="POST" enctype="text/plain" target="sink" action="{fire}">
  <input name='{{"x":"' value='"}}'></form>
<script>
const attacks = {attacks};
document.getElementById("form").submit();
Promise.all(attacks.map(([url, body]) =>
  fetch(url, {{method: "POST", mode: "no-cors", headers: {{"Content-Type": "text/plain"}}, body}})
    .then(() => "sent", (error) => "failed: " + error)))
  .then((outcomes) => {{ window.outcomes = outcomes; document.title = "done"; }});
</script></body></html>"""


@pytest.fixture
def stack(browser_installed: None, tmp_path: Path) -> Iterator[Stack]:
    with run_stack(tmp_path / "stack.log", TOKEN) as running:
        yield running


def hostile_page(stack: Stack) -> str:
    outage = json.dumps({"mode": "503", "seconds": 60})
    attacks = [
        (stack.url("lights-off") + "/", "{}"),
        (stack.url("bridge") + "/_sim/outage", outage),
        (stack.url("bridge") + "/_sim/lights/1/reachable", json.dumps({"reachable": False})),
        (stack.url("control") + "/fire/lights-off", ""),
        (stack.url("control") + "/api/sim/outage", outage),
    ]
    return PAGE.format(fire=stack.url("control") + "/fire/lights-off", attacks=json.dumps(attacks))


def test_a_page_from_another_origin_moves_nothing(stack: Stack) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # installed by browser_installed

    pages = {"/": "<!doctype html><title>blank</title>", "/attack": hostile_page(stack)}

    def site(environ: dict[str, Any], start_response: Any) -> Any:
        return Response(pages.get(environ["PATH_INFO"], ""), content_type="text/html")(environ, start_response)

    with WsgiServer(site) as evil:
        evil.start()
        with open_page(evil.url) as (page, errors):
            # Not waiting for "load": that waits for the form's frame, i.e. for whatever /fire does.
            page.goto(evil.url + "/attack", wait_until="commit")
            # Refusals are immediate; an accepted attack may take long (a /fire into an outage retries).
            with contextlib.suppress(PlaywrightTimeout):
                page.wait_for_function("document.title === 'done'", timeout=10_000)
            outcomes: list[Any] | None = page.evaluate("window.outcomes || null")
            time.sleep(1)  # the form's post, which nothing awaits
    status = stack.status()
    assert status["deliveries"] == []
    assert status["bridge"]["faults"]["outage"] is None
    lights = stack.lights()
    assert all(state["on"] for state in lights.values()) and lights["1"]["reachable"]
    # The browser did send every one (an opaque answer counts as "sent"): they were refused, not lost.
    assert outcomes == ["sent"] * 5 and errors == []
