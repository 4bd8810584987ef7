"""A function image carries runtime code only: the setup tool (huelights_setup) stays on the operator's machine.

The staging reads the Containerfile's COPY lines (devstack.cluster.image_staging, the same reader the image
staging test and the bench use), so a COPY that starts shipping the tool fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from devstack.cluster.image_staging import CONTAINER, ROOT, stage

FUNCTIONS = ("lights_off", "lights_on", "colorloop")
SETUP_PACKAGE = "huelights_setup"
# The operator's tool's modules; none of them may reach /app, in its package or in the library's.
SETUP_MODULES = {path.name for path in (ROOT / SETUP_PACKAGE).glob("*.py")} - {"__init__.py"}


def imported_modules(source: Path) -> set[str]:
    tree = ast.parse(source.read_text(), filename=str(source))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_setup_tool_is_a_package_of_its_own() -> None:
    assert {"cli.py", "cli_bridge.py", "cli_kube.py", "__main__.py"} <= SETUP_MODULES
    assert not list((ROOT / "huelights").glob("cli*.py"))
    assert not (ROOT / "huelights" / "__main__.py").exists(), "`python -m huelights` would be the setup tool again"


def test_no_copy_line_names_the_setup_tool() -> None:
    sources = [source for source, _ in CONTAINER.copies]
    assert "huelights/" in sources, sources
    assert not [source for source in sources if SETUP_PACKAGE in source or source in {".", "./"}], sources


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_staged_image_has_no_cli_module(function: str, tmp_path: Path) -> None:
    app = stage(function, tmp_path)
    staged = [path.relative_to(tmp_path) for path in tmp_path.rglob("*.py")]
    assert staged and SETUP_MODULES, "nothing to compare: the checks below would pass on an empty image"
    assert (app / "huelights" / "trigger.py").exists()
    assert (app / "main.py").exists()
    assert not [path for path in staged if SETUP_PACKAGE in path.parts], staged
    leaked = [path for path in staged if path.parent.name == "huelights" and path.name in SETUP_MODULES]
    assert not leaked, f"setup tool modules in the image: {leaked}"


def test_the_runtime_library_never_imports_the_setup_tool() -> None:
    library, entry_points = list((ROOT / "huelights").glob("*.py")), list((ROOT / "functions").glob("*/main.py"))
    assert library and len(entry_points) == len(FUNCTIONS), (library, entry_points)
    for source in [*library, *entry_points]:
        imports = imported_modules(source)
        assert not {name for name in imports if name.split(".")[0] == SETUP_PACKAGE}, source
