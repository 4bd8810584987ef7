"""The npm packages that validate the manifests (tests/schema/), installed once per lock file.

`npm ci` from tests/schema/package-lock.json into build/schema-validator/, by one worker at a time (two
`npm ci` into one folder corrupt it); a hash marker says which lock file is installed there. Node.js and
npm come from Debian's packages when missing (tests/support/tools.py: skipped without root, failed under
CI=true).
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.tools import REPO, install_once, node_and_npm

SOURCES = REPO / "tests" / "schema"
WORKDIR = REPO / "build" / "schema-validator"
FILES = ("package.json", "package-lock.json", "validate.mjs")
NPM_TIMEOUT = 600


@dataclass(frozen=True)
class SchemaPackages:
    node: str
    workdir: Path  # validate.mjs and node_modules/


def _digest() -> str:
    return hashlib.sha256(b"".join((SOURCES / name).read_bytes() for name in FILES)).hexdigest()


@functools.cache
def schema_packages() -> SchemaPackages:
    node, npm = node_and_npm()
    marker = WORKDIR / ".installed"
    digest = _digest()

    def install() -> None:
        WORKDIR.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            shutil.copyfile(SOURCES / name, WORKDIR / name)
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=WORKDIR,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT,
            check=False,
        )
        assert result.returncode == 0, f"npm ci for the schema packages failed:\n{result.stderr[-3000:]}"
        marker.write_text(digest)

    install_once("npm-schema", lambda: marker.exists() and marker.read_text() == digest, install)
    return SchemaPackages(node, WORKDIR)
