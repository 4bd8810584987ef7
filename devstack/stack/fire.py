"""Fire one PingSource of the running local stack now: python -m devstack.stack.fire <source>.

`make fire SOURCE=...` runs this.

The running stack (python -m devstack) sends the tick exactly as its schedule would, minus the jitter, and
this prints the delivery: HTTP status, attempts and the function's answer. Exit 0 when it was a 2xx.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import requests

DEFAULT_CONTROL = f"http://127.0.0.1:{os.environ.get('DEVSTACK_CONTROL_PORT', '8090')}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.stack.fire", description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", help="PingSource name from knative/, e.g. colorloop")
    parser.add_argument("--control", default=DEFAULT_CONTROL, help=f"control endpoint (default {DEFAULT_CONTROL})")
    args = parser.parse_args(argv)
    if not args.source:
        parser.print_usage(sys.stderr)
        print("name a PingSource, e.g. `make fire SOURCE=colorloop`", file=sys.stderr)
        return 2
    try:
        response = requests.post(f"{args.control}/fire/{args.source}", timeout=(3, 600))
    except requests.RequestException:
        print(f"no local stack answers at {args.control}: start it with `make run`", file=sys.stderr)
        return 1
    answer = response.json()
    if response.status_code != 200:
        print(answer.get("error", response.text), file=sys.stderr)
        return 1
    outcome = answer["status"] if answer["status"] is not None else answer["error"]
    print(f"{args.source}: Ce-Id {answer['event_id']} -> {outcome} after {answer['attempts']} attempt(s)")
    body = answer.get("response") or ""
    try:
        print(json.dumps(json.loads(body), indent=2))
    except ValueError:
        if body:
            print(body)
    return 0 if answer["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
