"""The README stays a short front door, and every link between the docs opens in a clone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import PROJECT

README = PROJECT / "README.md"
DOCS = PROJECT / "docs"
# A front door people read to the end: about 200 lines, with room to grow a little.
README_MAX_LINES = 250
# Where the design note lived before it came into docs/: a clone has nothing there.
OUTSIDE = "../" + "shared"

FENCE = re.compile(r"^(```+|~~~+).*?^\1\s*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"(`+).+?\1", re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def _pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def _links(page: Path) -> list[str]:
    """Return the targets of a page's markdown links, leaving out those shown as code."""
    text = INLINE_CODE.sub("", FENCE.sub("", page.read_text(encoding="utf-8")))
    return LINK.findall(text)


def _name(page: Path) -> str:
    return str(page.relative_to(PROJECT))


def test_the_docs_folder_has_an_index() -> None:
    assert (DOCS / "README.md").is_file()


@pytest.mark.parametrize("page", _pages(), ids=_name)
def test_relative_links_point_at_files_that_exist(page: Path) -> None:
    broken = []
    for target in _links(page):
        if EXTERNAL.match(target):
            continue
        if "#" in target or target.startswith("/"):
            broken.append(f"{target}: link to a file by its relative path, without an anchor")
            continue
        resolved = (page.parent / target).resolve()
        if not resolved.is_relative_to(PROJECT.resolve()) or not resolved.exists():
            broken.append(f"{target}: no such file in the repository")
    assert not broken, f"{_name(page)} has broken links:\n" + "\n".join(broken)


def test_every_doc_is_listed_in_the_index() -> None:
    listed = {target for target in _links(DOCS / "README.md") if not EXTERNAL.match(target)}
    pages = {page.name for page in DOCS.glob("*.md") if page.name != "README.md"}
    assert pages <= listed, f"docs/README.md does not list {sorted(pages - listed)}"


def test_the_readme_stays_short() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines; keep it under {README_MAX_LINES} and move detail to docs/"
    )


@pytest.mark.parametrize("page", _pages(), ids=_name)
def test_no_doc_points_outside_the_repository(page: Path) -> None:
    assert OUTSIDE not in page.read_text(encoding="utf-8")
