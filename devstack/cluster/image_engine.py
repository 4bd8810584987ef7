"""Real images, built by Podman from the Containerfile and run the way Knative runs them (dev only).

Why each step is as it is (what works on a machine where the OCI runtime cannot start containers and no
container registry is reachable, such as CI here):

- `python:3.11-slim` cannot be pulled, so a stand-in base with the same Debian release (bookworm) and
  Python (3.11) is assembled with debootstrap and imported once; Podman's image store keeps it between
  runs (`podman image exists` finds it). The Containerfile is built unchanged with `--from <stand-in>`.
- `podman build --isolation=chroot` needs no OCI runtime. pip inside the build sees the machine's CA bundle
  (bind-mounted over the same path), because this network may intercept TLS.
- Running: the image's root filesystem (`podman image mount`) read-only under bubblewrap, with uid/gid
  10001 that the image's passwd does not know (so HOME=/, as in the pod), only /tmp writable (the pod's
  emptyDir), the image's own ENV, WORKDIR and CMD from `podman image inspect`, and the CMD as PID 1 of its
  own PID namespace (as in a container, where SIGTERM goes to PID 1). Loopback is shared so the process
  can reach a simulated bridge on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[2]
CONTAINERFILE = REPO / "Containerfile"
STANDIN_BASE = "localhost/huelights/standin-python:3.11-bookworm"
TOOLS = {"podman": "podman", "debootstrap": "debootstrap", "bwrap": "bubblewrap"}
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")  # Debian's path, in the host and in the stand-in
DEBIAN_MIRROR = "http://deb.debian.org/debian"
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BUILD_TIMEOUT = 900
START_TIMEOUT = 30  # for bwrap to set up the namespaces and start the CMD
# Knative's pod security context for the functions (knative/base/services.yaml).
RUN_UID = 10001
RUN_GID = 10001


class EngineUnavailable(RuntimeError):
    """No container engine can be had on this machine; the message says why."""


class EngineFailed(RuntimeError):
    """An engine command failed (a build, a mount, the sandbox); the message ends with its error output."""


def _run(args: Sequence[str], timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, check=False, **kwargs)  # noqa: S603


def _checked(args: Sequence[str], timeout: float, **kwargs: Any) -> str:
    result = _run(args, timeout, **kwargs)
    if result.returncode != 0:
        raise EngineFailed(f"{' '.join(args[:3])} ... failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result.stdout


def ensure_tools() -> None:
    """Podman, debootstrap and bubblewrap on PATH; installed with apt-get when missing and running as root."""
    if os.geteuid() != 0:
        # Without an OCI runtime, builds run with --isolation=chroot and images are run from
        # `podman image mount`: both need root.
        raise EngineUnavailable("building with --isolation=chroot and `podman image mount` need root")
    missing = [package for tool, package in TOOLS.items() if shutil.which(tool) is None]
    if not missing:
        return
    if shutil.which("apt-get") is None:
        raise EngineUnavailable(f"{', '.join(missing)} missing, and there is no apt-get to install them")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    result = _run(install, BUILD_TIMEOUT, env=env)
    if result.returncode != 0:  # a fresh machine may have no package lists yet
        _run(["apt-get", "update"], BUILD_TIMEOUT, env=env)
        result = _run(install, BUILD_TIMEOUT, env=env)
    if result.returncode != 0:
        raise EngineUnavailable(f"apt-get install {' '.join(missing)} failed: {result.stderr.strip()[-500:]}")


def image_exists(tag: str) -> bool:
    return _run(["podman", "image", "exists", tag], 60).returncode == 0


def build_standin_base(tag: str = STANDIN_BASE) -> bool:
    """Import the stand-in for python:3.11-slim unless the image store has it. True when it was built now."""
    if image_exists(tag):
        return False
    with tempfile.TemporaryDirectory(prefix="huelights-base-") as work:
        rootfs = Path(work) / "rootfs"
        packages = "--include=python3,python3-pip,ca-certificates"
        _checked(["debootstrap", "--variant=minbase", packages, "bookworm", str(rootfs), DEBIAN_MIRROR], BUILD_TIMEOUT)
        # What python:3.11-slim offers the Containerfile: `python` and `pip` on PATH, pip free to install
        # into the system interpreter (bookworm marks it externally managed; the official image does not).
        local_bin = rootfs / "usr" / "local" / "bin"
        local_bin.mkdir(parents=True, exist_ok=True)
        for name, target in (("python", "/usr/bin/python3"), ("pip", "/usr/bin/pip3")):
            (local_bin / name).unlink(missing_ok=True)
            (local_bin / name).symlink_to(target)
        for marker in rootfs.glob("usr/lib/python3*/EXTERNALLY-MANAGED"):
            marker.unlink()
        shutil.rmtree(rootfs / "var" / "cache" / "apt" / "archives", ignore_errors=True)
        shutil.rmtree(rootfs / "var" / "lib" / "apt" / "lists", ignore_errors=True)
        archive = Path(work) / "rootfs.tar"
        _checked(["tar", "-C", str(rootfs), "-cf", str(archive), "."], BUILD_TIMEOUT)
        _checked(
            ["podman", "import", "--change", f"ENV PATH={BASE_PATH}", "--change", 'CMD ["python3"]', str(archive), tag],
            BUILD_TIMEOUT,
        )
    return True


def build_image(
    tag: str,
    build_args: Mapping[str, str],
    *,
    context: Path = REPO,
    containerfile: Path = CONTAINERFILE,
    base: str = STANDIN_BASE,
) -> None:
    """`podman build` of the Containerfile over `base`, as `make images` would with a reachable registry."""
    args = ["podman", "build", "--isolation=chroot", "--from", base, "-f", str(containerfile), "-t", tag]
    if CA_BUNDLE.is_file():
        args += ["-v", f"{CA_BUNDLE}:{CA_BUNDLE}:ro"]
    for name, value in build_args.items():
        args += ["--build-arg", f"{name}={value}"]
    _checked([*args, str(context)], BUILD_TIMEOUT)


def remove_image(tag: str) -> None:
    _run(["podman", "image", "rm", "--force", tag], 120)


def image_size(tag: str) -> int:
    """Bytes of the image as the engine counts them (all layers, the base included)."""
    return int(_checked(["podman", "image", "inspect", "--format", "{{.Size}}", tag], 60).strip())


@dataclass(frozen=True)
class ImageConfig:
    env: dict[str, str]
    workdir: str
    command: list[str]  # Entrypoint + Cmd, as the runtime joins them
    user: str


def image_config(tag: str) -> ImageConfig:
    (inspected,) = json.loads(_checked(["podman", "image", "inspect", tag], 60))
    config = inspected["Config"]
    env = dict(item.split("=", 1) for item in config.get("Env") or [])
    command = [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]
    return ImageConfig(env, config.get("WorkingDir") or "/", command, config.get("User") or "")


@contextlib.contextmanager
def mounted(tag: str) -> Iterator[Path]:
    """The image's root filesystem (read-only overlay of its layers) until the block ends."""
    path = Path(_checked(["podman", "image", "mount", tag], 120).strip())
    try:
        yield path
    finally:
        _run(["podman", "image", "unmount", tag], 120)


@contextlib.contextmanager
def container_rootfs(tag: str, name: str) -> Iterator[tuple[Path, Callable[[], list[str]]]]:
    """A container's root filesystem (the image plus a writable layer of its own) and a function listing
    what was written to that layer (`podman diff`). Nothing runs in the container: it only holds the layer."""
    _run(["podman", "rm", "--force", name], 120)  # a leftover of an interrupted run
    _checked(["podman", "create", "--name", name, tag], 120)
    try:
        path = Path(_checked(["podman", "mount", name], 120).strip())

        def changes() -> list[str]:
            return _checked(["podman", "diff", name], 120).splitlines()

        yield path, changes
    finally:
        _run(["podman", "rm", "--force", name], 120)


def bwrap_command(
    rootfs: Path,
    config: ImageConfig,
    env: Mapping[str, str],
    info_fd: int | None = None,
    *,
    writable_root: bool = False,
) -> list[str]:
    """bubblewrap arguments running the image's CMD as Knative runs it (see the module docstring).

    writable_root binds the root read-write (a container's own layer), so that writes a read-only root
    would refuse show up in `podman diff` instead; the process's uid still cannot write root's files.
    """
    root = "--bind" if writable_root else "--ro-bind"
    args = [
        "bwrap", root, str(rootfs), "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",  # noqa: S108
        "--unshare-all", "--share-net", "--as-pid-1", "--die-with-parent",
        "--uid", str(RUN_UID), "--gid", str(RUN_GID), "--chdir", config.workdir, "--clearenv",
    ]  # fmt: skip
    if info_fd is not None:  # bwrap writes {"child-pid": N} there: the CMD's pid, to send SIGTERM to
        args += ["--info-fd", str(info_fd)]
    # The kubelet's environment: the image's ENV, HOME=/ for a uid without a passwd entry, HOSTNAME, then
    # what the pod spec adds (envFrom + env).
    for name, value in {**config.env, "HOME": "/", "HOSTNAME": "function", **env}.items():
        args += ["--setenv", name, value]
    return [*args, "--", *config.command]


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    child_pid: int  # the CMD's pid seen from here (PID 1 inside its namespace)


def _read_until_closed(fd: int, timeout: float) -> bytes:
    """What bwrap writes to its --info-fd; it closes the pipe once the child runs (or failed to start)."""
    data = b""
    deadline = time.monotonic() + timeout
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([pipe], [], [], left)[0]:
                break
            chunk = pipe.read(4096)
            if not chunk:
                break
            data += chunk
    return data


@contextlib.contextmanager
def run(
    rootfs: Path,
    config: ImageConfig,
    env: Mapping[str, str],
    stdout: IO[bytes],
    stderr: IO[bytes],
    *,
    writable_root: bool = False,
) -> Iterator[Running]:
    """Start the image's CMD under bubblewrap; on leaving, SIGKILL whatever still runs."""
    info_read, info_write = os.pipe()
    try:
        process = subprocess.Popen(  # noqa: S603 (argument list built above, no shell of ours)
            bwrap_command(rootfs, config, env, info_write, writable_root=writable_root),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            pass_fds=(info_write,),
            start_new_session=True,
        )
    finally:
        os.close(info_write)
    try:
        child_pid = int(json.loads(_read_until_closed(info_read, START_TIMEOUT) or b"{}").get("child-pid", 0))
        if not child_pid:
            process.wait(timeout=30)
            raise EngineFailed(f"bwrap did not start the image (exit {process.returncode})")
        yield Running(process, child_pid)
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
