"""What the bench runs: each function staged as its image, the baseline staged the same way, and the
runtime installs they run from (and whose weight is compared).

Fresh mode (the default, `make bench`): two new virtual environments, one with the runtime requirements
exactly as the Containerfile derives and installs them, one with functions-framework alone (same pin).
Every process, functions and baseline alike, runs from the first: the same environment.
Current mode (`--smoke`, the test suite): this interpreter's environment stands in for both, and the
weight is read from the installed distributions' RECORD files (the closure of the same requirements),
so no install is needed and the harness runs in seconds.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import sysconfig
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bench import image_weight
from devstack.cluster import image_engine, image_staging

FUNCTIONS = ("lights_off", "lights_on", "colorloop")
BASELINE = "baseline"
BASELINE_TARGET = "hello"
HELLO_MAIN = Path(__file__).resolve().parent / "hello" / "main.py"
APP_MAIN = image_staging.CONTAINER.workdir.rstrip("/") + "/main.py"
APP_LIBRARY = image_staging.CONTAINER.workdir.rstrip("/") + "/huelights/"


class SetupError(RuntimeError):
    """The bench could not prepare what it measures; the message says what failed."""


@dataclass(frozen=True)
class Program:
    name: str  # a function's target, or BASELINE
    target: str  # the functions-framework --target (FUNCTION in the image)
    app_dir: Path  # the staged WORKDIR


@dataclass
class Environment:
    venv: Path  # bin/functions-framework of this prefix serves every program
    programs: dict[str, Program]
    weight: dict[str, Any] = field(default_factory=dict)


def _stage_all(work: Path, library: Path | None, lock: Path | None) -> tuple[dict[str, Program], Path]:
    replace: dict[str, Path] = {}
    if library is not None:
        replace[APP_LIBRARY] = library
    if lock is not None:
        replace[image_staging.CONTAINER.lock] = lock
    programs = {}
    for function in FUNCTIONS:
        app = image_staging.stage(function, work / "images" / function, replace=replace)
        programs[function] = Program(function, function, app)
    baseline_app = image_staging.stage(
        BASELINE_TARGET, work / "images" / BASELINE, replace={APP_MAIN: HELLO_MAIN}, skip={APP_LIBRARY}
    )
    programs[BASELINE] = Program(BASELINE, BASELINE_TARGET, baseline_app)
    return programs, image_staging.staged_lock(work / "images" / FUNCTIONS[0])


def _install(venv: Path, requirements_file: Path, hashes: bool) -> None:
    image_staging.create_venv(venv)
    result = image_staging.install_requirements(venv, requirements_file, hashes)
    if result.returncode != 0:
        raise SetupError(f"pip install into {venv} failed:\n{result.stderr[-3000:]}")


def _framework_pin(requirements: list[str]) -> str:
    """The functions-framework line of the runtime requirements: the baseline gets the same version."""
    for line in requirements:
        if canonicalize_name(Requirement(line).name) == "functions-framework":
            return line
    raise SetupError("the runtime requirements do not pin functions-framework")


def _site_packages(prefix: Path) -> list[str]:
    return [sysconfig.get_path("purelib", vars={"base": str(prefix), "platbase": str(prefix)})]


def prepare(work: Path, *, fresh: bool, library: Path | None = None, lock: Path | None = None) -> Environment:
    programs, staged_lock = _stage_all(work, library, lock)
    requirements = image_staging.locked_requirements(staged_lock.read_text())
    pin = _framework_pin(requirements)
    if fresh:
        runtime_venv, framework_venv = work / "runtime-venv", work / "framework-venv"
        framework_file = work / "framework-requirements.txt"
        framework_file.write_text(pin + "\n")
        with ThreadPoolExecutor(max_workers=2) as pool:  # two pip processes, one per core
            jobs = [
                pool.submit(_install, runtime_venv, staged_lock, True),
                pool.submit(_install, framework_venv, framework_file, False),
            ]
            for job in jobs:
                job.result()
        venv, runtime_site, framework_site = runtime_venv, _site_packages(runtime_venv), _site_packages(framework_venv)
        method = "fresh virtual environments (pip install --require-hashes -r requirements.lock, as the Containerfile)"
    else:
        venv = Path(sys.prefix)
        runtime_site = framework_site = [p for p in sys.path if p.endswith("site-packages")]
        method = "installed distributions of this environment (RECORD files of the same requirements)"
    for program in programs.values():
        image_staging.compile_app(venv, program.app_dir)

    runtime = closure(runtime_site, requirements)
    framework = closure(framework_site, [pin])
    apps = {name: tree_bytes(program.app_dir) for name, program in programs.items()}
    largest_function_app = max(apps[name] for name in FUNCTIONS)
    extra = sorted(set(runtime) - set(framework))
    environment = Environment(venv, programs)
    environment.weight = {
        "method": method,
        "runtime_requirements": requirements,
        "runtime_install_bytes": sum(runtime.values()),
        "framework_install_bytes": sum(framework.values()),
        "app_bytes": apps,
        "image_bytes": sum(runtime.values()) + largest_function_app,
        "baseline_bytes": sum(framework.values()) + apps[BASELINE],
        "added_distributions": {name: runtime[name] for name in extra},
    }
    if fresh and library is None and lock is None:
        # The real images are built from the repository as it is; a scratch library or lock would not be in them.
        try:
            environment.weight.update(image_weight.measure(FUNCTIONS, pin))
        except image_engine.EngineUnavailable as unavailable:
            environment.weight["method"] += f" (no real images: {unavailable})"
        except image_engine.EngineFailed as failed:
            # E.g. podman's "layer not known" when another build ran at the same time: one line, not a traceback.
            raise SetupError(f"building the real images failed: {str(failed).splitlines()[0]}") from None
    return environment


def closure(site: Iterable[str], roots: Iterable[str]) -> dict[str, int]:
    """Installed bytes per distribution for `roots` and everything they require, from RECORD files."""
    found = {canonicalize_name(d.metadata["Name"]): d for d in importlib.metadata.distributions(path=list(site))}
    sizes: dict[str, int] = {}
    todo = [(Requirement(root), "") for root in roots]
    while todo:
        requirement, parent_extra = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": parent_extra}):
            continue
        name = canonicalize_name(requirement.name)
        if name in sizes:
            continue
        dist = found.get(name)
        if dist is None:
            raise SetupError(f"{requirement.name} is required but not installed in {', '.join(site)}")
        sizes[name] = _dist_bytes(dist)
        for line in dist.requires or []:
            todo.extend((Requirement(line), extra) for extra in [*requirement.extras, ""])
    return sizes


def _dist_bytes(dist: importlib.metadata.Distribution) -> int:
    total = 0
    seen: set[Path] = set()
    for file in dist.files or []:
        path = Path(str(dist.locate_file(file))).resolve()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        total += path.stat().st_size
    return total


def tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def machine() -> dict[str, Any]:
    """The machine the figures come from: cores, processor model, memory, load when the bench started."""
    model = "unknown"
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10, check=False).stdout
        model = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines() if "Model name" in line), model)
    except OSError:
        pass
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    match = re.search(r"MemTotal:\s+(\d+) kB", meminfo)
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "memory_gib": round(int(match.group(1)) / 1024 / 1024, 1) if match else None,
        "python": sys.version.split()[0],
        "platform": sys.platform,
        "kernel": os.uname().release,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "functions_framework": importlib.metadata.version("functions-framework"),
    }
