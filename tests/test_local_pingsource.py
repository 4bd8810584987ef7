"""The local PingSource sends what Knative's mt-ping sends, when the manifests in knative/ say so."""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cloudevents.http import from_http

from devstack.cluster import pingsource
from devstack.cluster.manifests import ManifestError, PingSourceSpec, ping_sources
from devstack.cluster.pingsource import Delivery, DemoClock, PingScheduler, deliver, next_fire, rfc3339nano
from tests.support.servers import REPO, CaptureServer, wait_until

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
CE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z")
TORONTO = ZoneInfo("America/Toronto")


@pytest.fixture(scope="module")
def sources() -> dict[str, PingSourceSpec]:
    return ping_sources(REPO / "knative")


def send(spec: PingSourceSpec, server: CaptureServer, time_ns: int = 1_795_700_000_123_456_789) -> Delivery:
    delivery = Delivery(source=spec.name, event_id="", ce_time="", manual=True)
    delivery.event_id = "9a387d45-2bbb-47ba-9457-d33e7ec1e4ed"
    return deliver(spec, ("127.0.0.1", server.port), delivery, time_ns, sleep=lambda _: None)


def parse(raw: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    request_line, *lines = head.decode().split("\r\n")
    return request_line, [tuple(line.split(": ", 1)) for line in lines], body  # type: ignore[misc]


# ----- the manifests are the source ------------------------------------------------------------------------


def test_sources_come_from_the_kustomization(sources: dict[str, PingSourceSpec]) -> None:
    assert set(sources) == {"lights-off", "lights-on", "colorloop"}
    off = sources["lights-off"]
    assert (off.schedule, off.timezone, off.namespace) == ("30 22 * * *", "America/Toronto", "gohome")
    assert (off.sink_service, off.content_type, off.data) == ("lights-off", "application/json", b"{}")
    assert sources["colorloop"].schedule == "35 5 * * *"
    assert sources["lights-on"].timezone == "America/Toronto"  # the YAML anchor is resolved


def test_changing_the_manifest_changes_the_local_schedule(tmp_path: Path) -> None:
    copy = tmp_path / "knative"
    shutil.copytree(REPO / "knative", copy)
    manifest = copy / "base" / "pingsources.yaml"
    text = manifest.read_text()
    assert '"30 22 * * *"' in text and "America/Toronto" in text
    manifest.write_text(text.replace('"30 22 * * *"', '"15 21 * * 1-5"').replace("America/Toronto", "Europe/Berlin"))
    changed = ping_sources(copy)["lights-off"]
    assert (changed.schedule, changed.timezone) == ("15 21 * * 1-5", "Europe/Berlin")
    saturday_noon = datetime(2026, 11, 28, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert next_fire(changed, saturday_noon) == datetime(2026, 11, 30, 21, 15, tzinfo=ZoneInfo("Europe/Berlin"))
    # the namespace comes from the kustomization too
    (copy / "base" / "kustomization.yaml").write_text(
        (copy / "base" / "kustomization.yaml").read_text().replace("namespace: gohome", "namespace: lab")
    )
    assert ping_sources(copy)["lights-off"].ce_source == "/apis/v1/namespaces/lab/pingsources/lights-off"


def test_schedule_follows_daylight_saving_time(sources: dict[str, PingSourceSpec]) -> None:
    off = sources["lights-off"]
    before_spring = next_fire(off, datetime(2026, 3, 7, 12, 0, tzinfo=TORONTO))
    after_spring = next_fire(off, before_spring)
    assert [d.astimezone(TORONTO).hour for d in (before_spring, after_spring)] == [22, 22]
    assert before_spring.utcoffset() == timedelta(hours=-5) and after_spring.utcoffset() == timedelta(hours=-4)
    assert after_spring.astimezone(UTC) - before_spring.astimezone(UTC) == timedelta(hours=23)  # the short day
    on = sources["lights-on"]
    fall = next_fire(on, datetime(2026, 10, 30, 12, 0, tzinfo=TORONTO))  # Oct 31, EDT
    assert next_fire(on, fall).astimezone(UTC) - fall.astimezone(UTC) == timedelta(hours=25)  # 05:30 both days


def test_invalid_manifests_are_refused_with_the_field_named(tmp_path: Path) -> None:
    spec = PingSourceSpec("x", "ns", "@every 5m", None, None, None, "x", None)
    with pytest.raises(ManifestError, match="@every"):
        pingsource.cron_and_zone(spec)
    with pytest.raises(ManifestError, match="timezone"):
        pingsource.cron_and_zone(replace(spec, schedule="0 1 * * *", timezone="Mars/Olympus"))
    folder = tmp_path / "k"
    folder.mkdir()
    (folder / "kustomization.yaml").write_text("resources: [ps.yaml]\n")
    (folder / "ps.yaml").write_text(
        "kind: PingSource\nmetadata: {name: bad}\nspec: {schedule: '* * * * *', contentType: application/json,"
        " data: '[1]'}\n"
    )
    with pytest.raises(ManifestError, match="JSON object"):
        ping_sources(folder)


def test_descriptors_and_cron_tz_prefix() -> None:
    spec = PingSourceSpec("x", "ns", "CRON_TZ=Asia/Tokyo @daily", None, None, None, "x", None)
    fire = next_fire(spec, datetime(2026, 1, 1, 12, 0, tzinfo=ZoneInfo("UTC")))
    assert fire == datetime(2026, 1, 2, 0, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


# ----- the wire format ---------------------------------------------------------------------------------------


def test_tick_is_byte_for_byte_knatives_binary_format(sources: dict[str, PingSourceSpec]) -> None:
    with CaptureServer() as server:
        delivery = send(sources["lights-off"], server)
    assert (delivery.status, delivery.attempts) == (200, 1)
    (raw,) = server.raw
    expected = (
        "POST / HTTP/1.1\r\n"
        "Host: lights-off.gohome.svc.cluster.local\r\n"
        "User-Agent: Go-http-client/1.1\r\n"
        "Content-Length: 2\r\n"
        "Ce-Id: 9a387d45-2bbb-47ba-9457-d33e7ec1e4ed\r\n"
        "Ce-Source: /apis/v1/namespaces/gohome/pingsources/lights-off\r\n"
        "Ce-Specversion: 1.0\r\n"
        "Ce-Time: 2026-11-26T13:33:20.123456789Z\r\n"
        "Ce-Type: dev.knative.sources.ping\r\n"
        "Content-Type: application/json\r\n"
        "Kn-Namespace: gohome\r\n"
        "Accept-Encoding: gzip\r\n"
        "\r\n"
        "{}"
    )
    assert raw == expected.encode()
    _, headers, body = parse(raw)
    event = from_http(dict(headers), body)  # what the function's cloudevents 1.12 makes of it
    assert (event["type"], event["source"], event.data) == (
        "dev.knative.sources.ping",
        "/apis/v1/namespaces/gohome/pingsources/lights-off",
        {},
    )


@pytest.mark.parametrize(
    ("data", "content_type", "body", "has_content_type"),
    [
        (b'{"scene":"evening"}', "application/json", b'{"scene":"evening"}', True),
        (None, "application/json", b"", False),  # no data: no Content-Type, even with contentType set
        (b"hello", None, b"hello", False),  # data without contentType: no Content-Type either
        (b"\x00\x01binary", "application/octet-stream", b"\x00\x01binary", True),  # dataBase64, decoded
    ],
)
def test_content_type_only_with_data_and_content_type(sources, data, content_type, body, has_content_type) -> None:
    spec = replace(sources["colorloop"], data=data, content_type=content_type, extensions=(("room", "kitchen"),))
    with CaptureServer() as server:
        send(spec, server)
    _, headers, sent = parse(server.raw[0])
    names = [name for name, _ in headers]
    assert sent == body
    assert ("Content-Length", str(len(body))) in headers
    assert ("Content-Type" in names) is has_content_type
    assert ("Ce-Room", "kitchen") in headers  # ceOverrides extensions become Ce-<Name>
    assert names[:3] == ["Host", "User-Agent", "Content-Length"] and names[-1] == "Accept-Encoding"
    assert names[3:-1] == sorted(names[3:-1])
    assert not {"Accept", "Connection", "Transfer-Encoding"} & set(names)


def test_ce_time_is_rfc3339nano_utc_with_trailing_zeros_trimmed() -> None:
    assert rfc3339nano(1_795_700_000_000_000_000) == "2026-11-26T13:33:20Z"
    assert rfc3339nano(1_795_700_000_120_000_000) == "2026-11-26T13:33:20.12Z"
    assert rfc3339nano(1_795_700_000_000_000_001) == "2026-11-26T13:33:20.000000001Z"
    assert CE_TIME.fullmatch(rfc3339nano(time.time_ns()))


# ----- retries -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 413, 425, 429, 502, 503, 504])
def test_retriable_statuses_are_retried_with_the_same_event(sources, status: int) -> None:
    waits: list[float] = []
    spec = sources["lights-on"]
    with CaptureServer([status, status, 200]) as server:
        delivery = Delivery(source=spec.name, event_id="e1", ce_time="", manual=True)
        deliver(spec, ("127.0.0.1", server.port), delivery, 1_795_700_000_000_000_000, sleep=waits.append)
    assert (delivery.status, delivery.attempts, waits) == (200, 3, [0.1, 0.2])
    assert len(set(server.raw)) == 1  # identical bytes each time: same Ce-Id, same Ce-Time


@pytest.mark.parametrize("status", [400, 401, 415, 500])
def test_other_statuses_are_final(sources, status: int) -> None:
    with CaptureServer([status, 200]) as server:
        delivery = send(sources["lights-on"], server)
    assert (delivery.status, delivery.attempts) == (status, 1)


def test_connection_refused_is_retried_five_times_with_exponential_backoff(sources) -> None:
    with CaptureServer() as server:
        port = server.port
    waits: list[float] = []
    delivery = Delivery(source="lights-on", event_id="e2", ce_time="", manual=True)
    deliver(sources["lights-on"], ("127.0.0.1", port), delivery, 0, sleep=waits.append)
    assert (delivery.status, delivery.attempts) == (None, 6)
    assert waits == [0.1, 0.2, 0.4, 0.8, 1.6]
    assert "ConnectionRefused" in (delivery.error or "")


# ----- the scheduler and its clock -------------------------------------------------------------------------------


def test_scheduler_fires_on_the_compressed_clock_with_a_fresh_id_per_tick(sources) -> None:
    spec = sources["lights-off"]
    tick = next_fire(spec, datetime(2026, 11, 26, 12, 0, tzinfo=TORONTO))
    with CaptureServer() as server:
        # 10 simulated minutes before 22:30 at 600x: the tick is due one real second after start.
        clock = DemoClock(start=tick - timedelta(minutes=10), speed=600)
        scheduler = PingScheduler({"lights-off": spec}, {"lights-off": ("127.0.0.1", server.port)}, clock)
        assert scheduler.next_fires["lights-off"] == tick
        scheduler.start()
        try:
            assert wait_until(lambda: len(scheduler.history) >= 1, timeout=6)
            manual = scheduler.fire_now("lights-off")
        finally:
            scheduler.stop()
    scheduled = scheduler.history[0]
    assert scheduled.manual is False and scheduled.ok
    assert scheduled.scheduled_for == tick.isoformat()
    assert scheduler.next_fires["lights-off"] == tick + timedelta(days=1)
    assert manual.manual is True and manual.event_id != scheduled.event_id
    assert UUID4.fullmatch(scheduled.event_id) and UUID4.fullmatch(manual.event_id)
    # Ce-Time is the (simulated) send time: just after 22:30 local, jitter included.
    sent = datetime.fromisoformat(scheduled.ce_time.replace("Z", "+00:00"))
    assert timedelta(0) <= sent - tick < timedelta(minutes=10)


def test_fire_now_unknown_source_and_unknown_sink(sources) -> None:
    scheduler = PingScheduler({"colorloop": sources["colorloop"]}, {})
    with pytest.raises(KeyError):
        scheduler.fire_now("nope")
    delivery = scheduler.fire_now("colorloop")
    assert not delivery.ok and "no local function for sink colorloop" in (delivery.error or "")
