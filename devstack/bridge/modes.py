"""Serve a simulated bridge the way one of the three kinds of Hue bridge does: HTTPS, HTTP, or both.

    gen2   square bridge (BSB002): HTTPS and plain HTTP both answer the API (today's firmware)
    pro    Bridge Pro (BSB003): HTTPS only; plain HTTP answers every API request with 301 to https://
    round  first-generation round bridge (BSB001): plain HTTP only, no HTTPS at all

The HTTPS listener presents a leaf minted per run like a real bridge's (CN = the bridge id in lower case,
no subjectAltName, devstack/bridge/tls.py), signed by a per-run test root that stands in for Signify's
root-bridge; a Bridge Pro's leaf comes through an intermediate that the server sends. /api/config reports
the same id (upper case, as a bridge does), so a client can confirm it. A client trusts the test root the
way a user adds a CA: HUE_CA_BUNDLE=<ServedBridge.write_root(path)>.

The admin API (/_sim/, dev only) answers on the plain-HTTP listener in every mode, the Bridge Pro's
included (a real bridge has no /_sim/ to redirect), so curl and scripts need no CA; it answers over
HTTPS too, where there is HTTPS.

    bridge = SimulatedBridge()
    with serve_bridge(bridge, "pro") as served:   # served.url: what HUE_BRIDGE gets (https here)
        served.http_url                           # the plain-HTTP listener (301s here, /_sim/ answers)
        served.write_root(folder / "root.pem")    # -> HUE_CA_BUNDLE (None in round mode: nothing to trust)
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request

from devstack.bridge.app import SimulatedBridge
from devstack.bridge.server import BridgeServer
from devstack.bridge.tls import TestPKI
from devstack.web import html_response

MODES = {
    "gen2": "square gen-2 bridge: HTTPS and HTTP",
    "pro": "Bridge Pro: HTTPS; HTTP answers 301 to https://",
    "round": "round first-generation bridge: HTTP only",
}
DEFAULT_MODE = "gen2"
# The certificate each HTTPS mode presents (TestPKI variants): a gen-2 leaf is signed by the root directly,
# a Bridge Pro's chains through an intermediate it sends in the handshake.
CERTIFICATE_VARIANT = {"gen2": "gen2", "pro": "pro"}


def bridge_id_of(bridge: SimulatedBridge) -> str:
    """The id a certificate carries: /api/config's `bridgeid` in lower case."""
    return str(bridge.bridge_info["bridgeid"]).lower()


class RedirectToHttps:
    """The Bridge Pro's plain-HTTP answer: 301 to the same path on https:// (the admin API passes through)."""

    def __init__(self, bridge: SimulatedBridge, https_port: int) -> None:
        self.bridge = bridge
        self.https_port = https_port

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path.startswith("/_sim"):
            return self.bridge(environ, start_response)
        host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
        query = f"?{request.query_string.decode()}" if request.query_string else ""
        response = html_response(301, "Moved Permanently")
        response.headers["Location"] = f"https://{host}:{self.https_port}{request.path}{query}"
        return response(environ, start_response)


@dataclass
class ServedBridge:
    """A simulated bridge on its listeners: `https` (None in round mode) and `http` (always)."""

    bridge: SimulatedBridge
    mode: str
    http: BridgeServer
    https: BridgeServer | None
    pki: TestPKI | None

    @property
    def url(self) -> str:
        """The address a user would configure: https:// where the bridge has HTTPS, else http://."""
        return self.https.url if self.https is not None else self.http.url

    @property
    def http_url(self) -> str:
        return self.http.url

    @property
    def bridge_id(self) -> str:
        return bridge_id_of(self.bridge)

    def write_root(self, path: Path) -> Path | None:
        """Write the test root (the CA a client must trust) to `path`; None in round mode (no TLS)."""
        return self.pki.write_root(path) if self.pki is not None and self.https is not None else None

    def stop(self) -> None:
        for server in (self.https, self.http):
            if server is not None:
                server.stop()

    def __enter__(self) -> ServedBridge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def server_context(pki: TestPKI, mode: str) -> ssl.SSLContext:
    return pki.credentials(CERTIFICATE_VARIANT[mode]).server_context()


def serve_bridge(
    bridge: SimulatedBridge,
    mode: str = DEFAULT_MODE,
    host: str = "127.0.0.1",
    *,
    http_port: int = 0,
    https_port: int = 0,
    pki: TestPKI | None = None,
) -> ServedBridge:
    """Start the listeners of `mode`. `pki` (for the bridge's id) is minted here when not given; pass one
    to reuse its certificates (tests mint once per session)."""
    if mode not in MODES:
        raise ValueError(f"unknown bridge mode {mode!r}; one of {', '.join(MODES)}")
    if mode == "round":
        return ServedBridge(bridge, mode, bridge.serve(host, http_port), None, None)
    pki = pki if pki is not None else TestPKI(bridge_id_of(bridge))
    if pki.bridge_id != bridge_id_of(bridge):
        raise ValueError(f"the certificates are for bridge {pki.bridge_id}, the simulator is {bridge_id_of(bridge)}")
    https = bridge.serve(host, https_port, ssl_context=server_context(pki, mode))
    try:
        app = RedirectToHttps(bridge, https.port) if mode == "pro" else bridge
        http = BridgeServer(bridge, app, host, http_port)
    except BaseException:
        https.stop()
        raise
    return ServedBridge(bridge, mode, http, https, pki)
