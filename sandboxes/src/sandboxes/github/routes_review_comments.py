"""Review comments: lines of a pull request's diff commented on, replies, and dismissals."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandboxes.github.api import (
    Context,
    acting_user,
    body_object,
    context,
    find_pull,
    find_pull_parts,
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
from sandboxes.github.payloads import JSON, iso, node_id
from sandboxes.github.state import Issue, Pull, Repo, Review, ReviewComment, User, now

RESOURCE = "PullRequestReviewComment"
SIDES = ("LEFT", "RIGHT")


# The diff a comment is anchored in


@dataclass
class DiffLine:
    """One line of a file's patch: its kind, its numbers in the old and new file."""

    kind: str  # " " context, "+" added, "-" removed
    old: int | None
    new: int | None
    position: int  # lines below the file's first "@@" header, as GitHub counts `position`
    hunk_start: int  # position of its hunk's "@@" header (0 for the first hunk)


@dataclass
class FileDiff:
    """The patch of one file between the pull request's fork point and a commit."""

    lines: list[str] = field(default_factory=list)  # lines[0] is the first "@@" header
    entries: list[DiffLine] = field(default_factory=list)

    def find(self, side: str, number: int) -> DiffLine | None:
        """Return the diff line showing line `number` of the old (LEFT) or new (RIGHT) file."""
        for entry in self.entries:
            if side == "RIGHT" and entry.kind != "-" and entry.new == number:
                return entry
            if side == "LEFT" and entry.kind != "+" and entry.old == number:
                return entry
        return None

    def at(self, position: int) -> DiffLine | None:
        """Return the diff line at a `position`."""
        for entry in self.entries:
            if entry.position == position:
                return entry
        return None

    def hunk(self, entry: DiffLine) -> str:
        """Return the hunk text from its header down to `entry`, as `diff_hunk` shows it."""
        return "\n".join(self.lines[entry.hunk_start : entry.position + 1])


def parse_patch(patch: str) -> FileDiff:
    """Parse one file's unified diff (from its first "@@" header) into numbered lines."""
    diff = FileDiff(lines=patch.split("\n"))
    old = new = 0
    hunk_start = 0
    for position, text in enumerate(diff.lines):
        if text.startswith("@@"):
            # "@@ -old,count +new,count @@ context"
            ranges = text.split("@@")[1].split()
            old = int(ranges[0][1:].split(",")[0])
            new = int(ranges[1][1:].split(",")[0])
            hunk_start = position
        elif text.startswith("+"):
            diff.entries.append(DiffLine("+", None, new, position, hunk_start))
            new += 1
        elif text.startswith("-"):
            diff.entries.append(DiffLine("-", old, None, position, hunk_start))
            old += 1
        elif text.startswith(" ") or text == "":
            diff.entries.append(DiffLine(" ", old, new, position, hunk_start))
            old += 1
            new += 1
        # "\ No newline at end of file" has a position but no line to comment on.
    return diff


async def file_diff(repo: Repo, pull: Pull, commit: str, path: str) -> FileDiff | None:
    """Return `path`'s patch in the pull request as of `commit`, or None when it is unchanged."""
    fork_point = await repo.git.merge_base(pull.base_sha, commit) or pull.base_sha
    _, out = await repo.git.run(
        "diff-tree", "-p", "--no-renames", "--no-color", fork_point, commit, "--", path
    )
    text = out.decode("utf-8", "replace")
    if not text.strip():
        return None
    start = text.find("\n@@")
    if start < 0:
        return FileDiff()  # changed, but binary or only its mode: no lines to comment on
    return parse_patch(text[start + 1 :].rstrip("\n"))


async def follow_head(repo: Repo, pull: Pull) -> None:
    """Move comments to a new head where their line still reads the same; else outdate them.

    GitHub keeps `original_*` as written and reports an outdated comment with a null
    `position` and `line`.
    """
    diffs: dict[str, FileDiff | None] = {}
    for comment in pull.review_comments:
        if comment.commit_id == pull.head_sha or comment.position is None:
            continue
        if comment.subject_type == "file":
            comment.commit_id = pull.head_sha
            continue
        if comment.path not in diffs:
            diffs[comment.path] = await file_diff(repo, pull, pull.head_sha, comment.path)
        diff = diffs[comment.path]
        entry = diff.find(comment.side, comment.line) if diff and comment.line else None
        written = comment.diff_hunk.rsplit("\n", 1)[-1]
        if diff is not None and entry is not None and diff.lines[entry.position] == written:
            comment.commit_id, comment.position = pull.head_sha, entry.position
        else:
            comment.position = comment.line = comment.start_line = comment.start_side = None


# Validation


def _schema_error(detail: str) -> ApiError:
    """Return the 422 GitHub answers when a body breaks the endpoint's JSON schema."""
    return ApiError(422, f"Invalid request.\n\n{detail}")


def _breach(in_review: bool, field_name: str, message: str) -> ApiError:
    """Return GitHub's 422 for a thread that does not fit the diff, in each endpoint's words.

    POST /reviews answers `{"message": "Unprocessable Entity", "errors": ["Pull request
    review thread line must be part of the diff"]}`; POST /comments names the field.
    """
    if in_review and field_name == "path":
        return ApiError(422, "Unprocessable Entity", errors=["Path could not be resolved"])
    if in_review:
        words = f"pull_request_review_thread.{field_name}".replace("_", " ").replace(".", " ")
        text = f"{words} {message}"
        return ApiError(422, "Unprocessable Entity", errors=[text[0].upper() + text[1:]])
    qualified = f"pull_request_review_thread.{field_name}"
    return ApiError(
        422,
        "Validation Failed",
        errors=[
            {
                "resource": RESOURCE,
                "code": "custom",
                "field": qualified,
                "message": f"{qualified} {message}",
            }
        ],
    )


def _int_field(data: dict[str, Any], key: str) -> int | None:
    """Return an optional whole-number field, or answer 422 as GitHub's schema check does."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _schema_error(f"For 'properties/{key}', {json.dumps(value)} is not an integer.")
    return value


def _side_field(data: dict[str, Any], key: str) -> str | None:
    """Return LEFT or RIGHT, or answer 422 for anything else."""
    value = data.get(key)
    if value is None:
        return None
    if value not in SIDES:
        raise _schema_error(
            f'For \'properties/{key}\', {json.dumps(value)} is not one of ["LEFT", "RIGHT"].'
        )
    return str(value)


@dataclass
class Anchor:
    """Where a new thread sits in the diff, checked against it."""

    path: str
    commit_id: str
    diff_hunk: str
    position: int
    line: int | None
    side: str
    start_line: int | None
    start_side: str | None
    subject_type: str


async def pull_commit(repo: Repo, pull: Pull, commit_id: str | None, in_review: bool) -> str:
    """Return the commit a comment is made on: the head, or one of the pull request's own."""
    if commit_id is None or commit_id == pull.head_sha:
        return pull.head_sha
    if commit_id in await repo.git.rev_list(f"{pull.base_sha}..{pull.head_sha}"):
        return commit_id
    if in_review:
        raise ApiError(
            422, "Unprocessable Entity", errors=["Commit is not part of the pull request"]
        )
    raise ApiError(
        422,
        "Validation Failed",
        errors=[
            {
                "resource": RESOURCE,
                "code": "custom",
                "field": "commit_id",
                "message": "commit_id is not part of the pull request",
            }
        ],
    )


async def anchor(
    repo: Repo, pull: Pull, data: dict[str, Any], commit_id: str, *, in_review: bool
) -> Anchor:
    """Check a comment's path and lines against the pull request's diff at `commit_id`."""
    path = data.get("path")
    if path is None:
        raise _schema_error('"path" wasn\'t supplied.')
    if not isinstance(path, str):
        raise _schema_error(f"For 'properties/path', {json.dumps(path)} is not a string.")
    subject_type = data.get("subject_type") or "line"
    if subject_type not in ("line", "file"):
        raise _schema_error(
            f"For 'properties/subject_type', {json.dumps(subject_type)} is not one of "
            '["line", "file"].'
        )
    line = _int_field(data, "line")
    position = _int_field(data, "position")
    start_line = _int_field(data, "start_line")
    side = _side_field(data, "side") or "RIGHT"
    start_side = _side_field(data, "start_side")
    diff = await file_diff(repo, pull, commit_id, path)
    if diff is None:
        raise _breach(in_review, "path", "could not be resolved")
    if subject_type == "file":
        header = diff.lines[0] if diff.lines else ""
        return Anchor(path, commit_id, header, 1, None, "RIGHT", None, None, "file")
    if line is None and position is None:
        raise _schema_error('"line" wasn\'t supplied.')
    entry = diff.find(side, line) if line is not None else diff.at(position or 0)
    if entry is None:
        raise _breach(in_review, "line", "must be part of the diff")
    if line is None:  # the legacy `position`: its line and side follow from the diff
        side = "LEFT" if entry.kind == "-" else "RIGHT"
        line = entry.old if side == "LEFT" else entry.new
    if start_line is not None:
        start_side = start_side or side
        start = diff.find(start_side, start_line)
        if start is None:
            raise _breach(in_review, "start_line", "must be part of the diff")
        if start.position >= entry.position:
            raise _breach(in_review, "start_line", "must precede the end line.")
        if start.hunk_start != entry.hunk_start:
            raise _breach(in_review, "start_line", "must be part of the same hunk as the line.")
    else:
        start_side = None
    hunk = diff.hunk(entry)
    return Anchor(path, commit_id, hunk, entry.position, line, side, start_line, start_side, "line")


async def review_anchors(
    repo: Repo, pull: Pull, comments: Any, commit_id: str
) -> list[tuple[Anchor, str]]:
    """Check the `comments` of POST /reviews; all of them fit or the review is refused."""
    if comments is None:
        return []
    if not isinstance(comments, list):
        raise _schema_error(f"For 'properties/comments', {json.dumps(comments)} is not an array.")
    result = []
    for item in comments:
        if not isinstance(item, dict):
            raise _schema_error(f"For 'items', {json.dumps(item)} is not an object.")
        text = item.get("body")
        if text is None:
            raise _schema_error('"body" wasn\'t supplied.')
        if not isinstance(text, str):
            raise _schema_error(f"For 'properties/body', {json.dumps(text)} is not a string.")
        result.append((await anchor(repo, pull, item, commit_id, in_review=True), text))
    return result


# Storing and rendering


def new_comment(
    ctx: Context, pull: Pull, review: Review, user: User, place: Anchor, text: str
) -> ReviewComment:
    """Store a new thread's first comment with its review."""
    stamp = now()
    comment = ReviewComment(
        id=ctx.state.new_id("review_comment"),
        review_id=review.id,
        user=user,
        body=text,
        path=place.path,
        commit_id=place.commit_id,
        original_commit_id=place.commit_id,
        diff_hunk=place.diff_hunk,
        position=place.position,
        original_position=place.position,
        line=place.line,
        original_line=place.line,
        side=place.side,
        start_line=place.start_line,
        original_start_line=place.start_line,
        start_side=place.start_side,
        subject_type=place.subject_type,
        in_reply_to_id=None,
        created_at=stamp,
        updated_at=stamp,
    )
    pull.review_comments.append(comment)
    return comment


def render(ctx: Context, repo: Repo, issue: Issue, comment: ReviewComment) -> JSON:
    """Render a review comment as the REST API and the webhook both show it."""
    payloads = ctx.payloads
    url = f"{payloads.repo_api(repo)}/pulls/comments/{comment.id}"
    pull_url = f"{payloads.repo_api(repo)}/pulls/{issue.number}"
    html = f"{payloads.issue_html(repo, issue)}#discussion_r{comment.id}"
    data: JSON = {
        "url": url,
        "pull_request_review_id": comment.review_id,
        "id": comment.id,
        "node_id": node_id("PullRequestReviewComment", comment.id),
        "diff_hunk": comment.diff_hunk,
        "path": comment.path,
        "position": comment.position,
        "original_position": comment.original_position,
        "commit_id": comment.commit_id,
        "original_commit_id": comment.original_commit_id,
        "user": payloads.user(comment.user),
        "body": comment.body,
        "created_at": iso(comment.created_at),
        "updated_at": iso(comment.updated_at),
        "html_url": html,
        "pull_request_url": pull_url,
        "author_association": ctx.state.association(repo, comment.user),
        "_links": {
            "self": {"href": url},
            "html": {"href": html},
            "pull_request": {"href": pull_url},
        },
        "reactions": payloads.reactions(url),
        "start_line": comment.start_line,
        "original_start_line": comment.original_start_line,
        "start_side": comment.start_side,
        "line": comment.line,
        "original_line": comment.original_line,
        "side": comment.side,
        "subject_type": comment.subject_type,
    }
    if comment.in_reply_to_id is not None:
        data["in_reply_to_id"] = comment.in_reply_to_id
    return data


def announce(ctx: Context, repo: Repo, issue: Issue, review: Review, sender: User) -> None:
    """Send `pull_request_review_comment` `created` for each comment of a submitted review."""
    assert issue.pull is not None
    for comment in issue.pull.review_comments:
        if comment.review_id == review.id:
            ctx.events.pull_request_review_comment(
                "created", repo, issue, render(ctx, repo, issue, comment), sender
            )


def _submit_single(ctx: Context, repo: Repo, issue: Issue, user: User, commit_id: str) -> Review:
    """Start the COMMENTED review GitHub wraps a single comment in."""
    assert issue.pull is not None
    review = Review(
        id=ctx.state.new_id("review"),
        user=user,
        body="",
        state="COMMENTED",
        commit_id=commit_id,
        submitted_at=now(),
    )
    issue.pull.reviews.append(review)
    return review


def _finish_single(
    ctx: Context, repo: Repo, issue: Issue, review: Review, comment: ReviewComment, user: User
) -> None:
    """Announce a single comment and the review wrapping it."""
    assert issue.pull is not None
    issue.pull.requested_reviewers = [u for u in issue.pull.requested_reviewers if u is not user]
    issue.touch()
    ctx.events.pull_request_review_comment(
        "created", repo, issue, render(ctx, repo, issue, comment), user
    )
    ctx.events.pull_request_review("submitted", repo, issue, review, user)


def _reply(
    ctx: Context, repo: Repo, issue: Issue, parent: ReviewComment, user: User, text: str
) -> ReviewComment:
    """Store a reply in `parent`'s thread; a reply to a reply joins the same thread."""
    assert issue.pull is not None
    review = _submit_single(ctx, repo, issue, user, parent.commit_id)
    stamp = now()
    # A reply sits where its thread sits: every position field is the parent's.
    comment = dataclasses.replace(
        parent,
        id=ctx.state.new_id("review_comment"),
        review_id=review.id,
        user=user,
        body=text,
        in_reply_to_id=parent.in_reply_to_id or parent.id,
        created_at=stamp,
        updated_at=stamp,
    )
    issue.pull.review_comments.append(comment)
    _finish_single(ctx, repo, issue, review, comment, user)
    return comment


def _body_text(data: dict[str, Any]) -> str:
    """Return the required `body` of a comment."""
    text = text_field(data, "body", RESOURCE)
    if text is None:
        raise _schema_error('"body" wasn\'t supplied.')
    return text


def find_review_comment(repo: Repo, comment_id: int) -> tuple[Issue, ReviewComment]:
    """Return a published review comment of `repo` and its pull request, or answer 404."""
    for issue in repo.pulls():
        assert issue.pull is not None
        for comment in issue.pull.published_comments():
            if comment.id == comment_id:
                return issue, comment
    raise not_found()


def _sorted(request: web.Request, comments: list[ReviewComment]) -> list[ReviewComment]:
    """Apply `sort`, `direction` and `since` as GitHub's comment lists do."""
    query = request.query
    since = parse_time(query.get("since"))
    if since is not None:
        comments = [comment for comment in comments if comment.updated_at >= since]
    sort = query.get("sort", "created")
    if sort not in ("created", "updated"):
        raise invalid(RESOURCE, "sort")
    direction = query.get("direction", "asc")
    if direction not in ("asc", "desc"):
        raise invalid(RESOURCE, "direction")
    return sorted(
        comments,
        key=lambda c: ((c.created_at if sort == "created" else c.updated_at), c.id),
        reverse=direction == "desc",
    )


# Routes


async def create_comment(request: web.Request) -> web.Response:
    """POST /repos/{o}/{r}/pulls/{n}/comments {body, commit_id, path, line, side, ...}."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    issue, pull = find_pull_parts(request, repo)
    data = await body_object(request)
    text = _body_text(data)
    reply_to = _int_field(data, "in_reply_to")
    if reply_to is not None:
        await follow_head(repo, pull)
        parent = next((c for c in pull.published_comments() if c.id == reply_to), None)
        if parent is None:
            raise invalid(RESOURCE, "in_reply_to")
        return respond(render(ctx, repo, issue, _reply(ctx, repo, issue, parent, user, text)), 201)
    commit_id = text_field(data, "commit_id", RESOURCE)
    if commit_id is None:
        raise _schema_error('"commit_id" wasn\'t supplied.')
    commit = await pull_commit(repo, pull, commit_id, in_review=False)
    place = await anchor(repo, pull, data, commit, in_review=False)
    review = _submit_single(ctx, repo, issue, user, commit)
    comment = new_comment(ctx, pull, review, user, place, text)
    _finish_single(ctx, repo, issue, review, comment, user)
    return respond(render(ctx, repo, issue, comment), status=201)


async def create_reply(request: web.Request) -> web.Response:
    """POST /repos/{o}/{r}/pulls/{n}/comments/{comment_id}/replies {body}."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    issue, pull = find_pull_parts(request, repo)
    comment_id = path_int(request, "comment_id")
    await follow_head(repo, pull)
    parent = next((c for c in pull.published_comments() if c.id == comment_id), None)
    if parent is None:
        raise not_found()
    text = _body_text(await body_object(request))
    return respond(render(ctx, repo, issue, _reply(ctx, repo, issue, parent, user, text)), 201)


async def list_pull_comments(request: web.Request) -> web.Response:
    """GET /repos/{o}/{r}/pulls/{n}/comments, oldest first by default."""
    repo = find_repo(request)
    ctx = context(request)
    issue, pull = find_pull_parts(request, repo)
    await follow_head(repo, pull)
    comments = _sorted(request, pull.published_comments())
    return paginate(request, comments, lambda c: render(ctx, repo, issue, c))


async def list_repo_comments(request: web.Request) -> web.Response:
    """GET /repos/{o}/{r}/pulls/comments: every pull request's review comments."""
    repo = find_repo(request)
    ctx = context(request)
    owners: dict[int, Issue] = {}
    comments: list[ReviewComment] = []
    for issue in repo.pulls():
        assert issue.pull is not None
        await follow_head(repo, issue.pull)
        for comment in issue.pull.published_comments():
            owners[comment.id] = issue
            comments.append(comment)
    comments = _sorted(request, comments)
    return paginate(request, comments, lambda c: render(ctx, repo, owners[c.id], c))


async def list_review_comments(request: web.Request) -> web.Response:
    """GET /repos/{o}/{r}/pulls/{n}/reviews/{review_id}/comments."""
    repo = find_repo(request)
    ctx = context(request)
    issue, pull = find_pull_parts(request, repo)
    review_id = path_int(request, "review_id")
    review = next((r for r in pull.reviews if r.id == review_id), None)
    if review is None:
        raise not_found()
    await follow_head(repo, pull)
    if review.state == "PENDING" and review.user is not acting_user(request):
        comments: list[ReviewComment] = []
    else:
        comments = [c for c in pull.review_comments if c.review_id == review_id]
    return paginate(request, comments, lambda c: render(ctx, repo, issue, c))


async def get_comment(request: web.Request) -> web.Response:
    """GET /repos/{o}/{r}/pulls/comments/{comment_id}."""
    repo = find_repo(request)
    issue, comment = find_review_comment(repo, path_int(request, "comment_id"))
    assert issue.pull is not None
    await follow_head(repo, issue.pull)
    return respond(render(context(request), repo, issue, comment))


async def update_comment(request: web.Request) -> web.Response:
    """PATCH /repos/{o}/{r}/pulls/comments/{comment_id} {body}."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    issue, comment = find_review_comment(repo, path_int(request, "comment_id"))
    assert issue.pull is not None
    await follow_head(repo, issue.pull)
    text = _body_text(await body_object(request))
    if text != comment.body:
        changes = {"body": {"from": comment.body}}
        comment.body = text
        comment.updated_at = now()
        issue.touch()
        ctx.events.pull_request_review_comment(
            "edited", repo, issue, render(ctx, repo, issue, comment), user, changes=changes
        )
    return respond(render(ctx, repo, issue, comment))


async def delete_comment(request: web.Request) -> web.Response:
    """DELETE /repos/{o}/{r}/pulls/comments/{comment_id}."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    issue, comment = find_review_comment(repo, path_int(request, "comment_id"))
    assert issue.pull is not None
    await follow_head(repo, issue.pull)
    rendered = render(ctx, repo, issue, comment)
    issue.pull.review_comments = [c for c in issue.pull.review_comments if c is not comment]
    issue.touch()
    ctx.events.pull_request_review_comment("deleted", repo, issue, rendered, user)
    return no_content()


def find_review(request: web.Request, issue: Issue) -> Review:
    """Return the pull request's review with the id in the path, or answer 404."""
    review_id = path_int(request, "review_id")
    assert issue.pull is not None
    for review in issue.pull.reviews:
        if review.id == review_id:
            return review
    raise not_found()


async def dismiss_review(request: web.Request) -> web.Response:
    """PUT /repos/{o}/{r}/pulls/{n}/reviews/{review_id}/dismissals {message, event}."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    issue = find_pull(request, repo)
    review = find_review(request, issue)
    data = await body_object(request)
    message = text_field(data, "message", "PullRequestReview")
    if message is None:
        raise _schema_error('"message" wasn\'t supplied.')
    event = data.get("event", "DISMISS")
    if event != "DISMISS":
        raise _schema_error(
            f"For 'properties/event', {json.dumps(event)} is not one of [\"DISMISS\"]."
        )
    if review.state == "PENDING":
        raise ApiError(422, "Can not dismiss a pending pull request review")
    if review.state == "COMMENTED":
        raise ApiError(422, "Can not dismiss a commented pull request review")
    if review.state != "DISMISSED":
        review.state = "DISMISSED"
        issue.touch()
        ctx.events.pull_request_review("dismissed", repo, issue, review, user)
    return respond(ctx.payloads.review(repo, issue, review))


def routes() -> list[web.RouteDef]:
    """Return this module's API routes."""
    pulls = "/repos/{owner}/{repo}/pulls"
    pull = pulls + "/{number:\\d+}"
    single = pulls + "/comments/{comment_id:\\d+}"
    return [
        web.get(pulls + "/comments", list_repo_comments),
        web.get(single, get_comment),
        web.patch(single, update_comment),
        web.delete(single, delete_comment),
        web.get(pull + "/comments", list_pull_comments),
        web.post(pull + "/comments", create_comment),
        web.post(pull + "/comments/{comment_id:\\d+}/replies", create_reply),
        web.get(pull + "/reviews/{review_id:\\d+}/comments", list_review_comments),
        web.put(pull + "/reviews/{review_id:\\d+}/dismissals", dismiss_review),
    ]
