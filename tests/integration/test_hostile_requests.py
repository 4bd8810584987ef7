"""Hostile callers (issue 12): huge, missing, endless and nested bodies, unsafe event ids and slow
clients, against a function started as the image starts it. Never the body read into memory, never
functions-framework's HTML page, and a PingSource delivery never stuck behind a slow client for long.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from huelights.request_body import BODY_READ_SECONDS
from tests.support.function_process import RunningFunction, running_function
from tests.support.hostile_bridge import HostileBridge
from tests.support.hostile_cases import function_env, ping
from tests.support.hostile_client import measure, slow_clients_then_ping

pytestmark = pytest.mark.integration
PEAK_EXTRA_BOUND_KIB = 16 * 1024
QUICK_SECONDS = 3.0


@pytest.fixture(scope="module")
def function(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningFunction]:
    log_dir = Path(tmp_path_factory.mktemp("hostile-requests"))
    with HostileBridge() as bridge, running_function("lights_off", function_env(bridge.url), log_dir) as running:
        yield running
        log = running.log()
        assert "<!doctype" not in log.lower() and "Traceback" not in log


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("huge_body", 413),
        ("huge_body_unauthorized", 403),
        ("endless_chunked_body", 413),
        ("nested_json", 400),
        ("nested_json_http", 400),
    ],
)
def test_a_hostile_body_is_refused_at_once_without_reading_it(
    function: RunningFunction, case: str, status: int
) -> None:
    answer = measure(function, case)

    assert answer.status == status, answer.head
    assert answer.seconds < QUICK_SECONDS
    assert answer.peak_extra_kib <= PEAK_EXTRA_BOUND_KIB
    assert "<html" not in answer.body.lower()
    assert answer.closed, "the connection stays open behind an unread body"
    assert ping(function.url)[0] == 200


def test_a_body_announced_but_never_sent_times_out(function: RunningFunction) -> None:
    answer = measure(function, "missing_body")

    assert answer.status == 408
    assert BODY_READ_SECONDS - 1 <= answer.seconds <= BODY_READ_SECONDS + QUICK_SECONDS
    assert answer.closed
    assert ping(function.url)[0] == 200


def test_an_event_id_unfit_for_a_header_is_left_out_of_the_reply(function: RunningFunction) -> None:
    answer = measure(function, "unsafe_event_id")

    assert answer.status == 200, answer.head
    assert "ce-subject" not in answer.head.lower()
    assert '"result": "ok"' in answer.body


@pytest.mark.parametrize("clients", [1, 2])
def test_a_delivery_waits_behind_slow_bodies_at_most_the_body_deadline(function: RunningFunction, clients: int) -> None:
    seconds = slow_clients_then_ping(function, clients, in_headers=False)

    assert seconds <= BODY_READ_SECONDS + QUICK_SECONDS
