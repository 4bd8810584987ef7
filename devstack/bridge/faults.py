"""The faults the simulated bridge can inject: THE one list (docs link here), and the answers they give.

Set them with BridgeState's methods or over HTTP under /_sim/ (devstack/bridge/admin.py):

- latency: every /api request waits this long first (`set_latency(seconds)`, POST /_sim/latency).
- an outage (`start_outage(mode, seconds=None)`, POST /_sim/outage), one of OUTAGE_MODES; it ends after
  `seconds`, with `end_outage()` or `reset()`.
- the next N /api requests fail (`fail_next(count, kind, methods=None)`, POST /_sim/fail), one of FAULT_KINDS.
- an unreachable bulb (`set_reachable(light_id, False)`): commands are acknowledged but never arrive.
- a power cycle (`power_cycle(light_id, delayed_revert=False)`): back on in the power-on state, without the
  effect; with delayed_revert the next command is applied, then reverted.
- rate limits like the bridge's nginx (`set_rate_limits(...)`): more than 10 light commands or 1 group
  command in a sliding second -> HTTP 429 with an HTML page (rejected commands do not count).
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
