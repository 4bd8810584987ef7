"""Every relative link in README.md and docs/*.md names a file of the repository (and a heading, with #)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
CODE_SPAN = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^#{1,6} (.+)$", re.M)


def prose(page: Path) -> str:
    """The page without code blocks and code spans, where brackets are code, not links."""
    return CODE_SPAN.sub("", FENCE.sub("", page.read_text()))


def anchor(heading: str) -> str:
    """GitHub's id for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = CODE_SPAN.sub(lambda span: span.group(0).strip("`"), heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {anchor(heading) for heading in HEADING.findall(FENCE.sub("", page.read_text()))}


def relative_links() -> list[tuple[Path, str]]:
    links = []
    for page in PAGES:
        for target in LINK.findall(prose(page)):
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: are not files
                links.append((page, target))
    return links


def cases() -> list[object]:
    params: list[object] = []
    for page, target in relative_links():
        params.append(pytest.param(page, target, id=f"{page.relative_to(ROOT)}->{target}"))
    return params


def test_the_pages_have_links() -> None:
    assert (ROOT / "docs").is_dir()
    linked = {(page.parent / target.partition("#")[0]).resolve() for page, target in relative_links()}
    assert set(PAGES[1:]) <= linked, "every docs/ page is linked from somewhere"


@pytest.mark.parametrize(("page", "target"), cases())
def test_a_relative_link_resolves_inside_the_repository(page: Path, target: str) -> None:
    file_part, _, fragment = target.partition("#")
    assert not file_part.startswith("/"), f"{page.name}: {target} is an absolute path"
    path = (page.parent / file_part).resolve() if file_part else page
    assert path.is_relative_to(ROOT), f"{page.name}: {target} leaves the repository"
    assert path.exists(), f"{page.name}: {target} does not exist"
    if fragment and path.suffix == ".md":
        assert fragment in anchors(path), f"{page.name}: {target}: no heading with that id in {path.name}"


def test_the_anchor_rule_follows_github() -> None:
    assert anchor("3. The Kubernetes objects: `config` and `secret`") == "3-the-kubernetes-objects-config-and-secret"
    assert anchor("Local stack (`make run`), simulator and dashboard") == "local-stack-make-run-simulator-and-dashboard"
