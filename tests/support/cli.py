"""Running the setup tool in-process (`main(argv, env)`) and reading what it printed; the simulated bridge
behind a chosen certificate; sourcing what the tool writes for a shell in bash."""

from __future__ import annotations

import subprocess
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from devstack.bridge import SimulatedBridge
from devstack.bridge.tls import TestPKI
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


@contextmanager
def serve_with_certificate(bridge: SimulatedBridge, pki: TestPKI, variant: str) -> Iterator[str]:
    """`bridge` over TLS on an ephemeral 127.0.0.1 port, presenting `pki`'s certificate `variant`
    (devstack/bridge/tls.py: gen2, pro, self-signed, expired, foreign-ca, ...); yields its https:// URL."""
    server = make_server("127.0.0.1", 0, bridge, threaded=True, ssl_context=pki.credentials(variant).server_context())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# Values a hostile bridge (or a careless user) could hand the tool: each would run a command, or assign
# another variable, if it reached a shell unquoted.
HOSTILE_SHELL_VALUES = (
    "k$(touch ran-dollar)",
    "k`touch ran-backtick`",
    "k\nPATH=/nonexistent",
    "k'; touch ran-single-quote; '",
    'k"; touch ran-double-quote; "',
    "k\\",
    "k\\'$(touch ran-escaped)",
    "k;touch ran-semicolon&&PATH=/nonexistent",
    "~ * ${HOME} $PATH",
)
# Variables bash changes by itself from one run to the next.
_BASH_OWN = frozenset({"_", "BASHPID", "BASH_ARGC", "BASH_ARGV", "BASH_ARGV0", "BASH_COMMAND", "BASH_EXECUTION_STRING",
                       "BASH_LINENO", "BASH_SOURCE", "EPOCHREALTIME", "EPOCHSECONDS", "HISTCMD", "LINENO", "RANDOM",
                       "SECONDS", "SRANDOM"})  # fmt: skip
# Sources $1 in the current folder as the README says, then lists every variable with builtins only
# (a replaced PATH must not hide what happened), NUL-separated so that values may hold line breaks.
_SOURCE_AND_LIST = r"""
set -a; . "$1"; set +a
mapfile -t __listed < <(compgen -v)
for __name in "${__listed[@]}"; do [[ $__name == __* ]] || printf '%s=%s\0' "$__name" "${!__name}"; done
"""


def _bash_variables(folder: Path, file_name: str) -> dict[str, str]:
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", _SOURCE_AND_LIST, "bash", file_name],
        cwd=folder,
        env={"PATH": "/usr/bin:/bin", "HOME": str(folder), "LC_ALL": "C"},
        capture_output=True,
        timeout=20,
        check=True,
    )
    pairs = (entry.decode().partition("=") for entry in done.stdout.split(b"\0") if entry)
    return {name: value for name, _, value in pairs if name not in _BASH_OWN}


def source_in_bash(folder: Path, file_name: str) -> dict[str, str]:
    """`set -a; . ./FILE; set +a` in bash in `folder`: the variables that sourcing FILE set or changed
    (compared with sourcing an empty file)."""
    before = _bash_variables(folder, "/dev/null")
    after = _bash_variables(folder, f"./{file_name}")
    assert set(before) <= set(after), "sourcing removed variables"
    return {name: value for name, value in after.items() if before.get(name) != value}


# Names a bridge could give its lights and rooms: terminal escape sequences (retitle the window, clear the
# screen, a C1 CSI), a carriage return that overwrites the line, a line break, a right-to-left override.
TERMINAL_CODES_CONFIG = {
    "lights": {
        "1": {"name": "\x1b]0;owned\x07Sofa", "type": "Extended color light"},
        "2": {"name": "Lamp\x1b[2J\rfake ok", "type": "Extended color light"},
        "3": {"name": "Bloom\u202egnp.exe", "type": "Color light"},
        "4": {"name": "Hall\x9b31m\nPATH=x", "type": "Dimmable light"},
    },
    "groups": {"1": {"name": "Room\x1b[1A\x1b[2K", "type": "Room", "lights": ["1", "2", "3", "4"]}},
}


def terminal_codes(text: str) -> list[str]:
    """The characters of `text` a terminal would act on instead of showing: controls (but the line breaks
    that end lines), format characters such as bidirectional overrides, line and paragraph separators."""
    return [c for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]
