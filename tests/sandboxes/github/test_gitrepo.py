"""Git plumbing on a bare repository."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from sandboxes.github.gitrepo import ZERO_SHA, GitRepo, Signature, parse_commit

WHEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ME = Signature("Ada", "ada@example.org", WHEN)


def git(repo: GitRepo, *args: str) -> str:
    """Run git on the repository the way a person inspecting it would."""
    return subprocess.run(
        ["git", "-C", str(repo.path), *args], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
async def repo(tmp_path: Path) -> GitRepo:
    """Return an empty bare repository."""
    return await GitRepo.init(tmp_path / "repo.git")


async def commit_files(repo: GitRepo, files: dict[str, str], parents: list[str]) -> str:
    """Commit the given files on top of the first parent's tree."""
    base = None
    if parents:
        parent = await repo.read_commit(parents[0])
        assert parent is not None
        base = parent.tree
    changes = {
        path: ("100644", await repo.write_blob(text.encode())) for path, text in files.items()
    }
    tree = await repo.build_tree(base, changes)
    return await repo.commit_tree(tree, parents, "change\n", ME, ME)


async def test_build_tree_writes_nested_paths_git_can_read(repo: GitRepo) -> None:
    root = await commit_files(repo, {"a/b/c.txt": "deep\n", "top.txt": "top\n"}, [])
    assert await repo.update_ref("refs/heads/main", root, None)
    assert git(repo, "show", "main:a/b/c.txt") == "deep\n"
    assert git(repo, "ls-tree", "-r", "--name-only", "main").split() == ["a/b/c.txt", "top.txt"]


async def test_build_tree_removes_and_replaces_across_file_and_directory(repo: GitRepo) -> None:
    first = await commit_files(repo, {"x/one.txt": "1", "x/two.txt": "2", "y": "file"}, [])
    parent = await repo.read_commit(first)
    assert parent is not None
    blob = await repo.write_blob(b"now a file\n")
    nested = await repo.write_blob(b"inside\n")
    tree = await repo.build_tree(
        parent.tree, {"x/one.txt": None, "x": ("100644", blob), "y/z.txt": ("100644", nested)}
    )
    listing = {entry.path: entry.type for entry in await repo.ls_tree(tree, recursive=True)}
    assert listing == {"x": "blob", "y/z.txt": "blob"}


async def test_entry_at_finds_files_directories_and_nothing(repo: GitRepo) -> None:
    sha = await commit_files(repo, {"docs/guide.md": "hello\n"}, [])
    entry = await repo.entry_at(sha, "docs/guide.md")
    assert entry is not None and entry.type == "blob" and entry.size == 6
    assert entry.sha == git(repo, "rev-parse", f"{sha}:docs/guide.md").strip()
    directory = await repo.entry_at(sha, "docs")
    assert directory is not None and directory.type == "tree"
    assert await repo.entry_at(sha, "docs/missing.md") is None
    # A path that is only a prefix of a real name is not a match.
    assert await repo.entry_at(sha, "docs/guide") is None


async def test_update_ref_refuses_a_stale_old_value(repo: GitRepo) -> None:
    first = await commit_files(repo, {"f": "1"}, [])
    second = await commit_files(repo, {"f": "2"}, [first])
    assert await repo.update_ref("refs/heads/main", first, None)
    assert not await repo.update_ref("refs/heads/main", second, None)  # already exists
    assert not await repo.update_ref("refs/heads/main", second, ZERO_SHA[:-1] + "1")
    assert await repo.update_ref("refs/heads/main", second, first)
    assert await repo.ref("refs/heads/main") == second
    assert await repo.delete_ref("refs/heads/main", second)
    assert await repo.ref("refs/heads/main") is None


async def test_merge_trees_merges_clean_changes_and_reports_conflicts(repo: GitRepo) -> None:
    base = await commit_files(repo, {"a.txt": "a\n", "b.txt": "b\n"}, [])
    ours = await commit_files(repo, {"a.txt": "a changed\n"}, [base])
    theirs = await commit_files(repo, {"b.txt": "b changed\n"}, [base])
    clash = await commit_files(repo, {"a.txt": "a differently\n"}, [base])
    tree = await repo.merge_trees(ours, theirs)
    assert tree is not None
    merged = {e.path: e.sha for e in await repo.ls_tree(tree, recursive=True)}
    assert merged["a.txt"] == await repo.write_blob(b"a changed\n")
    assert merged["b.txt"] == await repo.write_blob(b"b changed\n")
    assert await repo.merge_trees(ours, clash) is None


async def test_diff_and_numstat_name_each_changed_path(repo: GitRepo) -> None:
    base = await commit_files(repo, {"keep.txt": "1\n2\n", "gone.txt": "x\n"}, [])
    parent = await repo.read_commit(base)
    assert parent is not None
    tree = await repo.build_tree(
        parent.tree,
        {"gone.txt": None, "keep.txt": ("100644", await repo.write_blob(b"1\nchanged\n3\n"))},
    )
    new = await repo.commit_tree(tree, [base], "edit\n", ME, ME)
    changes = {change.path: change.status for change in await repo.diff(base, new)}
    assert changes == {"gone.txt": "D", "keep.txt": "M"}
    stats = {stat.path: (stat.additions, stat.deletions) for stat in await repo.numstat(base, new)}
    assert stats == {"gone.txt": (0, 1), "keep.txt": (2, 1)}
    root_changes = await repo.diff(None, base)
    assert {change.status for change in root_changes} == {"A"}
    patches = await repo.patches(base, new)
    assert patches[1] is not None and patches[1].startswith("@@") and "+changed" in patches[1]


async def test_commit_tree_records_author_committer_and_parents(repo: GitRepo) -> None:
    base = await commit_files(repo, {"f": "1"}, [])
    tree = (await repo.read_commit(base)).tree  # type: ignore[union-attr]
    offset = timezone(timedelta(hours=-5, minutes=-30))
    author = Signature("Bo", "bo@example.org", datetime(2023, 1, 2, 3, 4, 5, tzinfo=offset))
    sha = await repo.commit_tree(tree, [base], "Title\n\nBody\n", author, ME)
    commit = await repo.read_commit(sha)
    assert commit is not None
    assert commit.parents == (base,)
    assert commit.author == author
    assert commit.author.when.utcoffset() == offset.utcoffset(None)
    assert commit.committer.name == "Ada"
    assert commit.message == "Title\n\nBody\n"
    assert "Bo <bo@example.org>" in git(repo, "log", "-1", "--format=%an <%ae>", sha)


def test_parse_commit_reads_raw_objects() -> None:
    raw = (
        b"tree " + b"a" * 40 + b"\nparent " + b"b" * 40 + b"\nparent " + b"c" * 40 + b"\n"
        b"author A <a@x> 1700000000 +0100\ncommitter C <c@x> 1700000001 -0000\n\nMerge\n"
    )
    commit = parse_commit("d" * 40, raw)
    assert commit.parents == ("b" * 40, "c" * 40)
    assert commit.author.email == "a@x"
    assert commit.author.when == datetime.fromtimestamp(1700000000, UTC)
    assert commit.committer.when.timestamp() == 1700000001
    assert commit.message == "Merge\n"


async def test_resolve_rejects_option_like_and_unknown_revisions(repo: GitRepo) -> None:
    sha = await commit_files(repo, {"f": "1"}, [])
    await repo.update_ref("refs/heads/main", sha, None)
    assert await repo.resolve("main") == sha
    assert await repo.resolve("--all") is None
    assert await repo.resolve("nope") is None
    assert await repo.read_object("0" * 40) is None
    assert await repo.valid_ref_name("refs/heads/ok/name")
    assert not await repo.valid_ref_name("refs/heads/bad..name")
