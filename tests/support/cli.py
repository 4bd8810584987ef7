"""Running the setup tool in-process (`main(argv, env)`) and reading what it printed."""

from __future__ import annotations

from typing import Any

import pytest

from huelights_setup.cli import main
from tests.support.servers import APP_KEY, RunningBridge


def env_for(sim: RunningBridge, **extra: str) -> dict[str, str]:
    # Two attempts keep the error tests fast; the retry logic itself is tested in test_bridge.py.
    return {"HUE_BRIDGE": sim.http_url, "HUE_APP_KEY": APP_KEY, "HUE_MAX_ATTEMPTS": "2", **extra}


def run(capsys: pytest.CaptureFixture[str], argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    status = main(argv, env)
    out, err = capsys.readouterr()
    return status, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("huelights: ")
    return lines[0]


def commands_sent(sim: Any) -> int:
    """Light and group commands the simulated bridge behind `sim` (a RunningBridge or a V2Sim) received."""
    counts = sim.bridge.counts()
    return int(counts["light_commands"] + counts["group_commands"])


# Names that make target strings hard: a comma, a case-only twin, a name equal to another light's id, a zone called "0".
AWKWARD = {
    "lights": {
        "1": {"name": "Lamp", "type": "Extended color light"},
        "2": {"name": "lamp", "type": "Color light"},  # same name but for case: ambiguous, use the id
        "3": {"name": "Desk, left", "type": "Dimmable light"},  # a comma would split lights:...
        "4": {"name": "1", "type": "Dimmable light"},  # a name that is another light's id
        "5": {"name": "Porch", "type": "Color temperature light"},
    },
    "groups": {
        "1": {"name": "Office", "type": "Room", "lights": ["1", "2", "3"]},
        "2": {"name": "0", "type": "Zone", "lights": ["4"]},  # group:0 means every light
        "3": {"name": "Outside, front", "type": "Zone", "lights": ["5"]},
    },
}
