"""What every part of the report shares: medians and ratios, the Target record of one table row, the
paced time floor of a sequence of bridge requests, and how sizes and times are printed."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# How the bench writes a light command in a request sequence: v1 `PUT /lights/<id>/state`, v2
# `PUT v2 /resource/light` (bench.api_cost.shown_request); grouped_light and groups are not paced per light.
LIGHT_COMMAND_PREFIXES = ("PUT /lights/", "PUT v2 /resource/light")


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def ratio_of(value: float, baseline: float) -> float:
    return round(value / baseline, 3) if baseline else float("inf")


def paced_floor(sequence: list[str], latency: float, light_interval: float) -> float:
    """The least time `sequence` can take: each request's latency, plus the wait the client's pacing
    (the bridge's 10 light commands a second) adds between consecutive light commands, v1 or v2."""
    floor = len(sequence) * latency
    previous_was_light = False
    for request in sequence:
        is_light = request.startswith(LIGHT_COMMAND_PREFIXES)
        if is_light and previous_was_light:
            floor += max(0.0, light_interval - latency)
        previous_was_light = is_light
    return floor


@dataclass(frozen=True)
class Target:
    """One row of the table; `passed` None marks a figure shown for context, not judged."""

    key: str  # stable name in the JSON
    name: str  # the table's label
    figure: str  # what is measured, in words (the JSON's `figure`)
    measured: float
    baseline: float | None
    unit: str
    shown: tuple[str, str]  # measured and baseline as the table prints them
    ratio: float | None
    target: str  # the target as the table prints it
    passed: bool | None
    note: str = ""
    limit: float | None = None  # the ratio limit, when the target is one
    details: dict[str, Any] = field(default_factory=dict)  # further ratios, kept in the JSON

    @property
    def verdict(self) -> str:
        return "" if self.passed is None else "pass" if self.passed else "MISS"

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "figure": self.figure,
            "value": self.measured,
            "baseline": self.baseline,
            "unit": self.unit,
            "ratio": self.ratio,
            "limit": self.limit,
            "passed": self.passed,
            **self.details,
        }


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


def mb(size: float) -> str:
    return f"{size / 1_000_000:.2f} MB"


def ratio_target(
    key: str, name: str, figure: str, measured: float, baseline: float, limit: float, unit: str, **rest: Any
) -> Target:
    """A figure that passes when it is at most `limit` times its baseline."""
    ratio = ratio_of(measured, baseline)
    passed = ratio <= limit
    return Target(
        key,
        name,
        figure,
        measured,
        baseline,
        unit,
        ratio=ratio,
        target=f"<= {limit:.2f}",
        passed=passed,
        limit=limit,
        **rest,
    )
