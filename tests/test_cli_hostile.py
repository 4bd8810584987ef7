"""The setup tool against a bridge that answers with shell syntax and terminal codes (issue 18, item 1).

A key, an id or a name from the bridge is data: a key or an id of the wrong shape is refused with one line
before anything is saved or printed, and names reach the terminal with their control characters escaped.
The files and commands written for a shell are sourced in bash in tests/integration/test_cli_process.py.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import responses

from devstack.bridge import SimulatedBridge
from huelights_setup.cli import TerminalFormatter
from tests.support.cli import HOSTILE_SHELL_VALUES, TERMINAL_CODES_CONFIG, one_error_line, run, terminal_codes
from tests.support.hue import BRIDGE
from tests.support.servers import APP_KEY

BRIDGE_ID = "001788FFFE5A1B2C"


def _bridge_answers(username: Any = None, **config: Any) -> None:
    """`responses` plays a bridge: /api/config (no key), and POST /api handing out `username`."""
    info = {"name": "Hue Bridge", "bridgeid": BRIDGE_ID, "modelid": "BSB002", **config}
    responses.get(f"{BRIDGE}/api/config", json=info)
    responses.post(f"{BRIDGE}/api", json=[{"success": {"username": username, "clientkey": "0" * 32}}])


def _pair_saving(capsys: pytest.CaptureFixture[str], tmp_path: Path, key: str) -> tuple[int, str, str, Path]:
    """`pair --save hue.env` against a bridge that hands out `key`: status, stdout, stderr and the file."""
    _bridge_answers(key)
    saved = tmp_path / "hue.env"
    status, out, err = run(capsys, ["pair", "--bridge", BRIDGE, "--save", str(saved)], {})
    return status, out, err, saved


def _posts() -> int:
    return sum(call.request.method == "POST" for call in responses.calls)


# ----- keys -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        *HOSTILE_SHELL_VALUES,
        "k" * 9,  # shorter than any key a bridge gives
        "k" * 41,
        "k" * 39 + "\n",
        "abcdef.ghijkl",  # '.' is allowed in HUE_APP_KEY, but no bridge hands it out
        "schlüssel-0123456789",
        "\x1b]0;owned\x07-0123456789",
    ],
)
@responses.activate
def test_pair_refuses_a_key_that_is_not_a_hue_key_and_saves_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, key: str
) -> None:
    status, out, err, saved = _pair_saving(capsys, tmp_path, key)
    assert status == 1
    assert out == ""
    line = err.strip().splitlines()[-1]  # after the bridge's name and "Press the round link button"
    assert line.startswith("huelights: bridge http://127.0.0.1:9: POST /api: the bridge answered with a key that")
    assert "nothing was kept" in line
    assert key not in err and "owned" not in err, "the value is neither echoed nor shown"
    assert terminal_codes(err) == []
    assert "Next:" not in err
    assert not saved.exists()
    assert _posts() == 1, "a wrong key is an answer, not a button to wait for"


@pytest.mark.parametrize(
    "key",
    [
        "0123456789",  # the shortest: 10 letters and digits
        "pF3Kq9-mWz1bXc7Rt0yLd2Hs8Ve4Ng6Ju5Ao-Qi1",  # 40 letters, digits and '-', as bridges generate them
        "a4e08834-0893-4013-b646-738582ec15c9",  # a UUID, the spec's example
        "Xy_9" * 10,  # '_' (the simulator and emulators)
    ],
)
@responses.activate
def test_pair_keeps_every_key_shape_a_bridge_hands_out(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, key: str
) -> None:
    status, out, err, saved = _pair_saving(capsys, tmp_path, key)
    assert status == 0, err
    assert saved.read_text() == f"HUE_APP_KEY={key}\n", "nothing to quote in a key of this shape"
    assert key not in out + err


# ----- the bridge id ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bridge_id", ["001788FFFE5A1B2C$(touch x)", "001788fffe5a1b2c\nPATH=/x", "", 1788, None])
@pytest.mark.parametrize("command", ["pair", "check"])
@responses.activate
def test_a_bridge_id_that_is_not_16_hex_digits_stops_pair_and_check(
    capsys: pytest.CaptureFixture[str], command: str, bridge_id: Any
) -> None:
    _bridge_answers("0123456789", bridgeid=bridge_id)
    env = {"HUE_BRIDGE": BRIDGE, "HUE_APP_KEY": APP_KEY, "HUE_TARGET": "all"}
    status, out, err = run(capsys, [command], env)
    assert status == 1
    line = one_error_line(err)
    assert "is not a bridge id (16 hex digits); is HUE_BRIDGE a Hue bridge?" in line
    assert terminal_codes(line) == []
    assert "pin this bridge" not in out and "HUE_BRIDGE_ID=" not in err
    assert _posts() == 0 and len(responses.calls) == 1, "nothing asked after /api/config"


# ----- names and messages on the terminal -------------------------------------------------------------


@pytest.mark.parametrize("command", [["lights"], ["groups"], ["check"]])
def test_names_with_terminal_codes_are_shown_escaped(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    bridge = SimulatedBridge(config=TERMINAL_CODES_CONFIG, app_key=APP_KEY)
    with bridge.serve("127.0.0.1", 0) as server:
        status, out, err = run(capsys, command, {"HUE_BRIDGE": server.url, "HUE_APP_KEY": APP_KEY})
    assert status == 0, err
    assert "Sofa" in out and "fake ok" in out
    assert terminal_codes(out + err) == []
    assert "\\u001b]0;owned\\u0007Sofa" in out, "escaped, not dropped: the user sees what the bridge sent"
    if command == ["lights"]:
        table = out.splitlines()
        assert len(table) == 5, "one line per light: no name breaks or overwrites one"
        assert [line.split()[-1] for line in table[1:]] == ["lights:1", "lights:2", "lights:3", "lights:4"]


@pytest.mark.parametrize("command", ["lights", "groups"])
def test_json_listing_escapes_terminal_codes_and_keeps_the_names(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    bridge = SimulatedBridge(config=TERMINAL_CODES_CONFIG, app_key=APP_KEY)
    with bridge.serve("127.0.0.1", 0) as server:
        status, out, err = run(capsys, [command, "--json"], {"HUE_BRIDGE": server.url, "HUE_APP_KEY": APP_KEY})
    assert status == 0, err
    assert terminal_codes(out) == []
    rows = json.loads(out)
    expected = TERMINAL_CODES_CONFIG[command]
    assert {row["id"]: row["name"] for row in rows if row["id"] in expected} == {
        resource_id: resource["name"] for resource_id, resource in expected.items()
    }


@responses.activate
def test_a_bridge_message_with_terminal_codes_stays_one_escaped_line(capsys: pytest.CaptureFixture[str]) -> None:
    error = {"type": 4, "address": "/config", "description": "\x1b[2J\x1b]0;owned\x07 bad\nhuelights: all fine"}
    responses.get(f"{BRIDGE}/api/config", json=[{"error": error}])
    status, _, err = run(capsys, ["check"], {"HUE_BRIDGE": BRIDGE, "HUE_APP_KEY": APP_KEY})
    assert status == 1
    line = one_error_line(err)
    assert terminal_codes(line) == []
    assert "Hue error 4 at /config: \\u001b[2J" in line


def test_verbose_log_lines_escape_what_the_bridge_sent() -> None:
    """-v shows the client's retries, which quote the bridge's error descriptions."""
    record = logging.LogRecord(
        "huelights.bridge", logging.WARNING, __file__, 1, "%s; retry 1/2", ("Hue error 901: \x1b]0;owned\x07",), None
    )
    assert TerminalFormatter().format(record) == "Hue error 901: \\u001b]0;owned\\u0007; retry 1/2"
