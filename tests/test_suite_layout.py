"""The test suite keeps its shape: processes only under tests/integration/, helpers only in tests/support/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
INTEGRATION = TESTS / "integration"
# Each of these starts a process: a function, the CLI, the local stack, the simulator, a tool.
PROCESS_STARTERS = {"start_process", "running_function", "run_stack", "subprocess.run", "subprocess.Popen"}
# Tools that only read files: rendering and schema-checking the manifests starts none of the project's processes.
TOOL_RUNNERS: dict[str, set[str]] = {}
# A test skipped for a missing tool must fail under CI=true instead: tests/support/tools.py's missing_tool
# is the one place that decides. Anything else that skips a test is named here with its reason.
SKIPS = {"pytest.skip", "pytest.mark.skip", "pytest.mark.skipif", "pytest.importorskip"}
SKIP_HELPER = TESTS / "support" / "tools.py"
OTHER_SKIPS = {
    # Not a tool: another local user is needed, which only root can become (runuser).
    "integration/test_local_stack_security.py": "not root, or no runuser",
}


def _test_modules() -> list[Path]:
    return sorted(TESTS.rglob("test_*.py"))


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _called_names(path: Path) -> set[str]:
    return {ast.unparse(node.func) for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Call)}


def _marked_integration(path: Path) -> bool:
    return any(
        isinstance(node, ast.Assign)
        and [ast.unparse(target) for target in node.targets] == ["pytestmark"]
        and ast.unparse(node.value) == "pytest.mark.integration"
        for node in ast.parse(path.read_text()).body
    )


@pytest.mark.parametrize("path", _test_modules(), ids=lambda path: str(path.relative_to(TESTS)))
def test_a_test_module_imports_no_other_test_module(path: Path) -> None:
    imported = {name for name in _imported_modules(path) if name.startswith("tests.")}
    assert not {name for name in imported if name.rsplit(".", 1)[-1].startswith(("test_", "conftest"))}
    assert all(name.startswith("tests.support") for name in imported), imported


def test_processes_start_only_in_integration_tests() -> None:
    outside = [path for path in _test_modules() if INTEGRATION not in path.parents]
    starters = {
        path.name: _called_names(path) & PROCESS_STARTERS - TOOL_RUNNERS.get(path.name, set()) for path in outside
    }
    assert {name: found for name, found in starters.items() if found} == {}
    assert not [path.name for path in outside if _marked_integration(path)]
    assert all(_marked_integration(path) for path in INTEGRATION.glob("test_*.py"))


def test_fixtures_come_from_the_plugin_not_from_imports() -> None:
    noqa = [path.name for path in TESTS.rglob("*.py") if "noqa: F8" + "11" in path.read_text()]
    assert noqa == []


def test_tests_skip_only_through_the_missing_tool_helper() -> None:
    skipping = {
        str(path.relative_to(TESTS)): found
        for path in sorted(TESTS.rglob("*.py"))
        if path != SKIP_HELPER and (found := _called_names(path) & SKIPS)
    }
    assert _called_names(SKIP_HELPER) & SKIPS == {"pytest.skip"}
    assert {name: found for name, found in skipping.items() if name not in OTHER_SKIPS} == {}
    assert set(OTHER_SKIPS) <= set(skipping), "a file in OTHER_SKIPS skips nothing any more: drop it there"
