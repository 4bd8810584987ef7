"""`python -m devstack.bridge` as a process on 127.0.0.1 (in-process: tests/test_bridge_simulator.py)."""

from __future__ import annotations

import signal

import pytest
import requests

from tests.support.servers import PYTHON, free_port, start_process, stop_process_group, wait_for_http

pytestmark = pytest.mark.integration
TIMEOUT = 5


def test_cli_serves_and_stops_on_sigterm(tmp_path) -> None:
    port = free_port()
    config = tmp_path / "bridge.yaml"
    config.write_text("lights:\n  '5': {name: Only, type: Dimmable light}\n")
    proc = start_process(
        [PYTHON, "-m", "devstack.bridge", "--port", str(port), "--app-key", "clikey", "--config", str(config)],
        tmp_path / "bridge.log",
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/config", proc=proc)
        lights = requests.get(f"http://127.0.0.1:{port}/api/clikey/lights", timeout=TIMEOUT).json()
        assert list(lights) == ["5"]
        # A second instance on the same port explains itself instead of a traceback.
        second = start_process([PYTHON, "-m", "devstack.bridge", "--port", str(port)], tmp_path / "second.log")
        try:
            assert second.wait(timeout=15) == 1
        finally:
            stop_process_group(second, timeout=5)
        assert "is in use" in (tmp_path / "second.log").read_text()
    finally:
        code = stop_process_group(proc, signal.SIGTERM, timeout=10)
    assert code == 0, (tmp_path / "bridge.log").read_text()
