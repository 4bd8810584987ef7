"""Local PingSource: fires the PingSources in knative/ at the local functions, in Knative's wire format.

What goes on the wire is what mt-ping (knative/eventing pkg/adapter/mtping) sends, byte for byte apart
from the values: binary-mode CloudEvent, POST /, headers in Go's order
    Host, User-Agent: Go-http-client/1.1, Content-Length, Ce-* and the rest sorted (Ce-Id fresh UUIDv4 per
    tick, Ce-Source /apis/v1/namespaces/<ns>/pingsources/<name>, Ce-Specversion 1.0, Ce-Time RFC3339Nano
    UTC, Ce-Type dev.knative.sources.ping, Content-Type only when data and contentType are both set,
    Kn-Namespace), then Accept-Encoding: gzip;
body = spec.data verbatim (or dataBase64 decoded), empty otherwise. Host is the sink's cluster name
(<ksvc>.<ns>.svc.cluster.local), as the function sees it behind Knative. Each scheduled tick waits a
random 0-500 ms first; a failed delivery is retried 5 times after 100, 200, 400, 800, 1600 ms, only on
HTTP 404/413/425/429/502/503/504 and transport errors, with the same Ce-Id and Ce-Time.
Differences, on purpose: mt-ping has no timeout by default, here each attempt has SINK_TIMEOUT_SECONDS so
every wait ends; `fire_now` skips the jitter. Schedules are evaluated with cronsim in the PingSource's
`timezone` (UTC when unset, like the adapter's default), so they follow daylight saving time.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from devstack.cluster.manifests import ManifestError, PingSourceSpec
from devstack.upstream import Target, connection

RETRIABLE_STATUSES = frozenset({404, 413, 425, 429, 502, 503, 504})
RETRY_WAITS_SECONDS = (0.1, 0.2, 0.4, 0.8, 1.6)  # sdk-go exponential backoff, period 50 ms, 5 retries
JITTER_MAX_SECONDS = 0.5
SINK_TIMEOUT_SECONDS = 90.0
DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def cron_and_zone(spec: PingSourceSpec) -> tuple[str, ZoneInfo]:
    """The cron expression and zone mt-ping would use: `CRON_TZ=<timezone> <schedule>`."""
    expr, zone_name = spec.schedule.strip(), spec.timezone
    if expr.startswith(("CRON_TZ=", "TZ=")):
        prefix, _, expr = expr.partition(" ")
        if zone_name:
            raise ManifestError(f"PingSource {spec.name}: both spec.timezone and {prefix} in the schedule")
        zone_name = prefix.split("=", 1)[1]
    if expr.startswith("@every"):
        raise ManifestError(f"PingSource {spec.name}: @every is rejected by Knative")
    expr = DESCRIPTORS.get(expr, expr)
    try:
        zone = ZoneInfo(zone_name or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ManifestError(f"PingSource {spec.name}: unknown timezone {zone_name!r}") from exc
    try:
        CronSim(expr, datetime.now(zone))
    except CronSimError as exc:
        raise ManifestError(f"PingSource {spec.name}: bad schedule {spec.schedule!r}: {exc}") from exc
    return expr, zone


def next_fire(spec: PingSourceSpec, after: datetime) -> datetime:
    """The first tick strictly after `after` (aware), as an aware datetime in the source's zone."""
    expr, zone = cron_and_zone(spec)
    fire: datetime = next(CronSim(expr, after.astimezone(zone)))
    return fire


def rfc3339nano(time_ns: int) -> str:
    """Go's time.RFC3339Nano for a UTC instant: fraction with trailing zeros trimmed, none if zero."""
    seconds, nanos = divmod(time_ns, 1_000_000_000)
    fraction = f"{nanos:09d}".rstrip("0")
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + (f".{fraction}" if fraction else "") + "Z"


def build_request(spec: PingSourceSpec, event_id: str, time_ns: int) -> tuple[list[tuple[str, str]], bytes]:
    """Headers in wire order and body of one tick, as mt-ping's Go client writes them."""
    body = spec.data or b""
    sorted_headers = {
        "Ce-Id": event_id,
        "Ce-Source": spec.ce_source,
        "Ce-Specversion": "1.0",
        "Ce-Time": rfc3339nano(time_ns),
        "Ce-Type": "dev.knative.sources.ping",
        "Kn-Namespace": spec.namespace,
    }
    for name, value in spec.extensions:
        sorted_headers[f"Ce-{name[:1].upper()}{name[1:]}"] = value
    if spec.data is not None and spec.content_type:
        sorted_headers["Content-Type"] = spec.content_type
    headers = [("Host", spec.sink_host), ("User-Agent", "Go-http-client/1.1"), ("Content-Length", str(len(body)))]
    headers += sorted(sorted_headers.items())  # Go's Header.Write sorts by key
    headers.append(("Accept-Encoding", "gzip"))  # added last by Go's transport
    return headers, body


@dataclass
class Delivery:
    source: str
    event_id: str
    ce_time: str
    manual: bool
    scheduled_for: str | None = None
    attempts: int = 0
    status: int | None = None
    error: str | None = None
    response: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "ok": self.ok}


def _post_once(target: Target, headers: list[tuple[str, str]], body: bytes) -> tuple[int, bytes]:
    conn = connection(target, SINK_TIMEOUT_SECONDS)
    try:
        conn.putrequest("POST", "/", skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders(body or None)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def deliver(
    spec: PingSourceSpec, target: Target, delivery: Delivery, time_ns: int, sleep: Callable[[float], None] = time.sleep
) -> Delivery:
    headers, body = build_request(spec, delivery.event_id, time_ns)
    started = time.monotonic()
    for wait in (*RETRY_WAITS_SECONDS, None):
        delivery.attempts += 1
        try:
            status, answer = _post_once(target, headers, body)
            delivery.status, delivery.error = status, None
            delivery.response = answer[:2000].decode("utf-8", "replace")
            retry = status in RETRIABLE_STATUSES
        except (OSError, http.client.HTTPException) as exc:
            delivery.status, delivery.error, retry = None, f"{type(exc).__name__}: {exc}", True
        if not retry or wait is None:
            break
        sleep(wait)
    delivery.seconds = round(time.monotonic() - started, 3)
    return delivery


class DemoClock:
    """Wall time, optionally started at another instant and running `speed` times faster (for demos)."""

    def __init__(self, start: datetime | None = None, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._real_anchor = time.monotonic()
        self._sim_anchor_ns = time.time_ns() if start is None else int(start.timestamp() * 1_000_000_000)

    def now_ns(self) -> int:
        return self._sim_anchor_ns + int((time.monotonic() - self._real_anchor) * self.speed * 1_000_000_000)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.now_ns() / 1_000_000_000, UTC)

    def real_seconds_until(self, when: datetime) -> float:
        return (when.timestamp() - self.now_ns() / 1_000_000_000) / self.speed


@dataclass
class PingScheduler:
    """Fires each PingSource on its schedule (in a thread) and on request (fire_now)."""

    sources: dict[str, PingSourceSpec]
    targets: Mapping[str, Target]  # ksvc name -> local function (its Unix socket under `make run`)
    clock: DemoClock = field(default_factory=DemoClock)
    on_delivery: Callable[[Delivery], None] | None = None
    history: deque[Delivery] = field(default_factory=lambda: deque(maxlen=100))

    def __post_init__(self) -> None:
        for spec in self.sources.values():
            cron_and_zone(spec)  # fail at start, naming the manifest, not at the first tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        now = self.clock.now()
        self.next_fires = {name: next_fire(spec, now) for name, spec in self.sources.items()}

    def target_for(self, spec: PingSourceSpec) -> Target:
        if spec.sink_service and spec.sink_service in self.targets:
            return self.targets[spec.sink_service]
        raise ManifestError(f"PingSource {spec.name}: no local function for sink {spec.sink_service or spec.sink_uri}")

    def fire(self, name: str, manual: bool, scheduled_for: datetime | None = None) -> Delivery:
        spec = self.sources[name]
        time_ns = self.clock.now_ns()
        delivery = Delivery(
            source=name,
            event_id=str(uuid.uuid4()),
            ce_time=rfc3339nano(time_ns),
            manual=manual,
            scheduled_for=scheduled_for.isoformat() if scheduled_for else None,
        )
        try:
            deliver(spec, self.target_for(spec), delivery, time_ns)
        except ManifestError as exc:
            delivery.error = str(exc)
        with self._lock:
            self.history.append(delivery)
        if self.on_delivery is not None:
            self.on_delivery(delivery)
        return delivery

    def fire_now(self, name: str) -> Delivery:
        if name not in self.sources:
            raise KeyError(name)
        return self.fire(name, manual=True)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="pingsource", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _tick(self, name: str, scheduled_for: datetime) -> None:
        time.sleep(random.uniform(0, JITTER_MAX_SECONDS))  # mt-ping: rand.Intn(500) ms per tick
        with contextlib.suppress(Exception):  # one failed tick must not stop the schedule
            self.fire(name, manual=False, scheduled_for=scheduled_for)

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.next_fires:
                self._stop.wait(1.0)
                continue
            name, when = min(self.next_fires.items(), key=lambda item: item[1])
            wait = self.clock.real_seconds_until(when)
            if wait > 0:
                self._stop.wait(min(wait, 1.0))  # re-check at least every second (bounded waits)
                continue
            self.next_fires[name] = next_fire(self.sources[name], when)
            threading.Thread(target=self._tick, args=(name, when), name=f"tick-{name}", daemon=True).start()
