"""The lock files agree with pyproject.toml (where pins are made).

requirements.lock is what the images install (`pip install --require-hashes`), requirements-dev.lock what
`make venv` installs for tests, the local stack and the bench. `make lock` regenerates both; these tests
fail until it has been run after a pin changed. That a lock is complete (every dependency of every locked
distribution is locked too) is proven by the installs themselves: with --require-hashes pip refuses
anything the lock does not list (the image build in tests/integration/test_images.py, `make venv`).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
PROJECT = "huelights (pyproject.toml)"

Entries = dict[str, tuple[str, list[str], list[str]]]


def locked(lock: Path) -> Entries:
    """name -> (version, hashes, what it is there for), from uv's requirements format."""
    entries: Entries = {}
    for block in re.split(r"\n(?=\S)", lock.read_text()):
        head = re.match(r"([A-Za-z0-9._-]+)==(\S+)", block)
        if not head:
            continue
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", block)
        # `# via a, b` on one line, or `# via` followed by one `#   name` line each
        reasons = []
        for line in block.splitlines():
            comment = line.strip().removeprefix("#").strip() if line.strip().startswith("#") else ""
            reasons += [r.strip() for r in comment.removeprefix("via").split(",") if r.strip()]
        entries[canonicalize_name(head.group(1))] = (head.group(2), hashes, reasons)
    return entries


def pins(*groups: str) -> dict[str, str]:
    """The exact pins of [project].dependencies ("runtime") and of optional-dependencies groups."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = [line for group in groups for line in
             (project["dependencies"] if group == "runtime" else project["optional-dependencies"][group])]  # fmt: skip
    found = {}
    for line in lines:
        requirement = Requirement(line)
        (specifier,) = requirement.specifier  # the project pins exactly
        assert specifier.operator == "==", f"{line}: pin with =="
        found[canonicalize_name(requirement.name)] = specifier.version
    return found


LOCKS = {"runtime": (RUNTIME_LOCK, ("runtime",)), "dev": (DEV_LOCK, ("runtime", "dev"))}


@pytest.mark.parametrize("which", LOCKS)
def test_every_pin_of_pyproject_is_locked_at_the_same_version(which: str) -> None:
    lock_file, groups = LOCKS[which]
    lock = locked(lock_file)
    wrong = {name: (version, lock.get(name, ("missing",))[0]) for name, version in pins(*groups).items()
             if lock.get(name, ("",))[0] != version}  # fmt: skip
    assert not wrong, f"pyproject.toml vs {lock_file.name} {wrong}: run `make lock`"


@pytest.mark.parametrize("which", LOCKS)
def test_the_lock_holds_nothing_pyproject_no_longer_asks_for(which: str) -> None:
    lock_file, groups = LOCKS[which]
    lock = locked(lock_file)
    direct = {name for name, (_, _, reasons) in lock.items() if PROJECT in reasons}
    assert direct == set(pins(*groups)), f"{lock_file.name} is stale: run `make lock`"
    for name, (_, _, reasons) in lock.items():
        assert reasons, f"{name}: the lock says nothing of why it is there"
        unknown = [r for r in reasons if r != PROJECT and canonicalize_name(r) not in lock]
        assert not unknown, f"{name} is locked for {unknown}, which the lock does not hold: run `make lock`"


@pytest.mark.parametrize("which", LOCKS)
def test_every_locked_distribution_has_hashes(which: str) -> None:
    lock_file, groups = LOCKS[which]
    lock = locked(lock_file)
    assert len(lock) > len(pins(*groups)), "the lock lists only direct dependencies"
    assert all(hashes for _, hashes, _ in lock.values()), [n for n, (_, h, _) in lock.items() if not h]


def test_tests_run_the_versions_the_images_run() -> None:
    dev = locked(DEV_LOCK)
    differ = {name: (version, dev.get(name, ("missing",))[0]) for name, (version, _, _) in locked(RUNTIME_LOCK).items()
              if dev.get(name, ("",))[0] != version}  # fmt: skip
    assert not differ, f"requirements.lock vs requirements-dev.lock {differ}"


def test_the_locks_are_what_make_lock_writes() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "uv pip compile pyproject.toml --generate-hashes" in makefile
    for lock in (RUNTIME_LOCK, DEV_LOCK):
        assert lock.read_text().splitlines()[1].strip() == "#    make lock"
        assert f"-o {lock.name}" in makefile
    assert "--require-hashes -r requirements-dev.lock" in makefile
