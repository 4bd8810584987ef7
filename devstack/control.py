"""Control endpoint and dashboard of the local stack (127.0.0.1:8090 by default).

    GET  /                 the live dashboard (devstack/dashboard.py and devstack/static/; its JSON under /api/)
    GET  /status           clock, schedules, last deliveries, processes and the simulated bridge as JSON
    POST /fire/<source>    fire that PingSource now; answers the delivery (status, attempts, response)
`python -m devstack.fire <source>` is a client of POST /fire.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.dashboard import Dashboard, refuse_cross_site
from devstack.pingsource import PingScheduler, cron_and_zone

JsonDict = dict[str, Any]


class ControlApp:
    def __init__(
        self, scheduler: PingScheduler, describe: Callable[[], JsonDict], dashboard: Dashboard | None = None
    ) -> None:
        self.scheduler = scheduler
        self.describe = describe  # ports, processes, bridge snapshot: owned by the stack
        self.dashboard = dashboard

    def status(self) -> JsonDict:
        clock = self.scheduler.clock
        sources = list(self.scheduler.sources.values())
        local = cron_and_zone(sources[0])[1] if sources else None  # show the schedules' local time
        return {
            "clock": {"now": clock.now().astimezone(local).isoformat(timespec="seconds"), "speed": clock.speed},
            "sources": {
                name: {
                    "schedule": spec.schedule,
                    "timezone": spec.timezone or "UTC",
                    "sink": spec.sink_service,
                    "next": self.scheduler.next_fires[name].isoformat(),
                }
                for name, spec in self.scheduler.sources.items()
            },
            "deliveries": [d.to_json() for d in list(self.scheduler.history)[-20:]],
            **self.describe(),
        }

    def __call__(self, environ: JsonDict, start_response: Any) -> Any:
        request = Request(environ)
        parts = [p for p in request.path.split("/") if p]
        answer = self.dashboard.handle(request) if self.dashboard is not None else None
        refusal = refuse_cross_site(request, require_json=False) if request.method == "POST" else None
        if answer is not None:
            response = answer
        elif refusal is not None:  # `python -m devstack.fire` sends no Origin; a page on another site does
            response = refusal
        elif request.method == "POST" and len(parts) == 2 and parts[0] == "fire":
            try:
                delivery = self.scheduler.fire_now(parts[1])
            except KeyError:
                known = ", ".join(self.scheduler.sources)
                response = _json({"error": f"no PingSource {parts[1]!r}; known: {known}"}, 404)
            else:
                response = _json(delivery.to_json())
        elif request.method == "GET" and request.path == "/status":
            response = _json(self.status())
        else:
            response = _json({"error": "GET /, GET /status, POST /fire/<source>"}, 404)
        return response(environ, start_response)


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, indent=1), status=status, content_type="application/json")
