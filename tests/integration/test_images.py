"""The three real images, built by Podman from the Containerfile and run the way Knative runs them.

Built over a stand-in for python:3.11-slim (Debian bookworm, Python 3.11, imported once per machine and
kept in Podman's image store), each image's own ENV, WORKDIR and CMD run under the constraints of
knative/base/services.yaml: read-only root filesystem, uid/gid 10001 (not in the image's passwd, so
HOME=/), only /tmp writable. Each one is driven by its callers' exact requests against a simulated bridge
on 127.0.0.1: the PingSource event, `func invoke` and, where an HTTPRoute leads to it, the request as the
Gateway stamps it. See docs/images.md. Without a container engine (not root, no apt-get) the whole
module is skipped with the reason, and fails under CI=true (tests/support/tools.py); CI here is root and
runs it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from werkzeug.test import Client

from devstack.bridge import SimulatedBridge
from devstack.cluster import image_engine
from devstack.cluster.gateway import LocalGateway
from devstack.cluster.manifests import config_map_data, http_routes, ping_sources, service_env_names
from devstack.cluster.pingsource import build_request
from devstack.processes import free_port
from huelights.trigger import OUTCOME_EVENT_TYPE
from tests.support.functions import FUNC_INVOKE_DATA
from tests.support.tools import install_once, missing_tool

pytestmark = pytest.mark.integration

REPO = image_engine.REPO
SERVICES = {"lights_off": "lights-off", "lights_on": "lights-on", "colorloop": "colorloop"}
APP_KEY = "image-test-app-key-0123456789abcdef"
TOKEN = "image-test-trigger-token-0123456789abcdef"
START_TIMEOUT = 60.0
REQUEST_TIMEOUT = 60.0
LOG_LEVEL = re.compile(r"\[(ERROR|CRITICAL)\]")  # gunicorn's error log format


def knative_service(service: str) -> dict[str, Any]:
    documents = yaml.safe_load_all((REPO / "knative" / "base" / "services.yaml").read_text())
    return next(d for d in documents if d and d["metadata"]["name"] == service)


def grace_seconds(service: str) -> int:
    """Knative gives the pod terminationGracePeriodSeconds = the revision's timeoutSeconds."""
    return int(knative_service(service)["spec"]["template"]["spec"]["timeoutSeconds"])


def ensure_engine() -> None:
    """Podman, debootstrap and bubblewrap, installed by one worker at a time (dpkg has one lock)."""

    def ready() -> bool:
        return os.geteuid() == 0 and all(shutil.which(tool) for tool in image_engine.TOOLS)

    try:
        install_once("apt", ready, image_engine.ensure_tools)
    except image_engine.EngineUnavailable as exc:
        missing_tool(f"no container engine: {exc}")


@dataclass
class Built:
    tags: dict[str, str]
    seconds: dict[str, float]


@pytest.fixture(scope="module")
def images() -> Iterator[Built]:
    ensure_engine()
    seconds: dict[str, float] = {}
    started = time.monotonic()
    # Imported once per machine (Podman's image store keeps it), by one worker at a time.
    install_once(
        "standin-base", lambda: image_engine.image_exists(image_engine.STANDIN_BASE), image_engine.build_standin_base
    )
    seconds["stand-in base"] = time.monotonic() - started
    run_id = uuid.uuid4().hex[:8]
    tags = {function: f"localhost/huelights-test/{service}:{run_id}" for function, service in SERVICES.items()}
    try:
        for function, tag in tags.items():
            started = time.monotonic()
            image_engine.build_image(tag, {"FUNCTION": function})
            seconds[function] = time.monotonic() - started
        print("\nimage build seconds: " + ", ".join(f"{name} {s:.1f}" for name, s in seconds.items()))
        yield Built(tags, seconds)
    finally:
        for tag in tags.values():
            image_engine.remove_image(tag)


@dataclass
class Pod:
    url: str
    running: image_engine.Running
    stdout_path: Path
    stderr_path: Path


def pod_env(service: str, bridge_url: str, port: int) -> dict[str, str]:
    """What the Service adds to the image's ENV (envFrom the ConfigMap, env from the Secret), plus the
    simulated bridge and a loopback address instead of 0.0.0.0 (tests listen on loopback only)."""
    env = config_map_data(REPO / "knative" / "base", "huelights-config")
    env.update(HUE_BRIDGE=bridge_url, HUE_APP_KEY=APP_KEY, HOST="127.0.0.1", PORT=str(port))
    if "TRIGGER_TOKEN" in (service_env_names(REPO / "knative" / "base", service) or set()):
        env["TRIGGER_TOKEN"] = TOKEN
    return env


def wait_ready(pod: Pod) -> float:
    started = time.monotonic()
    while time.monotonic() - started < START_TIMEOUT:
        if pod.running.process.poll() is not None:
            raise AssertionError(f"the image exited with {pod.running.process.returncode}:\n{logs(pod)}")
        try:
            if requests.get(f"{pod.url}/health/readiness", timeout=2).status_code == 200:
                return time.monotonic() - started
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"not ready within {START_TIMEOUT} s:\n{logs(pod)}")


def logs(pod: Pod) -> str:
    return f"stdout:\n{pod.stdout_path.read_text()}\nstderr:\n{pod.stderr_path.read_text()}"


def terminate(pod: Pod, grace: int) -> float:
    """SIGTERM to the CMD (PID 1 of its namespace), as the kubelet does; seconds until everything exited."""
    started = time.monotonic()
    os.kill(pod.running.child_pid, signal.SIGTERM)
    pod.running.process.wait(timeout=grace + 5)
    return time.monotonic() - started


@pytest.fixture
def bridge() -> Iterator[tuple[SimulatedBridge, str]]:
    simulated = SimulatedBridge(app_key=APP_KEY)
    with simulated.serve(host="127.0.0.1", port=0) as server:
        yield simulated, server.url


def undo(function: str, simulated: SimulatedBridge) -> None:
    """Put every light in the state the action changes, so each trigger has something to do."""
    for light_id, light in simulated.lights().items():
        changes: dict[str, Any] = {"on": function == "lights_off"}
        if function == "colorloop" and "effect" in light:
            changes["effect"] = "none"
        simulated.set_light_state(light_id, **changes)


def done(function: str, simulated: SimulatedBridge) -> bool:
    lights = simulated.lights().values()
    if function == "lights_off":
        return all(not light["on"] for light in lights)
    if function == "lights_on":
        return all(light["on"] for light in lights)
    colour = [light for light in lights if "effect" in light]
    return bool(colour) and all(light["on"] and light["effect"] == "colorloop" for light in colour)


def send_ping(service: str, url: str) -> tuple[int | None, str]:
    """The PingSource's tick, with mt-ping's exact headers and body; the reply must be a binary-mode
    CloudEvent (what a Broker's filter accepts back: anything else is a failed delivery, retried)."""
    spec = ping_sources(REPO / "knative" / "base", "gohome")[service]
    headers, body = build_request(spec, str(uuid.uuid4()), time.time_ns())
    sent = {name: value for name, value in headers if name not in ("Host", "Content-Length")}
    response = requests.post(f"{url}/", headers=sent, data=body, timeout=REQUEST_TIMEOUT)
    if response.status_code == 200:
        assert all(response.headers.get(h) for h in ("ce-specversion", "ce-id", "ce-source", "ce-type"))
        assert response.headers["ce-type"] == OUTCOME_EVENT_TYPE
        assert response.headers["ce-source"].endswith(service.replace("-", "_"))
    return response.status_code, response.text


def send_func_invoke(url: str) -> tuple[int | None, str]:
    """`func invoke` with the functions' func.yaml `invoke: http`: a JSON POST to /."""
    response = requests.post(
        f"{url}/", data=FUNC_INVOKE_DATA, headers={"Content-Type": "application/json"}, timeout=REQUEST_TIMEOUT
    )
    return response.status_code, response.text


def send_through_gateway(service: str, url: str) -> tuple[int | None, str]:
    """The request as the local gateway forwards it after applying the repository's HTTPRoute."""
    routes = [r for r in http_routes(REPO / "gateway" / "route") if r["metadata"]["name"] == service]
    hostname = routes[0]["spec"]["hostnames"][0]
    prefix = routes[0]["spec"]["rules"][0]["matches"][0]["path"]["value"]
    gateway = Client(LocalGateway(routes, {service: ("127.0.0.1", int(url.rsplit(":", 1)[1]))}))
    response = gateway.post(
        prefix, headers={"Host": hostname, "Authorization": f"Bearer {TOKEN}"}, json={"from": "gateway"}
    )
    return response.status_code, response.get_data(as_text=True)


def routed(service: str) -> bool:
    return any(r["metadata"]["name"] == service for r in http_routes(REPO / "gateway" / "route"))


def check_logs(pod: Pod) -> None:
    stdout = pod.stdout_path.read_text().splitlines()
    stderr = pod.stderr_path.read_text().splitlines()
    assert stdout, "no invocation was logged"
    for line in stdout:
        assert isinstance(json.loads(line), dict), f"stdout line is not a JSON object: {line!r}"
    bad = [line for line in stderr if LOG_LEVEL.search(line) or "Traceback" in line]
    for line in stderr:
        if line.startswith("{"):
            record = json.loads(line)
            if str(record.get("severity") or record.get("level") or "").upper() in ("ERROR", "CRITICAL"):
                bad.append(line)
    assert not bad, "ERROR or worse on stderr:\n" + "\n".join(bad)


@pytest.mark.parametrize("function", sorted(SERVICES))
def test_image_runs_as_knative_runs_it(
    function: str, images: Built, bridge: tuple[SimulatedBridge, str], tmp_path: Path
) -> None:
    simulated, bridge_url = bridge
    service, tag = SERVICES[function], images.tags[function]
    config = image_engine.image_config(tag)
    assert config.user == f"{image_engine.RUN_UID}:{image_engine.RUN_GID}", "runAsNonRoot needs a numeric user"
    port = free_port()
    triggers = {
        "PingSource": lambda url: send_ping(service, url),
        "func invoke": send_func_invoke,
    }
    if routed(service):
        triggers["gateway"] = lambda url: send_through_gateway(service, url)

    stdout, stderr = tmp_path / "stdout", tmp_path / "stderr"
    env = pod_env(service, bridge_url, port)
    with (
        image_engine.mounted(tag) as rootfs,
        stdout.open("wb") as out,
        stderr.open("wb") as err,
        image_engine.run(rootfs, config, env, out, err) as running,
    ):
        pod = Pod(f"http://127.0.0.1:{port}", running, tmp_path / "stdout", tmp_path / "stderr")
        ready = wait_ready(pod)
        for name, send in triggers.items():
            undo(function, simulated)
            status, body = send(pod.url)
            assert status == 200, f"{name}: {status} {body}\n{logs(pod)}"
            assert done(function, simulated), f"{name}: the lights did not change\n{logs(pod)}"
        if not routed(service):
            # No route leads here and the Service gives it no TRIGGER_TOKEN: gateway traffic is refused.
            undo(function, simulated)
            stamped = requests.post(
                f"{pod.url}/",
                headers={"X-Gohome-External": "gateway", "Authorization": f"Bearer {TOKEN}"},
                timeout=REQUEST_TIMEOUT,
            )
            assert stamped.status_code == 403, stamped.text
            assert not done(function, simulated)
        stopped = terminate(pod, grace_seconds(service))
    print(f"\n{function}: ready after {ready:.2f} s, stopped {stopped:.2f} s after SIGTERM")
    assert running.process.returncode == 0, f"exit {running.process.returncode} after SIGTERM\n{logs(pod)}"
    assert stopped < grace_seconds(service)
    check_logs(pod)


@pytest.mark.parametrize("function", sorted(SERVICES))
def test_image_writes_nothing_outside_tmp(
    function: str, images: Built, bridge: tuple[SimulatedBridge, str], tmp_path: Path
) -> None:
    """The same start, event and stop on a container's own writable layer: `podman diff` must stay empty
    (with a read-only root a write would fail, and a failure the code swallows would go unseen)."""
    simulated, bridge_url = bridge
    service, tag = SERVICES[function], images.tags[function]
    port = free_port()
    with image_engine.container_rootfs(images.tags[function], f"huelights-test-{service}-{port}") as (
        rootfs,
        changes,
    ):
        with (
            (tmp_path / "stdout").open("wb") as out,
            (tmp_path / "stderr").open("wb") as err,
            image_engine.run(
                rootfs, image_engine.image_config(tag), pod_env(service, bridge_url, port), out, err, writable_root=True
            ) as running,
        ):
            pod = Pod(f"http://127.0.0.1:{port}", running, tmp_path / "stdout", tmp_path / "stderr")
            wait_ready(pod)
            undo(function, simulated)
            assert send_ping(service, pod.url)[0] == 200, logs(pod)
            terminate(pod, grace_seconds(service))
        assert changes() == [], f"written outside /tmp: {changes()}\n{logs(pod)}"
    check_logs(pod)


def test_the_library_comes_only_from_the_app_folder(images: Built) -> None:
    """The project is not installed as a package: outside WORKDIR, `import huelights` fails."""
    tag = images.tags["colorloop"]
    config = image_engine.image_config(tag)
    probe = ["python", "-c", "import huelights"]
    results = {}
    with image_engine.mounted(tag) as rootfs:
        for workdir in ("/", config.workdir):
            command = image_engine.bwrap_command(rootfs, replace(config, workdir=workdir, command=probe), {})
            results[workdir] = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert "No module named 'huelights'" in results["/"].stderr, results["/"].stderr
    assert results[config.workdir].returncode == 0, results[config.workdir].stderr
