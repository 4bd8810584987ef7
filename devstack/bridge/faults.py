"""The faults the simulated bridge can inject: THE one list (docs link here), and the answers they give.

Set them with BridgeState's methods or over HTTP under /_sim/ (devstack/bridge/admin.py). They hit CLIP v1
(/api) and CLIP v2 (/clip/v2) requests alike and in arrival order; v2 has no error 901, so the "901" and
"partial" kinds answer a v2 request with HTTP 500 and a JSON `errors` body.

- latency: every /api request waits this long first (`set_latency(seconds)`, POST /_sim/latency).
- an outage (`start_outage(mode, seconds=None)`, POST /_sim/outage), one of OUTAGE_MODES; it ends after
  `seconds`, with `end_outage()` or `reset()`.
- the next N /api requests fail (`fail_next(count, kind, methods=None)`, POST /_sim/fail), one of FAULT_KINDS.
- an unreachable bulb (`set_reachable(light_id, False)`): commands are acknowledged but never arrive; v2
  shows its device's zigbee_connectivity as `connectivity_issue` and answers its light PUTs 207
  ("may not have effect").
- a power cycle (`power_cycle(light_id, delayed_revert=False)`): the effect is lost (colorloop and prism
  alike) and the bulb comes back in its powerup preset (`safety`: the power-on state; `powerfail`: as
  before; `last_on_state`: as before, on); with delayed_revert the next command is applied, then reverted.
- rate limits like the bridge's nginx (`set_rate_limits(...)`): more than 10 light commands or 1 group
  command in a sliding second -> HTTP 429 (v1: an HTML page; v2: JSON `errors`); rejected commands do not
  count. v1 `lights/N/state` and v2 `light` PUTs share the light budget, v1 `groups/N/action` and v2
  `grouped_light` PUTs the group budget.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

from werkzeug.wrappers import Response

OUTAGE_MODES = {
    "refuse": "the bridge stops listening: connections are refused (connected clients hang, then drop)",
    "503": "every /api request answers 503 with nginx's HTML page",
    "silent": "requests hang, then the connection drops",
}
FAULT_KINDS = {
    "429": "HTTP 429 with nginx's HTML page",
    "503": "HTTP 503 with nginx's HTML page",
    "500": "HTTP 500 with nginx's HTML page",
    "901": "HTTP 200 with Hue error 901 (internal error)",
    "html": "HTTP 200 with an HTML page instead of JSON",
    "invalid_json": "HTTP 200 with a truncated JSON body",
    "drop": "the connection is closed without an answer",
    "hang": "like the silent outage, for one request",
    "partial": "a PUT applies only its first attribute; the others answer error 901 in the same 200 list",
}
HANG_MAX_SECONDS = 120.0


def drop_connection(environ: dict[str, Any]) -> Response:
    """Reset the TCP connection without an answer, as an overloaded or rebooting bridge does."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    return Response(b"", status=500)
