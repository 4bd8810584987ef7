"""The local stack's stdout is shared by threads (a pump per function, the PingSource scheduler): every line
it writes must arrive whole, or a function's one-JSON-line invocation record gets glued to another line
(seen once in the day test: a `[pingsource] ... -> 200` line inside a `[lights-on] {...}` record)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from devstack.stack.functions import say

LINES_PER_THREAD = 200


class PipeLikeStream:
    """A stdout whose every write lets other threads run, as a write to a full pipe or file does."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        time.sleep(0.0001)  # releases the GIL, like the write system call
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass


def test_lines_from_several_threads_never_interleave(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = PipeLikeStream()
    monkeypatch.setattr("sys.stdout", stream)

    def write(source: str) -> None:
        for index in range(LINES_PER_THREAD):
            say(f"[{source}] " + json.dumps({"action": source, "index": index}))

    threads = [threading.Thread(target=write, args=(name,)) for name in ("lights-off", "lights-on", "pingsource")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    lines = "".join(stream.parts).splitlines()
    assert len(lines) == 3 * LINES_PER_THREAD
    for line in lines:
        source, record = line.split(" ", 1)
        assert json.loads(record)["action"] == source.strip("[]")
