"""Start, watch and stop process groups on 127.0.0.1 (the local stack, tests and the bench): the one place.

Every process is started in its own session, so its process group holds functions-framework's gunicorn
arbiter and worker together and can be signalled, measured and stopped as one. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO

import requests

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_process(
    args: list[str],
    log_path: Path | None,
    env: Mapping[str, str] | None = None,
    cwd: Path = REPO,
    inherit_env: bool = True,
) -> subprocess.Popen[bytes]:
    """Start `args` in a new session (its own process group), output to log_path (None: a pipe, proc.stdout).

    `env` is added to this process's environment, or with inherit_env=False is the whole environment
    (what a container would see: nothing of the developer's shell).
    """
    log: IO[bytes] | int = log_path.open("ab") if log_path is not None else subprocess.PIPE
    try:
        return subprocess.Popen(  # noqa: S603 (argument list from the caller, no shell of ours)
            args,
            cwd=cwd,
            env={**(os.environ if inherit_env else {}), **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        if not isinstance(log, int):
            log.close()  # the child has its own descriptor


def stop_process_groups(
    procs: Iterable[subprocess.Popen[bytes]], sig: int = signal.SIGTERM, timeout: float = 10.0
) -> None:
    """Signal every process group, wait for them together up to `timeout`, then SIGKILL what is left."""
    procs = list(procs)
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
    deadline = time.monotonic() + timeout
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the group's stragglers, even if the leader already exited
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


def stop_process_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
    """Signal the process group, wait up to `timeout`, then SIGKILL what is left. Returns the exit code."""
    stop_process_groups([proc], sig, timeout)
    return proc.wait(timeout=5)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_for_http(url: str, timeout: float = 15.0, proc: subprocess.Popen[bytes] | None = None) -> requests.Response:
    """GET url until it answers (any status), at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            return requests.get(url, timeout=2)
        except requests.RequestException as exc:
            last = exc
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s: {last}")


def group_processes(pgid: int) -> Iterator[Path]:
    """The /proc folders of the live processes in a process group (Linux)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) == pgid:
                yield entry
        except ProcessLookupError:
            continue


def group_memory_kib(pgid: int) -> dict[str, int]:
    """Memory of every process in the group, summed, from /proc (Linux): `rss`, `peak_rss`, `pss`, `processes`.

    `rss` counts pages shared between gunicorn's arbiter and its forked worker twice, `pss` splits them;
    `peak_rss` is the sum of each process's high-water mark (VmHWM).
    """
    totals = {"rss": 0, "peak_rss": 0, "pss": 0, "processes": 0}
    for entry in group_processes(pgid):
        try:
            status = (entry / "status").read_text()
            rollup = (entry / "smaps_rollup").read_text()
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
        fields = {line.split(":")[0]: line.split()[1] for line in status.splitlines() if line.startswith("Vm")}
        totals["rss"] += int(fields.get("VmRSS", 0))
        totals["peak_rss"] += int(fields.get("VmHWM", 0))
        totals["pss"] += next((int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")), 0)
        totals["processes"] += 1
    return totals


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU time of every live process in the group, from /proc/<pid>/stat (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in group_processes(pgid):
        try:
            stat = (entry / "stat").read_text()
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may contain spaces
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / ticks
