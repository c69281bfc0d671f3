"""The GitHub sandbox keeps its world (repository, issues, pulls...) in a state directory."""

from __future__ import annotations

import json
from pathlib import Path

from github import Auth, Github

from sandboxes.github import GitHubSandbox
from sandboxes.net import bind_listener
from tests.sandboxes.github.conftest import http
from tests.sandboxes.github.test_routes_pulls import git, suggest

REPO = "/repos/lessons/content"


def _build(content_dir: Path, state_dir: Path) -> dict[str, object]:
    """Make issues, comments, a label, a reviewed pull request; return what to find again."""
    with GitHubSandbox(content_dir, state_dir=state_dir) as sandbox:
        assert not sandbox.restored
        client = Github(
            base_url=sandbox.base_url,
            auth=Auth.Token("lessonbot"),
            retry=None,
            seconds_between_requests=0,
            seconds_between_writes=0,
        )
        repo = client.get_repo("lessons/content")
        repo.create_label("lesson-discussion", "0e8a16")
        issue = repo.create_issue("Lesson: Pipes", "Talk here", labels=["lesson-discussion"])
        comment = issue.create_comment("A question?")
        suggest(repo, "suggest-1", b"two commands", b"two programs")
        pull = repo.create_pull(base="main", head="suggest-1", title="Wording")
        review = http(
            sandbox.base_url,
            "POST",
            f"{REPO}/pulls/{pull.number}/reviews",
            {"event": "REQUEST_CHANGES", "body": "Keep the verb."},
        )
        assert review.status == 200
        client.close()
        return {
            "base_url": sandbox.base_url,
            "world_id": sandbox.world_id,
            "issue": issue.number,
            "comment": comment.id,
            "pull": pull.number,
            "main": git(sandbox, "rev-parse", "main").strip(),
            "git_dir": sandbox.git_dir,
        }


def test_a_restart_restores_the_repository_issues_and_pulls(
    content_dir: Path, tmp_path: Path
) -> None:
    state_dir = tmp_path / "github"
    built = _build(content_dir, state_dir)
    assert json.loads((state_dir / "world.json").read_text())["world_id"] == built["world_id"]
    assert Path(str(built["git_dir"])).is_relative_to(state_dir)

    with GitHubSandbox(content_dir, state_dir=state_dir) as again:
        assert again.restored and again.world_id == built["world_id"]
        assert again.base_url == built["base_url"]
        assert git(again, "rev-parse", "main").strip() == built["main"]  # not imported again
        issue = http(again.base_url, "GET", f"{REPO}/issues/{built['issue']}").json()
        assert issue["title"] == "Lesson: Pipes"
        assert [label["name"] for label in issue["labels"]] == ["lesson-discussion"]
        assert issue["user"]["login"] == "lessonbot" and issue["comments"] == 1
        assert issue["author_association"] == "COLLABORATOR"
        comment = http(again.base_url, "GET", f"{REPO}/issues/comments/{built['comment']}")
        assert comment.json()["body"] == "A question?"
        pull = http(again.base_url, "GET", f"{REPO}/pulls/{built['pull']}").json()
        assert pull["head"]["ref"] == "suggest-1" and pull["state"] == "open"
        reviews = http(again.base_url, "GET", f"{REPO}/pulls/{built['pull']}/reviews").json()
        assert [(r["state"], r["user"]["login"]) for r in reviews] == [
            ("CHANGES_REQUESTED", "maintainer")
        ]
        # Numbers and ids go on from where they stopped.
        created = http(again.base_url, "POST", f"{REPO}/issues", {"title": "Next"}).json()
        assert created["number"] == built["pull"] + 1
        assert created["id"] > issue["id"]


def test_a_taken_port_is_replaced_and_a_missing_world_starts_anew(
    content_dir: Path, tmp_path: Path
) -> None:
    state_dir = tmp_path / "github"
    built = _build(content_dir, state_dir)
    port = int(str(built["base_url"]).rsplit(":", 1)[1])
    with bind_listener("127.0.0.1", port) as blocker:
        blocker.listen()
        with GitHubSandbox(content_dir, state_dir=state_dir) as moved:
            assert moved.restored and moved.base_url != built["base_url"]
            assert moved.previous_base_url == built["base_url"]
            issue = http(moved.base_url, "GET", f"{REPO}/issues/{built['issue']}").json()
            assert issue["html_url"].startswith(moved.base_url)

    (state_dir / "world.json").unlink()  # as a killed first run leaves it
    with GitHubSandbox(content_dir, state_dir=state_dir) as fresh:
        assert not fresh.restored and fresh.world_id != built["world_id"]
        assert http(fresh.base_url, "GET", f"{REPO}/issues/{built['issue']}").status == 404
