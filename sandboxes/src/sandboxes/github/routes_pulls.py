"""Routes for pull requests: open, list, edit, merge, files, reviews and review requests."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandboxes.github import media, routes_commits
from sandboxes.github import routes_review_comments as review_comments
from sandboxes.github.access import is_collaborator
from sandboxes.github.api import (
    Context,
    body_object,
    context,
    find_pull,
    find_pull_parts,
    find_repo,
    no_content,
    paginate,
    require_user,
    respond,
    text_field,
)
from sandboxes.github.errors import ApiError, invalid, not_found
from sandboxes.github.operations import branch_ref
from sandboxes.github.routes_issues import (
    BODY_LIMIT,
    TITLE_LIMIT,
    apply_issue_changes,
    check_length,
)
from sandboxes.github.state import Issue, Repo, Review, User, now

REVIEW_EVENTS = {
    "APPROVE": "APPROVED",
    "REQUEST_CHANGES": "CHANGES_REQUESTED",
    "COMMENT": "COMMENTED",
}


def _unprocessable(message: str) -> ApiError:
    """Return the 422 GitHub answers for a review rule breach."""
    return ApiError(422, "Unprocessable Entity", errors=[message])


async def _render(ctx: Context, repo: Repo, issue: Issue) -> dict[str, Any]:
    """Render a pull request in full, with what git says about it."""
    # Reading a pull request waits for its mergeability (the background job may still be
    # queued behind this request's lock), so a GET after the create shows it computed.
    await ctx.ops.compute_mergeability(repo, issue)
    return ctx.payloads.pull(repo, issue, await ctx.ops.pull_stats(repo, issue))


async def create_pull(request: web.Request) -> web.Response:
    """POST /repos/{owner}/{repo}/pulls {title, head, base, body, draft, maintainer_can_modify}."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    data = await body_object(request)
    head = text_field(data, "head", "PullRequest", required=True) or ""
    base = text_field(data, "base", "PullRequest", required=True) or ""
    title = text_field(data, "title", "PullRequest")
    if not title or not title.strip():
        raise invalid("PullRequest", "title", "missing_field")
    check_length(title, "PullRequest", "title", TITLE_LIMIT)
    body = text_field(data, "body", "PullRequest")
    check_length(body, "PullRequest", "body", BODY_LIMIT)
    issue = await ctx.ops.open_pull(
        repo,
        user,
        title=title,
        head=head,
        base=base,
        body=body,
        draft=data.get("draft") is True,
        maintainer_can_modify=data.get("maintainer_can_modify") is not False,
    )
    # GitHub answers before it knows whether the pull request merges: null / "unknown".
    stats = await ctx.ops.pull_stats(repo, issue)
    return respond(ctx.payloads.pull(repo, issue, stats), status=201)


async def list_pulls(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/pulls with state, head, base, sort and direction."""
    repo = find_repo(request)
    ctx = context(request)
    query = request.query
    state = query.get("state", "open")
    if state not in ("open", "closed", "all"):
        raise invalid("PullRequest", "state")
    pulls = [issue for issue in repo.pulls() if state in ("all", issue.state)]
    if query.get("head"):
        owner, _, branch = query["head"].rpartition(":")
        pulls = [
            issue
            for issue in pulls
            if issue.pull is not None
            and issue.pull.head_ref == branch
            and (not owner or owner.lower() == repo.owner.login.lower())
        ]
    if query.get("base"):
        pulls = [issue for issue in pulls if issue.pull and issue.pull.base_ref == query["base"]]
    sort = query.get("sort", "created")
    keys = {
        "created": lambda issue: (issue.created_at, issue.number),
        "updated": lambda issue: (issue.updated_at, issue.number),
        "popularity": lambda issue: (len(issue.comments), issue.number),
        "long-running": lambda issue: (issue.created_at, issue.number),
    }
    if sort not in keys:
        raise invalid("PullRequest", "sort")
    direction = query.get("direction", "desc" if sort == "created" else "asc")
    pulls.sort(key=keys[sort], reverse=direction == "desc")
    return paginate(request, pulls, lambda issue: ctx.payloads.pull(repo, issue))


async def get_pull(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/pulls/{number}."""
    repo = find_repo(request)
    ctx = context(request)
    issue, pull = find_pull_parts(request, repo)
    kind = media.param(request)
    if kind is not None:
        answer = await routes_commits.pull_media(repo, pull.base_sha, pull.head_sha, kind)
        if answer is not None:
            return answer
    return respond(await _render(ctx, repo, issue))


async def update_pull(request: web.Request) -> web.Response:
    """PATCH /repos/{owner}/{repo}/pulls/{number} {title, body, state, base, ...}."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    issue, pull = find_pull_parts(request, repo)
    data = await body_object(request)
    base = text_field(data, "base", "PullRequest")
    if base is not None and base != pull.base_ref:
        base_sha = await repo.git.ref(branch_ref(base))
        if base_sha is None:
            raise invalid("PullRequest", "base")
        changes = {"base": {"ref": {"from": pull.base_ref}, "sha": {"from": pull.base_sha}}}
        pull.base_ref, pull.base_sha = base, base_sha
        issue.touch()
        await ctx.ops.notify("edited", repo, issue, user, changes=changes)
    if "maintainer_can_modify" in data:
        pull.maintainer_can_modify = data["maintainer_can_modify"] is True
    edits = {key: data[key] for key in ("title", "body", "state") if key in data}
    await apply_issue_changes(ctx, repo, issue, user, edits)
    return respond(await _render(ctx, repo, issue))


async def merge_pull(request: web.Request) -> web.Response:
    """PUT /repos/{owner}/{repo}/pulls/{number}/merge."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    issue = find_pull(request, repo)
    data = await body_object(request)
    sha = await ctx.ops.merge(
        repo,
        issue,
        user,
        method=text_field(data, "merge_method", "PullRequest") or "merge",
        title=text_field(data, "commit_title", "PullRequest"),
        message=text_field(data, "commit_message", "PullRequest"),
        sha=text_field(data, "sha", "PullRequest"),
    )
    return respond({"sha": sha, "merged": True, "message": "Pull Request successfully merged"})


async def check_merged(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/pulls/{number}/merge: 204 when merged, else 404."""
    repo = find_repo(request)
    issue = find_pull(request, repo)
    if issue.pull is None or not issue.pull.merged:
        raise not_found()
    return no_content()


async def list_files(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/pulls/{number}/files: what the pull request changes."""
    repo = find_repo(request)
    ctx = context(request)
    _, pull = find_pull_parts(request, repo)
    fork_point = await repo.git.merge_base(pull.base_sha, pull.head_sha) or pull.base_sha
    files = await ctx.ops.changed_files(repo, fork_point, pull.head_sha)
    return paginate(request, files, lambda item: item)


async def list_commits(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/pulls/{number}/commits, oldest first."""
    repo = find_repo(request)
    ctx = context(request)
    _, pull = find_pull_parts(request, repo)
    commits = []
    for sha in await repo.git.rev_list("--reverse", f"{pull.base_sha}..{pull.head_sha}"):
        commit = await repo.git.read_commit(sha)
        if commit is not None:
            commits.append(ctx.payloads.commit(repo, commit))
    return paginate(request, commits, lambda item: item)


# Reviews


async def create_review(request: web.Request) -> web.Response:
    """POST /repos/{owner}/{repo}/pulls/{number}/reviews {body, event, commit_id}."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    issue, pull = find_pull_parts(request, repo)
    data = await body_object(request)
    event = text_field(data, "event", "PullRequestReview")
    text = text_field(data, "body", "PullRequestReview") or ""
    commit_id = text_field(data, "commit_id", "PullRequestReview") or pull.head_sha
    commit_id = await review_comments.pull_commit(repo, pull, commit_id, in_review=True)
    # Every line comment must fit the diff, or GitHub refuses the whole review.
    anchors = await review_comments.review_anchors(repo, pull, data.get("comments"), commit_id)
    if event is None:
        if any(r.user is user and r.state == "PENDING" for r in pull.reviews):
            raise _unprocessable("User can only have one pending review per pull request")
        state = "PENDING"
    elif event in REVIEW_EVENTS:
        state = REVIEW_EVENTS[event]
    else:
        raise _unprocessable(f"Invalid event: {event}")
    if issue.user is user and state == "APPROVED":
        raise _unprocessable("Review Can not approve your own pull request")
    if issue.user is user and state == "CHANGES_REQUESTED":
        raise _unprocessable("Review Can not request changes on your own pull request")
    if state == "CHANGES_REQUESTED" and not text.strip():
        raise _unprocessable(f"Review body is required when event is {event}")
    if state == "COMMENTED" and not text.strip() and not anchors:
        raise _unprocessable(f"Review body is required when event is {event}")
    review = Review(
        id=ctx.state.new_id("review"),
        user=user,
        body=text,
        state=state,
        commit_id=commit_id,
        submitted_at=None,
    )
    pull.reviews.append(review)
    for place, comment_text in anchors:
        review_comments.new_comment(ctx, pull, review, user, place, comment_text)
    if state != "PENDING":
        review_comments.announce(ctx, repo, issue, review, user)
        _submit(ctx, repo, issue, review, user)
    return respond(ctx.payloads.review(repo, issue, review))


def _submit(ctx: Context, repo: Repo, issue: Issue, review: Review, user: User) -> None:
    """Submit a review: the reviewer is no longer requested, and the webhook goes out."""
    pull = issue.pull
    assert pull is not None
    review.submitted_at = now()
    pull.requested_reviewers = [u for u in pull.requested_reviewers if u is not user]
    issue.touch()
    ctx.events.pull_request_review("submitted", repo, issue, review, user)


async def submit_review(request: web.Request) -> web.Response:
    """POST /repos/{owner}/{repo}/pulls/{number}/reviews/{review_id}/events {event, body}."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    issue = find_pull(request, repo)
    review = review_comments.find_review(request, issue)
    data = await body_object(request)
    event = text_field(data, "event", "PullRequestReview", required=True)
    if review.state != "PENDING" or review.user is not user:
        raise _unprocessable("Can not submit a review that is not your pending review")
    if event not in REVIEW_EVENTS:
        raise _unprocessable(f"Invalid event: {event}")
    review.state = REVIEW_EVENTS[event]
    review.body = text_field(data, "body", "PullRequestReview") or review.body
    review_comments.announce(ctx, repo, issue, review, user)
    _submit(ctx, repo, issue, review, user)
    return respond(ctx.payloads.review(repo, issue, review))


async def list_reviews(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/pulls/{number}/reviews, oldest first."""
    repo = find_repo(request)
    ctx = context(request)
    issue = find_pull(request, repo)
    assert issue.pull is not None
    return paginate(
        request, issue.pull.reviews, lambda review: ctx.payloads.review(repo, issue, review)
    )


async def get_review(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/pulls/{number}/reviews/{review_id}."""
    repo = find_repo(request)
    issue = find_pull(request, repo)
    return respond(
        context(request).payloads.review(repo, issue, review_comments.find_review(request, issue))
    )


# Review requests


async def request_reviewers(request: web.Request) -> web.Response:
    """POST /repos/{owner}/{repo}/pulls/{number}/requested_reviewers {reviewers}."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    issue, pull = find_pull_parts(request, repo)
    data = await body_object(request)
    logins = data.get("reviewers") or []
    if data.get("team_reviewers"):
        raise invalid(
            "PullRequest", "team_reviewers", "unprocessable", value=data["team_reviewers"]
        )
    if not isinstance(logins, list) or not all(isinstance(login, str) for login in logins):
        raise invalid("PullRequest", "reviewers")
    reviewers = [ctx.state.user(login) for login in logins]
    if issue.user in reviewers:
        raise _unprocessable("Review cannot be requested from pull request author.")
    if not all(is_collaborator(repo, reviewer) for reviewer in reviewers):
        raise _unprocessable(
            "Reviews may only be requested from collaborators. One or more of the users or "
            f"teams you specified is not a collaborator of the {repo.full_name} repository."
        )
    for reviewer in reviewers:
        if reviewer not in pull.requested_reviewers:
            pull.requested_reviewers.append(reviewer)
            issue.touch()
            await ctx.ops.notify("review_requested", repo, issue, user, requested_reviewer=reviewer)
    return respond(ctx.payloads.pull(repo, issue), status=201)


async def list_requested_reviewers(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/pulls/{number}/requested_reviewers."""
    repo = find_repo(request)
    ctx = context(request)
    _, pull = find_pull_parts(request, repo)
    return respond({"users": [ctx.payloads.user(u) for u in pull.requested_reviewers], "teams": []})


async def remove_requested_reviewers(request: web.Request) -> web.Response:
    """DELETE /repos/{owner}/{repo}/pulls/{number}/requested_reviewers {reviewers}."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    issue, pull = find_pull_parts(request, repo)
    data = await body_object(request)
    logins = {login.lower() for login in data.get("reviewers") or [] if isinstance(login, str)}
    for reviewer in [u for u in pull.requested_reviewers if u.login.lower() in logins]:
        pull.requested_reviewers.remove(reviewer)
        issue.touch()
        await ctx.ops.notify(
            "review_request_removed", repo, issue, user, requested_reviewer=reviewer
        )
    return respond(ctx.payloads.pull(repo, issue))


def routes() -> list[web.RouteDef]:
    """Return this module's API routes."""
    pulls = "/repos/{owner}/{repo}/pulls"
    pull = pulls + "/{number:\\d+}"
    return [
        web.post(pulls, create_pull),
        web.get(pulls, list_pulls),
        web.get(pull, get_pull),
        web.patch(pull, update_pull),
        web.put(pull + "/merge", merge_pull),
        web.get(pull + "/merge", check_merged),
        web.get(pull + "/files", list_files),
        web.get(pull + "/commits", list_commits),
        web.post(pull + "/reviews", create_review),
        web.get(pull + "/reviews", list_reviews),
        web.get(pull + "/reviews/{review_id:\\d+}", get_review),
        web.post(pull + "/reviews/{review_id:\\d+}/events", submit_review),
        web.post(pull + "/requested_reviewers", request_reviewers),
        web.get(pull + "/requested_reviewers", list_requested_reviewers),
        web.delete(pull + "/requested_reviewers", remove_requested_reviewers),
    ]
