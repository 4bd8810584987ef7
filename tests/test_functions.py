"""Each function through functions-framework's test client, with the exact requests its callers send."""

from __future__ import annotations

import json

import pytest
import responses
from cloudevents.conversion import to_structured
from cloudevents.http import CloudEvent, from_http

from tests.support.functions import (
    EXPECTED_COMMAND,
    FUNC_INVOKE_DATA,
    FUNCTIONS,
    TOKEN,
    bridge_puts,
    client,
    func_invoke_cloudevent_headers,
    mock_bridge,
    ping_headers,
)
from tests.support.hue import API, APP_KEY, hue_error


@pytest.mark.parametrize("target", FUNCTIONS)
@pytest.mark.parametrize("with_body", [True, False], ids=["data+json", "no-data"])
@responses.activate
def test_pingsource_event_runs_the_action_and_gets_a_cloudevent_reply(
    target: str, with_body: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock_bridge(target)
    headers = ping_headers(FUNCTIONS[target], with_body)
    response = client(target, monkeypatch).post("/", headers=headers, data=b'{"scheduled": true}' if with_body else b"")

    assert response.status_code == 200, response.data
    assert bridge_puts() == [("/groups/0/action", EXPECTED_COMMAND[target])]
    reply = from_http(dict(response.headers), response.data)
    assert reply["type"] == "dev.gohome.lights.outcome"
    assert reply["subject"] == headers["Ce-Id"]
    assert reply.data["result"] == "ok" and set(reply.data["lights"]) == {"1", "2", "3", "4"}


@pytest.mark.parametrize("target", FUNCTIONS)
@responses.activate
def test_func_invoke_http_format_gets_the_outcome_as_json(target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    mock_bridge(target)
    response = client(target, monkeypatch).post(
        "/", headers={"Content-Type": "application/json"}, data=FUNC_INVOKE_DATA
    )
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json()["action"] == target
    assert bridge_puts() == [("/groups/0/action", EXPECTED_COMMAND[target])]


@pytest.mark.parametrize("target", FUNCTIONS)
@responses.activate
def test_func_invoke_cloudevent_format(target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    mock_bridge(target)
    response = client(target, monkeypatch).post("/", headers=func_invoke_cloudevent_headers(), data=FUNC_INVOKE_DATA)
    assert response.status_code == 200
    assert response.headers["Ce-Type"] == "dev.gohome.lights.outcome"
    assert bridge_puts() == [("/groups/0/action", EXPECTED_COMMAND[target])]


@responses.activate
def test_structured_cloudevent_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    mock_bridge("colorloop")
    event = CloudEvent({"type": "boson.fn", "source": "/boson/fn"}, {"message": "Hello World"})
    headers, body = to_structured(event)
    response = client("colorloop", monkeypatch).post("/", headers=headers, data=body)
    assert response.status_code == 200
    assert bridge_puts() == [("/groups/0/action", EXPECTED_COMMAND["colorloop"])]


@pytest.mark.parametrize("path", ["/health/liveness", "/health/readiness"])
@responses.activate
def test_health_endpoints_answer_without_touching_the_bridge(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    response = client("lights_off", monkeypatch).get(path)
    assert response.status_code == 200
    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 405),
        ("PUT", "/", 405),
        ("DELETE", "/", 405),
        ("POST", "/anything", 404),
        ("POST", "/health/liveness", 405),
    ],
)
@responses.activate
def test_wrong_method_or_path_changes_nothing(
    method: str, path: str, status: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = client("lights_off", monkeypatch).open(path, method=method)
    assert response.status_code == status
    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    ("headers", "body", "message"),
    [
        ({"Ce-Id": "1", "Ce-Source": "/s", "Ce-Specversion": "1.0"}, b"", "ce-type"),
        ({"Ce-Type": "t"}, b"", "ce-specversion, ce-id, ce-source"),
        ({"Ce-Id": "1", "Ce-Source": "/s", "Ce-Type": "t", "Ce-Specversion": "9.9"}, b"", "malformed CloudEvent"),
        ({"Content-Type": "application/cloudevents+json"}, b"{not json", "not valid JSON"),
        (
            {"Content-Type": "application/cloudevents+json"},
            b'{"specversion": "1.0", "id": "1"}',
            "malformed CloudEvent",
        ),
        ({"Content-Type": "text/plain"}, b"lights please", "must be empty or JSON"),
        ({**func_invoke_cloudevent_headers(), "Content-Type": "text/plain"}, b"not json", "must be empty or JSON"),
    ],
)
@responses.activate
def test_malformed_requests_get_400_naming_the_problem(
    headers: dict[str, str], body: bytes, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = client("colorloop", monkeypatch).post("/", headers=headers, data=body)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert len(responses.calls) == 0


@responses.activate
def test_body_over_the_limit_is_413(monkeypatch: pytest.MonkeyPatch) -> None:
    response = client("colorloop", monkeypatch, MAX_BODY_BYTES="2048").post(
        "/", headers={"Content-Type": "application/json"}, data=b"[" + b"1," * 2000 + b"1]"
    )
    assert response.status_code == 413
    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    ("authorization", "status"),
    [(None, 401), ("Bearer wrong-token-wrong-token", 401), (f"Basic {TOKEN}", 401), (f"Bearer {TOKEN}", 200)],
)
@responses.activate
def test_gateway_traffic_needs_the_bearer_token(
    authorization: str | None, status: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock_bridge("colorloop")
    headers = {"X-Gohome-External": "colorloop.lab"}
    if authorization:
        headers["Authorization"] = authorization
    response = client("colorloop", monkeypatch).post("/", headers=headers)
    assert response.status_code == status
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert len(responses.calls) == 0


@responses.activate
def test_gateway_traffic_is_refused_when_no_token_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRIGGER_TOKEN", raising=False)
    response = client("colorloop", monkeypatch, TRIGGER_TOKEN="").post(
        "/", headers={"X-Gohome-External": "1", "Authorization": "Bearer anything-at-all-here"}
    )
    assert response.status_code == 403
    assert len(responses.calls) == 0


@responses.activate
def test_a_redelivered_tick_does_not_run_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    mock_bridge("lights_off")
    app = client("lights_off", monkeypatch)
    headers = ping_headers("lights-off")
    first = app.post("/", headers=headers, data=b"{}")
    second = app.post("/", headers=headers, data=b"{}")
    assert (first.status_code, second.status_code) == (200, 200)
    assert len(bridge_puts()) == 1


@responses.activate
def test_transient_bridge_failure_is_503_with_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("huelights.transport.BACKOFF_BASE_SECONDS", 0.0)  # the backoff is tested in test_bridge.py
    for _ in range(3):
        responses.put(f"{API}/groups/0/action", status=503)
    response = client("lights_on", monkeypatch, HUE_MAX_ATTEMPTS="3").post(
        "/", headers=ping_headers("lights-on"), data=b"{}"
    )
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert len(responses.calls) == 3


@responses.activate
def test_rejected_key_is_500_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    responses.put(f"{API}/groups/0/action", json=[hue_error(1, "/groups/0/action", "unauthorized user")])
    response = client("lights_on", monkeypatch).post("/", headers={"Content-Type": "application/json"}, data=b"{}")
    assert response.status_code == 500
    assert "HUE_APP_KEY was rejected" in response.get_json()["message"]


@responses.activate
def test_one_json_log_line_per_invocation_without_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    mock_bridge("colorloop")
    app = client("colorloop", monkeypatch)
    capsys.readouterr()
    headers = ping_headers("colorloop")
    app.post("/", headers={**headers, "Authorization": f"Bearer {TOKEN}"}, data=b"{}")

    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(lines) == 1
    record = lines[0]
    assert record["action"] == "colorloop" and record["trigger"] == "cloudevent-binary"
    assert record["event_id"] == headers["Ce-Id"] and record["event_source"].endswith("/pingsources/colorloop")
    assert record["bridge_requests"] == 2 and record["status"] == 200
    assert set(record["lights"]["4"]) == {"name", "status", "effect", "detail"}
    assert record["api"] == "v1", "an http:// bridge is spoken to over v1 without asking"
    assert isinstance(record["duration_ms"], int)
    assert APP_KEY not in out + err and TOKEN not in out + err


@responses.activate
def test_external_calls_within_the_cooldown_get_429_without_touching_the_bridge(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mock_bridge("colorloop")
    app = client("colorloop", monkeypatch, EXTERNAL_COOLDOWN_SECONDS="60")
    headers = {"X-Gohome-External": "colorloop.lab", "Authorization": f"Bearer {TOKEN}"}

    first = app.post("/", headers=headers)
    second = app.post("/", headers=headers)
    scheduled = app.post("/", headers=ping_headers("colorloop"), data=b"{}")

    assert (first.status_code, second.status_code) == (200, 429)
    assert 55 <= int(second.headers["Retry-After"]) <= 60
    assert scheduled.status_code == 200, "the cooldown only applies to callers from outside"
    assert len(bridge_puts()) == 2


@responses.activate
def test_batched_cloudevents_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    response = client("colorloop", monkeypatch).post(
        "/", headers={"Content-Type": "application/cloudevents-batch+json"}, data=b"[]"
    )
    assert response.status_code == 400
    assert "batched CloudEvents are not supported" in response.get_data(as_text=True)
    assert len(responses.calls) == 0


@pytest.mark.parametrize("as_cloudevent", [True, False], ids=["cloudevent", "plain"])
@responses.activate
def test_an_unexpected_error_still_answers_in_the_callers_format_and_logs_one_line(
    as_cloudevent: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    responses.put(f"{API}/groups/0/action", body=RuntimeError(f"bug near /api/{APP_KEY}/groups"))
    app = client("lights_on", monkeypatch)
    capsys.readouterr()
    headers = ping_headers("lights-on") if as_cloudevent else {"Content-Type": "application/json"}

    response = app.post("/", headers=headers, data=b"{}")

    assert response.status_code == 500
    if as_cloudevent:
        reply = from_http(dict(response.headers), response.data)
        assert reply["type"] == "dev.gohome.lights.outcome" and reply.data["result"] == "permanent"
    else:
        assert response.get_json()["message"].startswith("internal error: RuntimeError")
    out, err = capsys.readouterr()
    assert len([line for line in out.splitlines() if line.startswith("{")]) == 1
    assert "Traceback" in err, "the traceback goes to stderr for the operator"
    assert APP_KEY not in out + err + response.get_data(as_text=True)
