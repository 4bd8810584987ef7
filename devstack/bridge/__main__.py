"""Serve a simulated Hue bridge until SIGTERM or Ctrl-C.

python -m devstack.bridge --port 8000 [--host 127.0.0.1] [--config bridge.yaml] [--app-key K] [--v2-over-http]
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

import yaml

from devstack.bridge.app import SimulatedBridge


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.bridge", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
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
        server = bridge.serve(args.host, args.port)
    except OSError as exc:
        print(f"bridge simulator: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    lights = ", ".join(bridge.lights())
    print(f"simulated Hue bridge on {server.url} (lights {lights}); admin API {server.url}/_sim/state", flush=True)
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
