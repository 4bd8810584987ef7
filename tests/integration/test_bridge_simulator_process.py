"""`python -m devstack.bridge` as a process on 127.0.0.1 (in-process: tests/test_bridge_simulator.py)."""

from __future__ import annotations

import signal
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from huelights.bridge import Deadline, HueBridge
from huelights.config import load_settings
from tests.support.servers import (
    PYTHON,
    free_port,
    simulator_process,
    start_process,
    stop_process_group,
    wait_for_http,
)

pytestmark = pytest.mark.integration
TIMEOUT = 5


def refused(args: list[str], log: Path) -> str:
    """Start the simulator with `args`, which it must refuse (exit 1); what it printed."""
    proc = start_process([PYTHON, "-m", "devstack.bridge", *args], log)
    try:
        assert proc.wait(timeout=15) == 1
    finally:
        stop_process_group(proc, timeout=5)
    return log.read_text()


def test_cli_serves_and_stops_on_sigterm(tmp_path) -> None:
    port = free_port()
    config = tmp_path / "bridge.yaml"
    config.write_text("lights:\n  '5': {name: Only, type: Dimmable light}\n")
    proc = start_process(
        [PYTHON, "-m", "devstack.bridge", "--port", str(port), "--https-port", str(free_port()),
         "--app-key", "clikey", "--config", str(config)],
        tmp_path / "bridge.log",
    )  # fmt: skip
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/config", proc=proc)
        lights = requests.get(f"http://127.0.0.1:{port}/api/clikey/lights", timeout=TIMEOUT).json()
        assert list(lights) == ["5"]
        # A second instance on the same port explains itself instead of a traceback.
        assert "is in use" in refused(["--mode", "round", "--port", str(port)], tmp_path / "second.log")
    finally:
        code = stop_process_group(proc, signal.SIGTERM, timeout=10)
    assert code == 0, (tmp_path / "bridge.log").read_text()


def test_cli_bridge_pro_mode_redirects_http_and_serves_https_with_its_test_root(tmp_path) -> None:
    http_port, https_port, root = free_port(), free_port(), tmp_path / "root.pem"
    proc = start_process(
        [PYTHON, "-m", "devstack.bridge", "--mode", "pro", "--port", str(http_port), "--https-port", str(https_port),
         "--ca-out", str(root), "--app-key", "clikey"],
        tmp_path / "bridge.log",
    )  # fmt: skip
    try:
        wait_for_http(f"http://127.0.0.1:{http_port}/_sim/state", proc=proc)
        moved = requests.get(f"http://127.0.0.1:{http_port}/api/config", timeout=TIMEOUT, allow_redirects=False)
        assert moved.status_code == 301
        assert moved.headers["Location"] == f"https://127.0.0.1:{https_port}/api/config"
        settings = load_settings({"HUE_BRIDGE": f"127.0.0.1:{https_port}", "HUE_APP_KEY": "clikey",
                                  "HUE_CA_BUNDLE": str(root)})  # fmt: skip
        assert list(HueBridge(settings).get("lights", Deadline(TIMEOUT))) == ["1", "2", "3", "4"]
    finally:
        code = stop_process_group(proc, signal.SIGTERM, timeout=10)
    output = (tmp_path / "bridge.log").read_text()
    assert code == 0, output
    assert f"HUE_BRIDGE=https://127.0.0.1:{https_port} HUE_CA_BUNDLE={root}" in output


def test_cli_on_any_free_ports_names_them_and_serves_on_both(tmp_path) -> None:
    """--port 0 --https-port 0: what a test, or a second simulator beside `make run`, starts with."""
    root = tmp_path / "root.pem"
    with simulator_process(tmp_path / "bridge.log", "--app-key", "clikey", "--ca-out", str(root)) as sim:
        https, http = urlsplit(sim.url), urlsplit(sim.http_url)
        assert (https.scheme, http.scheme) == ("https", "http")
        assert https.port and http.port and https.port != http.port
        settings = load_settings({"HUE_BRIDGE": sim.url, "HUE_APP_KEY": "clikey", "HUE_CA_BUNDLE": str(root)})
        assert list(HueBridge(settings).get("lights", Deadline(TIMEOUT))) == ["1", "2", "3", "4"]
        assert requests.get(f"{sim.http_url}/api/clikey/lights", timeout=TIMEOUT).json().keys() == {"1", "2", "3", "4"}


def test_cli_with_its_https_port_taken_says_how_to_take_free_ports(tmp_path) -> None:
    with socket.socket() as holder:  # what a running `make run` does to 8443
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        output = refused(["--port", "0", "--https-port", str(taken)], tmp_path / "bridge.log")
    last = output.strip().splitlines()[-1]
    assert last == (
        f"bridge simulator: cannot listen on 127.0.0.1: port {taken} on 127.0.0.1 (bridge-sim) is in use"
        " (--port 0 --https-port 0: any free ports)"
    )
