"""The CLIP v1 client at the HTTP edge: body parsing, error classes, retries, budget and pacing."""

from __future__ import annotations

import itertools

import pytest
import requests
import responses

from huelights.bridge import Deadline
from huelights.errors import (
    BridgeBusy,
    BridgeRejected,
    BridgeUnreachable,
    BudgetExhausted,
    PermanentBridgeError,
    ResourceNotFound,
    Unauthorized,
)
from tests.support.hue import API, APP_KEY, LIGHTS, FakeClock, hue_error, make_bridge, success

LIGHT_STATE = f"{API}/lights/1/state"


@responses.activate
def test_mixed_success_and_error_items_are_returned_per_attribute(clock: FakeClock) -> None:
    responses.put(
        LIGHT_STATE,
        json=[
            {"success": {"/lights/1/state/on": True}},
            hue_error(6, "/lights/1/state/effect", "parameter, effect, not available"),
            hue_error(7, "/lights/1/state/bri", "invalid value, 999, for parameter, bri"),
        ],
    )
    results = make_bridge(clock).put(
        "lights/1/state", {"on": True, "effect": "colorloop", "bri": 999}, Deadline(10, clock)
    )

    assert [(r.attribute, r.ok, r.error_type) for r in results] == [
        ("on", True, 0),
        ("effect", False, 6),
        ("bri", False, 7),
    ]
    assert len(responses.calls) == 1


@pytest.mark.parametrize(
    ("hue_type", "exception"),
    [(1, Unauthorized), (3, ResourceNotFound), (2, BridgeRejected), (4, BridgeRejected)],
)
@responses.activate
def test_permanent_hue_errors_raise_at_once_without_retry(clock: FakeClock, hue_type: int, exception: type) -> None:
    responses.get(f"{API}/lights", json=[hue_error(hue_type, "/lights", "nope")])

    with pytest.raises(exception):
        make_bridge(clock).get("lights", Deadline(10, clock))

    assert len(responses.calls) == 1
    assert clock.sleeps == []


@responses.activate
def test_permanent_error_wins_over_a_transient_one_in_the_same_body(clock: FakeClock) -> None:
    responses.put(LIGHT_STATE, json=[hue_error(901, "/lights/1/state"), hue_error(1, "/lights/1/state")])

    with pytest.raises(Unauthorized):
        make_bridge(clock).put("lights/1/state", {"on": True}, Deadline(10, clock))
    assert len(responses.calls) == 1


def _transient(kind: str) -> dict[str, object]:
    return {
        "901": {"json": [hue_error(901, "/lights/1/state", "Internal error, 404")]},
        "429": {"status": 429, "body": "<html><body>Too Many Requests</body></html>", "content_type": "text/html"},
        "503": {"status": 503, "body": "Service Unavailable"},
        "500": {"status": 500, "body": ""},
        "html-at-200": {"body": "<html>busy</html>", "content_type": "text/html"},
        "reset": {"body": requests.ConnectionError("Connection reset by peer")},
        "timeout": {"body": requests.ReadTimeout("read timed out")},
        "broken-off": {"body": requests.exceptions.ChunkedEncodingError("connection broken: IncompleteRead")},
    }[kind]


@pytest.mark.parametrize("kind", ["901", "429", "503", "500", "html-at-200", "reset", "timeout", "broken-off"])
@responses.activate
def test_transient_failures_are_retried_with_backoff_then_succeed(clock: FakeClock, kind: str) -> None:
    responses.put(LIGHT_STATE, **_transient(kind))  # type: ignore[arg-type]
    responses.put(LIGHT_STATE, **_transient(kind))  # type: ignore[arg-type]
    responses.put(LIGHT_STATE, json=success(("/lights/1/state/on", True)))

    results = make_bridge(clock).put("lights/1/state", {"on": True}, Deadline(20, clock))

    assert [r.ok for r in results] == [True]
    assert len(responses.calls) == 3
    backoffs = [s for s in clock.sleeps if s not in (0.1,)]  # the pacing waits are 0.1 s apart
    assert backoffs[:2] == [0.25, 0.5], "exponential backoff between attempts"


@pytest.mark.parametrize(
    ("kind", "exception"),
    [("503", BridgeBusy), ("reset", BridgeUnreachable), ("timeout", BridgeUnreachable), ("901", BridgeBusy)],
)
@responses.activate
def test_retries_are_bounded_by_max_attempts(clock: FakeClock, kind: str, exception: type) -> None:
    for _ in range(10):
        responses.get(f"{API}/lights", **_transient(kind))  # type: ignore[arg-type]

    with pytest.raises(exception, match="gave up after 3 attempts"):
        make_bridge(clock, max_attempts=3).get("lights", Deadline(60, clock))
    assert len(responses.calls) == 3


@responses.activate
def test_the_budget_ends_a_retry_loop(clock: FakeClock) -> None:
    for _ in range(20):
        responses.get(f"{API}/lights", status=503)

    with pytest.raises(BridgeBusy, match="time budget spent"):
        make_bridge(clock, max_attempts=20).get("lights", Deadline(2.0, clock))

    assert sum(clock.sleeps) < 2.0, "never sleeps past the deadline"
    assert 2 <= len(responses.calls) < 20


@responses.activate
def test_an_exhausted_budget_sends_nothing(clock: FakeClock) -> None:
    deadline = Deadline(1, clock)
    clock.now += 5
    with pytest.raises(BudgetExhausted):
        make_bridge(clock).get("lights", deadline)
    assert len(responses.calls) == 0


@responses.activate
def test_a_redirect_is_not_followed_and_names_the_fix(clock: FakeClock) -> None:
    responses.put(LIGHT_STATE, status=301, headers={"Location": f"https://127.0.0.1/api/{APP_KEY}/lights/1/state"})

    with pytest.raises(BridgeRejected, match="https://") as caught:
        make_bridge(clock).put("lights/1/state", {"on": True}, Deadline(10, clock))
    assert APP_KEY not in str(caught.value)
    assert len(responses.calls) == 1


@responses.activate
def test_connection_errors_never_quote_the_app_key(clock: FakeClock) -> None:
    for _ in range(5):
        responses.get(
            f"{API}/lights",
            body=requests.ConnectionError(f"HTTPConnectionPool: Max retries exceeded with url: /api/{APP_KEY}/lights"),
        )
    with pytest.raises(BridgeUnreachable) as caught:
        make_bridge(clock).get("lights", Deadline(30, clock))
    assert APP_KEY not in str(caught.value)


@responses.activate
def test_light_commands_are_paced_and_group_commands_more_so(clock: FakeClock) -> None:
    responses.put(f"{API}/lights/1/state", json=success(("/lights/1/state/on", True)))
    responses.put(f"{API}/groups/0/action", json=success(("/groups/0/action/on", True)))
    bridge = make_bridge(clock)
    deadline = Deadline(60, clock)
    sent_at: list[tuple[str, float]] = []
    for resource in ["lights/1/state", "lights/1/state", "lights/1/state", "groups/0/action", "groups/0/action"]:
        bridge.put(resource, {"on": True}, deadline)
        sent_at.append((resource, clock.now))

    light_times = [t for r, t in sent_at if r.startswith("lights")]
    group_times = [t for r, t in sent_at if r.startswith("groups")]
    assert all(b - a >= 0.1 - 1e-9 for a, b in itertools.pairwise(light_times))
    assert group_times[1] - group_times[0] >= 1.0 - 1e-9
    assert bridge.requests_sent == 5


@responses.activate
def test_get_returns_the_parsed_resources(clock: FakeClock) -> None:
    responses.get(f"{API}/lights", json=LIGHTS)
    assert make_bridge(clock).get("lights", Deadline(5, clock))["4"]["name"] == "Hall"


@responses.activate
def test_a_malformed_error_item_is_read_without_crashing(clock: FakeClock) -> None:
    responses.put(LIGHT_STATE, json=[{"error": {"type": "six", "address": "/lights/1/state/effect"}}])
    [result] = make_bridge(clock).put("lights/1/state", {"effect": "colorloop"}, Deadline(5, clock))
    assert (result.ok, result.error_type) == (False, 0)


@responses.activate
def test_tls_failure_is_permanent_and_says_which_settings_to_check(clock: FakeClock) -> None:
    responses.get(f"{API}/lights", body=requests.exceptions.SSLError("certificate verify failed"))
    with pytest.raises(PermanentBridgeError, match="HUE_CA_BUNDLE"):
        make_bridge(clock).get("lights", Deadline(5, clock))
    assert len(responses.calls) == 1
