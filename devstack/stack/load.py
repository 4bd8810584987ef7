"""Bounded bursts of concurrent calls on 127.0.0.1, and what the bridge saw meanwhile (load test and bench).

A burst is a fixed number of calls, all started at once from a thread pool, each with its own timeout:
the load is bounded in count and time and stops by itself.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

CALL_TIMEOUT_SECONDS = 60.0


def external_headers(token: str) -> dict[str, str]:
    """What a call through the Gateway carries: the header the HTTPRoute sets, and the caller's token."""
    return {"X-Gohome-External": "colorloop.lab", "Authorization": f"Bearer {token}"}


def burst(
    url: str, calls: int, headers: Mapping[str, str], timeout: float = CALL_TIMEOUT_SECONDS
) -> tuple[list[requests.Response], float]:
    """POST url `calls` times at once; every response and the seconds until the last one arrived.

    Raises the first call's error (a timeout, a refused connection): use `burst_with_failures` to count them.
    """
    responses, failures, elapsed = burst_with_failures(url, calls, headers, timeout)
    if failures:
        raise failures[0]
    return responses, elapsed


def burst_with_failures(
    url: str, calls: int, headers: Mapping[str, str], timeout: float = CALL_TIMEOUT_SECONDS
) -> tuple[list[requests.Response], list[requests.RequestException], float]:
    """Like `burst`, but a call that fails is returned among the failures instead of raising."""

    def call(_: int) -> requests.Response | requests.RequestException:
        try:
            return requests.post(url, headers=dict(headers), timeout=timeout)
        except requests.RequestException as error:
            return error

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=calls) as pool:
        results = list(pool.map(call, range(calls)))
    elapsed = time.monotonic() - started
    responses = [r for r in results if isinstance(r, requests.Response)]
    failures = [r for r in results if isinstance(r, requests.RequestException)]
    return responses, failures, elapsed


def most_in_any_second(times: list[float]) -> int:
    """Most commands that arrived within one second of each other (less 50 ms of network jitter: the
    client spaces them by the clock it sends with, the simulator stamps them when they arrive)."""
    times = sorted(times)
    most, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 0.95:
            start += 1
        most = max(most, end - start + 1)
    return most


def burst_figures(
    responses: list[requests.Response], elapsed: float, bridge_log: list[dict[str, Any]]
) -> dict[str, Any]:
    """What one burst did: answers per second, status counts, and the bridge's requests meanwhile."""
    statuses = [r.status_code for r in responses]
    return {
        "calls": len(responses),
        "seconds": round(elapsed, 2),
        "answered_per_second": round(len(responses) / elapsed, 1),
        "status_counts": {str(s): statuses.count(s) for s in sorted(set(statuses))},
        "bridge_requests": len(bridge_log),
        "bridge_requests_per_second": round(len(bridge_log) / elapsed, 2),
        "slowest_answer_seconds": round(max((r.elapsed.total_seconds() for r in responses), default=0.0), 2),
        "median_answer_seconds": round(statistics.median(r.elapsed.total_seconds() for r in responses), 3)
        if responses
        else None,
    }
