"""Routes for issues, issue comments and labels (pull requests are issues here too)."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from sandboxes.github import access
from sandboxes.github.api import (
    Context,
    body,
    body_object,
    context,
    find_issue,
    find_repo,
    no_content,
    paginate,
    parse_time,
    path_int,
    require_user,
    respond,
    text_field,
)
from sandboxes.github.errors import ApiError, invalid, not_found
from sandboxes.github.routes_conversation import check_can_comment
from sandboxes.github.state import Comment, Issue, Label, Repo, User, now

COLOR_RE = re.compile(r"^[0-9a-fA-F]{6}$")
STATE_REASONS = {"completed", "not_planned", "reopened", "duplicate"}
# GitHub refuses a longer issue comment body (it counts characters).
COMMENT_BODY_LIMIT = 65536
# GitHub's limits on issue and pull request titles and bodies.
TITLE_LIMIT = 256
BODY_LIMIT = 65536


# Issues


def _labels_from(ctx: Context, repo: Repo, items: Any) -> list[Label]:
    """Resolve label names (or {name} objects), creating the missing ones as GitHub does."""
    if isinstance(items, dict):
        items = items.get("labels")
    if isinstance(items, str):
        items = [items]
    if not isinstance(items, list):
        raise invalid("Label", "labels")
    labels: list[Label] = []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str) or not name.strip():
            raise invalid("Label", "name")
        label = repo.label(name) or ctx.state.add_label(repo, name.strip())
        if label not in labels:
            labels.append(label)
    return labels


def _assignees_from(ctx: Context, data: dict[str, Any]) -> list[User] | None:
    """Resolve `assignees` (or the older single `assignee`) of a request body."""
    if "assignees" in data:
        logins = data["assignees"] or []
    elif "assignee" in data:
        logins = [data["assignee"]] if data["assignee"] else []
    else:
        return None
    if not isinstance(logins, list) or not all(isinstance(login, str) for login in logins):
        raise invalid("Issue", "assignees")
    return [ctx.state.user(login) for login in logins]


async def _relabel(
    ctx: Context, repo: Repo, issue: Issue, labels: list[Label], sender: User
) -> None:
    """Set an issue's labels and emit `labeled`/`unlabeled` for each difference."""
    removed = [label for label in issue.labels if label not in labels]
    added = [label for label in labels if label not in issue.labels]
    if not removed and not added:
        return
    issue.labels = list(labels)
    issue.touch()
    for label in removed:
        await ctx.ops.notify("unlabeled", repo, issue, sender, label=label)
    for label in added:
        await ctx.ops.notify("labeled", repo, issue, sender, label=label)


async def create_issue(request: web.Request) -> web.Response:
    """POST /repos/{owner}/{repo}/issues."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    data = await body_object(request)
    title = text_field(data, "title", "Issue", required=True)
    if not title or not title.strip():
        raise invalid("Issue", "title", "missing_field")
    check_length(title, "Issue", "title", TITLE_LIMIT)
    text = check_length(text_field(data, "body", "Issue"), "Issue", "body", BODY_LIMIT)
    labels = _labels_from(ctx, repo, data["labels"]) if data.get("labels") else []
    assignees = _assignees_from(ctx, data) or []
    if not access.has(ctx.state, repo, user, "write"):
        labels, assignees = [], []  # GitHub drops them silently without push access
    issue = ctx.state.new_issue(repo, user, title, text)
    issue.assignees = assignees
    await ctx.ops.notify("opened", repo, issue, user)
    await _relabel(ctx, repo, issue, labels, user)
    return respond(ctx.payloads.issue(repo, issue), status=201)


def _filter_issues(repo: Repo, query: Any) -> list[Issue]:
    """Select and order issues as GitHub's issue list does."""
    state = query.get("state", "open")
    if state not in ("open", "closed", "all"):
        raise invalid("Issue", "state")
    issues = [issue for issue in repo.issues.values() if state in ("all", issue.state)]
    if query.get("labels"):
        wanted = {name.strip().lower() for name in query["labels"].split(",") if name.strip()}
        issues = [
            issue for issue in issues if wanted <= {label.name.lower() for label in issue.labels}
        ]
    creator = query.get("creator")
    if creator:
        issues = [issue for issue in issues if issue.user.login.lower() == creator.lower()]
    assignee = query.get("assignee")
    if assignee == "none":
        issues = [issue for issue in issues if not issue.assignees]
    elif assignee == "*":
        issues = [issue for issue in issues if issue.assignees]
    elif assignee:
        issues = [
            issue
            for issue in issues
            if any(user.login.lower() == assignee.lower() for user in issue.assignees)
        ]
    since = parse_time(query.get("since"))
    if since is not None:
        issues = [issue for issue in issues if issue.updated_at >= since]
    sort = query.get("sort", "created")
    keys = {
        "created": lambda issue: (issue.created_at, issue.number),
        "updated": lambda issue: (issue.updated_at, issue.number),
        "comments": lambda issue: (len(issue.comments), issue.number),
    }
    if sort not in keys:
        raise invalid("Issue", "sort")
    direction = query.get("direction", "desc")
    if direction not in ("asc", "desc"):
        raise invalid("Issue", "direction")
    return sorted(issues, key=keys[sort], reverse=direction == "desc")


async def list_issues(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/issues with GitHub's filters, order and pages."""
    repo = find_repo(request)
    ctx = context(request)
    issues = _filter_issues(repo, request.query)
    return paginate(request, issues, lambda issue: ctx.payloads.issue(repo, issue))


async def get_issue(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/issues/{number}."""
    repo = find_repo(request)
    return respond(context(request).payloads.issue(repo, find_issue(request, repo)))


async def update_issue(request: web.Request) -> web.Response:
    """PATCH /repos/{owner}/{repo}/issues/{number}."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    issue = find_issue(request, repo)
    data = await body_object(request)
    await apply_issue_changes(ctx, repo, issue, user, data)
    return respond(ctx.payloads.issue(repo, issue))


async def apply_issue_changes(
    ctx: Context, repo: Repo, issue: Issue, user: User, data: dict[str, Any]
) -> None:
    """Apply title/body/state/labels/assignees edits and emit the matching events."""
    # All or nothing, as on GitHub: a body over the limit leaves the title unchanged too.
    if "title" in data:
        check_length(text_field(data, "title", "Issue"), "Issue", "title", TITLE_LIMIT)
    if "body" in data:
        check_length(text_field(data, "body", "Issue"), "Issue", "body", BODY_LIMIT)
    changes: dict[str, Any] = {}
    if "title" in data:
        title = text_field(data, "title", "Issue")
        if not title or not title.strip():
            raise invalid("Issue", "title", "missing_field")
        if title != issue.title:
            changes["title"] = {"from": issue.title}
            issue.title = title
    if "body" in data:
        text = text_field(data, "body", "Issue")
        if text != issue.body:
            changes["body"] = {"from": issue.body or ""}
            issue.body = text
    state = data.get("state")
    if state is not None and state not in ("open", "closed"):
        raise invalid("Issue", "state")
    reason = data.get("state_reason")
    if reason is not None and reason not in STATE_REASONS:
        raise invalid("Issue", "state_reason")
    if state == "open" and issue.pull is not None and issue.pull.merged:
        raise ApiError(
            422,
            "Validation Failed",
            errors=[
                {
                    "resource": "Issue",
                    "code": "custom",
                    "field": "state",
                    "message": "state cannot be changed. The pull request has been merged.",
                }
            ],
        )
    labels = _labels_from(ctx, repo, data["labels"]) if data.get("labels") is not None else None
    assignees = _assignees_from(ctx, data)
    if changes:
        issue.touch()
        await ctx.ops.notify("edited", repo, issue, user, changes=changes)
    if state == "closed" and issue.state == "open":
        stamp = now()
        issue.state, issue.closed_at, issue.closed_by, issue.updated_at = state, stamp, user, stamp
        issue.state_reason = None if issue.pull is not None else (reason or "completed")
        await ctx.ops.notify("closed", repo, issue, user)
    elif state == "open" and issue.state == "closed":
        issue.state, issue.closed_at, issue.closed_by = "open", None, None
        issue.state_reason = None if issue.pull is not None else "reopened"
        issue.touch()
        await ctx.ops.refresh_pull(repo, issue)
        await ctx.ops.notify("reopened", repo, issue, user)
    elif reason is not None and issue.pull is None and issue.state == "closed":
        issue.state_reason = reason
        issue.touch()
    if assignees is not None and assignees != issue.assignees:
        issue.assignees = assignees
        issue.touch()
    if labels is not None:
        await _relabel(ctx, repo, issue, labels, user)


# Comments


async def create_comment(request: web.Request) -> web.Response:
    """POST /repos/{owner}/{repo}/issues/{number}/comments."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    issue = find_issue(request, repo)
    data = await body_object(request)
    text = _comment_body(data)
    check_can_comment(ctx, repo, issue, user)
    comment = ctx.state.add_comment(repo, issue, user, text)
    ctx.events.issue_comment("created", repo, issue, comment, user)
    return respond(ctx.payloads.comment(repo, comment), status=201)


def _comment_body(data: dict[str, Any]) -> str:
    """Return a comment body from a request, refused (422) when empty or too long."""
    text = text_field(data, "body", "IssueComment", required=True)
    if not text or not text.strip():
        raise invalid("IssueComment", "body", "missing_field")
    return check_length(text, "IssueComment", "body", COMMENT_BODY_LIMIT)


def check_length(text: str | None, resource: str, field: str, limit: int) -> str | None:
    """Return the text, refused (422) as GitHub does when it is over its limit."""
    if text is not None and len(text) > limit:
        raise ApiError(
            422,
            "Validation Failed",
            errors=[
                {
                    "resource": resource,
                    "code": "custom",
                    "field": field,
                    "message": f"{field} is too long (maximum is {limit} characters)",
                }
            ],
        )
    return text


def _sorted_comments(comments: list[Comment], query: Any) -> list[Comment]:
    """Filter by `since` and order comments as GitHub's comment lists do."""
    since = parse_time(query.get("since"))
    if since is not None:
        comments = [comment for comment in comments if comment.updated_at >= since]
    sort = query.get("sort", "created")
    direction = query.get("direction", "asc")
    key = (lambda c: (c.updated_at, c.id)) if sort == "updated" else (lambda c: c.id)
    return sorted(comments, key=key, reverse=direction == "desc")


async def list_comments(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/issues/{number}/comments."""
    repo = find_repo(request)
    ctx = context(request)
    issue = find_issue(request, repo)
    comments = _sorted_comments(list(issue.comments), request.query)
    return paginate(request, comments, lambda comment: ctx.payloads.comment(repo, comment))


async def list_repo_comments(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/issues/comments: every issue comment of the repository."""
    repo = find_repo(request)
    ctx = context(request)
    comments = _sorted_comments(list(repo.comments.values()), request.query)
    return paginate(request, comments, lambda comment: ctx.payloads.comment(repo, comment))


def _find_comment(request: web.Request, repo: Repo) -> Comment:
    """Return the comment with the id in the path, or answer 404."""
    comment = repo.comments.get(path_int(request, "comment_id"))
    if comment is None:
        raise not_found()
    return comment


async def get_comment(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/issues/comments/{comment_id}."""
    repo = find_repo(request)
    return respond(context(request).payloads.comment(repo, _find_comment(request, repo)))


async def update_comment(request: web.Request) -> web.Response:
    """PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    comment = _find_comment(request, repo)
    data = await body_object(request)
    text = _comment_body(data)
    if text != comment.body:
        previous = comment.body
        comment.body = text
        comment.updated_at = now()
        issue = repo.issues[comment.issue_number]
        changes = {"body": {"from": previous}}
        ctx.events.issue_comment("edited", repo, issue, comment, user, changes=changes)
    return respond(ctx.payloads.comment(repo, comment))


async def delete_comment(request: web.Request) -> web.Response:
    """DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    comment = _find_comment(request, repo)
    issue = repo.issues[comment.issue_number]
    ctx.state.remove_comment(repo, comment)
    ctx.events.issue_comment("deleted", repo, issue, comment, user)
    return no_content()


# Labels on issues


async def list_issue_labels(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/issues/{number}/labels."""
    repo = find_repo(request)
    payloads = context(request).payloads
    issue = find_issue(request, repo)
    return paginate(request, issue.labels, lambda label: payloads.label(repo, label))


async def add_issue_labels(request: web.Request) -> web.Response:
    """POST /repos/{owner}/{repo}/issues/{number}/labels: a bare list or {"labels": [...]}."""
    return await _set_issue_labels(request, replace=False)


async def set_issue_labels(request: web.Request) -> web.Response:
    """PUT /repos/{owner}/{repo}/issues/{number}/labels: replace every label."""
    return await _set_issue_labels(request, replace=True)


async def _set_issue_labels(request: web.Request, *, replace: bool) -> web.Response:
    """Add or replace an issue's labels and answer its full label list."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    issue = find_issue(request, repo)
    data = await body(request)
    new = _labels_from(ctx, repo, data if data is not None else [])
    labels = (
        new if replace else issue.labels + [label for label in new if label not in issue.labels]
    )
    await _relabel(ctx, repo, issue, labels, user)
    return respond([ctx.payloads.label(repo, label) for label in issue.labels])


async def remove_issue_label(request: web.Request) -> web.Response:
    """DELETE /repos/{owner}/{repo}/issues/{number}/labels/{name}."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    issue = find_issue(request, repo)
    label = repo.label(request.match_info["name"])
    if label is None or label not in issue.labels:
        raise ApiError(404, "Label does not exist")
    await _relabel(ctx, repo, issue, [other for other in issue.labels if other is not label], user)
    return respond([ctx.payloads.label(repo, other) for other in issue.labels])


async def clear_issue_labels(request: web.Request) -> web.Response:
    """DELETE /repos/{owner}/{repo}/issues/{number}/labels."""
    user = require_user(request)
    repo = find_repo(request)
    await _relabel(context(request), repo, find_issue(request, repo), [], user)
    return no_content()


# Repository labels


def _label_fields(data: dict[str, Any], *, required: bool) -> tuple[str | None, str | None]:
    """Validate the name and color of a label request."""
    name = text_field(data, "name", "Label", required=required)
    if name is not None and not name.strip():
        raise invalid("Label", "name", "missing_field")
    color = text_field(data, "color", "Label")
    if color is not None:
        color = color.removeprefix("#")
        if not COLOR_RE.match(color):
            raise invalid("Label", "color")
    return name, color


async def list_labels(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/labels."""
    repo = find_repo(request)
    payloads = context(request).payloads
    labels = sorted(repo.labels.values(), key=lambda label: label.name.lower())
    return paginate(request, labels, lambda label: payloads.label(repo, label))


async def create_label(request: web.Request) -> web.Response:
    """POST /repos/{owner}/{repo}/labels {name, color, description}."""
    require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    data = await body_object(request)
    name, color = _label_fields(data, required=True)
    assert name is not None
    if repo.label(name) is not None:
        raise invalid("Label", "name", "already_exists")
    description = text_field(data, "description", "Label")
    label = ctx.state.add_label(repo, name.strip(), (color or "ededed").lower(), description)
    return respond(ctx.payloads.label(repo, label), status=201)


def _find_label(request: web.Request, repo: Repo) -> Label:
    """Return the label named in the path, or answer 404."""
    label = repo.label(request.match_info["name"])
    if label is None:
        raise not_found()
    return label


async def get_label(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/labels/{name}."""
    repo = find_repo(request)
    return respond(context(request).payloads.label(repo, _find_label(request, repo)))


async def update_label(request: web.Request) -> web.Response:
    """PATCH /repos/{owner}/{repo}/labels/{name} {new_name, color, description}."""
    require_user(request)
    repo = find_repo(request)
    label = _find_label(request, repo)
    data = await body_object(request)
    new_name = text_field(data, "new_name", "Label")
    _, color = _label_fields(data, required=False)
    if new_name and new_name.strip() and new_name.lower() != label.name.lower():
        if repo.label(new_name) is not None:
            raise invalid("Label", "name", "already_exists")
        del repo.labels[label.name.lower()]
        label.name = new_name.strip()
        repo.labels[label.name.lower()] = label
    elif new_name:
        label.name = new_name.strip()
    if color is not None:
        label.color = color.lower()
    if "description" in data:
        label.description = text_field(data, "description", "Label")
    return respond(context(request).payloads.label(repo, label))


async def delete_label(request: web.Request) -> web.Response:
    """DELETE /repos/{owner}/{repo}/labels/{name}; the label leaves every issue too."""
    require_user(request)
    repo = find_repo(request)
    label = _find_label(request, repo)
    del repo.labels[label.name.lower()]
    for issue in repo.issues.values():
        if label in issue.labels:
            issue.labels.remove(label)
    return no_content()


def routes() -> list[web.RouteDef]:
    """Return this module's API routes."""
    repo = "/repos/{owner}/{repo}"
    issue = repo + "/issues/{number:\\d+}"
    comment = repo + "/issues/comments/{comment_id:\\d+}"
    return [
        web.post(repo + "/issues", create_issue),
        web.get(repo + "/issues", list_issues),
        web.get(repo + "/issues/comments", list_repo_comments),
        web.get(comment, get_comment),
        web.patch(comment, update_comment),
        web.delete(comment, delete_comment),
        web.get(issue, get_issue),
        web.patch(issue, update_issue),
        web.post(issue + "/comments", create_comment),
        web.get(issue + "/comments", list_comments),
        web.get(issue + "/labels", list_issue_labels),
        web.post(issue + "/labels", add_issue_labels),
        web.put(issue + "/labels", set_issue_labels),
        web.delete(issue + "/labels", clear_issue_labels),
        web.delete(issue + "/labels/{name}", remove_issue_label),
        web.get(repo + "/labels", list_labels),
        web.post(repo + "/labels", create_label),
        web.get(repo + "/labels/{name}", get_label),
        web.patch(repo + "/labels/{name}", update_label),
        web.delete(repo + "/labels/{name}", delete_label),
    ]
