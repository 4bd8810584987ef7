"""One run as the ledger keeps it, and the encoding of a function's runs in one ConfigMap data key.

A data key holds JSON Lines, one run per line, oldest first (`kubectl get configmap huelights-runs -o yaml`
then shows one line per run):

    {"id":"<event id>","trigger":"pingsource:colorloop","slot":"2026-12-01T05:35:00Z",
     "start":"2026-12-01T05:35:00.412Z","end":"2026-12-01T05:35:02.908Z","result":"ok","api":"v2",
     "requests":3,"lights":[["Desk","ok","prism"],["Hall","skipped","none"]]}

(one line in the ConfigMap; wrapped here). `id` is the CloudEvent id ("" for plain HTTP); `trigger` is
`pingsource:<PingSource name>`, `gateway` (external HTTP through the Gateway), `invoke` (`func invoke`) or
`catch-up`; `slot` the CloudEvent `time` the run served (null for plain HTTP); `start`/`end` UTC with
milliseconds; `result` the outcome's result (`ok` = succeeded; `transient`, `permanent`, `busy`); `api` `v1`,
`v2` or ""; `requests` the bridge requests the run cost; `lights` [name, status, effect] per light.

A line that does not read as a run (a hand edit) is skipped, never fatal. Strings and lights are cut
(MAX_TEXT_CHARS, MAX_LIGHTS) and the oldest runs dropped beyond MAX_KEY_BYTES, so that the keys of three
functions stay far below a ConfigMap's 1 MiB.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from huelights.errors import shorten

MAX_RUNS = 20
MAX_LIGHTS = 50
MAX_TEXT_CHARS = 128
MAX_KEY_BYTES = 128 * 1024
MAX_EVENT_MESSAGE_CHARS = 1024  # the API server's limit for an Event's message
PINGSOURCE_EVENT_TYPE = "dev.knative.sources.ping"
# A PingSource's events carry source /apis/v1/namespaces/<namespace>/pingsources/<name>.
PINGSOURCE_SOURCE = re.compile(r"/apis/v1/namespaces/[^/]+/pingsources/([a-z0-9]([-a-z0-9]{0,251}[a-z0-9])?)")
TRIGGER_GATEWAY = "gateway"
TRIGGER_INVOKE = "invoke"
TRIGGER_CATCH_UP = "catch-up"


def trigger_of(*, external: bool, event_type: str | None = None, event_source: str | None = None) -> str:
    """The ledger's name for what started a run (a catch-up run is TRIGGER_CATCH_UP, set by its caller)."""
    if event_type == PINGSOURCE_EVENT_TYPE and event_source:
        named = PINGSOURCE_SOURCE.fullmatch(event_source)
        if named:
            return f"pingsource:{named.group(1)}"
    return TRIGGER_GATEWAY if external else TRIGGER_INVOKE


@dataclass(frozen=True)
class LightRun:
    name: str
    status: str
    """`ok`, `skipped`, `unreachable` or `error`, as the run's outcome has it."""
    effect: str = "none"


@dataclass(frozen=True)
class RunRecord:
    """One run (the module docstring says what each field holds)."""

    event_id: str
    trigger: str
    slot: str | None
    started: datetime.datetime
    ended: datetime.datetime
    result: str
    api: str = ""
    bridge_requests: int = 0
    lights: tuple[LightRun, ...] = ()

    @property
    def succeeded(self) -> bool:
        return self.result == "ok"

    def as_line(self) -> str:
        record = {
            "id": shorten(self.event_id, MAX_TEXT_CHARS),
            "trigger": shorten(self.trigger, MAX_TEXT_CHARS),
            "slot": None if self.slot is None else shorten(self.slot, MAX_TEXT_CHARS),
            "start": timestamp(self.started),
            "end": timestamp(self.ended),
            "result": shorten(self.result, MAX_TEXT_CHARS),
            "api": shorten(self.api, MAX_TEXT_CHARS),
            "requests": self.bridge_requests,
            "lights": [
                [shorten(light.name, MAX_TEXT_CHARS), shorten(light.status, 16), shorten(light.effect, 16)]
                for light in self.lights[:MAX_LIGHTS]
            ],
        }
        return json.dumps(record, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_line(cls, line: str) -> RunRecord | None:
        """The run a line holds, or None when it does not read as one."""
        try:
            record = json.loads(line)
            return cls(
                event_id=_text(record["id"]),
                trigger=_text(record["trigger"]),
                slot=None if record["slot"] is None else _text(record["slot"]),
                started=datetime.datetime.fromisoformat(_text(record["start"])),
                ended=datetime.datetime.fromisoformat(_text(record["end"])),
                result=_text(record["result"]),
                api=_text(record["api"]),
                bridge_requests=int(record["requests"]),
                lights=tuple(LightRun(*(_text(part) for part in light)) for light in record["lights"]),
            )
        except (ValueError, KeyError, TypeError, RecursionError):
            return None


def timestamp(moment: datetime.datetime) -> str:
    """UTC, milliseconds, `Z`: 2026-12-01T05:35:00.412Z."""
    return moment.astimezone(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not text")
    return value


def encode_runs(runs: Iterable[RunRecord]) -> str:
    """One data key's value: the last MAX_RUNS runs, the oldest dropped first until it fits MAX_KEY_BYTES."""
    lines = [run.as_line() for run in runs][-MAX_RUNS:]
    while len(lines) > 1 and len("\n".join(lines).encode()) > MAX_KEY_BYTES:
        lines.pop(0)
    return "\n".join(lines)


def decode_runs(value: str) -> tuple[RunRecord, ...]:
    runs = (RunRecord.from_line(line) for line in value.splitlines() if line.strip())
    return tuple(run for run in runs if run is not None)


@dataclass(frozen=True)
class LedgerView:
    """One function's runs as one GET found them, with the version a write must build on."""

    runs: tuple[RunRecord, ...]
    """Oldest first."""
    resource_version: str

    def succeeded(self, event_id: str) -> bool:
        """Whether a run of this event id succeeded already (a redelivered event is then a duplicate)."""
        return bool(event_id) and any(run.event_id == event_id and run.succeeded for run in self.runs)


def event_reason(run: RunRecord) -> str:
    return {"ok": "RunSucceeded", "busy": "RunBusy"}.get(run.result, "RunFailed")


def event_message(run: RunRecord) -> str:
    """One line for `kubectl describe ksvc`: what ran, for which slot, and which lights did not succeed."""
    not_ok = [f"{light.name} {light.status}" for light in run.lights if light.status != "ok"]
    lights = f"{len(run.lights) - len(not_ok)} of {len(run.lights)} light(s) ok"
    if not_ok:
        lights += " (" + ", ".join(not_ok) + ")"
    slot = f" for slot {run.slot}" if run.slot else ""
    api = f" via {run.api}" if run.api else ""
    event = shorten(run.event_id, MAX_TEXT_CHARS) or "-"
    text = (
        f"{run.result}{slot} ({shorten(run.trigger, MAX_TEXT_CHARS)}, event {event}): {lights}{api}, "
        f"{run.bridge_requests} bridge request(s)"
    )
    return shorten(text, MAX_EVENT_MESSAGE_CHARS - 3)
