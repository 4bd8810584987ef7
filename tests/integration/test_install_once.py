"""Two test processes that find the same tool missing at the same moment install it once (the CI flake of
two `apt-get install chromium` at once, one failing on dpkg's lock): tests/support/tools.py's lock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.servers import REPO, wait_until

pytestmark = pytest.mark.integration

INSTALL_SECONDS = 1.0  # far longer than the other process needs to reach its own check
# A pytest worker's view: check, install when missing, then use the tool.
WORKER = """
import os, sys, time
from pathlib import Path
from tests.support.tools import install_once

folder = Path(sys.argv[1])
tool, calls = folder / "tool", folder / "install-calls"

def install():
    with calls.open("a") as log:
        log.write("install\\n")
    time.sleep(float(sys.argv[2]))
    tool.write_text("installed")

(folder / f"ready-{os.getpid()}").touch()
sys.stdin.readline()  # both workers start at the same moment
install_once("tool", tool.exists, install, locks=folder / "locks")
print(tool.read_text())
"""


def test_two_workers_racing_for_one_missing_tool_install_it_once(tmp_path: Path) -> None:
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(tmp_path), str(INSTALL_SECONDS)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        assert wait_until(lambda: len(list(tmp_path.glob("ready-*"))) == 2, timeout=30), "the workers did not start"
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        results = [worker.communicate(timeout=30) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
            worker.wait(timeout=5)
    assert [worker.returncode for worker in workers] == [0, 0], results
    assert [out for out, _ in results] == ["installed\n", "installed\n"], results
    assert (tmp_path / "install-calls").read_text().splitlines() == ["install"]
