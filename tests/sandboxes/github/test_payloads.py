"""Every route's response validates against GitHub's official models (githubkit-schemas)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from sandboxes.github import GitHubSandbox
from sandboxes.github.payloads import encode_content, iso, node_id
from tests.sandboxes.github.conftest import LESSON, Reply, validate

REPO = "/repos/lessons/content"


def ok(reply: Reply, status: int = 200) -> Reply:
    """Assert a reply's status, showing the body when it is wrong."""
    assert reply.status == status, reply.body[:500]
    return reply


def validate_list(model: Any, reply: Reply) -> list[Any]:
    """Validate each item of a JSON array reply, which must not be empty."""
    items = reply.json()
    assert isinstance(items, list) and items, reply.body[:300]
    return [validate(model, json.dumps(item)) for item in items]


def open_pull(raw: Callable[..., Reply], branch: str = "fix") -> int:
    """Create a branch with one commit and open a pull request from it as the bot."""
    main = ok(raw("GET", f"{REPO}/git/ref/heads/main")).json()["object"]["sha"]
    ok(raw("POST", f"{REPO}/git/refs", {"ref": f"refs/heads/{branch}", "sha": main}), 201)
    current = ok(raw("GET", f"{REPO}/contents/{LESSON}")).json()
    text = base64.b64decode(current["content"]) + b"\nOne more line.\n"
    ok(
        raw(
            "PUT",
            f"{REPO}/contents/{LESSON}",
            {
                "message": "Add a line",
                "content": base64.b64encode(text).decode(),
                "sha": current["sha"],
                "branch": branch,
            },
            login="lessonbot",
        )
    )
    pull = {"title": "Add a line", "head": branch, "base": "main", "body": "Please review."}
    return ok(raw("POST", f"{REPO}/pulls", pull, login="lessonbot"), 201).json()["number"]


def test_validation_catches_a_missing_required_field(
    models: Any, raw: Callable[..., Reply]
) -> None:
    import json

    issue = ok(raw("POST", f"{REPO}/issues", {"title": "x"}), 201).json()
    del issue["node_id"]
    with pytest.raises(ValidationError):
        validate(models.Issue, json.dumps(issue))
    issue["node_id"] = 12  # strict: a number is not a string
    with pytest.raises(ValidationError):
        validate(models.Issue, json.dumps(issue))


def test_account_repository_and_rate_limit_shapes(
    sandbox: GitHubSandbox, models: Any, raw: Callable[..., Reply]
) -> None:
    repo = validate(models.FullRepository, ok(raw("GET", REPO)).body)
    assert repo.full_name == "lessons/content" and repo.default_branch == "main"
    assert repo.owner.type == "Organization"
    assert repo.permissions.admin is True  # "maintainer" administers the repository
    me = validate(models.PrivateUser, ok(raw("GET", "/user")).body)
    assert me.login == "maintainer"
    validate(models.PublicUser, ok(raw("GET", "/users/lessonbot")).body)
    limits = validate(models.RateLimitOverview, ok(raw("GET", "/rate_limit")).body)
    assert limits.resources.core.limit == 5000
    permission = validate(
        models.RepositoryCollaboratorPermission,
        ok(raw("GET", f"{REPO}/collaborators/lessonbot/permission")).body,
    )
    assert permission.permission == "write"


def test_git_data_shapes(models: Any, raw: Callable[..., Reply]) -> None:
    ref = validate(models.GitRef, ok(raw("GET", f"{REPO}/git/ref/heads/main")).body)
    validate_list(models.GitRef, ok(raw("GET", f"{REPO}/git/refs")))
    commit = validate(
        models.GitCommit, ok(raw("GET", f"{REPO}/git/commits/{ref.object_.sha}")).body
    )
    tree = validate(
        models.GitTree, ok(raw("GET", f"{REPO}/git/trees/{commit.tree.sha}?recursive=1")).body
    )
    assert LESSON in {item.path for item in tree.tree}
    blob_sha = next(item.sha for item in tree.tree if item.path == LESSON)
    blob = validate(models.Blob, ok(raw("GET", f"{REPO}/git/blobs/{blob_sha}")).body)
    assert base64.b64decode(blob.content).startswith(b"---\ntitle: Pipes")
    new_blob = validate(
        models.ShortBlob, ok(raw("POST", f"{REPO}/git/blobs", {"content": "hi\n"}), 201).body
    )
    new_tree = validate(
        models.GitTree,
        ok(
            raw(
                "POST",
                f"{REPO}/git/trees",
                {
                    "base_tree": commit.tree.sha,
                    "tree": [
                        {
                            "path": "notes/hi.txt",
                            "mode": "100644",
                            "type": "blob",
                            "sha": new_blob.sha,
                        }
                    ],
                },
            ),
            201,
        ).body,
    )
    new_commit = validate(
        models.GitCommit,
        ok(
            raw(
                "POST",
                f"{REPO}/git/commits",
                {"message": "Add notes", "tree": new_tree.sha, "parents": [commit.sha]},
            ),
            201,
        ).body,
    )
    created = validate(
        models.GitRef,
        ok(
            raw("POST", f"{REPO}/git/refs", {"ref": "refs/heads/notes", "sha": new_commit.sha}), 201
        ).body,
    )
    assert created.ref == "refs/heads/notes"
    moved = validate(
        models.GitRef,
        ok(raw("PATCH", f"{REPO}/git/refs/heads/main", {"sha": new_commit.sha})).body,
    )
    assert moved.object_.sha == new_commit.sha


def test_contents_branch_and_commit_shapes(models: Any, raw: Callable[..., Reply]) -> None:
    file = validate(models.ContentFile, ok(raw("GET", f"{REPO}/contents/{LESSON}?ref=main")).body)
    assert file.encoding == "base64" and file.path == LESSON
    listing = validate_list(
        models.ContentDirectoryItems, ok(raw("GET", f"{REPO}/contents/programs/demo"))
    )
    assert {(item.name, item.type) for item in listing} == {
        ("lessons", "dir"),
        ("program.json", "file"),
    }
    put = {
        "message": "Update pipes",
        "content": base64.b64encode(b"new text\n").decode(),
        "sha": file.sha,
    }
    result = validate(models.FileCommit, ok(raw("PUT", f"{REPO}/contents/{LESSON}", put)).body)
    assert result.content is not None and result.content.sha != file.sha
    created = validate(
        models.FileCommit,
        ok(
            raw(
                "PUT",
                f"{REPO}/contents/docs/new.md",
                {"message": "Add", "content": base64.b64encode(b"x").decode()},
            ),
            201,
        ).body,
    )
    assert created.content is not None and created.content.path == "docs/new.md"
    branch = validate(models.BranchWithProtection, ok(raw("GET", f"{REPO}/branches/main")).body)
    assert branch.commit.sha == created.commit.sha
    validate_list(models.ShortBranch, ok(raw("GET", f"{REPO}/branches")))
    commit = validate(models.Commit, ok(raw("GET", f"{REPO}/commits/{branch.commit.sha}")).body)
    assert commit.files is not None and [f.filename for f in commit.files] == ["docs/new.md"]
    assert commit.author is not None and commit.author.login == "maintainer"


def test_issue_comment_and_label_shapes(models: Any, raw: Callable[..., Reply]) -> None:
    issue = validate(
        models.Issue,
        ok(
            raw("POST", f"{REPO}/issues", {"title": "Typo", "body": "x", "labels": ["bug"]}), 201
        ).body,
    )
    number = issue.number
    validate(models.Issue, ok(raw("GET", f"{REPO}/issues/{number}")).body)
    closed = validate(
        models.Issue, ok(raw("PATCH", f"{REPO}/issues/{number}", {"state": "closed"})).body
    )
    assert closed.state == "closed" and closed.closed_at is not None
    validate_list(models.Issue, ok(raw("GET", f"{REPO}/issues?state=all")))
    comment = validate(
        models.IssueComment,
        ok(raw("POST", f"{REPO}/issues/{number}/comments", {"body": "Thanks"}), 201).body,
    )
    validate(models.IssueComment, ok(raw("GET", f"{REPO}/issues/comments/{comment.id}")).body)
    validate(
        models.IssueComment,
        ok(raw("PATCH", f"{REPO}/issues/comments/{comment.id}", {"body": "Thanks!"})).body,
    )
    validate_list(models.IssueComment, ok(raw("GET", f"{REPO}/issues/{number}/comments")))
    label = validate(
        models.Label,
        ok(raw("POST", f"{REPO}/labels", {"name": "lesson", "color": "00ff00"}), 201).body,
    )
    assert label.default is False
    validate(models.Label, ok(raw("GET", f"{REPO}/labels/lesson")).body)
    validate_list(models.Label, ok(raw("POST", f"{REPO}/issues/{number}/labels", ["lesson"])))
    validate_list(models.Label, ok(raw("GET", f"{REPO}/labels")))


def test_pull_request_review_and_merge_shapes(models: Any, raw: Callable[..., Reply]) -> None:
    number = open_pull(raw)
    pull = validate(models.PullRequest, ok(raw("GET", f"{REPO}/pulls/{number}")).body)
    assert pull.mergeable is True and pull.commits == 1 and pull.changed_files == 1
    validate_list(models.PullRequestSimple, ok(raw("GET", f"{REPO}/pulls")))
    validate(
        models.PullRequestSimple,
        ok(
            raw(
                "POST", f"{REPO}/pulls/{number}/requested_reviewers", {"reviewers": ["maintainer"]}
            ),
            201,
        ).body,
    )
    requested = validate(
        models.PullRequestReviewRequest,
        ok(raw("GET", f"{REPO}/pulls/{number}/requested_reviewers")).body,
    )
    assert [user.login for user in requested.users] == ["maintainer"]
    review = validate(
        models.PullRequestReview,
        ok(
            raw("POST", f"{REPO}/pulls/{number}/reviews", {"event": "APPROVE", "body": "Good"})
        ).body,
    )
    assert review.state == "APPROVED"
    validate_list(models.PullRequestReview, ok(raw("GET", f"{REPO}/pulls/{number}/reviews")))
    files = validate_list(models.DiffEntry, ok(raw("GET", f"{REPO}/pulls/{number}/files")))
    assert files[0].filename == LESSON and files[0].additions == 2
    validate_list(models.Commit, ok(raw("GET", f"{REPO}/pulls/{number}/commits")))
    edited = validate(
        models.PullRequest, ok(raw("PATCH", f"{REPO}/pulls/{number}", {"title": "Better"})).body
    )
    assert edited.title == "Better"
    result = validate(
        models.PullRequestMergeResult, ok(raw("PUT", f"{REPO}/pulls/{number}/merge", {})).body
    )
    assert result.merged is True
    reply = ok(raw("GET", f"{REPO}/pulls/{number}"))
    assert validate(models.PullRequest, reply.body).merged is True
    # The 2026-03-10 models dropped merge_commit_sha; PyGithub and webhooks still read it.
    assert reply.json()["merge_commit_sha"] == result.sha
    as_issue = validate(models.Issue, ok(raw("GET", f"{REPO}/issues/{number}")).body)
    assert as_issue.pull_request is not None and as_issue.pull_request.merged_at is not None


def test_error_shapes(models: Any, raw: Callable[..., Reply]) -> None:
    missing = validate(models.BasicError, ok(raw("GET", f"{REPO}/issues/999"), 404).body)
    assert missing.message == "Not Found"
    invalid = validate(models.ValidationError, ok(raw("POST", f"{REPO}/issues", {}), 422).body)
    assert invalid.errors is not None and invalid.errors[0].field == "title"
    unauth = raw("POST", f"{REPO}/issues", {"title": "x"}, login=None)
    assert unauth.status == 401
    assert unauth.json() == {
        "message": "Requires authentication",
        "documentation_url": "https://docs.github.com/rest",
    }


def test_helpers_format_like_github() -> None:
    stamp = datetime(2024, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    assert iso(stamp) == "2024-01-02T03:04:05Z"
    assert iso(None) is None
    assert iso(datetime(2024, 1, 2, tzinfo=UTC)).endswith("Z")
    assert base64.b64decode(node_id("User", 1)) == b"04:User1"
    encoded = encode_content(b"x" * 100)
    assert all(len(line) <= 60 for line in encoded.splitlines())
    assert base64.b64decode(encoded) == b"x" * 100
