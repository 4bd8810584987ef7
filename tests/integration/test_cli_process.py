"""`python -m huelights_setup` as a process against the simulated bridge on 127.0.0.1 (the in-process tests of
every command are in tests/test_cli.py, test_cli_tls.py and test_cli_v2.py)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.support.servers import APP_KEY, PYTHON, REPO, RunningBridge, press_link_button_after_polls

pytestmark = pytest.mark.integration


def _process_env(**values: str) -> dict[str, str]:
    clean = {name: value for name, value in os.environ.items() if not name.startswith(("HUE_", "TRIGGER_"))}
    return {**clean, **values}


def test_python_m_huelights_as_a_process(sim: RunningBridge) -> None:
    env = _process_env(**sim.hue_env, HUE_APP_KEY=APP_KEY, HUE_TARGET="group:Living room")  # over HTTPS
    listing = subprocess.run(
        [PYTHON, "-m", "huelights_setup", "groups", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert listing.returncode == 0, listing.stderr
    assert json.loads(listing.stdout)[1]["target"] == "group:Living room"

    check = subprocess.run(
        [PYTHON, "-m", "huelights_setup", "check"], env=env, capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert check.returncode == 0, check.stderr
    assert "No problems found" in check.stdout

    env["HUE_TARGET"] = "group:Kitchen"
    failed = subprocess.run(
        [PYTHON, "-m", "huelights_setup", "check"], env=env, capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert failed.returncode == 1
    assert failed.stderr.count("\n") == 1 and "no group (room or zone)" in failed.stderr


def test_pair_as_a_process_with_the_link_button(sim: RunningBridge) -> None:
    presser = press_link_button_after_polls(sim, polls=2)
    tls = ["--bridge", sim.url, "--ca-bundle", str(sim.ca_bundle)]  # over HTTPS, the test root added as a CA
    paired = subprocess.run(
        [PYTHON, "-m", "huelights_setup", "pair", *tls, "--interval", "0.1", "--wait", "20"],
        env=_process_env(),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
    )
    presser.join(timeout=5)
    assert paired.returncode == 0, paired.stderr
    assert paired.stdout.strip() in sim.bridge.app_keys
    assert "waiting for the link button: 20 s left" in paired.stderr
