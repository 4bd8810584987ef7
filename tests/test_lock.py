"""requirements.lock (what the images install, with hashes) agrees with pyproject.toml (where pins are made).

`make lock` regenerates the lock; these tests fail until it has been run after a pin changed. That the
lock is complete (every dependency of every locked distribution is locked too) is proven by the image
build itself: pip's --require-hashes refuses to install anything the lock does not list
(tests/integration/test_images.py).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
PROJECT = "huelights (pyproject.toml)"


def locked() -> dict[str, tuple[str, list[str], list[str]]]:
    """name -> (version, hashes, what it is there for), from uv's requirements format."""
    entries: dict[str, tuple[str, list[str], list[str]]] = {}
    text = LOCK.read_text()
    for block in re.split(r"\n(?=\S)", text):
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


def project_pins() -> dict[str, str]:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = {}
    for line in dependencies:
        requirement = Requirement(line)
        (specifier,) = requirement.specifier  # the project pins exactly
        assert specifier.operator == "==", f"{line}: pin with =="
        pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def test_every_pin_of_pyproject_is_locked_at_the_same_version() -> None:
    lock = locked()
    wrong = {name: (version, lock.get(name, ("missing",))[0]) for name, version in project_pins().items()
             if lock.get(name, ("",))[0] != version}  # fmt: skip
    assert not wrong, f"pyproject.toml vs requirements.lock {wrong}: run `make lock`"


def test_the_lock_holds_nothing_pyproject_no_longer_asks_for() -> None:
    lock = locked()
    direct = {name for name, (_, _, reasons) in lock.items() if PROJECT in reasons}
    assert direct == set(project_pins()), "requirements.lock is stale: run `make lock`"
    for name, (_, _, reasons) in lock.items():
        assert reasons, f"{name}: the lock says nothing of why it is there"
        unknown = [r for r in reasons if r != PROJECT and canonicalize_name(r) not in lock]
        assert not unknown, f"{name} is locked for {unknown}, which the lock does not hold: run `make lock`"


def test_every_locked_distribution_has_hashes() -> None:
    lock = locked()
    assert len(lock) > len(project_pins()), "the lock lists only direct dependencies"
    assert all(hashes for _, hashes, _ in lock.values()), [n for n, (_, h, _) in lock.items() if not h]


def test_the_lock_is_what_make_lock_writes() -> None:
    header = LOCK.read_text().splitlines()[:2]
    assert header[1].strip() == "#    make lock"
    makefile = (ROOT / "Makefile").read_text()
    assert "uv pip compile pyproject.toml --generate-hashes" in makefile
    assert "-o requirements.lock" in makefile
