"""Repository roles: who may label, close, merge, push, request reviews and manage access."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from sandboxes.github import GitHubSandbox
from tests.sandboxes.github.conftest import LESSON, Reply, validate

REPO = "/repos/lessons/content"
NO_PUSH = "Must have push access to repository"


def suggestion_branch(raw: Callable[..., Reply], branch: str) -> str:
    """Push a branch with one edit as the bot; return the new head sha."""
    main = raw("GET", f"{REPO}/git/ref/heads/main").json()["object"]["sha"]
    raw("POST", f"{REPO}/git/refs", {"ref": f"refs/heads/{branch}", "sha": main}, login="lessonbot")
    current = raw("GET", f"{REPO}/contents/{LESSON}?ref={branch}").json()
    text = base64.b64decode(current["content"]).decode().replace("two commands", "two tools")
    put = raw(
        "PUT",
        f"{REPO}/contents/{LESSON}",
        {
            "message": "Suggest",
            "content": base64.b64encode(text.encode()).decode(),
            "sha": current["sha"],
            "branch": branch,
        },
        login="lessonbot",
    )
    assert put.status == 200, put.body
    return put.json()["commit"]["sha"]


def refused(reply: Reply, message: str = NO_PUSH) -> bool:
    """Tell whether GitHub's 403 for a missing role came back."""
    return reply.status == 403 and reply.json()["message"] == message


def test_the_default_roles(raw: Callable[..., Reply], models: Any) -> None:
    roles = {}
    for login in ("maintainer", "lessonbot", "learner", "lessons"):
        reply = raw("GET", f"{REPO}/collaborators/{login}/permission", login="lessonbot")
        body = validate(models.RepositoryCollaboratorPermission, reply.body)
        roles[login] = (body.permission, body.role_name)
    assert roles == {
        "maintainer": ("admin", "admin"),
        "lessonbot": ("write", "write"),
        "learner": ("read", "read"),
        "lessons": ("admin", "admin"),  # the owning organization
    }


def test_a_reader_opens_issues_and_comments_but_cannot_triage_or_push(
    raw: Callable[..., Reply],
) -> None:
    theirs = raw("POST", f"{REPO}/issues", {"title": "The maintainer's"}).json()["number"]
    own = raw("POST", f"{REPO}/issues", {"title": "Mine", "labels": ["bug"]}, login="learner")
    assert own.status == 201
    assert own.json()["labels"] == []  # labels are silently dropped without push access
    mine = own.json()["number"]
    as_reader: dict[str, Any] = {"login": "learner"}
    assert (
        raw("POST", f"{REPO}/issues/{theirs}/comments", {"body": "Why?"}, **as_reader).status == 201
    )
    # The author may edit and close their own issue.
    assert (
        raw("PATCH", f"{REPO}/issues/{mine}", {"title": "Mine, edited"}, **as_reader).status == 200
    )
    assert raw("PATCH", f"{REPO}/issues/{mine}", {"state": "closed"}, **as_reader).status == 200
    # Someone else's issue: no closing, no editing, no labelling.
    assert refused(raw("PATCH", f"{REPO}/issues/{theirs}", {"state": "closed"}, **as_reader))
    assert refused(raw("PATCH", f"{REPO}/issues/{theirs}", {"title": "Hijacked"}, **as_reader))
    assert refused(raw("POST", f"{REPO}/issues/{theirs}/labels", ["bug"], **as_reader))
    assert refused(raw("POST", f"{REPO}/labels", {"name": "mine", "color": "ffffff"}, **as_reader))
    assert raw("GET", f"{REPO}/issues/{theirs}").json()["state"] == "open"
    # Nor push: refs, contents, git data.
    main = raw("GET", f"{REPO}/git/ref/heads/main").json()["object"]["sha"]
    ref = {"ref": "refs/heads/mine", "sha": main}
    assert refused(raw("POST", f"{REPO}/git/refs", ref, **as_reader))
    assert refused(raw("POST", f"{REPO}/git/blobs", {"content": "x"}, **as_reader))
    current = raw("GET", f"{REPO}/contents/{LESSON}").json()
    change = {"message": "Mine", "content": "eA==", "sha": current["sha"]}
    assert refused(raw("PUT", f"{REPO}/contents/{LESSON}", change, **as_reader))
    assert raw("GET", f"{REPO}/git/ref/heads/mine").status == 404


def test_comment_authors_and_writers_edit_comments(raw: Callable[..., Reply]) -> None:
    number = raw("POST", f"{REPO}/issues", {"title": "Q"}).json()["number"]
    mine = raw("POST", f"{REPO}/issues/{number}/comments", {"body": "a"}, login="learner").json()
    theirs = raw("POST", f"{REPO}/issues/{number}/comments", {"body": "b"}).json()
    path = f"{REPO}/issues/comments"
    assert raw("PATCH", f"{path}/{mine['id']}", {"body": "a!"}, login="learner").status == 200
    assert refused(raw("PATCH", f"{path}/{theirs['id']}", {"body": "b!"}, login="learner"))
    assert refused(raw("DELETE", f"{path}/{theirs['id']}", login="learner"))
    assert raw("DELETE", f"{path}/{mine['id']}", login="lessonbot").status == 204


def test_a_suggester_without_write_access_and_the_merge(
    sandbox: GitHubSandbox, raw: Callable[..., Reply]
) -> None:
    suggestion_branch(raw, "suggest-1")
    # The bot pushed the branch; the suggester (a reader) may open the pull request from it.
    opened = raw(
        "POST",
        f"{REPO}/pulls",
        {"title": "Clearer", "head": "suggest-1", "base": "main"},
        login="learner",
    )
    assert opened.status == 201
    number = opened.json()["number"]
    assert raw("PATCH", f"{REPO}/pulls/{number}", {"body": "Why"}, login="learner").status == 200
    reviewers = {"reviewers": ["maintainer"]}
    assert refused(
        raw("POST", f"{REPO}/pulls/{number}/requested_reviewers", reviewers, login="learner")
    )
    assert refused(raw("PUT", f"{REPO}/pulls/{number}/merge", {}, login="learner"))
    sandbox.add_collaborator("triager", "triage")
    assert (
        raw("POST", f"{REPO}/pulls/{number}/requested_reviewers", reviewers, login="triager").status
        == 201
    )
    stranger = raw("POST", f"{REPO}/pulls/{number}/requested_reviewers", {"reviewers": ["nobody"]})
    assert stranger.status == 422 and "not a collaborator" in stranger.json()["errors"][0]
    assert refused(raw("PUT", f"{REPO}/pulls/{number}/merge", {}, login="triager"))
    assert raw("PUT", f"{REPO}/pulls/{number}/merge", {}, login="lessonbot").status == 200


def test_collaborators_are_listed_granted_and_removed(
    raw: Callable[..., Reply], models: Any
) -> None:
    assert raw("PUT", f"{REPO}/collaborators/editor", {"permission": "maintain"}).status == 204
    assert refused(
        raw("PUT", f"{REPO}/collaborators/x", {"permission": "push"}, login="lessonbot"),
        "Must have admin rights to Repository.",
    )
    assert raw("PUT", f"{REPO}/collaborators/x", {"permission": "owner"}).status == 422
    listed = raw("GET", f"{REPO}/collaborators?per_page=2")
    assert 'rel="next"' in listed.headers["Link"]
    everyone = raw("GET", f"{REPO}/collaborators").json()
    for item in everyone:
        validate(models.Collaborator, json.dumps(item))
    roles = {item["login"]: item["role_name"] for item in everyone}
    assert roles == {"lessonbot": "write", "maintainer": "admin", "editor": "maintain"}
    pushers = raw("GET", f"{REPO}/collaborators?permission=maintain").json()
    assert sorted(item["login"] for item in pushers) == ["editor", "maintainer"]
    permission = raw("GET", f"{REPO}/collaborators/editor/permission").json()
    assert (permission["permission"], permission["role_name"]) == ("write", "maintain")
    assert permission["user"]["permissions"]["maintain"] is True
    assert raw("DELETE", f"{REPO}/collaborators/editor").status == 204
    assert raw("GET", f"{REPO}/collaborators/editor").status == 404


def test_roles_set_through_the_admin_api(raw: Callable[..., Reply]) -> None:
    granted = raw("POST", "/_sandbox/collaborators", {"login": "tri", "permission": "triage"})
    assert granted.status == 201
    number = raw("POST", f"{REPO}/issues", {"title": "Label me"}).json()["number"]
    assert raw("POST", f"{REPO}/issues/{number}/labels", ["bug"], login="tri").status == 200
    assert raw("PATCH", f"{REPO}/issues/{number}", {"state": "closed"}, login="tri").status == 200
    assert refused(raw("POST", f"{REPO}/labels", {"name": "n", "color": "ffffff"}, login="tri"))
    bad = raw("POST", "/_sandbox/collaborators", {"login": "x", "permission": "owner"})
    assert bad.status == 422
