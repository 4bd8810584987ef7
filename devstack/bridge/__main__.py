"""Serve a simulated Hue bridge until SIGTERM or Ctrl-C.

python -m devstack.bridge [--mode gen2|pro|round] [--port 8000] [--https-port 8443] [--ca-out root.pem]
                          [--host 127.0.0.1] [--config bridge.yaml] [--app-key K]
                          [--v2-over-http]

--port is the plain-HTTP listener (the admin API /_sim/ is there in every mode), --https-port the HTTPS one
(not in round mode). Port 0 takes any free port: the lines printed at start name both addresses (the
HTTPS one in HUE_BRIDGE=https://...), so a simulator beside a running `make run` (which holds 8000 and
8443) or in a test runs with --port 0 --https-port 0. The certificates are minted per run; --ca-out says
where to write the test root that a client adds with HUE_CA_BUNDLE (default: a temporary file, removed on
exit). Modes: devstack/bridge/modes.py.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
from pathlib import Path

import yaml

from devstack.bridge.app import SimulatedBridge
from devstack.bridge.modes import DEFAULT_MODE, MODES, serve_bridge


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.bridge", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mode", choices=list(MODES), default=DEFAULT_MODE, help="; ".join(MODES.values()))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=8000, help="plain-HTTP port (API, or 301 in pro mode; /_sim/); 0: any free port"
    )
    parser.add_argument(
        "--https-port", type=int, default=8443, help="HTTPS port (gen2 and pro modes); 0: any free port"
    )
    parser.add_argument("--ca-out", type=Path, help="write the per-run test root here (for HUE_CA_BUNDLE)")
    parser.add_argument("--config", help="YAML file with bridge/lights/groups/rate_limits (default: built-in seed)")
    parser.add_argument("--app-key", default="testkey", help="the application key the bridge accepts")
    parser.add_argument(
        "--v2-over-http", action="store_true", help="serve CLIP v2 over plain HTTP too (a real bridge: HTTPS only)"
    )
    args = parser.parse_args(argv)
    try:
        bridge = SimulatedBridge(config=args.config, app_key=args.app_key)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        print(f"bridge simulator: bad config {args.config}: {exc}", file=sys.stderr)
        return 2
    if args.v2_over_http:
        bridge.set_v2_over_http(True)
    try:
        served = serve_bridge(bridge, args.mode, args.host, http_port=args.port, https_port=args.https_port)
    except OSError as exc:
        print(
            f"bridge simulator: cannot listen on {args.host}: {exc.strerror} (--port 0 --https-port 0: any free ports)",
            file=sys.stderr,
        )
        return 1
    with tempfile.TemporaryDirectory(prefix="hue-sim-") as folder:
        root = served.write_root(args.ca_out or Path(folder) / "test-root.pem")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        lights = ", ".join(bridge.lights())
        print(f"simulated Hue bridge ({MODES[args.mode]}), id {served.bridge_id}, lights {lights}", flush=True)
        if root is not None:
            print(f"  HUE_BRIDGE={served.url} HUE_CA_BUNDLE={root}", flush=True)
        else:
            print(f"  HUE_BRIDGE={served.url}", flush=True)
        print(f"  plain HTTP on {served.http_url}; admin API {served.http_url}/_sim/state", flush=True)
        stop.wait()
        served.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
