"""Live dashboard of the local stack: the JSON behind static/ next to this file, light colours, invocation history.

Mounted on the control server (devstack/stack/control.py, 127.0.0.1:8090 by default):

    GET  /                      the page (devstack/stack/static/index.html; app.js and style.css under /static/)
    GET  /api/state             lights with their colours, schedules, invocations, deliveries, bridge faults
    POST /api/fire/<source>     fire a PingSource now, as POST /fire/<source> does
    POST /api/external          {"token": true|false}: POST the HTTPRoute's path through the local gateway
    GET  /api/sim/faults        the outage modes and fault kinds of devstack/bridge/faults.py (the simulator's
                                GET /_sim/faults), from which the page builds its fault menus
    POST /api/sim/<action>      fault controls of the simulated bridge, passed to its /_sim/ admin API:
                                outage, latency, fail, reset, lights/<id>/power-cycle, lights/<id>/reachable
                                (both 404 with a real bridge: the dashboard only reads a real bridge, GET only)

The control server answers only its own page (devstack/web.py refuse_foreign_page): Host 127.0.0.1,
localhost or [::1], no Origin but the dashboard's own, and these POSTs only as `application/json`, which
another site's page cannot declare without a CORS preflight (never granted here). The trigger token
stays on the server; the page only says "with" or "without".

Light colours come from devstack/bridge/colours.py.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from werkzeug.wrappers import Request, Response

from devstack.bridge.admin import handle_admin
from devstack.bridge.colours import light_view
from devstack.cluster.pingsource import PingScheduler, cron_and_zone
from devstack.web import JsonRouter, json_response
from huelights.actions import id_order
from huelights.bridge import Deadline, HueBridge
from huelights.config import Settings
from huelights.errors import HueLightsError

if TYPE_CHECKING:
    from devstack.bridge.state import BridgeState

JsonDict = dict[str, Any]

STATIC = Path(__file__).with_name("static")
NO_STORE = {"Cache-Control": "no-store"}  # the state changes every second; static/ is edited in place
STATIC_FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
INVOCATIONS_KEPT = 200

# ----- invocations ---------------------------------------------------------------------------------------
INVOCATION_FIELDS = (
    "action",
    "trigger",
    "external",
    "event_id",
    "event_source",
    "event_type",
    "target",
    "api",
    "lights",
    "bridge_requests",
    "duration_ms",
    "status",
    "result",
    "message",
    "duplicate",
)


class InvocationLog:
    """The functions' invocation records (one JSON line each on stdout), newest last, bounded."""

    def __init__(self, maxlen: int = INVOCATIONS_KEPT) -> None:
        self._records: deque[JsonDict] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def feed(self, service: str, line: str) -> None:
        """One line of a function's output; anything that is not an invocation record is ignored."""
        text = line.strip()
        if not text.startswith("{"):
            return
        try:
            record = json.loads(text)
        except ValueError:
            return
        if not isinstance(record, dict) or "action" not in record or "status" not in record:
            return
        entry = {"time": time.time(), "service": service, **{k: record[k] for k in INVOCATION_FIELDS if k in record}}
        with self._lock:
            self._records.append(entry)

    def recent(self, limit: int = 50) -> list[JsonDict]:
        """Newest first."""
        with self._lock:
            return list(reversed(self._records))[:limit]


# ----- external trigger and real bridge --------------------------------------------------------------------
@dataclass(frozen=True)
class ExternalTrigger:
    """A POST through the local gateway as a client outside the cluster sends it."""

    gateway_url: str
    host: str
    path: str
    token: str = field(repr=False)

    def send(self, with_token: bool) -> JsonDict:
        headers = {"Host": self.host}
        if with_token:
            headers["Authorization"] = f"Bearer {self.token}"
        started = time.monotonic()
        answer: JsonDict = {"with_token": with_token, "request": f"POST {self.path} (Host: {self.host})"}
        try:
            response = requests.post(self.gateway_url + self.path, headers=headers, timeout=(3, 75))
        except requests.RequestException as exc:
            return {**answer, "status": None, "error": type(exc).__name__, "seconds": _since(started)}
        return {
            **answer,
            "status": response.status_code,
            "reason": response.reason,
            "www_authenticate": response.headers.get("WWW-Authenticate"),
            "body": response.text[:2000],
            "seconds": _since(started),
        }


def external_route(routes: list[JsonDict]) -> tuple[str, str] | None:
    """(Host, path) of the first HTTPRoute rule a POST can match, for the external trigger button."""
    for route in routes:
        spec = route.get("spec") or {}
        name = (route.get("metadata") or {}).get("name", "route")
        hosts = [str(h).replace("*", name, 1) for h in spec.get("hostnames") or []] or ["localhost"]
        for rule in spec.get("rules") or []:
            for match in rule.get("matches") or [{}]:
                path = match.get("path") or {"type": "PathPrefix", "value": "/"}
                if path.get("type", "PathPrefix") in ("PathPrefix", "Exact") and match.get("method", "POST") == "POST":
                    return hosts[0], str(path.get("value", "/"))
    return None


class RealBridgeView:
    """The lights of a real bridge through the huelights client: GET /lights only, at most one read per max_age."""

    def __init__(self, settings: Settings, max_age: float = 2.0) -> None:
        self.url = settings.bridge_url
        self._bridge = HueBridge(replace(settings, max_attempts=1))  # a dashboard retries by polling
        self._max_age = max_age
        self._lock = threading.Lock()
        self._read_at = -math.inf
        self._last: JsonDict = {"lights": {}, "error": "not read yet"}

    def snapshot(self) -> JsonDict:
        with self._lock:  # one read at a time, however many pages poll
            if time.monotonic() - self._read_at >= self._max_age:
                try:
                    lights = self._bridge.get("lights", Deadline(8.0))
                    self._last = {"lights": lights if isinstance(lights, dict) else {}, "error": None}
                except HueLightsError as exc:  # keep showing the last lights, with the reason they are stale
                    self._last = {"lights": self._last["lights"], "error": self._bridge.redact(str(exc))}
                self._read_at = time.monotonic()
            return dict(self._last)


# ----- the app ---------------------------------------------------------------------------------------------
SIM_ACTIONS = ("outage", "latency", "fail", "reset")
SIM_LIGHT_ACTIONS = ("power-cycle", "reachable")


class Dashboard:
    def __init__(
        self,
        scheduler: PingScheduler,
        invocations: InvocationLog,
        *,
        simulated: BridgeState | None = None,
        real: RealBridgeView | None = None,
        external: ExternalTrigger | None = None,
        services: Mapping[str, str] | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.invocations = invocations
        self.simulated = simulated
        self.real = real
        self.external = external
        self.services = dict(services or {})

    def zone(self) -> Any:
        sources = list(self.scheduler.sources.values())
        return cron_and_zone(sources[0])[1] if sources else UTC

    def state(self) -> JsonDict:
        clock, zone = self.scheduler.clock, self.zone()
        now = clock.now()
        bridge: JsonDict
        if self.simulated is not None:
            snapshot = self.simulated.snapshot()
            raw_lights = snapshot["lights"]
            bridge = {"mode": "simulated", "counts": snapshot["counts"], "faults": snapshot["faults"], "error": None}
        elif self.real is not None:
            snapshot = self.real.snapshot()
            raw_lights = snapshot["lights"]
            bridge = {"mode": "real", "url": self.real.url, "error": snapshot["error"]}
        else:
            raw_lights, bridge = {}, {"mode": "none", "error": "no bridge"}
        deliveries = [d.to_json() for d in list(self.scheduler.history)[-50:]]
        by_event = {d["event_id"]: d for d in deliveries}
        invocations = []
        for record in self.invocations.recent():
            delivery = by_event.get(record.get("event_id"))
            when = datetime.fromtimestamp(record["time"], UTC).astimezone(zone)
            invocations.append(
                {
                    **record,
                    "time": when.isoformat(timespec="milliseconds"),
                    "source": delivery["source"] if delivery else None,
                    "manual": delivery["manual"] if delivery else None,
                }
            )
        return {
            "clock": {
                "now": now.astimezone(zone).isoformat(timespec="seconds"),
                "zone": zone.key,
                "speed": clock.speed,
            },
            "bridge": bridge,
            "lights": [light_view(lid, raw_lights[lid]) for lid in sorted(raw_lights, key=id_order)],
            "schedules": self.schedules(now),
            "external": {"host": self.external.host, "path": self.external.path} if self.external else None,
            "invocations": invocations,
            "deliveries": list(reversed(deliveries))[:20],
            "services": self.services,
        }

    def schedules(self, now: datetime) -> list[JsonDict]:
        rows = []
        for name, spec in self.scheduler.sources.items():
            _, zone = cron_and_zone(spec)
            upcoming = self.scheduler.next_fires[name].astimezone(zone)  # pingsource.next_fire's answer
            rows.append(
                {
                    "name": name,
                    "schedule": spec.schedule,
                    "timezone": zone.key,
                    "sink": spec.sink_service,
                    "next": upcoming.isoformat(),
                    "next_local": upcoming.strftime("%a %d %b %H:%M %Z"),
                    "in_seconds": round((upcoming - now).total_seconds()),
                }
            )
        return rows

    def routes(self, router: JsonRouter) -> None:
        """Add the dashboard's paths to the control server's router."""
        router.add("/", ("GET",), lambda request: _static("index.html"))
        router.add("/index.html", ("GET",), lambda request: _static("index.html"))
        router.add("/static/<name>", ("GET",), lambda request, name: _static(name))
        router.add("/api/state", ("GET",), lambda request: _json(self.state()))
        router.add("/api/fire/<source>", ("POST",), lambda request, source: fire(self.scheduler, source))
        router.add("/api/external", ("POST",), self._external)
        router.add("/api/sim/faults", ("GET",), self._fault_menu)
        router.add("/api/sim/<path:action>", ("POST",), self._sim)

    def _external(self, request: Request) -> Response:
        if self.external is None:
            return _json({"error": "no HTTPRoute with a POST rule in the manifests"}, 404)
        body = _body(request)
        return _json(self.external.send(with_token=bool(body.get("token"))))

    def _fault_menu(self, request: Request) -> Response:
        if self.simulated is None:
            return _json({"error": "fault controls exist only for the simulated bridge"}, 404)
        environ = {**request.environ, "PATH_INFO": "/_sim/faults"}
        return handle_admin(self.simulated, Request(environ))

    def _sim(self, request: Request, action: str) -> Response:
        if self.simulated is None:
            return _json({"error": "fault controls exist only for the simulated bridge"}, 404)
        parts = action.split("/")
        allowed = (len(parts) == 1 and parts[0] in SIM_ACTIONS) or (
            len(parts) == 3 and parts[0] == "lights" and parts[2] in SIM_LIGHT_ACTIONS
        )
        if not allowed:
            return _json({"error": f"no fault control {action!r}"}, 404)
        # The simulator's own admin API does the work, so its validation and bounds apply unchanged.
        environ = {**request.environ, "PATH_INFO": "/_sim/" + action}
        return handle_admin(self.simulated, Request(environ))


def fire(scheduler: PingScheduler, source: str) -> Response:
    """POST /fire/<source> and /api/fire/<source>: fire that PingSource now, answer the delivery."""
    if source not in scheduler.sources:
        return _json({"error": f"no PingSource {source!r}; known: {', '.join(scheduler.sources)}"}, 404)
    return _json(scheduler.fire_now(source).to_json())


def _body(request: Request) -> JsonDict:
    try:
        body = json.loads(request.get_data() or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _static(name: str) -> Response:
    if name not in STATIC_FILES:
        return _json({"error": "no such file"}, 404)
    response = Response((STATIC / name).read_bytes(), content_type=STATIC_FILES[name])
    response.headers["Cache-Control"] = "no-store"  # static/ is edited in place
    return response


def _json(payload: Any, status: int = 200) -> Response:
    return json_response(payload, status, NO_STORE)


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)
