"""Fire one PingSource of the running local stack now: python -m devstack.stack.fire <source>.

`make fire SOURCE=...` runs this. It finds the stack where `make run` puts it: the control port 8090 moved
by --port-offset (default DEVSTACK_PORT_OFFSET, as for `make run`), or --control URL.

It first asks that port who it is (GET /status) and fires only at a local stack, then prints which one
(its folder, process and address), the delivery (HTTP status, attempts) and the function's answer. The
stack sends the tick exactly as its schedule would, minus the jitter. Exit 0 when it was a 2xx.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import requests

from devstack.stack.functions import DEFAULT_PORTS, StackError, port_offset_from_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.stack.fire", description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", help="PingSource name from knative/, e.g. colorloop")
    parser.add_argument(
        "--port-offset",
        type=int,
        help="the --port-offset the stack was started with (default: DEVSTACK_PORT_OFFSET, else 0)",
    )
    parser.add_argument("--control", help="the stack's control URL (default: http://127.0.0.1:8090 + offset)")
    args = parser.parse_args(argv)
    if not args.source:
        parser.print_usage(sys.stderr)
        print("name a PingSource, e.g. `make fire SOURCE=colorloop`", file=sys.stderr)
        return 2
    try:
        offset = args.port_offset if args.port_offset is not None else port_offset_from_env()
    except StackError as exc:
        print(exc, file=sys.stderr)
        return 2
    control = args.control or f"http://127.0.0.1:{DEFAULT_PORTS['control'] + offset}"
    where = control if args.control or not offset else f"{control}, port offset {offset}"
    try:
        stack = _local_stack(control)
    except requests.RequestException:
        print(f"no local stack answers at {where}: start it with `make run`", file=sys.stderr)
        return 1
    if stack is None:
        print(
            f"{where} answers, but not as a local stack that names itself: another program, or a stack of an "
            "older checkout, listens there",
            file=sys.stderr,
        )
        return 1
    name = f"the local stack of {stack.get('folder', '?')} (pid {stack.get('pid', '?')}, {where})"
    try:
        response = requests.post(f"{control}/fire/{args.source}", timeout=(3, 600))
        answer = response.json()
    except (requests.RequestException, ValueError) as exc:
        print(f"{name} did not answer the fire request ({type(exc).__name__})", file=sys.stderr)
        return 1
    if response.status_code != 200:
        print(f"{name}: {answer.get('error', response.text)}", file=sys.stderr)
        return 1
    outcome = answer["status"] if answer["status"] is not None else answer["error"]
    print(f"{args.source}: Ce-Id {answer['event_id']} -> {outcome} after {answer['attempts']} attempt(s), at {name}")
    body = answer.get("response") or ""
    try:
        print(json.dumps(json.loads(body), indent=2))
    except ValueError:
        if body:
            print(body)
    return 0 if answer["ok"] else 1


def _local_stack(control: str) -> dict[str, Any] | None:
    """The `stack` part of the control server's GET /status, None when what answers is not a local stack."""
    response = requests.get(f"{control}/status", timeout=(3, 30))
    try:
        status = response.json()
    except ValueError:
        return None
    stack = status.get("stack") if isinstance(status, dict) and "sources" in status else None
    return stack if isinstance(stack, dict) else None


if __name__ == "__main__":
    sys.exit(main())
