"""Control endpoint and dashboard of the local stack (127.0.0.1:8090 by default).

    GET  /                 dashboard: clock, schedules, last deliveries, simulated lights (refreshes itself)
    GET  /status           the same as JSON
    POST /fire/<source>    fire that PingSource now; answers the delivery (status, attempts, response)
`python -m devstack.fire <source>` is a client of POST /fire.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.pingsource import PingScheduler, cron_and_zone

JsonDict = dict[str, Any]


class ControlApp:
    def __init__(self, scheduler: PingScheduler, describe: Callable[[], JsonDict]) -> None:
        self.scheduler = scheduler
        self.describe = describe  # ports, processes, bridge snapshot: owned by the stack

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
        if request.method == "POST" and len(parts) == 2 and parts[0] == "fire":
            try:
                delivery = self.scheduler.fire_now(parts[1])
            except KeyError:
                known = ", ".join(self.scheduler.sources)
                response = _json({"error": f"no PingSource {parts[1]!r}; known: {known}"}, 404)
            else:
                response = _json(delivery.to_json())
        elif request.method == "GET" and request.path == "/status":
            response = _json(self.status())
        elif request.method == "GET" and request.path == "/":
            response = Response(self.dashboard(), content_type="text/html; charset=utf-8")
        else:
            response = _json({"error": "GET /, GET /status, POST /fire/<source>"}, 404)
        return response(environ, start_response)

    def dashboard(self) -> str:
        status = self.status()
        esc = html.escape
        rows = "".join(
            f"<tr><td>{esc(n)}</td><td><code>{esc(s['schedule'])}</code> {esc(s['timezone'])}</td>"
            f"<td>{esc(s['next'])}</td><td>{esc(str(s['sink']))}</td></tr>"
            for n, s in status["sources"].items()
        )
        deliveries = "".join(
            f"<tr><td>{esc(d['ce_time'])}</td><td>{esc(d['source'])}{' (manual)' if d['manual'] else ''}</td>"
            f"<td>{esc(str(d['status'] or d['error']))}</td><td>{d['attempts']}</td></tr>"
            for d in reversed(status["deliveries"])
        )
        lights = "".join(
            f"<tr><td>{esc(lid)} {esc(light['name'])}</td><td>{esc(light['type'])}</td>"
            f"<td>{'on' if light['state'].get('on') else 'off'}</td>"
            f"<td>{esc(str(light['state'].get('effect', '-')))}</td>"
            f"<td>{'yes' if light['state'].get('reachable') else 'NO'}</td></tr>"
            for lid, light in (status.get("bridge") or {}).get("lights", {}).items()
        )
        services = "".join(
            f"<li>{esc(name)}: <code>{esc(url)}</code></li>" for name, url in status.get("services", {}).items()
        )
        return f"""<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
<title>huelights local stack</title><style>body{{font-family:sans-serif}} td{{padding:2px 10px}}</style></head>
<body><h1>huelights local stack</h1><p>clock {esc(status["clock"]["now"])} (x{status["clock"]["speed"]})</p>
<ul>{services}</ul><h2>PingSources</h2>
<table><tr><th>source</th><th>schedule</th><th>next</th><th>sink</th></tr>{rows}</table>
<h2>Simulated lights</h2>
<table><tr><th>light</th><th>type</th><th>on</th><th>effect</th><th>reachable</th></tr>{lights}</table>
<h2>Deliveries</h2><table><tr><th>Ce-Time</th><th>source</th><th>status</th><th>attempts</th></tr>{deliveries}</table>
</body></html>"""


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, indent=1), status=status, content_type="application/json")
