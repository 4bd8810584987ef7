"""A function image without a container engine: the Containerfile's files, runtime install and command.

The Containerfile is the single source: its COPY lines say which files go where, its requirements RUN
installs the lock file (requirements.lock, with hashes), its compileall RUN precompiles /app, its ENV,
WORKDIR and CMD say how the process starts. `stage` copies exactly those files into an empty folder,
`create_venv` + `install_requirements` give a fresh virtual environment with only the runtime
requirements, and `image_env` is the environment the CMD runs with. The bench (`python -m bench`) times
staged images (starting a process is much quicker than building an image); the real images are built
and run by tests/integration/test_images.py (devstack/cluster/image_engine.py).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
CONTAINERFILE = ROOT / "Containerfile"
PIP_TIMEOUT = 600


class ContainerfileError(ValueError):
    """The Containerfile changed into a shape the staging cannot follow."""


@dataclass(frozen=True)
class Containerfile:
    copies: list[tuple[str, str]]  # (source relative to the build context, absolute destination)
    lock: str  # where the RUN that installs the runtime requirements reads the lock file (--require-hashes -r)
    env: dict[str, str]
    workdir: str
    cmd: str
    compile_args: tuple[str, ...] = ()  # `python -m compileall ...` of the RUN that precompiles the app


def parse_containerfile(text: str) -> Containerfile:
    lines = text.replace("\\\n", " ").splitlines()
    copies: list[tuple[str, str]] = []
    env: dict[str, str] = {}
    workdir = "/"
    cmd = ""
    lock = ""
    compile_args: tuple[str, ...] = ()
    for line in (line.strip() for line in lines):
        instruction, _, rest = line.partition(" ")
        if instruction == "COPY":
            parts = shlex.split(rest)
            if any(p.startswith("--") for p in parts):
                raise ContainerfileError(f"unsupported COPY flags: {line}")
            if len(parts) != 2:
                raise ContainerfileError(f"one source and one destination per COPY: {line}")
            copies.append((parts[0], parts[1]))
        elif instruction == "ENV":
            env.update(dict(re.findall(r"(\w+)=(\S+)", rest)))
        elif instruction == "WORKDIR":
            workdir = rest.strip()
        elif instruction == "CMD":
            cmd = rest.strip()
        elif instruction == "RUN" and "pip install" in rest:
            match = re.search(r"--require-hashes -r (\S+)", rest)
            if not match:
                raise ContainerfileError("the requirements RUN must install a lock file with --require-hashes -r")
            lock = match.group(1)
        elif instruction == "RUN" and rest.startswith("python -m compileall "):
            compile_args = tuple(shlex.split(rest)[1:])
    if not (copies and cmd and lock):
        raise ContainerfileError("Containerfile lacks COPY, CMD or the requirements RUN")
    return Containerfile(copies, lock, env, workdir, cmd, compile_args)


CONTAINER = parse_containerfile(CONTAINERFILE.read_text())


def _ignored(directory: str, names: list[str]) -> set[str]:
    """What .containerignore keeps out of the build context below the copied folders."""
    return {name for name in names if name == "__pycache__" or name.endswith(".pyc")}


def stage(
    function: str,
    root: Path,
    replace: Mapping[str, Path] | None = None,
    skip: Collection[str] = (),
) -> Path:
    """Copy what the Containerfile copies for FUNCTION=function into root; return the staged WORKDIR.

    `replace` maps a COPY destination (e.g. "/app/main.py") to another source, `skip` leaves
    destinations out: the bench stages its hello-world baseline and scratch copies of the library so.
    """
    for source, destination in CONTAINER.copies:
        if destination in skip:
            continue
        src = (replace or {}).get(destination) or ROOT / source.replace("${FUNCTION}", function).replace(
            "$FUNCTION", function
        )
        dst = root / destination.lstrip("/")
        if not src.exists():
            raise FileNotFoundError(f"COPY source {src} is missing")
        if src.is_dir():
            shutil.copytree(src, dst, ignore=_ignored)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    return root / CONTAINER.workdir.lstrip("/")


def staged_lock(root: Path) -> Path:
    return root / CONTAINER.lock.lstrip("/")


def create_venv(path: Path) -> Path:
    """An empty virtual environment (no pip of its own: this interpreter's pip installs into it)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)  # noqa: S603
    return path


def locked_requirements(lock: str) -> list[str]:
    """`name==version[ ; marker]` of every distribution in a hashed lock file (hashes and comments left out)."""
    return [
        line.rstrip("\\").strip()
        for line in lock.splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "--"))
    ]


def install_requirements(venv: Path, lock_file: Path, hashes: bool = True) -> subprocess.CompletedProcess[str]:
    """pip install --require-hashes -r into venv, as the image's RUN does; the caller checks returncode.
    hashes=False for a plain requirements file (the bench's framework-only baseline)."""
    return subprocess.run(  # noqa: S603 (fixed arguments, no shell)
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *(["--require-hashes"] if hashes else []),
            "-r",
            str(lock_file),
        ],
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT,
        check=False,
    )


def compile_app(venv: Path, app_dir: Path) -> None:
    """The Containerfile's `python -m compileall ... /app`, on the staged app with the venv's interpreter."""
    if not CONTAINER.compile_args:
        return
    args = [str(app_dir) if arg == CONTAINER.workdir else arg for arg in CONTAINER.compile_args]
    subprocess.run([str(venv / "bin" / "python"), *args], check=True, timeout=120)  # noqa: S603


SERVER_SETTINGS = ("WORKERS", "THREADS", "CLOUD_RUN_TIMEOUT_SECONDS", "THREADED_TIMEOUT_ENABLED")


def server_env() -> dict[str, str]:
    """The image's gunicorn settings (workers, threads, request timeout), so that a function started
    outside the image (tests, `make run`) is served exactly as in the cluster."""
    return {name: CONTAINER.env[name] for name in SERVER_SETTINGS if name in CONTAINER.env}


def image_command() -> list[str]:
    """The CMD, as the image runs it (shell form)."""
    return ["/bin/sh", "-c", CONTAINER.cmd]


def image_env(
    function: str, port: int, venv: Path, home: Path, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The image's ENV for FUNCTION=function on 127.0.0.1:port, with venv's bin/ on PATH; nothing else."""
    return {
        **{key: value.replace("${FUNCTION}", function) for key, value in CONTAINER.env.items()},
        "FUNCTION": function,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(home),
        **(extra or {}),
    }
