"""Calling a function through functions-framework's test client, with the exact requests its callers send."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import functions_framework
import pytest
import responses

from tests.support.hue import API, APP_KEY, BRIDGE, all_lights, success

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = {"lights_off": "lights-off", "lights_on": "lights-on", "colorloop": "colorloop"}
EXPECTED_COMMAND = {
    "lights_off": {"on": False},
    "lights_on": {"on": True},
    "colorloop": {"on": True, "effect": "colorloop", "sat": 254},
}
READ_BACK = {
    "lights_off": all_lights(on=False),
    "lights_on": all_lights(on=True),
    "colorloop": all_lights(on=True, effect="colorloop", sat=254),
}
TOKEN = "a-long-random-trigger-token-for-tests"
FUNC_INVOKE_DATA = b'{"message":"Hello World"}'


def client(target: str, monkeypatch: pytest.MonkeyPatch, **env: str) -> Any:
    settings = {
        "HUE_BRIDGE": BRIDGE,
        "HUE_APP_KEY": APP_KEY,
        "HUE_TARGET": "all",
        "HUE_GROUP_INTERVAL": "0",
        # The verify delay waits for a real bulb; `responses` answers at once (the delay is tested in
        # tests/test_actions.py on a fake clock and with real processes in tests/integration/).
        "HUE_VERIFY_DELAY": "0",
        "TRIGGER_TOKEN": TOKEN,
        **env,
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return functions_framework.create_app(target, str(ROOT / "functions" / target / "main.py")).test_client()


def ping_headers(source_name: str, with_body: bool = True) -> dict[str, str]:
    """Exactly what Knative's mt-ping adapter sends (reference: events-and-functions-framework.md §1)."""
    headers = {
        "User-Agent": "Go-http-client/1.1",
        "Ce-Id": str(uuid.uuid4()),
        "Ce-Source": f"/apis/v1/namespaces/gohome/pingsources/{source_name}",
        "Ce-Specversion": "1.0",
        "Ce-Time": "2026-11-26T10:30:00.199965391Z",
        "Ce-Type": "dev.knative.sources.ping",
        "Kn-Namespace": "gohome",
        "Accept-Encoding": "gzip",
    }
    if with_body:
        headers["Content-Type"] = "application/json"
    return headers


def func_invoke_cloudevent_headers() -> dict[str, str]:
    return {
        "Ce-Id": str(uuid.uuid4()),
        "Ce-Source": "/boson/fn",
        "Ce-Specversion": "1.0",
        "Ce-Time": "2026-11-26T10:30:00.1Z",
        "Ce-Type": "boson.fn",
        "Content-Type": "application/json",
    }


def mock_bridge(target: str) -> None:
    responses.put(f"{API}/groups/0/action", json=success(("/groups/0/action/on", True)))
    responses.get(f"{API}/lights", json=READ_BACK[target])


def bridge_puts() -> list[tuple[str, Any]]:
    return [
        (c.request.url.removeprefix(API), json.loads(c.request.body))
        for c in responses.calls
        if c.request.method == "PUT"
    ]
