"""Control endpoint and dashboard of the local stack (127.0.0.1:8090 by default).

    GET  /                 the live dashboard (dashboard.py and static/ next to this file; its JSON under /api/)
    GET  /status           clock, schedules, last deliveries, processes, the simulated bridge and which stack
                           this is (its folder and pid) as JSON
    POST /fire/<source>    fire that PingSource now; answers the delivery (status, attempts, response)
`python -m devstack.stack.fire <source>` is a client of POST /fire.

Every request passes devstack/web.py's refuse_other_users first (only the user who started the stack), then
refuse_foreign_page: loopback Host, no Origin but the dashboard's own (this port, not any other localhost
port), and the dashboard's POSTs under /api/ as JSON.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.cluster.pingsource import PingScheduler, cron_and_zone
from devstack.processes import REPO
from devstack.stack.dashboard import Dashboard, fire
from devstack.stack.functions import DEFAULT_PORTS
from devstack.web import JsonRouter, json_response, refuse_foreign_page, refuse_other_users

JsonDict = dict[str, Any]


class ControlApp:
    def __init__(
        self,
        scheduler: PingScheduler,
        describe: Callable[[], JsonDict],
        dashboard: Dashboard | None = None,
        port: int = DEFAULT_PORTS["control"],
    ) -> None:
        self.scheduler = scheduler
        self.port = port  # the dashboard's origin is http://127.0.0.1:<port>: the only page answered
        self.describe = describe  # ports, processes, bridge snapshot: owned by the stack
        self.dashboard = dashboard
        self._router = self.router()

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
            # Which stack this is, for `make fire` to name (several checkouts may each run one).
            "stack": {"folder": str(REPO), "pid": os.getpid()},
            **self.describe(),
        }

    def router(self) -> JsonRouter:
        router = JsonRouter(not_found="GET /, GET /status, POST /fire/<source>")
        if self.dashboard is not None:
            self.dashboard.routes(router)
        router.add("/status", ("GET",), lambda request: _json(self.status()))
        router.add("/fire/<source>", ("POST",), lambda request, source: fire(self.scheduler, source))
        return router

    def handle(self, request: Request) -> Response:
        # `python -m devstack.stack.fire` sends no Origin and no body; the dashboard's page declares JSON.
        refusal = refuse_other_users(request) or refuse_foreign_page(
            request, self.port, json_only=request.path.startswith("/api/")
        )
        return refusal if refusal is not None else self._router(request)

    def __call__(self, environ: JsonDict, start_response: Any) -> Any:
        return self.handle(Request(environ))(environ, start_response)


def _json(payload: Any, status: int = 200) -> Response:
    return json_response(payload, status, indent=1)
