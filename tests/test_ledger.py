"""The run ledger at the HTTP edge (`responses`): the exact requests, preconditions, bounded retries, and
failures that cost one WARNING and never the run. Against a served API and real clients:
tests/integration/test_kube_api.py and tests/integration/test_ledger_cluster.py."""

from __future__ import annotations

import datetime
import json
import logging
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from huelights.errors import ConfigError
from huelights.ledger import (
    MAX_RUNS,
    LightRun,
    RunLedger,
    RunRecord,
    decode_runs,
    encode_runs,
    ledger_settings,
    trigger_of,
)
from huelights.ledger.records import MAX_KEY_BYTES, MAX_LIGHTS
from tests.support.hue import FakeClock
from tests.support.ledger import NAMESPACE, STARTED, PodFiles, make_run

API = "https://127.0.0.1:9"  # nothing listens there: `responses` answers
CONFIGMAP_URL = f"{API}/api/v1/namespaces/{NAMESPACE}/configmaps/huelights-runs"
EVENTS_URL = f"{API}/api/v1/namespaces/{NAMESPACE}/events"
TOKEN = "pod-token-1"


@pytest.fixture
def pod(tmp_path: Path) -> PodFiles:
    return PodFiles.write(tmp_path / "pod", token=TOKEN)


@pytest.fixture
def ledger(pod: PodFiles, clock: FakeClock) -> RunLedger:
    return RunLedger(pod.settings(API), clock=clock, sleep=clock.sleep, jitter=lambda: 0.5, wall_clock_ns=lambda: 0xABC)


def configmap(version: str, *runs: RunRecord, **other_keys: str) -> dict[str, Any]:
    data = {**other_keys, **({"colorloop": encode_runs(runs)} if runs else {})}
    body: dict[str, Any] = {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"name": "huelights-runs", "namespace": NAMESPACE, "resourceVersion": version},
    }
    return {**body, "data": data} if data else body


def status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "reason": reason,
        "message": message,
        "code": code,
    }


def sent(index: int) -> dict[str, Any]:
    body = responses.calls[index].request.body
    assert body is not None
    parsed: dict[str, Any] = json.loads(body)
    return parsed


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "huelights.ledger" and r.levelno == logging.WARNING]


@responses.activate
def test_a_run_is_patched_onto_the_version_read_and_announced_on_the_ksvc(ledger: RunLedger) -> None:
    earlier = make_run("ev-0")
    responses.get(CONFIGMAP_URL, json=configmap("41", earlier, **{"lights-on": "kept"}))
    responses.patch(CONFIGMAP_URL, json=configmap("42"))
    responses.post(EVENTS_URL, json={}, status=201)
    run = make_run("ev-1")

    result = ledger.record(run, ledger.deadline(10))

    assert (result.stored, result.event_posted, result.problems) == (True, True, [])
    assert [(call.request.method, call.request.url) for call in responses.calls] == [
        ("GET", CONFIGMAP_URL),
        ("PATCH", CONFIGMAP_URL),
        ("POST", EVENTS_URL),
    ]
    assert all(call.request.headers["Authorization"] == f"Bearer {TOKEN}" for call in responses.calls)
    assert responses.calls[1].request.headers["Content-Type"] == "application/merge-patch+json"
    # Only this function's key, on the version read: another writer's change since then is refused (409).
    patch = sent(1)
    assert patch == {"metadata": {"resourceVersion": "41"}, "data": {"colorloop": encode_runs([earlier, run])}}
    assert decode_runs(patch["data"]["colorloop"]) == (earlier, run)
    event = sent(2)
    assert responses.calls[2].request.headers["Content-Type"] == "application/json"
    assert event["metadata"] == {"name": "colorloop.abc", "namespace": NAMESPACE}
    assert event["involvedObject"] == {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "name": "colorloop",
        "namespace": NAMESPACE,
        "uid": "0c1d2e3f-uid",
    }
    assert (event["type"], event["reason"], event["count"]) == ("Normal", "RunSucceeded", 1)
    assert event["firstTimestamp"] == event["lastTimestamp"] == "2026-12-01T05:35:02Z"
    assert event["source"] == {"component": "huelights"}
    assert "eventTime" not in event  # it would switch on the server's stricter checks
    assert event["message"].startswith("ok for slot 2026-12-01T05:35:00Z (pingsource:colorloop, event ev-1)")
    assert ledger.requests_sent == 3


@responses.activate
def test_a_failed_run_is_a_warning_event_naming_the_lights_that_failed(ledger: RunLedger) -> None:
    responses.get(CONFIGMAP_URL, json=configmap("7"))
    responses.patch(CONFIGMAP_URL, json=configmap("8"))
    responses.post(EVENTS_URL, json={}, status=201)
    lights = (LightRun("Desk", "ok", "prism"), LightRun("Porch", "unreachable"))

    ledger.record(make_run("ev-2", "transient", lights=lights), ledger.deadline(10))

    event = sent(2)
    assert (event["type"], event["reason"]) == ("Warning", "RunFailed")
    assert "1 of 2 light(s) ok (Porch unreachable)" in event["message"]


@responses.activate
def test_the_view_read_for_duplicates_saves_the_get(ledger: RunLedger) -> None:
    responses.get(CONFIGMAP_URL, json=configmap("5", make_run("ev-0")))
    responses.patch(CONFIGMAP_URL, json=configmap("6"))
    responses.post(EVENTS_URL, json={}, status=201)
    view = ledger.read(ledger.deadline(10))
    assert view is not None

    ledger.record(make_run("ev-1"), ledger.deadline(10), basis=view)

    assert [call.request.method for call in responses.calls] == ["GET", "PATCH", "POST"]
    assert sent(1)["metadata"] == {"resourceVersion": "5"}


@responses.activate
def test_a_stale_write_is_read_again_and_keeps_the_other_writers_run(ledger: RunLedger, clock: FakeClock) -> None:
    other = make_run("ev-other")
    responses.get(CONFIGMAP_URL, json=configmap("1"))
    responses.get(CONFIGMAP_URL, json=configmap("2", other))
    conflict = status(409, "Conflict", 'Operation cannot be fulfilled on configmaps "huelights-runs": modified')
    responses.patch(CONFIGMAP_URL, json=conflict, status=409)
    responses.patch(CONFIGMAP_URL, json=configmap("3"))
    responses.post(EVENTS_URL, json={}, status=201)
    run = make_run("ev-mine")

    result = ledger.record(run, ledger.deadline(10))

    assert result.stored
    assert [call.request.method for call in responses.calls] == ["GET", "PATCH", "GET", "PATCH", "POST"]
    assert sent(3)["metadata"] == {"resourceVersion": "2"}
    assert decode_runs(sent(3)["data"]["colorloop"]) == (other, run)
    assert clock.sleeps == [0.01]


@responses.activate
def test_conflicts_are_retried_a_bounded_number_of_times_then_one_warning(
    ledger: RunLedger, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    responses.get(CONFIGMAP_URL, json=configmap("1"))
    responses.patch(CONFIGMAP_URL, json=status(409, "Conflict", "modified"), status=409)
    responses.post(EVENTS_URL, json={}, status=201)

    result = ledger.record(make_run(), ledger.deadline(10))

    methods = [call.request.method for call in responses.calls]
    assert methods.count("PATCH") == 5
    assert methods.count("GET") == 5
    assert clock.sleeps == pytest.approx([0.01, 0.04, 0.16, 0.64])
    assert (result.stored, result.event_posted) == (False, True)  # the Event still tells of the run
    assert warnings(caplog) == [
        "run ledger: run not stored: ConfigMap gohome/huelights-runs kept changing under the write "
        "(409 Conflict, 5 attempt(s))"
    ]


@responses.activate
def test_conflict_retries_stop_within_the_deadline(ledger: RunLedger, clock: FakeClock) -> None:
    responses.get(CONFIGMAP_URL, json=configmap("1"))
    responses.patch(CONFIGMAP_URL, json=status(409, "Conflict", "modified"), status=409)
    responses.post(EVENTS_URL, json={}, status=201)
    deadline = ledger.deadline(0.1)

    result = ledger.record(make_run(), deadline)

    assert not result.stored
    assert clock.sleeps == pytest.approx([0.01, 0.04])  # the next 0.16 s would not fit
    assert clock.now - 1000.0 < 0.1


@pytest.mark.parametrize(
    ("code", "reason", "message", "warning"),
    [
        (
            403,
            "Forbidden",
            'configmaps "huelights-runs" is forbidden: User "system:serviceaccount:gohome:default" cannot get',
            'HTTP 403 Forbidden: configmaps "huelights-runs" is forbidden: User "system:serviceaccount:gohome:default" '
            "cannot get (the Role must allow get and patch on this ConfigMap and create on events)",
        ),
        (404, "NotFound", 'configmaps "huelights-runs" not found', "does not exist (404); the manifests ship it empty"),
        (401, "Unauthorized", "Unauthorized", "HTTP 401 Unauthorized: Unauthorized (the service-account token was not"),
    ],
)
@responses.activate
def test_a_refused_read_is_one_warning_naming_the_cause_and_no_token(
    ledger: RunLedger, caplog: pytest.LogCaptureFixture, code: int, reason: str, message: str, warning: str
) -> None:
    responses.get(CONFIGMAP_URL, json=status(code, reason, message), status=code)
    responses.post(EVENTS_URL, json={}, status=201)

    result = ledger.record(make_run(), ledger.deadline(10))

    assert not result.stored
    (line,) = warnings(caplog)
    assert line.startswith("run ledger: run not stored: ConfigMap gohome/huelights-runs")
    assert warning in line
    assert TOKEN not in caplog.text


@responses.activate
def test_a_forbidden_event_is_one_warning_and_the_run_is_still_stored(
    ledger: RunLedger, caplog: pytest.LogCaptureFixture
) -> None:
    responses.get(CONFIGMAP_URL, json=configmap("1"))
    responses.patch(CONFIGMAP_URL, json=configmap("2"))
    responses.post(EVENTS_URL, json=status(403, "Forbidden", "events is forbidden"), status=403)

    result = ledger.record(make_run(), ledger.deadline(10))

    assert (result.stored, result.event_posted) == (True, False)
    assert warnings(caplog) == [
        "run ledger: Event not posted: HTTP 403 Forbidden: events is forbidden (the Role must allow get and patch "
        "on this ConfigMap and create on events)"
    ]


@pytest.mark.parametrize(
    "failure", [requests.exceptions.ConnectionError("refused"), requests.exceptions.ReadTimeout("slow")]
)
@responses.activate
def test_an_api_that_does_not_answer_is_one_warning_and_no_further_request(
    ledger: RunLedger, caplog: pytest.LogCaptureFixture, failure: Exception
) -> None:
    responses.get(CONFIGMAP_URL, body=failure)

    result = ledger.record(make_run(), ledger.deadline(10))

    assert (result.stored, result.event_posted) == (False, False)
    assert len(responses.calls) == 1
    assert warnings(caplog) == [
        "run ledger: run not stored: GET /api/v1/namespaces/gohome/configmaps/huelights-runs: cannot reach the "
        "Kubernetes API at https://127.0.0.1:9 (refused, reset or no answer)"
    ]


@responses.activate
def test_a_spent_deadline_sends_nothing(ledger: RunLedger, caplog: pytest.LogCaptureFixture) -> None:
    result = ledger.record(make_run(), ledger.deadline(0))

    assert not result.stored
    assert len(responses.calls) == 0
    assert [line.rsplit(": ", 1)[-1] for line in warnings(caplog)] == ["no answer within the time left"]


@responses.activate
def test_the_token_file_is_read_for_every_request(ledger: RunLedger, pod: PodFiles) -> None:
    responses.get(CONFIGMAP_URL, json=configmap("1"))
    responses.patch(CONFIGMAP_URL, json=configmap("2"))
    responses.post(EVENTS_URL, json={}, status=201)
    ledger.record(make_run("ev-1"), ledger.deadline(10))
    pod.token.write_text("pod-token-2\n")  # the kubelet rotated the projected token

    ledger.record(make_run("ev-2"), ledger.deadline(10))

    tokens = [call.request.headers["Authorization"] for call in responses.calls]
    assert tokens == [f"Bearer {TOKEN}"] * 3 + ["Bearer pod-token-2"] * 3


@pytest.mark.parametrize("problem", ["missing", "empty"])
@responses.activate
def test_an_unreadable_token_is_one_warning_and_no_request(
    ledger: RunLedger, pod: PodFiles, caplog: pytest.LogCaptureFixture, problem: str
) -> None:
    if problem == "missing":
        pod.token.unlink()
    else:
        pod.token.write_text("\n")

    result = ledger.record(make_run(), ledger.deadline(10))

    assert not result.stored
    assert len(responses.calls) == 0
    (line,) = warnings(caplog)
    assert f"the service-account token at {pod.token}" in line


@responses.activate
def test_without_the_service_uid_the_event_goes_out_without_it_and_one_warning(
    ledger: RunLedger, pod: PodFiles, caplog: pytest.LogCaptureFixture
) -> None:
    pod.service_uid.unlink()
    responses.get(CONFIGMAP_URL, json=configmap("1"))
    responses.patch(CONFIGMAP_URL, json=configmap("2"))
    responses.post(EVENTS_URL, json={}, status=201)

    result = ledger.record(make_run(), ledger.deadline(10))

    assert (result.stored, result.event_posted) == (True, True)
    assert "uid" not in sent(2)["involvedObject"]
    (line,) = warnings(caplog)
    assert "kubectl describe ksvc will not show it" in line


@responses.activate
def test_one_read_answers_duplicates_and_the_last_runs(ledger: RunLedger) -> None:
    runs = (make_run("ev-ok"), make_run("ev-failed", "transient"), make_run("", "ok", trigger="gateway", slot=None))
    responses.get(CONFIGMAP_URL, json=configmap("9", *runs))

    view = ledger.read(ledger.deadline(10))

    assert view is not None
    assert len(responses.calls) == 1
    assert view.runs == runs
    assert view.succeeded("ev-ok")
    assert not view.succeeded("ev-failed")  # a failed id is carried out again
    assert not view.succeeded("ev-unknown")
    assert not view.succeeded("")  # plain HTTP has no id: never a duplicate


@responses.activate
def test_an_empty_configmap_has_no_runs_and_an_unreadable_one_is_one_warning(
    ledger: RunLedger, caplog: pytest.LogCaptureFixture
) -> None:
    responses.get(CONFIGMAP_URL, json=configmap("1"))
    responses.get(CONFIGMAP_URL, json=status(403, "Forbidden", "nope"), status=403)

    view = ledger.read(ledger.deadline(10))
    assert view is not None
    assert view.runs == ()
    assert ledger.read(ledger.deadline(10)) is None
    (line,) = warnings(caplog)
    assert line.startswith("run ledger not read: ConfigMap gohome/huelights-runs: HTTP 403 Forbidden: nope")


def test_a_run_reads_back_as_written() -> None:
    run = make_run(
        "ev-ünï",
        "permanent",
        slot=None,
        api="",
        bridge_requests=0,
        lights=(LightRun("Küche “Decke”", "error", "none"), LightRun("Hall", "skipped", "none")),
    )

    (line,) = encode_runs([run]).splitlines()

    assert RunRecord.from_line(line) == run
    assert json.loads(line)["start"] == "2026-12-01T05:35:00.412Z"


def test_a_key_keeps_the_last_20_runs_oldest_first() -> None:
    runs = [make_run(f"ev-{number}") for number in range(MAX_RUNS + 5)]

    kept = decode_runs(encode_runs(runs))

    assert [run.event_id for run in kept] == [f"ev-{number}" for number in range(5, MAX_RUNS + 5)]


def test_a_key_stays_small_whatever_the_bridge_holds() -> None:
    lights = tuple(LightRun("x" * 500, "error", "prism") for _ in range(MAX_LIGHTS * 3))
    runs = [make_run("e" * 1000, lights=lights, slot=f"slot-{number}") for number in range(MAX_RUNS)]

    value = encode_runs(runs)
    kept = decode_runs(value)

    assert len(value.encode()) <= MAX_KEY_BYTES
    assert 0 < len(kept) < MAX_RUNS  # the oldest gave way
    assert kept[-1].slot == f"slot-{MAX_RUNS - 1}"
    assert all(len(run.lights) == MAX_LIGHTS and len(run.lights[0].name) <= 131 for run in kept)
    assert len(kept[-1].event_id) <= 131


def test_lines_that_are_not_runs_are_skipped() -> None:
    value = "\n".join(["not json", json.dumps({"id": 1}), "", make_run("ev-good").as_line(), "[]"])

    assert [run.event_id for run in decode_runs(value)] == ["ev-good"]


def test_in_cluster_settings_come_from_the_kubelets_variables(tmp_path: Path) -> None:
    assert ledger_settings({}, "colorloop") is None  # outside a cluster: no ledger

    settings = ledger_settings(
        {"KUBERNETES_SERVICE_HOST": "fd00:10:43::1", "KUBERNETES_SERVICE_PORT": "6443"}, "colorloop"
    )
    assert settings is not None
    assert settings.api_url == "https://[fd00:10:43::1]:6443"
    assert settings.token_file == Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
    assert settings.ca_file == Path("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt")
    assert settings.namespace_file == Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")

    moved = ledger_settings(
        {
            "KUBERNETES_SERVICE_HOST": "127.0.0.1",
            "HUE_LEDGER_TOKEN_FILE": str(tmp_path / "t"),
            "HUE_LEDGER_CA_FILE": str(tmp_path / "c"),
            "HUE_LEDGER_NAMESPACE_FILE": str(tmp_path / "n"),
            "HUE_LEDGER_SERVICE_UID_FILE": str(tmp_path / "u"),
        },
        "lights-off",
    )
    assert moved is not None
    assert moved.api_url == "https://127.0.0.1:443"
    assert (moved.token_file, moved.ca_file, moved.namespace_file, moved.service_uid_file) == tuple(
        tmp_path / name for name in "tcnu"
    )


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"KUBERNETES_SERVICE_HOST": "10.43.0.1", "KUBERNETES_SERVICE_PORT": "https"}, "KUBERNETES_SERVICE_PORT"),
        ({"KUBERNETES_SERVICE_HOST": "10.43.0.1", "KUBERNETES_SERVICE_PORT": "70000"}, "KUBERNETES_SERVICE_PORT"),
        ({"KUBERNETES_SERVICE_HOST": "evil.example/path"}, "KUBERNETES_SERVICE_HOST"),
    ],
)
def test_a_setting_that_cannot_be_right_is_named(variables: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ledger_settings(variables, "colorloop")
    assert caught.value.variable == named


@responses.activate
def test_a_namespace_file_that_holds_no_namespace_sends_nothing(
    ledger: RunLedger, pod: PodFiles, caplog: pytest.LogCaptureFixture
) -> None:
    pod.namespace.write_text("gohome/../../other")

    assert ledger.read(ledger.deadline(10)) is None
    assert len(responses.calls) == 0
    assert len(warnings(caplog)) == 1


@pytest.mark.parametrize(
    ("kwargs", "trigger"),
    [
        (
            {
                "external": False,
                "event_type": "dev.knative.sources.ping",
                "event_source": "/apis/v1/namespaces/gohome/pingsources/colorloop-morning",
            },
            "pingsource:colorloop-morning",
        ),
        ({"external": False, "event_type": "boson.fn", "event_source": "/boson/fn"}, "invoke"),
        ({"external": False}, "invoke"),
        ({"external": True}, "gateway"),
        ({"external": True, "event_type": "dev.knative.sources.ping", "event_source": "/elsewhere"}, "gateway"),
    ],
)
def test_the_trigger_is_named_by_who_sent_the_run(kwargs: dict[str, Any], trigger: str) -> None:
    assert trigger_of(**kwargs) == trigger


def test_event_times_are_utc_whatever_zone_the_run_was_given_in() -> None:
    zone = datetime.timezone(datetime.timedelta(hours=1))
    run = make_run(started=STARTED.astimezone(zone), ended=STARTED.astimezone(zone))

    assert json.loads(run.as_line())["end"] == "2026-12-01T05:35:00.412Z"
