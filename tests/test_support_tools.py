"""The tests' own tool installer (tests/support/tools.py): a missing tool skips locally and fails under
CI=true, with the same reason; an install runs only when the tool is missing, and a lock held too long is
reported, not waited on forever. Two processes racing for one install: tests/integration/test_install_once.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import browser, tools


@pytest.fixture
def ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)


@pytest.fixture
def no_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Not root, so nothing can be installed; the locks in a folder of this test's own."""
    monkeypatch.setattr(tools.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(tools, "LOCKS", tmp_path / "locks")


def outcome(call: Callable[[], object]) -> tuple[str, str]:
    """("failed" or "skipped", the reason): a skip escaping pytest.raises(Failed) would pass as a skip."""
    with pytest.raises((pytest.fail.Exception, pytest.skip.Exception)) as caught:
        call()
    return ("failed" if caught.type is pytest.fail.Exception else "skipped"), str(caught.value)


def test_a_missing_tool_skips_the_test_locally(local: None) -> None:
    assert outcome(lambda: tools.missing_tool("kubectl is not on PATH")) == ("skipped", "kubectl is not on PATH")


def test_under_ci_a_missing_tool_fails_the_test_with_the_same_reason(ci: None) -> None:
    result, reason = outcome(lambda: tools.missing_tool("kubectl is not on PATH"))
    assert result == "failed"
    assert reason.startswith("kubectl is not on PATH (CI=true")


@pytest.mark.parametrize(("ci_value", "expected"), [("true", "failed"), ("", "skipped")])
def test_chromium_that_cannot_be_installed_skips_the_browser_tests_but_fails_them_under_ci(
    ci_value: str, expected: str, no_root: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CI", ci_value)
    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "no-chromium")
    result, reason = outcome(browser.ensure_browser)
    assert result == expected
    assert reason.startswith("chromium missing and cannot be installed here (needs root and apt-get)"), reason


def test_under_ci_a_missing_node_fails_the_schema_tests(
    ci: None, no_root: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    result, reason = outcome(tools.node_and_npm)
    assert (result, reason.split(" (needs")[0]) == ("failed", "nodejs, npm missing and cannot be installed here")


def test_under_ci_a_missing_kubectl_fails_the_kustomize_tests(ci: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools, "find_kubectl", lambda: None)
    monkeypatch.setattr(tools, "dev_pin", lambda distribution: None)
    tools.kubectl.cache_clear()
    try:
        result, reason = outcome(tools.kubectl)
        assert result == "failed"
        assert "kubectl is not on PATH" in reason
    finally:
        tools.kubectl.cache_clear()


def test_a_present_tool_is_not_installed_again(tmp_path: Path) -> None:
    installs: list[str] = []
    tools.install_once("tool", lambda: True, lambda: installs.append("tool"), locks=tmp_path)
    assert installs == []
    tools.install_once("tool", lambda: bool(installs), lambda: installs.append("tool"), locks=tmp_path)
    tools.install_once("tool", lambda: bool(installs), lambda: installs.append("tool"), locks=tmp_path)
    assert installs == ["tool"]


def test_a_lock_held_too_long_is_reported_not_waited_on(tmp_path: Path) -> None:
    # Another worker's install, still running.
    with tools.exclusive("apt", locks=tmp_path), pytest.raises(TimeoutError, match=r"held .*apt\.lock"):
        tools.install_once("apt", lambda: False, lambda: None, locks=tmp_path, timeout=0)


def test_a_lock_is_free_again_once_its_holder_is_done(tmp_path: Path) -> None:
    with tools.exclusive("apt", locks=tmp_path):
        pass
    installs: list[str] = []
    tools.install_once("apt", lambda: False, lambda: installs.append("done"), locks=tmp_path, timeout=0)
    assert installs == ["done"]


def test_pins_come_from_pyproject_dev_extra() -> None:
    pin = tools.dev_pin("Playwright")
    assert pin is not None and pin.startswith("playwright==")
    assert tools.dev_pin("no-such-distribution") is None
