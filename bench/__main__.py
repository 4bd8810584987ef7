"""python -m bench (= make bench): measure, print the table, write the figures as JSON.

    python -m bench                       # 15 cold starts, 5 bridge-cost runs; JSON to $BENCH_OUT
    python -m bench --smoke               # 1 run each, small bursts, this environment (the test suite)
    python -m bench --library /tmp/hl     # the same, with another huelights/ staged into the images
    python -m bench --env THREADED_TIMEOUT_ENABLED=false   # an image ENV changed for every program

The bench reports; it never fails on a figure. It exits non-zero only when it could not measure.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import api_cost, environment, report
from bench.environment import BASELINE, FUNCTIONS, Environment
from bench.measure import GROUP_TARGET, LIGHTS_TARGET, MEMORY_AGE_SECONDS, Bench, MeasureError

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "bench-results.json"  # git-ignored
LIGHT_INTERVAL_SECONDS = 0.1  # huelights' default HUE_LIGHT_INTERVAL: the bridge's 10 light commands a second


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="bridge-cost runs (a cold and warm actions each)")
    parser.add_argument("--cold-repeats", type=int, default=15, help="cold starts per program (cheap, noisy)")
    parser.add_argument(
        "--api-repeats", type=int, default=3, help="processes per action and API (off/on/colorloop x v2/v1 HTTPS/HTTP)"
    )
    parser.add_argument("--warm-actions", type=int, default=2, help="warm actions after each cold one")
    parser.add_argument("--latency", type=float, default=0.05, help="simulated bridge latency per request (s)")
    parser.add_argument("--load-calls", type=int, default=200, help="concurrent calls per burst")
    parser.add_argument("--load-bursts", type=int, default=3)
    parser.add_argument("--call-timeout", type=float, default=10.0, help="a burst call unanswered this long fails")
    parser.add_argument("--stop-timeout", type=float, default=5.0, help="SIGTERM, then SIGKILL after this long")
    parser.add_argument(
        "--memory-age", type=float, default=MEMORY_AGE_SECONDS, help="read memory once a process is this old (s)"
    )
    parser.add_argument("--current-env", action="store_true", help="run from this environment, no fresh installs")
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed first start of each program")
    parser.add_argument(
        "--smoke", action="store_true", help="1 run, small bursts, --current-env, --no-warmup, HUE_VERIFY_DELAY=0"
    )
    parser.add_argument("--library", type=Path, help="stage this folder as /app/huelights/ (a scratch copy)")
    parser.add_argument("--lock", type=Path, help="install this hashed lock instead of requirements.lock")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="extra env for every program")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("BENCH_OUT") or DEFAULT_OUT))
    parser.add_argument("--keep", action="store_true", help="keep the work folder (staged images, venvs, logs)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.repeats, args.cold_repeats, args.warm_actions, args.load_calls, args.load_bursts = 1, 1, 1, 5, 1
        args.api_repeats = 1
        args.call_timeout, args.stop_timeout, args.memory_age = 3.0, 2.0, 0.0
        args.current_env = args.no_warmup = True
        if not any(item.startswith("HUE_VERIFY_DELAY=") for item in args.env):
            args.env.insert(0, "HUE_VERIFY_DELAY=0")  # the harness, not the figures: skip the deliberate 1 s
    counts = (args.repeats, args.cold_repeats, args.api_repeats, args.warm_actions, args.load_calls, args.load_bursts)
    if min(counts) < 1:
        parser.error("every --*-repeats, --warm-actions, --load-calls and --load-bursts must be at least 1")
    for item in args.env:
        if "=" not in item:
            parser.error(f"--env {item!r}: expected KEY=VALUE")
    return args


_STARTED = time.monotonic()


def progress(message: str) -> None:
    print(f"[bench {time.monotonic() - _STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    machine = environment.machine()
    started = time.monotonic()
    progress("staging the images and their runtime install" + ("" if args.current_env else " (fresh venvs)"))
    env: Environment = environment.prepare(work, fresh=not args.current_env, library=args.library, lock=args.lock)
    extra_env = dict(item.split("=", 1) for item in args.env)
    bench = Bench(env, work, extra_env, args.stop_timeout, args.memory_age)
    try:
        order = [BASELINE, *FUNCTIONS]
        if not args.no_warmup:
            progress("warm-up: one untimed start of each program (page cache, first bytecode load)")
            for name in order:
                bench.cold_start(env.programs[name], memory=False)
        cold: dict[str, list[dict[str, Any]]] = {name: [] for name in order}
        for rep in range(args.cold_repeats):
            progress(f"cold starts, round {rep + 1} of {args.cold_repeats}")
            for name in order[rep % len(order) :] + order[: rep % len(order)]:  # rotate: spread the noise
                # Memory barely varies from run to run; reading it costs a wait, so the first rounds do.
                cold[name].append(bench.cold_start(env.programs[name], memory=rep < args.repeats))
        bridge: dict[str, list[dict[str, Any]]] = {"group": [], "lights": []}
        for rep in range(args.repeats):
            progress(f"bridge cost at {args.latency * 1000:.0f} ms a request, round {rep + 1} of {args.repeats}")
            bridge["group"].append(bench.bridge_cost(GROUP_TARGET, args.warm_actions, args.latency))
            bridge["lights"].append(bench.bridge_cost(LIGHTS_TARGET, args.warm_actions, args.latency))
        progress(f"requests and latency per action and API, {args.api_repeats} round(s) of 9 processes")
        api = api_cost.measure(bench, args.api_repeats, args.warm_actions, args.latency)
        throughput = {}
        for name in ("colorloop", BASELINE):
            progress(f"{args.load_bursts} burst(s) of {args.load_calls} concurrent calls, {name}")
            throughput[name] = bench.throughput(
                env.programs[name], args.load_calls, args.load_bursts, args.call_timeout
            )
    finally:
        bench.close()
    figures, targets = report.summarize(cold, bridge, throughput, env.weight, LIGHT_INTERVAL_SECONDS, api)
    return {
        "schema": 1,
        "generated_at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine,
        "settings": {
            "repeats": args.repeats,
            "api_repeats": args.api_repeats,
            "cold_repeats": args.cold_repeats,
            "warm_actions": args.warm_actions,
            "latency_s": args.latency,
            "load_calls": args.load_calls,
            "load_bursts": args.load_bursts,
            "call_timeout_s": args.call_timeout,
            "stop_timeout_s": args.stop_timeout,
            "memory_age_s": args.memory_age,
            "fresh_install": not args.current_env,
            "warmup": not args.no_warmup,
            "library": str(args.library) if args.library else None,
            "lock": str(args.lock) if args.lock else None,
            "extra_env": extra_env,
            "wall_seconds": round(time.monotonic() - started, 1),
        },
        "figures": figures,
        "targets": targets,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="huelights-bench-"))
    ok = False
    try:
        result = run(args, work)
        ok = True
    except (MeasureError, environment.SetupError) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    finally:
        if args.keep or not ok:
            progress(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(report.table(result))
    progress(f"figures written to {args.out} ({result['settings']['wall_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
