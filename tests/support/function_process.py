"""Start one function exactly as the image does (`functions-framework --target ... --source ...`)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devstack.cluster.image_staging import server_env
from devstack.processes import group_memory_kib
from tests.support.servers import free_port, group_alive, start_process, stop_process_group, wait_for_http

FUNCTIONS_FRAMEWORK = str(Path(sys.executable).parent / "functions-framework")


@dataclass
class RunningFunction:
    url: str
    pid: int
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def rss_kib(self) -> int:
        """Resident memory of the whole process group (gunicorn arbiter and worker), from /proc."""
        return group_memory_kib(self.pid)["rss"]


@contextmanager
def running_function(target: str, env: dict[str, str], log_dir: Path) -> Iterator[RunningFunction]:
    """The function on a free 127.0.0.1 port until the block ends; then every process of it is gone."""
    port = free_port()
    command = [FUNCTIONS_FRAMEWORK, "--target", target, "--source", f"functions/{target}/main.py",
               "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    log_path = log_dir / f"{target}-{port}.log"
    process = start_process(command, log_path, {**server_env(), **env})
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/health/readiness", timeout=30, proc=process)
        yield RunningFunction(url, process.pid, log_path)
    finally:
        stop_process_group(process)
        assert not group_alive(process.pid), f"processes of {target} were left behind"
