"""Each function image is self-contained, proven without a container engine.

The test reads the Containerfile (its COPY lines, the RUN that derives the runtime requirements, ENV,
WORKDIR and CMD), copies exactly those files into an empty folder, installs only the runtime
requirements into a fresh virtual environment (once per session, shared by the three functions),
starts the Containerfile's own CMD from the staged WORKDIR, and sends it the binary CloudEvent a
PingSource sends. A simulated bridge on 127.0.0.1 checks the lights really changed. Anything the image
would lack (a module outside huelights/, a dev-only dependency, the project installed as a package)
makes the function fail here.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml

from devstack.bridge import BridgeServer, SimulatedBridge
from devstack.cluster.image_staging import (
    CONTAINER,
    CONTAINERFILE,
    ROOT,
    create_venv,
    image_command,
    image_env,
    install_requirements,
    runtime_requirements,
    stage,
    staged_pyproject,
)
from devstack.processes import free_port
from huelights.trigger import OUTCOME_EVENT_TYPE

FUNCTION_SERVICES = {"lights_off": "lights-off", "lights_on": "lights-on", "colorloop": "colorloop"}
APP_KEY = "staging-test-app-key"
NAMESPACE = "gohome"
START_TIMEOUT = 60.0
REQUEST_TIMEOUT = 60.0

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def runtime_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only the runtime requirements, derived the way the Containerfile derives them."""
    base = tmp_path_factory.mktemp("image-deps")
    stage("lights_off", base / "context")
    venv = create_venv(base / "venv")
    requirements = runtime_requirements(venv, staged_pyproject(base / "context"))
    assert "functions-framework==" in requirements
    assert not re.search(r"^(pytest|ruff|mypy|PyYAML|responses)\b", requirements, re.M | re.I), requirements
    result = install_requirements(venv, requirements, base / "requirements.txt")
    assert result.returncode == 0, f"pip install of the runtime requirements failed:\n{result.stderr[-3000:]}"
    return venv


@pytest.fixture
def bridge() -> Iterator[tuple[SimulatedBridge, BridgeServer]]:
    simulated = SimulatedBridge(app_key=APP_KEY)
    with simulated.serve(host="127.0.0.1", port=0) as server:
        yield simulated, server


def ping_event(service: str) -> tuple[dict[str, str], bytes]:
    """Headers and body of what mt-ping sends for the PingSource in knative/base/pingsources.yaml."""
    (document,) = yaml.safe_load_all((ROOT / "knative" / "base" / "pingsources.yaml").read_text())
    spec = next(item["spec"] for item in document["items"] if item["metadata"]["name"] == service)
    headers = {
        "User-Agent": "Go-http-client/1.1",
        "Ce-Id": str(uuid.uuid4()),
        "Ce-Source": f"/apis/v1/namespaces/{NAMESPACE}/pingsources/{service}",
        "Ce-Specversion": "1.0",
        "Ce-Time": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "Ce-Type": "dev.knative.sources.ping",
        "Kn-Namespace": NAMESPACE,
        "Accept-Encoding": "gzip",
    }
    body = b""
    if spec.get("data") and spec.get("contentType"):
        headers["Content-Type"] = spec["contentType"]
        body = spec["data"].encode()
    return headers, body


@dataclass
class Started:
    process: subprocess.Popen[str]
    url: str


def start_function(function: str, app_dir: Path, venv: Path, bridge_url: str, home: Path) -> Started:
    port = free_port()
    env = image_env(function, port, venv, home, {"HUE_BRIDGE": bridge_url, "HUE_APP_KEY": APP_KEY, "HUE_TARGET": "all"})
    process = subprocess.Popen(
        image_command(),
        cwd=app_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    return Started(process, f"http://127.0.0.1:{port}")


def stop(started: Started) -> str:
    if started.process.poll() is None:
        os.killpg(started.process.pid, signal.SIGTERM)
        try:
            started.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(started.process.pid, signal.SIGKILL)
            started.process.wait(timeout=10)
    output, _ = started.process.communicate(timeout=10)
    return output or ""


def wait_ready(started: Started) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if started.process.poll() is not None:
            raise AssertionError(f"the function exited with {started.process.returncode}:\n{stop(started)}")
        try:
            if requests.get(f"{started.url}/health/readiness", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"not ready within {START_TIMEOUT} s:\n{stop(started)}")


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


def test_build_context_ignore_files_agree() -> None:
    assert (ROOT / ".containerignore").read_text() == (ROOT / ".dockerignore").read_text()


@pytest.mark.parametrize("function", sorted(FUNCTION_SERVICES))
def test_staged_image_serves_a_pingsource_event(
    function: str,
    runtime_venv: Path,
    bridge: tuple[SimulatedBridge, BridgeServer],
    tmp_path: Path,
) -> None:
    simulated, server = bridge
    app_dir = stage(function, tmp_path / "image")
    shutil.rmtree(tmp_path / "image" / "tmp", ignore_errors=True)  # the RUN step deletes /tmp/build
    assert sorted(p.name for p in app_dir.iterdir()) == ["huelights", "main.py"]
    compiled = subprocess.run(
        [str(runtime_venv / "bin" / "python"), "-m", "compileall", "-q", str(app_dir)], timeout=120, check=False
    )
    assert compiled.returncode == 0
    # The venv must not be able to import the library on its own: it comes only from the staged folder.
    outside = subprocess.run(
        [str(runtime_venv / "bin" / "python"), "-c", "import huelights"], cwd=tmp_path, capture_output=True, timeout=60
    )
    assert outside.returncode != 0

    if function == "lights_on":
        for light_id in simulated.lights():
            simulated.set_light_state(light_id, on=False)
    home = tmp_path / "home"
    home.mkdir()
    started = start_function(function, app_dir, runtime_venv, server.url, home)
    try:
        wait_ready(started)
        headers, body = ping_event(FUNCTION_SERVICES[function])
        response = requests.post(f"{started.url}/", headers=headers, data=body, timeout=REQUEST_TIMEOUT)
        assert response.status_code == 200, response.text
        # A binary-mode CloudEvent reply: what a Broker's filter accepts back (anything else would be
        # a failed delivery and retried).
        assert all(response.headers.get(h) for h in ("ce-specversion", "ce-id", "ce-source", "ce-type"))
        assert response.headers["ce-type"] == OUTCOME_EVENT_TYPE
        assert response.headers["ce-source"].endswith(function)
    finally:
        output = stop(started)
    assert "Traceback" not in output, output

    puts = [r for r in simulated.requests() if r["method"] == "PUT"]
    assert puts, "the bridge received no command"
    lights = simulated.lights()
    if function == "lights_off":
        assert all(not light["on"] for light in lights.values())
    elif function == "lights_on":
        assert all(light["on"] for light in lights.values())
    else:
        colour = {light_id: light for light_id, light in lights.items() if "effect" in light}
        assert colour and all(light["on"] and light["effect"] == "colorloop" for light in colour.values())
        assert any(put["body"].get("effect") == "colorloop" for put in puts if isinstance(put["body"], dict))


def test_make_images_explains_a_missing_engine(tmp_path: Path) -> None:
    """A docker client without a daemon (as on the development machines) is no engine."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "docker").write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    (fake / "docker").chmod(0o755)
    # Only the tools the script needs: a podman or docker installed on this machine must not be found
    # (a working one would build, and pull base images from a registry).
    for tool in ("bash", "dirname", "sed", "head", "timeout", "tr"):
        found = shutil.which(tool)
        assert found, tool
        (fake / tool).symlink_to(found)
    result = subprocess.run(
        [str(ROOT / "scripts" / "build-images.sh")],
        env={"PATH": str(fake), "CONTAINER_ENGINE": "podman docker"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "no usable container engine" in result.stderr


def test_make_images_builds_the_three_functions_with_a_working_engine(tmp_path: Path) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    log = tmp_path / "calls"
    (fake / "podman").write_text(f'#!/bin/sh\necho "$*" >> {log}\nexit 0\n')
    (fake / "podman").chmod(0o755)
    result = subprocess.run(
        [str(ROOT / "scripts" / "build-images.sh")],
        env={"PATH": f"{fake}:/usr/bin:/bin", "CONTAINER_ENGINE": "podman", "REGISTRY": "reg.test/hl", "TAG": "t1"},
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
