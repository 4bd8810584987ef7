"""The request side through functions-framework's test client: parse failures, unsafe event ids,
errors outside the handler, and answers that functions-framework's after_request hook leaves alone.

Oversized, missing and endless bodies against a real gunicorn: tests/integration/test_hostile_requests.py.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import responses

from tests.support.functions import client, mock_bridge, ping_headers
from tests.support.hue import API, APP_KEY


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Content-Type": "application/json"}, b"[" * 30_000 + b"]" * 30_000),
        ({"Content-Type": "application/cloudevents+json"}, b"[" * 30_000 + b"]" * 30_000),
    ],
    ids=["plain-http", "structured"],
)
def test_deeply_nested_json_is_400_not_a_crash(monkeypatch: pytest.MonkeyPatch, headers: Any, body: bytes) -> None:
    response = client("lights_off", monkeypatch).post("/", headers=headers, data=body)

    assert response.status_code == 400
    assert b"<html" not in response.data.lower()


@pytest.mark.parametrize("event_id", ["line\r\nbreak", "euro \u20ac", "x" * 300])
@responses.activate
def test_an_event_id_unfit_for_a_header_is_not_echoed(monkeypatch: pytest.MonkeyPatch, event_id: str) -> None:
    mock_bridge("lights_off")
    event = {"specversion": "1.0", "id": event_id, "source": "/s", "type": "dev.knative.sources.ping", "data": {}}
    response = client("lights_off", monkeypatch).post(
        "/", headers={"Content-Type": "application/cloudevents+json"}, data=json.dumps(event)
    )

    assert response.status_code == 200
    assert "ce-subject" not in response.headers  # werkzeug headers compare case-insensitively
    assert json.loads(response.data)["result"] == "ok"


@responses.activate
def test_a_safe_event_id_is_still_the_reply_subject(monkeypatch: pytest.MonkeyPatch) -> None:
    mock_bridge("lights_off")
    headers = ping_headers("lights-off")
    response = client("lights_off", monkeypatch).post("/", headers=headers, data=b"{}")

    assert response.headers["ce-subject"] == headers["Ce-Id"]


def test_every_answer_is_streamed_so_the_framework_does_not_read_the_body(monkeypatch: pytest.MonkeyPatch) -> None:
    app = client("lights_off", monkeypatch)
    for response in (app.get("/health/readiness"), app.post("/nowhere"), app.put("/")):
        assert response.is_streamed
        assert response.headers["Content-Length"] == str(len(response.get_data()))


def test_an_error_outside_the_handler_gets_our_answer_and_one_log_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = client("lights_off", monkeypatch)
    capsys.readouterr()
    # functions-framework maps /favicon.ico to its own 404 view, outside our handler.
    response = app.get("/favicon.ico")

    assert response.status_code == 404
    assert response.is_streamed  # (before reading the data, which buffers it)
    assert b"<html" not in response.data.lower()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["status"] == 404


@responses.activate
def test_library_log_records_are_redacted(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    client("lights_off", monkeypatch)
    logging.getLogger("urllib3.connection").warning("Failed to parse headers (url=http://h/api/%s/lights)", APP_KEY)

    captured = capsys.readouterr()
    assert "Failed to parse headers" in captured.err
    assert APP_KEY not in captured.err + captured.out


@responses.activate
def test_outcomes_stay_small_for_a_huge_inventory(monkeypatch: pytest.MonkeyPatch) -> None:
    lights = {str(i): {"name": "n" * 200, "state": {"on": False, "reachable": True}} for i in range(1, 501)}
    responses.put(f"{API}/groups/0/action", json=[{"success": {"/groups/0/action/on": False}}])
    responses.get(f"{API}/lights", json=lights)
    response = client("lights_off", monkeypatch).post("/", headers={"Content-Type": "application/json"}, data=b"{}")

    outcome = json.loads(response.data)
    assert response.status_code == 200
    assert len(outcome["lights"]) == 100
    assert outcome["lights_not_listed"] == 400
    assert len(response.data) < 20_000
