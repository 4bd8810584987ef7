"""The bridge transport and the v1 client's defensive reading, at the HTTP edge (`responses`).

The watchdog deadline and the streaming cap against real sockets: tests/integration/test_hostile_bridge.py.
"""

from __future__ import annotations

from typing import Any

import pytest
import responses

from huelights.bridge import Deadline
from huelights.errors import BridgeBusy, PermanentBridgeError
from huelights.transport import MAX_RESPONSE_BYTES, HttpAnswer
from tests.support.hue import API, APP_KEY, FakeClock, make_bridge


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"", "empty body"), (b"<html>busy</html>", "not JSON"), (b"[" * 100_000 + b"]" * 100_000, "nested too deeply")],
)
def test_an_unreadable_body_is_a_transient_error_naming_the_problem(content: bytes, problem: str) -> None:
    with pytest.raises(BridgeBusy, match=problem):
        HttpAnswer("GET lights", 200, {}, content).json()


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ([], "expected an object of resources, got list"),
        ({"1": "lamp"}, "resource '1' is str, not an object"),
        ({"1": {"name": "Lamp", "state": "on"}}, "`state` of resource '1' is not an object"),
        ({"1": {"name": 7, "state": {}}}, "`name` that is not text"),
    ],
)
@responses.activate
def test_lights_of_an_unexpected_shape_are_a_transient_error(clock: FakeClock, payload: Any, problem: str) -> None:
    responses.get(f"{API}/lights", json=payload)

    with pytest.raises(BridgeBusy) as caught:
        make_bridge(clock).lights(Deadline(10, clock))
    assert problem in str(caught.value)


@responses.activate
def test_group_members_must_be_a_list_of_ids(clock: FakeClock) -> None:
    responses.get(f"{API}/groups", json={"1": {"name": "Room", "lights": {"a": 1}}})

    with pytest.raises(BridgeBusy, match="not a list of ids"):
        make_bridge(clock).groups(Deadline(10, clock))


@responses.activate
def test_an_answer_over_the_cap_is_refused_and_retried_within_attempts(clock: FakeClock) -> None:
    responses.get(f"{API}/lights", body=b" " * (MAX_RESPONSE_BYTES + 1))
    bridge = make_bridge(clock, max_attempts=2)

    with pytest.raises(BridgeBusy, match="longer than the 1048576 bytes accepted"):
        bridge.get("lights", Deadline(10, clock))
    assert bridge.requests_sent == 2


@responses.activate
def test_an_announced_length_over_the_cap_is_refused_unread(clock: FakeClock) -> None:
    responses.get(
        f"{API}/lights", body=b"{}", headers={"Content-Length": str(2 * 10**9)}, auto_calculate_content_length=False
    )

    with pytest.raises(BridgeBusy, match="announced 2000000000 bytes"):
        make_bridge(clock, max_attempts=1).get("lights", Deadline(10, clock))


@responses.activate
def test_the_session_ignores_proxy_variables(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    responses.get(f"{API}/lights", json={})
    bridge = make_bridge(clock)

    assert bridge.lights(Deadline(10, clock)) == {}
    assert bridge.transport.session.trust_env is False
    assert responses.calls[0].request.url.startswith(API)


@responses.activate
def test_an_unusable_url_is_permanent_and_names_no_key(clock: FakeClock) -> None:
    bridge = make_bridge(clock)
    bridge.transport.base_url = "ftp://127.0.0.1"

    with pytest.raises(PermanentBridgeError) as caught:
        bridge.get("lights", Deadline(10, clock))
    assert APP_KEY not in str(caught.value)
