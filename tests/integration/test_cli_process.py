"""`python -m huelights_setup` as a process against the simulated bridge on 127.0.0.1 (the in-process tests of
every command are in tests/test_cli.py, test_cli_tls.py, test_cli_v2.py and test_cli_hostile.py), and what
it writes for a shell, sourced in bash."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from devstack.bridge import SimulatedBridge
from huelights.bridge import Deadline, HueBridge
from huelights_setup.cli import main
from tests.support.cli import HOSTILE_SHELL_VALUES, serve_with_certificate, source_in_bash
from tests.support.servers import APP_KEY, PYTHON, REPO, RunningBridge, bridge_pki, press_link_button_after_polls

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


# ----- what the tool writes for a shell -----------------------------------------------------------------


@pytest.mark.parametrize("key", HOSTILE_SHELL_VALUES)
def test_pair_save_writes_a_file_that_sourcing_can_only_assign(
    sim: RunningBridge, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    """The file is safe on its own, even for a key that got past create_app_key's check (which refuses these)."""

    def create_app_key(bridge: HueBridge, device_type: str, deadline: Deadline) -> str:
        return key

    monkeypatch.setattr(HueBridge, "create_app_key", create_app_key)
    assert main(["pair", "--bridge", sim.http_url, "--save", str(tmp_path / "hue.env")], {}) == 0
    capsys.readouterr()
    assert source_in_bash(tmp_path, "hue.env") == {"HUE_APP_KEY": key}, "only the key changed, exactly as given"
    assert [path.name for path in tmp_path.iterdir()] == ["hue.env"], "no command ran"


def test_trust_cert_prints_commands_that_only_assign_and_pass_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bridge_id = "001788fffe6a2b3c"
    bridge = SimulatedBridge(config={"bridge": {"bridgeid": bridge_id.upper()}}, app_key=APP_KEY)
    saved = tmp_path / 'it\'s `touch ran-1` $(touch ran-2); a \\ "cert".pem'
    with serve_with_certificate(bridge, bridge_pki(bridge_id), "self-signed") as url:
        status = main(["trust-cert", "--bridge", url, "--save", str(saved), "--yes"], {})
    err = capsys.readouterr().err
    assert status == 0, err
    (use,) = [line.split("Use it: ", 1)[1] for line in err.splitlines() if "Use it: " in line]
    (cluster,) = [line.removeprefix("In the cluster: ") for line in err.splitlines() if "In the cluster" in line]
    # As pasted into a shell, with kubectl standing in to record the words it would be given.
    stand_in = "kubectl() { printf -v KUBECTL_WORDS '[%s]' \"$@\"; }"
    (tmp_path / "pasted.sh").write_text(f"{use}\n{stand_in}\n{cluster}\n")
    words = f"[-n][gohome][create][configmap][huelights-ca-bundle][--from-file=ca.pem={saved}]"
    changed = source_in_bash(tmp_path, "pasted.sh")
    assert changed == {"HUE_CA_BUNDLE": str(saved), "HUE_BRIDGE_ID": bridge_id, "KUBECTL_WORDS": words}
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([saved.name, "pasted.sh"]), "no command ran"
