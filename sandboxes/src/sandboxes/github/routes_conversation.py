"""Routes around an issue's conversation: reactions, lock, assignees and the timeline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from sandboxes.github.api import (
    Context,
    body_object,
    context,
    find_issue,
    find_repo,
    no_content,
    paginate,
    path_int,
    require_user,
    respond,
    text_field,
)
from sandboxes.github.errors import ApiError, invalid, not_found
from sandboxes.github.gitrepo import Signature
from sandboxes.github.operations import GITHUB, branch_ref
from sandboxes.github.payloads import JSON, iso, node_id
from sandboxes.github.records import REACTIONS
from sandboxes.github.routes_review_comments import find_review_comment
from sandboxes.github.state import Comment, Issue, Repo, State, User, now

LOCK_REASONS = ("off-topic", "too heated", "resolved", "spam")
WRITE = ("write", "maintain", "admin")


def can_write(ctx: Context, repo: Repo, user: User) -> bool:
    """Tell whether the user may push (and so triage) in the repository."""
    return ctx.state.permission(repo, user) in WRITE


# Reactions: kept in repo.records["reactions"], keyed by the subject's path under the repo


def _subject(request: web.Request, repo: Repo) -> tuple[str, Issue | None, Comment | None]:
    """Return the reacted-to subject the path names: an issue, an issue comment or a pull
    request review comment."""
    if "review_comment_id" in request.match_info:
        _, review_comment = find_review_comment(repo, path_int(request, "review_comment_id"))
        return f"/pulls/comments/{review_comment.id}", None, None
    if "comment_id" in request.match_info:
        comment = repo.comments.get(path_int(request, "comment_id"))
        if comment is None:
            raise not_found()
        return f"/issues/comments/{comment.id}", None, comment
    issue = find_issue(request, repo)
    return f"/issues/{issue.number}", issue, None


def _reaction(ctx: Context, record: JSON) -> JSON:
    """Render a stored reaction as GitHub's Reaction object."""
    user = ctx.state.find_user(record["user"])
    return {
        "id": record["id"],
        "node_id": node_id("Reaction", record["id"]),
        "user": ctx.payloads.user(user) if user else None,
        "content": record["content"],
        "created_at": record["created_at"],
    }


async def list_reactions(request: web.Request) -> web.Response:
    """GET .../issues/{number}/reactions or .../issues/comments/{id}/reactions?content=."""
    repo = find_repo(request)
    ctx = context(request)
    key, _, _ = _subject(request, repo)
    records = repo.records.get("reactions", {}).get(key, [])
    content = request.query.get("content")
    if content is not None:
        if content not in REACTIONS:
            raise invalid("Reaction", "content")
        records = [record for record in records if record["content"] == content]
    return paginate(request, records, lambda record: _reaction(ctx, record))


async def create_reaction(request: web.Request) -> web.Response:
    """POST .../reactions {content}: 201 for a new reaction, 200 when it was already there."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    key, _, _ = _subject(request, repo)
    data = await body_object(request)
    content = text_field(data, "content", "Reaction", required=True)
    if content not in REACTIONS:
        raise invalid("Reaction", "content")
    records = repo.records.setdefault("reactions", {}).setdefault(key, [])
    for record in records:
        if record["user"].lower() == user.login.lower() and record["content"] == content:
            return respond(_reaction(ctx, record))
    record = {
        "id": ctx.state.new_id("reaction"),
        "user": user.login,
        "content": content,
        "created_at": iso(now()),
    }
    records.append(record)
    return respond(_reaction(ctx, record), status=201)


async def delete_reaction(request: web.Request) -> web.Response:
    """DELETE .../reactions/{reaction_id}: 204; only the reaction's author removes it."""
    user = require_user(request)
    repo = find_repo(request)
    key, _, _ = _subject(request, repo)
    reaction_id = path_int(request, "reaction_id")
    records = repo.records.get("reactions", {}).get(key, [])
    for record in records:
        if record["id"] == reaction_id:
            if record["user"].lower() != user.login.lower():
                raise ApiError(403, "Must have admin rights to Repository.")
            records.remove(record)
            return no_content()
    raise not_found()


# Lock and unlock


async def lock_issue(request: web.Request) -> web.Response:
    """PUT /repos/{owner}/{repo}/issues/{number}/lock {lock_reason}: 204."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    issue = find_issue(request, repo)
    data = await body_object(request)
    reason = text_field(data, "lock_reason", "Issue")
    if reason is not None and reason not in LOCK_REASONS:
        raise invalid("Issue", "lock_reason")
    if not can_write(ctx, repo, user):
        raise ApiError(403, "Must have push access to Issue.")
    was_locked = issue.locked
    issue.locked = True
    repo.records.setdefault("lock_reasons", {})[str(issue.number)] = reason
    if not was_locked:
        issue.touch()
        record_event(ctx, repo, issue, user, "locked", lock_reason=reason)
        await ctx.ops.notify("locked", repo, issue, user)
    return no_content()


async def unlock_issue(request: web.Request) -> web.Response:
    """DELETE /repos/{owner}/{repo}/issues/{number}/lock: 204."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    issue = find_issue(request, repo)
    if not can_write(ctx, repo, user):
        raise ApiError(403, "Must have push access to Issue.")
    if issue.locked:
        issue.locked = False
        repo.records.setdefault("lock_reasons", {}).pop(str(issue.number), None)
        issue.touch()
        record_event(ctx, repo, issue, user, "unlocked")
        await ctx.ops.notify("unlocked", repo, issue, user)
    return no_content()


def check_can_comment(ctx: Context, repo: Repo, issue: Issue, user: User) -> None:
    """Refuse a comment on a locked issue from someone without push access, as GitHub does."""
    if issue.locked and not can_write(ctx, repo, user):
        raise ApiError(403, "Unable to create comment because issue is locked.")


# Assignees


def _assignable(ctx: Context, repo: Repo, login: str) -> User | None:
    """Return the user a login names when it may be assigned (push access), else None."""
    user = ctx.state.find_user(login)
    if user is None or not can_write(ctx, repo, user):
        return None
    return user


async def list_assignees(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/assignees: the people with push access."""
    repo = find_repo(request)
    ctx = context(request)
    users = [repo.owner] if repo.owner.type == "User" else []
    for login in sorted(repo.collaborators):
        user = ctx.state.find_user(login)
        if user is not None and user not in users and can_write(ctx, repo, user):
            users.append(user)
    return paginate(request, users, ctx.payloads.user)


async def check_assignee(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/assignees/{login}: 204 when assignable, else 404."""
    repo = find_repo(request)
    if _assignable(context(request), repo, request.match_info["login"]) is None:
        raise not_found()
    return no_content()


def _logins(data: dict[str, Any]) -> list[str]:
    """Return the `assignees` of a request body, validated as GitHub does."""
    logins = data.get("assignees") or []
    if isinstance(logins, str):
        logins = [logins]
    if not isinstance(logins, list) or not all(isinstance(login, str) for login in logins):
        raise invalid("Issue", "assignees")
    return logins


async def add_assignees(request: web.Request) -> web.Response:
    """POST /repos/{owner}/{repo}/issues/{number}/assignees {assignees}: 201 with the issue."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    issue = find_issue(request, repo)
    logins = _logins(await body_object(request))
    if can_write(ctx, repo, user):
        # GitHub ignores logins that cannot be assigned, and at most 10 are kept.
        for login in logins:
            assignee = _assignable(ctx, repo, login)
            if assignee is not None and assignee not in issue.assignees:
                if len(issue.assignees) >= 10:
                    break
                issue.assignees.append(assignee)
                issue.touch()
                record_event(ctx, repo, issue, user, "assigned", assignee=assignee.login)
                await _notify_assignee(ctx, "assigned", repo, issue, user, assignee)
    return respond(_issue_or_pull(ctx, repo, issue), status=201)


async def remove_assignees(request: web.Request) -> web.Response:
    """DELETE /repos/{owner}/{repo}/issues/{number}/assignees {assignees}: 200 with the issue."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    issue = find_issue(request, repo)
    wanted = {login.lower() for login in _logins(await body_object(request))}
    if can_write(ctx, repo, user):
        for assignee in [u for u in issue.assignees if u.login.lower() in wanted]:
            issue.assignees.remove(assignee)
            issue.touch()
            record_event(ctx, repo, issue, user, "unassigned", assignee=assignee.login)
            await _notify_assignee(ctx, "unassigned", repo, issue, user, assignee)
    return respond(_issue_or_pull(ctx, repo, issue))


async def _notify_assignee(
    ctx: Context, action: str, repo: Repo, issue: Issue, sender: User, assignee: User
) -> None:
    """Send the `assigned` / `unassigned` webhook of an issue or a pull request."""
    if issue.pull is None:
        ctx.events.issues(action, repo, issue, sender, assignee=assignee)
    else:
        stats = await ctx.ops.pull_stats(repo, issue)
        assigned = ctx.payloads.user(assignee)
        ctx.events.pull_request(action, repo, issue, stats, sender, assignee=assigned)


def _issue_or_pull(ctx: Context, repo: Repo, issue: Issue) -> JSON:
    """Render the issue (a pull request renders as its issue, as these routes answer)."""
    return ctx.payloads.issue(repo, issue)


# Updating a pull request's branch


async def update_branch(request: web.Request) -> web.Response:
    """PUT /repos/{owner}/{repo}/pulls/{number}/update-branch: merge base into head, 202."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    issue = find_issue(request, repo)
    pull = issue.pull
    if pull is None:
        raise not_found()
    data = await body_object(request)
    expected = text_field(data, "expected_head_sha", "PullRequest")
    if issue.user is not user and not can_write(ctx, repo, user):
        raise ApiError(403, "Must have push access to update this pull request branch.")
    if issue.state != "open":
        raise ApiError(422, "Pull request is not open.")
    head_ref = branch_ref(pull.head_ref)
    head = await repo.git.ref(head_ref)
    base = await repo.git.ref(branch_ref(pull.base_ref))
    if head is None or base is None:
        raise ApiError(422, "Head or base branch no longer exists.")
    if expected is not None and expected != head:
        raise ApiError(422, "expected head sha didn't match current head ref.")
    if await repo.git.is_ancestor(base, head):
        raise ApiError(422, "There are no new commits on the base branch.")
    tree = await repo.git.merge_trees(head, base)
    if tree is None:
        raise ApiError(422, "merge conflict between base and head")
    author = ctx.ops.signature(user)
    committer = Signature(*GITHUB, author.when)
    message = f"Merge branch '{pull.base_ref}' into {pull.head_ref}\n"
    merged = await repo.git.commit_tree(tree, [head, base], message, author, committer)
    # A real push to the head branch: the push webhook and `synchronize` follow it.
    if not await ctx.ops.move_ref(repo, head_ref, merged, head, user):
        raise ApiError(422, "expected head sha didn't match current head ref.")
    url = f"{ctx.payloads.repo_api(repo)}/pulls/{issue.number}"
    return respond({"message": "Updating pull request branch.", "url": url}, status=202)


# Timeline


def record_event(
    ctx: Context, repo: Repo, issue: Issue, actor: User, event: str, **details: Any
) -> None:
    """Remember an event of an issue's timeline (JSON, kept with the saved world)."""
    _record(ctx.state, repo, issue.number, actor, event, **details)


def _record(state: State, repo: Repo, number: int, actor: User, event: str, **details: Any) -> None:
    """Append one event to an issue's recorded timeline."""
    events = repo.records.setdefault("timeline", {}).setdefault(str(number), [])
    events.append(
        {
            "id": state.new_id("event"),
            "event": event,
            "actor": actor.login,
            "created_at": iso(now()),
            **details,
        }
    )


# Webhook actions that are timeline events of the same name (lock and assignees record
# their own events with details the webhook does not carry).
TIMELINE_ACTIONS = (
    "closed",
    "reopened",
    "labeled",
    "unlabeled",
    "review_requested",
    "review_request_removed",
    "ready_for_review",
    "converted_to_draft",
)


def timeline_observer(state: State) -> Callable[[Repo, User, JSON], None]:
    """Return an Events observer that keeps issue and pull request timelines."""

    def observe(repo: Repo, sender: User, body: JSON) -> None:
        subject = body.get("pull_request") or body.get("issue")
        if not isinstance(subject, dict) or "comment" in body or "review" in body:
            return  # comments and reviews are timeline items of their own
        number, action = subject.get("number"), body.get("action")
        if not isinstance(number, int):
            return
        if action == "edited" and "title" in (body.get("changes") or {}):
            rename = {"from": body["changes"]["title"]["from"], "to": subject["title"]}
            _record(state, repo, number, sender, "renamed", rename=rename)
            return
        if action not in TIMELINE_ACTIONS:
            return
        details: JSON = {}
        if "label" in body:
            details["label"] = {"name": body["label"]["name"], "color": body["label"]["color"]}
        if "requested_reviewer" in body:
            details["requested_reviewer"] = body["requested_reviewer"]["login"]
        if action == "closed" and subject.get("merged"):
            sha = subject.get("merge_commit_sha")
            _record(state, repo, number, sender, "merged", commit_id=sha)
            details["commit_id"] = sha
        _record(state, repo, number, sender, action, **details)

    return observe


def _event_payload(ctx: Context, repo: Repo, issue: Issue, record: JSON) -> JSON:
    """Render a recorded event as a timeline item."""
    api = ctx.payloads.repo_api(repo)
    actor = ctx.state.find_user(record["actor"])
    data: JSON = {
        "id": record["id"],
        "node_id": node_id("Event", record["id"]),
        "url": f"{api}/issues/events/{record['id']}",
        "actor": ctx.payloads.user(actor) if actor else None,
        "event": record["event"],
        "commit_id": record.get("commit_id"),
        "commit_url": None,
        "created_at": record["created_at"],
        "performed_via_github_app": None,
    }
    if record.get("commit_id"):
        data["commit_url"] = f"{api}/commits/{record['commit_id']}"
    if "assignee" in record:
        assignee = ctx.state.find_user(record["assignee"])
        data["assignee"] = ctx.payloads.user(assignee) if assignee else None
    if "lock_reason" in record:
        data["lock_reason"] = record["lock_reason"]
    for key in ("label", "rename"):
        if key in record:
            data[key] = record[key]
    if "requested_reviewer" in record:
        reviewer = ctx.state.find_user(record["requested_reviewer"])
        data["requested_reviewer"] = ctx.payloads.user(reviewer) if reviewer else None
        data["review_requester"] = data["actor"]
    return data


def timeline(ctx: Context, repo: Repo, issue: Issue) -> list[tuple[str, int, JSON]]:
    """Return the issue's timeline items as (time, order, item), oldest first."""
    items: list[tuple[str, int, JSON]] = []
    for record in repo.records.get("timeline", {}).get(str(issue.number), []):
        items.append((record["created_at"], record["id"], _event_payload(ctx, repo, issue, record)))
    for comment in issue.comments:
        item = {**ctx.payloads.comment(repo, comment), "event": "commented"}
        item["actor"] = ctx.payloads.user(comment.user)
        items.append((iso(comment.created_at) or "", comment.id, item))
    if issue.pull is not None:
        for review in issue.pull.reviews:
            if review.submitted_at is None:
                continue
            item = {**ctx.payloads.review(repo, issue, review), "event": "reviewed"}
            item["state"] = review.state.lower()  # the timeline spells it as webhooks do
            items.append((iso(review.submitted_at) or "", review.id, item))
    items.sort(key=lambda item: (item[0], item[1]))
    return items


async def list_timeline(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/issues/{number}/timeline, oldest first."""
    repo = find_repo(request)
    ctx = context(request)
    issue = find_issue(request, repo)
    items = timeline(ctx, repo, issue)
    if issue.pull is not None:
        # A pull request's commits are `committed` items, at their committer date.
        pull = issue.pull
        for order, sha in enumerate(await repo.git.rev_list(f"{pull.base_sha}..{pull.head_sha}")):
            commit = await repo.git.read_commit(sha)
            if commit is not None:
                item = {**ctx.payloads.git_commit(repo, commit), "event": "committed"}
                items.append((iso(commit.committer.when) or "", -order, item))
        items.sort(key=lambda item: (item[0], item[1]))
    return paginate(request, [item for _, _, item in items], lambda i: i)


def routes() -> list[web.RouteDef]:
    """Return this module's API routes."""
    repo = "/repos/{owner}/{repo}"
    issue = repo + "/issues/{number:\\d+}"
    comment = repo + "/issues/comments/{comment_id:\\d+}"
    review_comment = repo + "/pulls/comments/{review_comment_id:\\d+}"
    return [
        web.get(review_comment + "/reactions", list_reactions),
        web.post(review_comment + "/reactions", create_reaction),
        web.delete(review_comment + "/reactions/{reaction_id:\\d+}", delete_reaction),
        web.get(issue + "/reactions", list_reactions),
        web.post(issue + "/reactions", create_reaction),
        web.delete(issue + "/reactions/{reaction_id:\\d+}", delete_reaction),
        web.get(comment + "/reactions", list_reactions),
        web.post(comment + "/reactions", create_reaction),
        web.delete(comment + "/reactions/{reaction_id:\\d+}", delete_reaction),
        web.put(issue + "/lock", lock_issue),
        web.delete(issue + "/lock", unlock_issue),
        web.get(repo + "/assignees", list_assignees),
        web.get(repo + "/assignees/{login}", check_assignee),
        web.post(issue + "/assignees", add_assignees),
        web.delete(issue + "/assignees", remove_assignees),
        web.get(issue + "/timeline", list_timeline),
        web.put(repo + "/pulls/{number:\\d+}/update-branch", update_branch),
    ]
