"""The README stays a short front door, every link between the docs opens in a clone, and
every path the docs name is there."""

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
INLINE_CODE = re.compile(r"(`+)(.+?)\1", re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)

# Where the project's own files live: a code span naming a path under one of these is
# checked, one holding a placeholder (`<locale>`, `*`, `{n}`) is not.
PATH_ROOTS = ("bot/", "sandboxes/", "tests/", "lessons/", "docs/")
PLACEHOLDER = re.compile(r"[<>*{}]")
# Code spans that look like a path but name something else.
NOT_PATHS = frozenset({"lessons/content"})  # the GitHub sandbox's repository, owner/name
# A map of the code is a fenced block whose first line is a top folder, its entries
# indented two spaces a level, each entry's words after two spaces or more.
TREE_ENTRY = re.compile(r"^( *)(\S.*?)(?: {2,}|$)")


def _pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def _links(page: Path) -> list[str]:
    """Return the targets of a page's markdown links, leaving out those shown as code."""
    text = INLINE_CODE.sub("", FENCE.sub("", page.read_text(encoding="utf-8")))
    return LINK.findall(text)


def _named_paths(page: Path) -> list[str]:
    """Return the project paths a page's code spans name, placeholders left out."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return [
        word
        for _, span in INLINE_CODE.findall(text)
        for word in span.split()
        if word.startswith(PATH_ROOTS) and not PLACEHOLDER.search(word) and word not in NOT_PATHS
    ]


def _map_paths(page: Path) -> list[str]:
    """Return every path a page's maps of the code name, each entry under its folders."""
    paths = []
    for block in FENCE.finditer(page.read_text(encoding="utf-8")):
        opening, *lines, _ = block.group(0).splitlines()
        # A map has no language after its fence, and begins at one of the top folders.
        if opening.strip("`~") or not lines or not lines[0].startswith(PATH_ROOTS):
            continue
        folders: list[str] = []
        for line in lines:
            entry = TREE_ENTRY.match(line)
            if entry is None or len(entry.group(1)) > 2 * len(folders):
                continue  # a blank line, or a description running on from the line above
            indent, names = entry.groups()
            del folders[len(indent) // 2 :]
            names_here = names.split(", ")
            paths += ["".join(folders) + name for name in names_here]
            if len(names_here) == 1 and names_here[0].endswith("/"):
                folders.append(names_here[0])
    return paths


def _missing(paths: list[str]) -> list[str]:
    """Return the paths that name no file or folder in the repository."""
    return [path for path in dict.fromkeys(paths) if not (PROJECT / path).exists()]


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


@pytest.mark.parametrize("page", _pages(), ids=_name)
def test_every_path_in_code_names_a_file_or_folder(page: Path) -> None:
    missing = _missing(_named_paths(page))
    assert not missing, f"{_name(page)} names paths that do not exist: {missing}"


@pytest.mark.parametrize("page", [README, DOCS / "design.md"], ids=_name)
def test_the_map_of_the_code_is_true(page: Path) -> None:
    paths = _map_paths(page)
    assert "bot/domain/" in paths  # the map was found and read
    missing = _missing(paths)
    assert not missing, f"the map in {_name(page)} names paths that do not exist: {missing}"
