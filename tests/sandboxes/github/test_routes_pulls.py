"""Pull requests through PyGithub: open, review, request reviews, merge for real with git."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from github import Github, GithubException
from github.Repository import Repository

from sandboxes.github import GitHubSandbox
from tests.sandboxes.github.conftest import LESSON, Reply

REPO = "/repos/lessons/content"


def git(sandbox: GitHubSandbox, *args: str) -> str:
    """Run git on the sandbox's bare repository."""
    return subprocess.run(
        ["git", "-C", str(sandbox.git_dir), *args], check=True, capture_output=True, text=True
    ).stdout


def suggest(repo: Repository, branch: str, old: bytes, new: bytes, path: str = LESSON) -> str:
    """Branch off main and replace `old` with `new` in a file there, as the bot does."""
    repo.create_git_ref(f"refs/heads/{branch}", repo.get_branch("main").commit.sha)
    current = repo.get_contents(path, ref=branch)
    text = current.decoded_content
    assert old in text
    result = repo.update_file(
        path, f"Suggest: {branch}", text.replace(old, new), current.sha, branch
    )
    return result["commit"].sha


def test_open_a_pull_request_and_read_it_back(gh: Callable[..., Github]) -> None:
    repo = gh("lessonbot").get_repo("lessons/content")
    repo.create_issue("An issue first")  # issues and pulls share one number sequence
    head = suggest(repo, "suggest-1", b"two commands", b"two programs")
    pull = repo.create_pull(base="main", head="suggest-1", title="Clearer wording", body="Thanks!")
    assert pull.number == 2
    assert (pull.head.ref, pull.head.sha, pull.base.ref) == ("suggest-1", head, "main")
    assert pull.head.label == "lessons:suggest-1" and pull.head.repo.full_name == "lessons/content"
    assert pull.mergeable is None and pull.merged is False  # computed after the answer
    assert repo.get_pull(pull.number).mergeable is True
    assert (pull.commits, pull.additions, pull.deletions, pull.changed_files) == (1, 1, 1, 1)
    assert pull.user.login == "lessonbot"
    as_issue = repo.get_issue(2)
    assert as_issue.pull_request is not None and as_issue.title == "Clearer wording"
    assert [i.number for i in repo.get_issues()] == [2, 1]  # the issue list includes pulls
    assert [p.number for p in repo.get_pulls()] == [2]
    assert [p.number for p in repo.get_pulls(head="lessons:suggest-1")] == [2]
    assert list(repo.get_pulls(head="lessons:other")) == []
    assert [p.number for p in repo.get_pulls(base="main", state="all")] == [2]
    files = list(pull.get_files())
    assert [f.filename for f in files] == [LESSON]
    assert files[0].status == "modified" and "+A pipe joins two programs." in files[0].patch
    assert [c.sha for c in pull.get_commits()] == [head]


def test_pull_request_errors_match_github(
    gh: Callable[..., Github], raw: Callable[..., Reply]
) -> None:
    repo = gh("lessonbot").get_repo("lessons/content")
    suggest(repo, "suggest-1", b"two commands", b"two programs")
    repo.create_pull(base="main", head="suggest-1", title="First")
    with pytest.raises(GithubException) as duplicate:
        repo.create_pull(base="main", head="suggest-1", title="Again")
    assert duplicate.value.status == 422
    assert "A pull request already exists for lessons:suggest-1." in str(duplicate.value)
    repo.create_git_ref("refs/heads/empty", repo.get_branch("main").commit.sha)
    with pytest.raises(GithubException) as empty:
        repo.create_pull(base="main", head="empty", title="Nothing")
    assert "No commits between main and empty" in str(empty.value)
    with pytest.raises(GithubException) as no_head:
        repo.create_pull(base="main", head="missing", title="Missing")
    assert no_head.value.data["errors"][0]["field"] == "head"
    assert raw("POST", f"{REPO}/pulls", {"head": "suggest-1", "base": "main"}).status == 422


def test_reviews_and_review_requests(sandbox: GitHubSandbox, gh: Callable[..., Github]) -> None:
    sandbox.add_collaborator("reviewer2", "triage")  # reviews are requested from collaborators
    bot_repo = gh("lessonbot").get_repo("lessons/content")
    suggest(bot_repo, "suggest-1", b"two commands", b"two programs")
    pull = bot_repo.create_pull(base="main", head="suggest-1", title="Wording")
    pull.create_review_request(reviewers=["maintainer", "reviewer2"])
    users, _ = pull.get_review_requests()
    assert [user.login for user in users] == ["maintainer", "reviewer2"]
    with pytest.raises(GithubException) as own_request:
        pull.create_review_request(reviewers=["lessonbot"])
    assert own_request.value.status == 422
    with pytest.raises(GithubException) as own_approval:
        pull.create_review(event="APPROVE")
    assert "Can not approve your own pull request" in str(own_approval.value)

    theirs = gh("maintainer").get_repo("lessons/content").get_pull(pull.number)
    changes = theirs.create_review(event="REQUEST_CHANGES", body="Keep the old verb.")
    assert changes.state == "CHANGES_REQUESTED" and changes.commit_id == pull.head.sha
    with pytest.raises(GithubException) as empty_body:
        theirs.create_review(event="REQUEST_CHANGES")
    assert empty_body.value.status == 422
    approval = theirs.create_review(event="APPROVE", body="Fine after all.")
    comment = (
        gh("learner")
        .get_repo("lessons/content")
        .get_pull(pull.number)
        .create_review(event="COMMENT", body="Nice.")
    )
    reviews = [(r.user.login, r.state) for r in pull.get_reviews()]
    assert reviews == [
        ("maintainer", "CHANGES_REQUESTED"),
        ("maintainer", "APPROVED"),
        ("learner", "COMMENTED"),
    ]
    assert approval.id != comment.id
    users, _ = pull.get_review_requests()
    assert [user.login for user in users] == ["reviewer2"]  # a review answers the request
    pull.delete_review_request(reviewers=["reviewer2"])
    assert list(pull.get_review_requests()[0]) == []


def test_merge_makes_a_real_merge_commit_with_two_parents(
    sandbox: GitHubSandbox, gh: Callable[..., Github]
) -> None:
    bot_repo = gh("lessonbot").get_repo("lessons/content")
    main_before = bot_repo.get_branch("main").commit.sha
    head = suggest(bot_repo, "suggest-1", b"two commands", b"two programs")
    pull = bot_repo.create_pull(base="main", head="suggest-1", title="Clearer wording")
    # main moves on meanwhile, in another file: the merge must combine both.
    readme = bot_repo.get_contents("README.md")
    other = bot_repo.update_file("README.md", "Retitle", b"# Our lessons\n", readme.sha)["commit"]

    theirs = gh("maintainer").get_repo("lessons/content").get_pull(pull.number)
    theirs.create_review(event="APPROVE")
    status = theirs.merge(merge_method="merge")
    assert status.merged is True

    merge = status.sha
    assert git(sandbox, "rev-parse", "main").strip() == merge
    parents = git(sandbox, "log", "-1", "--format=%P", merge).split()
    assert parents == [other.sha, head]
    subject = git(sandbox, "log", "-1", "--format=%s|%an|%cn", merge).strip()
    assert subject == "Merge pull request #1 from lessons/suggest-1|maintainer|GitHub"
    assert "two programs" in git(sandbox, "show", f"main:{LESSON}")
    assert git(sandbox, "show", "main:README.md") == "# Our lessons\n"
    assert git(sandbox, "merge-base", "--is-ancestor", main_before, "main") == ""

    merged = bot_repo.get_pull(pull.number)
    assert merged.merged and merged.state == "closed" and merged.merge_commit_sha == merge
    assert merged.merged_by.login == "maintainer" and merged.closed_at is not None
    assert bot_repo.get_issue(pull.number).state == "closed"
    with pytest.raises(GithubException) as again:
        theirs.merge()
    assert again.value.status == 405
    with pytest.raises(GithubException) as reopen:
        merged.edit(state="open")
    assert reopen.value.status == 422


def test_conflicting_pull_request_cannot_be_merged(
    sandbox: GitHubSandbox, gh: Callable[..., Github]
) -> None:
    repo = gh("lessonbot").get_repo("lessons/content")
    suggest(repo, "first", b"two commands", b"two programs")
    suggest(repo, "second", b"two commands", b"two tools")
    first = repo.create_pull(base="main", head="first", title="First")
    second = repo.create_pull(base="main", head="second", title="Second")
    maintainer = gh("maintainer").get_repo("lessons/content")
    maintainer.get_pull(first.number).merge()
    main_after_first = git(sandbox, "rev-parse", "main").strip()
    assert repo.get_pull(second.number).mergeable is False
    assert repo.get_pull(second.number).mergeable_state == "dirty"
    with pytest.raises(GithubException) as conflict:
        maintainer.get_pull(second.number).merge()
    assert conflict.value.status == 405
    assert conflict.value.data["message"] == "Pull Request is not mergeable"
    assert git(sandbox, "rev-parse", "main").strip() == main_after_first


def test_merge_refuses_a_moved_head_and_supports_squash(
    sandbox: GitHubSandbox, gh: Callable[..., Github]
) -> None:
    repo = gh("lessonbot").get_repo("lessons/content")
    first_head = suggest(repo, "suggest-1", b"two commands", b"two programs")
    pull = repo.create_pull(base="main", head="suggest-1", title="Wording")
    current = repo.get_contents(LESSON, ref="suggest-1")
    second_head = repo.update_file(
        LESSON, "More", current.decoded_content + b"More.\n", current.sha, "suggest-1"
    )["commit"].sha
    assert repo.get_pull(pull.number).head.sha == second_head  # the pull follows its branch
    maintainer_pull = gh("maintainer").get_repo("lessons/content").get_pull(pull.number)
    with pytest.raises(GithubException) as moved:
        maintainer_pull.merge(sha=first_head)
    assert moved.value.status == 409
    result = maintainer_pull.merge(merge_method="squash", sha=second_head)
    parents = git(sandbox, "log", "-1", "--format=%P", result.sha).split()
    assert len(parents) == 1
    assert git(sandbox, "log", "-1", "--format=%s", result.sha).strip() == "Wording (#1)"
    assert git(sandbox, "show", f"main:{LESSON}").endswith("More.\n")


def test_close_reopen_and_edit_a_pull_request(gh: Callable[..., Github]) -> None:
    repo = gh("lessonbot").get_repo("lessons/content")
    suggest(repo, "suggest-1", b"two commands", b"two programs")
    pull = repo.create_pull(base="main", head="suggest-1", title="Wording", body="Old")
    pull.edit(title="Better wording", body="New")
    assert (pull.title, pull.body) == ("Better wording", "New")
    pull.edit(state="closed")
    assert pull.state == "closed" and pull.merged is False
    assert [p.number for p in repo.get_pulls(state="closed")] == [pull.number]
    pull.edit(state="open")
    assert pull.state == "open" and pull.mergeable is True
    pull.as_issue().add_to_labels("documentation")
    assert [label.name for label in repo.get_pull(pull.number).labels] == ["documentation"]
