"""The local stack's simulated bridge, and what the functions are told about it: exactly what a user sets.

HTTPS by default (a gen-2 bridge): the functions get HUE_BRIDGE=https://127.0.0.1:<port> and
HUE_CA_BUNDLE=<this run's test root, written to a temporary file>, the way a user adds a CA, and no
HUE_BRIDGE_ID: each function confirms the id through the bridge's /api/config and logs it once, as it
would for a real bridge. In round mode (HTTP only) they get HUE_BRIDGE=http://... and no CA.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from devstack.bridge import SimulatedBridge
from devstack.bridge.modes import MODES, ServedBridge, serve_bridge

SIM_APP_KEY = "devstack-simulated-bridge-key"  # the simulator's own key; it opens no real bridge
HTTPS_PORT = "bridge-https"
HTTP_PORT = "bridge"


def bridge_ports(mode: str) -> list[str]:
    """The names of the ports (devstack.stack.functions.DEFAULT_PORTS) the simulator of `mode` listens on."""
    return [HTTP_PORT] if mode == "round" else [HTTP_PORT, HTTPS_PORT]


@dataclass
class SimulatedSetup:
    served: ServedBridge
    ca_bundle: Path | None

    @property
    def function_settings(self) -> dict[str, str | None]:
        """HUE_* for the functions; None removes a variable (one the developer exported for a real bridge)."""
        return {
            "HUE_BRIDGE": self.served.url,
            "HUE_APP_KEY": SIM_APP_KEY,
            "HUE_CA_BUNDLE": str(self.ca_bundle) if self.ca_bundle else None,
            "HUE_BRIDGE_ID": None,
        }

    def screen_lines(self) -> list[str]:
        served = self.served
        admin = f"curl -s {served.http_url}/_sim/state"
        lines = [f"  bridge      {served.url:<24} simulated Hue bridge, {MODES[served.mode]}; id {served.bridge_id}"]
        if served.https is not None:
            role = "answers 301 to https" if served.mode == "pro" else "the same API in plain HTTP"
            lines.append(f"              {served.http_url:<24} {role}; admin API: {admin}")
        else:
            lines.append(f"              admin API: {admin}")
        told = f"HUE_BRIDGE={served.url}"
        if self.ca_bundle is not None:
            told += f" HUE_CA_BUNDLE={self.ca_bundle}"
        lines.append(f"  functions get {told}")
        if self.ca_bundle is not None:
            lines.append("              (this run's test root, added as you would add a CA; no HUE_BRIDGE_ID:")
            lines.append("              each function confirms the id via /api/config and logs it once)")
        return lines


def start_simulated_bridge(
    config: str | None, mode: str, host: str, ports: dict[str, int], folder: Path
) -> SimulatedSetup:
    """Serve the simulator in `mode` on the planned ports; its test root goes to `folder` (the caller's temp)."""
    bridge = SimulatedBridge(config=config, app_key=SIM_APP_KEY)
    served = serve_bridge(bridge, mode, host, http_port=ports[HTTP_PORT], https_port=ports.get(HTTPS_PORT, 0))
    return SimulatedSetup(served, served.write_root(folder / "simulated-bridge-root.pem"))
