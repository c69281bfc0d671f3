"""Who may write what: GitHub's repository roles, enforced on every write route.

The roles, from least to most access, are read, triage, write, maintain and admin. Anyone
signed in may read a public repository, open issues and pull requests, comment, react and
review. Triage adds labelling, closing and reopening anyone's issues and pull requests,
assigning, locking and requesting reviews; write adds pushing (refs, contents, git data,
statuses), merging, managing labels, dismissing reviews and editing anyone's comments;
admin adds managing collaborators. Authors may edit, close and reopen their own issues and
pull requests and edit or delete their own comments.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandboxes.github.api import acting_user, body, context
from sandboxes.github.errors import ApiError
from sandboxes.github.state import ROLES, Repo, State, User, role_flags

# What the collaborators API calls each role in `permission` (the older names).
LEGACY = {"read": "read", "triage": "read", "write": "write", "maintain": "write", "admin": "admin"}
# PUT /collaborators/{login} takes these names, and role names as well.
REQUESTED = {"pull": "read", "push": "write", **{role: role for role in ROLES}}
NO_PUSH = "Must have push access to repository"
NO_ADMIN = "Must have admin rights to Repository."

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REPO = "/repos/{owner}/{repo}"

# Writes that need a role whoever the caller is: (method, route) -> role.
REQUIRED: dict[tuple[str, str], str] = {
    **{
        (method, REPO + path): "triage"
        for method, path in [
            ("POST", "/issues/{number}/labels"),
            ("PUT", "/issues/{number}/labels"),
            ("DELETE", "/issues/{number}/labels"),
            ("DELETE", "/issues/{number}/labels/{name}"),
            ("PUT", "/issues/{number}/lock"),
            ("DELETE", "/issues/{number}/lock"),
            ("POST", "/issues/{number}/assignees"),
            ("DELETE", "/issues/{number}/assignees"),
            ("POST", "/pulls/{number}/requested_reviewers"),
            ("DELETE", "/pulls/{number}/requested_reviewers"),
        ]
    },
    **{
        (method, REPO + path): "write"
        for method, path in [
            ("POST", "/labels"),
            ("PATCH", "/labels/{name}"),
            ("DELETE", "/labels/{name}"),
            ("POST", "/git/refs"),
            ("PATCH", "/git/refs/{ref}"),
            ("DELETE", "/git/refs/{ref}"),
            ("POST", "/git/blobs"),
            ("POST", "/git/trees"),
            ("POST", "/git/commits"),
            ("POST", "/git/tags"),
            ("PUT", "/contents/{path}"),
            ("DELETE", "/contents/{path}"),
            ("POST", "/statuses/{sha}"),
            ("POST", "/check-runs"),
            ("PUT", "/pulls/{number}/merge"),
            ("PUT", "/pulls/{number}/update-branch"),
            ("PUT", "/pulls/{number}/reviews/{review_id}/dismissals"),
        ]
    },
    ("PUT", REPO + "/collaborators/{login}"): "admin",
}
# Issue and pull request edits: what each field needs of someone who is not the author.
ISSUE_EDITS = {REPO + "/issues/{number}", REPO + "/pulls/{number}"}
FIELD_ROLES = {"state": "triage", "state_reason": "triage", "labels": "triage"}
FIELD_ROLES |= {"assignees": "triage", "assignee": "triage", "milestone": "triage"}
# Fields an author without triage may not set on their own issue (GitHub: push access).
AUTHOR_FIELDS = {"title", "body", "state", "state_reason", "maintainer_can_modify", "base"}
# Comments: their author or someone with write access may edit or delete them.
COMMENT_EDITS = {
    REPO + "/issues/comments/{comment_id}": "issue",
    REPO + "/pulls/comments/{comment_id}": "review",
}


def rank(role: str) -> int:
    """Return a role's place from read (0) to admin (4); unknown roles are read."""
    return ROLES.index(role) if role in ROLES else 0


def role_of(state: State, repo: Repo, user: User) -> str:
    """Return the user's role on `repo`: the owner is admin, strangers read."""
    return state.permission(repo, user)


def has(state: State, repo: Repo, user: User, role: str) -> bool:
    """Tell whether the user's role on `repo` is at least `role`."""
    return rank(role_of(state, repo, user)) >= rank(role)


def flags(role: str) -> dict[str, bool]:
    """Expand a role into GitHub's permission flags (`permissions` on repos and people)."""
    return role_flags(role)


def is_collaborator(repo: Repo, user: User) -> bool:
    """Tell whether the user was given access to `repo` (or owns it)."""
    return user is repo.owner or user.login.lower() in repo.collaborators


def refuse(role: str) -> ApiError:
    """Return the 403 GitHub answers a caller who lacks `role`."""
    return ApiError(403, NO_ADMIN if role == "admin" else NO_PUSH)


def enforced(handler: Handler) -> Handler:
    """Wrap a route so a caller without the role it needs gets GitHub's 403 first."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        await check(request)
        return await handler(request)

    return guarded


async def check(request: web.Request) -> None:
    """Refuse a write the caller's role does not allow; reads and unknown routes pass."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    user = acting_user(request)
    info = request.match_info
    route = info.route.resource.canonical if info.route.resource is not None else ""
    if user is None or "owner" not in info or "repo" not in info:
        return  # the route answers 401 or 404 itself
    state = context(request).state
    repo = state.repo(info["owner"], info["repo"])
    if repo is None:
        return
    needed = REQUIRED.get((request.method, route))
    if needed is not None:
        if not has(state, repo, user, needed):
            raise refuse(needed)
        return
    if request.method == "DELETE" and route == REPO + "/collaborators/{login}":
        if info["login"].lower() != user.login.lower() and not has(state, repo, user, "admin"):
            raise refuse("admin")  # anyone may leave; only admins remove others
        return
    if request.method == "PATCH" and route in ISSUE_EDITS:
        await _check_issue_edit(request, state, repo, user)
        return
    kind = COMMENT_EDITS.get(route)
    if kind is not None and request.method in ("PATCH", "DELETE"):
        author = _comment_author(request, repo, kind)
        if author is not None and author is not user and not has(state, repo, user, "write"):
            raise refuse("write")


async def _check_issue_edit(request: web.Request, state: State, repo: Repo, user: User) -> None:
    """Let authors edit their own issue or pull request; others need triage or write."""
    try:
        issue = repo.issues.get(int(request.match_info["number"]))
    except ValueError:
        return
    if issue is None:
        return
    try:
        data: Any = await body(request)  # aiohttp keeps the body for the route to read again
    except ApiError:
        return  # the route answers 400 itself
    if not isinstance(data, dict):
        return
    fields = set(data)
    if issue.user is user:
        needs = {FIELD_ROLES.get(key, "write") for key in fields - AUTHOR_FIELDS}
    else:
        needs = {FIELD_ROLES.get(key, "write") for key in fields}
    for role in sorted(needs, key=rank, reverse=True):
        if not has(state, repo, user, role):
            raise refuse(role)


def _comment_author(request: web.Request, repo: Repo, kind: str) -> User | None:
    """Return who wrote the comment the path names, if the sandbox knows it."""
    try:
        comment_id = int(request.match_info["comment_id"])
    except ValueError:
        return None
    if kind == "issue":
        comment = repo.comments.get(comment_id)
        return comment.user if comment is not None else None
    for issue in repo.pulls():
        assert issue.pull is not None
        for item in issue.pull.review_comments:
            if item.id == comment_id:
                return item.user
    return None
