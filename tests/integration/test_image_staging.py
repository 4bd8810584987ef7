"""The Containerfile's shape, the build context, and `make images` with and without an engine.

The images themselves are built and run by tests/integration/test_images.py (a real engine); the bench
still stages the Containerfile's files without one (devstack/cluster/image_staging.py), which these checks keep
honest about what the Containerfile says.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.cluster.image_staging import CONTAINER, CONTAINERFILE, ROOT, stage

pytestmark = pytest.mark.integration

FUNCTION_SERVICES = {"lights_off": "lights-off", "lights_on": "lights-on", "colorloop": "colorloop"}


def test_containerfile_copies_only_the_library_and_the_entry_point() -> None:
    destinations = {destination for _, destination in CONTAINER.copies}
    app_files = {d for d in destinations if d.startswith(CONTAINER.workdir)}
    assert app_files == {"/app/huelights/", "/app/main.py"}
    assert CONTAINER.env["WORKERS"] == "1"
    assert CONTAINER.env["THREADS"] == "2"
    assert CONTAINER.env["PORT"] == "8080"
    text = CONTAINERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    assert re.search(r"^USER \d+:\d+$", text, re.M), "numeric non-root user (runAsNonRoot checks it)"
    assert re.search(r"^RUN python -m compileall .* /app$", text, re.M), "bytecode for a read-only root fs"
    assert '--target "$FUNCTION" --source main.py' in CONTAINER.cmd
    assert ("requirements.lock", CONTAINER.lock) in CONTAINER.copies, "the image installs the hashed lock"
    assert CONTAINER.env["XDG_RUNTIME_DIR"] == "/tmp", "gunicorn's control socket needs a writable folder"


def test_build_context_ignore_files_agree() -> None:
    assert (ROOT / ".containerignore").read_text() == (ROOT / ".dockerignore").read_text()


def tools_only(tmp_path: Path, **fakes: str) -> str:
    """A PATH with the utilities build-images.sh uses and the given fake engines, and nothing else: what
    engines this machine really has must not matter."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("bash", "sed", "head", "tr", "dirname", "timeout"):
        found = shutil.which(tool)
        assert found, tool
        (folder / tool).symlink_to(found)
    for name, script in fakes.items():
        (folder / name).write_text(script)
        (folder / name).chmod(0o755)
    return str(folder)


def test_make_images_explains_a_missing_engine(tmp_path: Path) -> None:
    """A docker client without a daemon (as on the development machines) is no engine."""
    path = tools_only(tmp_path, docker="#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    result = subprocess.run(
        [str(ROOT / "scripts" / "build-images.sh")],
        env={"PATH": path, "CONTAINER_ENGINE": "podman docker"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "no usable container engine" in result.stderr


def test_make_images_builds_the_three_functions_with_a_working_engine(tmp_path: Path) -> None:
    log = tmp_path / "calls"
    path = tools_only(tmp_path, podman=f'#!/bin/sh\necho "$*" >> {log}\nexit 0\n')
    result = subprocess.run(
        [str(ROOT / "scripts" / "build-images.sh")],
        env={"PATH": path, "CONTAINER_ENGINE": "podman", "REGISTRY": "reg.test/hl", "TAG": "t1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    builds = [line for line in log.read_text().splitlines() if line.startswith("build")]
    assert builds == [
        f"build -f Containerfile --build-arg FUNCTION={function} -t reg.test/hl/{service}:t1 ."
        for function, service in FUNCTION_SERVICES.items()
    ]


# The TLS roots (huelights/certs/) travel with the library into every image.
REPO_CERTS = Path(__file__).resolve().parents[2] / "huelights" / "certs"
SIGNIFY_ROOT_FILES = ("root-bridge.pem", "hue-root-ca-01.pem")


def test_the_image_carries_the_roots_and_the_staged_library_loads_them(tmp_path: Path) -> None:
    """Staged as the Containerfile copies it (devstack.cluster.image_staging), the library finds its roots."""
    workdir = stage("lights_off", tmp_path)
    for name in SIGNIFY_ROOT_FILES:
        assert (workdir / "huelights" / "certs" / name).read_bytes() == (REPO_CERTS / name).read_bytes()
    probe = "import huelights, huelights.tls as t; print(huelights.__file__); print(len(t.trust_store(None)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=workdir, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    library, count = result.stdout.split()
    assert Path(library).is_relative_to(workdir) and count == str(len(SIGNIFY_ROOT_FILES))
