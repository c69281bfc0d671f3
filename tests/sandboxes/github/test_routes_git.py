"""The git data API (refs, commits, trees, blobs) writes real objects to the bare repository."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from github import Github, GithubException, InputGitTreeElement

from sandboxes.github import GitHubSandbox
from tests.sandboxes.github.conftest import LESSON, Reply

REPO = "/repos/lessons/content"


def git(sandbox: GitHubSandbox, *args: str) -> str:
    """Run git on the sandbox's bare repository."""
    return subprocess.run(
        ["git", "-C", str(sandbox.git_dir), *args], check=True, capture_output=True, text=True
    ).stdout


def test_the_repository_starts_with_one_commit_of_the_content(sandbox: GitHubSandbox) -> None:
    log = git(sandbox, "log", "--format=%an|%s", "main").splitlines()
    assert log == ["lessonbot-sandbox|Import lesson content"]
    files = git(sandbox, "ls-tree", "-r", "--name-only", "main").split()
    assert LESSON in files and "README.md" in files
    assert git(sandbox, "symbolic-ref", "HEAD").strip() == "refs/heads/main"


def test_refs_create_get_fast_forward_force_and_delete(
    sandbox: GitHubSandbox, gh: Callable[..., Github]
) -> None:
    repo = gh("lessonbot").get_repo("lessons/content")
    main = repo.get_git_ref("heads/main")
    assert main.object.sha == git(sandbox, "rev-parse", "main").strip()
    branch = repo.create_git_ref("refs/heads/suggest/42", main.object.sha)
    assert branch.ref == "refs/heads/suggest/42"
    assert git(sandbox, "rev-parse", "suggest/42").strip() == main.object.sha
    with pytest.raises(GithubException) as exists:
        repo.create_git_ref("refs/heads/suggest/42", main.object.sha)
    assert exists.value.status == 422

    base = repo.get_git_commit(main.object.sha)
    blob = repo.create_git_blob("side\n", "utf-8")
    tree = repo.create_git_tree(
        [InputGitTreeElement("side.txt", "100644", "blob", sha=blob.sha)], base.tree
    )
    ahead = repo.create_git_commit("Ahead", tree, [base])
    sideways = repo.create_git_commit("Sideways", tree, [])  # unrelated history

    branch.edit(ahead.sha)  # fast-forward
    assert git(sandbox, "rev-parse", "suggest/42").strip() == ahead.sha
    with pytest.raises(GithubException) as not_ff:
        branch.edit(sideways.sha)
    assert not_ff.value.status == 422
    assert not_ff.value.data["message"] == "Update is not a fast forward"
    branch.edit(sideways.sha, force=True)
    assert git(sandbox, "rev-parse", "suggest/42").strip() == sideways.sha

    branch.delete()
    assert "refs/heads/suggest/42" not in git(sandbox, "for-each-ref", "--format=%(refname)")
    with pytest.raises(GithubException) as gone:
        repo.get_git_ref("heads/suggest/42")
    assert gone.value.status == 404


def test_ref_errors(raw: Callable[..., Reply]) -> None:
    main = raw("GET", f"{REPO}/git/ref/heads/main").json()["object"]["sha"]
    assert raw("POST", f"{REPO}/git/refs", {"ref": "heads/x", "sha": main}).status == 422
    assert raw("POST", f"{REPO}/git/refs", {"ref": "refs/heads/a..b", "sha": main}).status == 422
    missing = raw("POST", f"{REPO}/git/refs", {"ref": "refs/heads/x", "sha": "1" * 40})
    assert missing.status == 422 and missing.json()["message"] == "Object does not exist"
    assert raw("PATCH", f"{REPO}/git/refs/heads/nope", {"sha": main}).status == 422
    listed = raw("GET", f"{REPO}/git/refs/heads").json()
    assert [ref["ref"] for ref in listed] == ["refs/heads/main"]
    assert raw("GET", f"{REPO}/git/refs/heads/main").json()["object"]["sha"] == main
    assert raw("GET", f"{REPO}/git/matching-refs/heads/zzz").json() == []


def test_trees_blobs_and_commits_are_real_git_objects(
    sandbox: GitHubSandbox, gh: Callable[..., Github]
) -> None:
    repo = gh("lessonbot").get_repo("lessons/content")
    head = repo.get_git_commit(repo.get_branch("main").commit.sha)
    tree = repo.get_git_tree(head.tree.sha, recursive=True)
    paths = {element.path: element for element in tree.tree}
    assert paths[LESSON].type == "blob" and paths["programs"].type == "tree"
    assert paths[LESSON].sha == git(sandbox, "rev-parse", f"main:{LESSON}").strip()
    blob = repo.get_git_blob(paths[LESSON].sha)
    assert blob.encoding == "base64" and blob.size == paths[LESSON].size

    new_tree = repo.create_git_tree(
        [
            InputGitTreeElement(
                "programs/new/lessons/en/intro.mdx", "100644", "blob", content="Hi\n"
            ),
            InputGitTreeElement("README.md", "100644", "blob", sha=None),
        ],
        repo.get_git_tree(head.tree.sha),
    )
    commit = repo.create_git_commit("Add intro, drop README", new_tree, [head])
    assert commit.parents[0].sha == head.sha
    assert git(sandbox, "cat-file", "-t", commit.sha).strip() == "commit"
    assert git(sandbox, "show", f"{commit.sha}:programs/new/lessons/en/intro.mdx") == "Hi\n"
    names = git(sandbox, "diff-tree", "-r", "--name-status", head.sha, commit.sha).splitlines()
    assert sorted(names) == ["A\tprograms/new/lessons/en/intro.mdx", "D\tREADME.md"]
    assert git(sandbox, "log", "-1", "--format=%an", commit.sha).strip() == "lessonbot"
