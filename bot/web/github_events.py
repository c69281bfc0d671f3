"""Parse GitHub webhook payloads into the typed events services take: the only reader of
GitHub's webhook JSON.

A payload of an event the bot does not follow, or one whose fields have the wrong types
or lack what identifies the thing it is about, parses to None and is logged (by field
name, never by content): it is ignored, never an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from bot.services.events import (
    GitHubEvent,
    IssueCommentDetails,
    IssueCommentEvent,
    IssueDetails,
    LineComment,
    PullRequestDetails,
    PullRequestEvent,
    PushCommit,
    PushEvent,
    ReviewCommentEvent,
    ReviewDetails,
    ReviewEvent,
)

log = logging.getLogger(__name__)

# GitHub keeps at most this many characters of an issue, comment or review body. Nothing
# longer comes from GitHub itself, and reading past it (to classify a question, say) would
# let one delivery hold the bot for a minute.
BODY_LIMIT = 65_536

# The branch a push payload that names no default branch is taken to be about.
FALLBACK_DEFAULT_BRANCH = "main"

Json = Mapping[str, Any]


class _MalformedError(Exception):
    """A payload field is missing or of the wrong type; the message names the field."""


def _object(parent: Json, key: str, *, required: bool = False) -> Json:
    value = parent.get(key)
    if value is None:
        if required:
            raise _MalformedError(f"{key} is missing")
        return {}
    if not isinstance(value, Mapping):
        raise _MalformedError(f"{key} is not an object")
    return value


def _text(parent: Json, key: str) -> str:
    """Return a string field; "" when absent or null."""
    value = parent.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _MalformedError(f"{key} is not a string")
    return value


def _body(parent: Json, key: str) -> str:
    """Return a body of text, at most GitHub's longest (a signed delivery may hold more)."""
    return _text(parent, key)[:BODY_LIMIT]


def _optional_text(parent: Json, key: str) -> str | None:
    """Return a string field; None when absent, null or empty."""
    return _text(parent, key) or None


def _number(parent: Json, key: str, *, required: bool = False) -> int | None:
    value = parent.get(key)
    if value is None:
        if required:
            raise _MalformedError(f"{key} is missing")
        return None
    # JSON true is no number, though Python's bool is an int.
    if not isinstance(value, int) or isinstance(value, bool):
        raise _MalformedError(f"{key} is not an integer")
    return value


def _required_number(parent: Json, key: str) -> int:
    number = _number(parent, key, required=True)
    assert number is not None
    return number


def _flag(parent: Json, key: str) -> bool:
    value = parent.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _MalformedError(f"{key} is not a boolean")
    return value


def _login(parent: Json, key: str) -> str:
    """Return the login of a user object field ("" when there is no user)."""
    return _text(_object(parent, key), "login")


def _texts(parent: Json, key: str) -> tuple[str, ...]:
    value = parent.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _MalformedError(f"{key} is not a list of strings")
    return tuple(value)


def _objects(parent: Json, key: str) -> list[Json]:
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise _MalformedError(f"{key} is not a list of objects")
    return value


def _time(parent: Json, key: str) -> datetime | None:
    """Return GitHub's ISO 8601 timestamp ("2026-11-29T08:00:00Z"); None when unreadable."""
    text = _text(parent, key)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def _repository(payload: Json) -> str:
    return _text(_object(payload, "repository"), "full_name")


def _pull_request(payload: Json) -> PullRequestDetails:
    pull = _object(payload, "pull_request", required=True)
    head = _object(pull, "head")
    return PullRequestDetails(
        number=_required_number(pull, "number"),
        url=_optional_text(pull, "html_url"),
        author=_login(pull, "user"),
        head_ref=_text(head, "ref"),
        head_sha=_text(head, "sha"),
        head_repository=_text(_object(head, "repo"), "full_name"),
        base_ref=_text(_object(pull, "base"), "ref"),
        base_sha=_text(_object(pull, "base"), "sha"),
        default_branch=_text(_object(_object(pull, "base"), "repo"), "default_branch"),
        merged=_flag(pull, "merged"),
        merge_commit_sha=_optional_text(pull, "merge_commit_sha"),
        merged_by=_login(pull, "merged_by"),
    )


def _pull_request_event(payload: Json) -> PullRequestEvent:
    return PullRequestEvent(
        action=_text(payload, "action"),
        repository=_repository(payload),
        sender=_login(payload, "sender"),
        pull_request=_pull_request(payload),
    )


def _review_event(payload: Json) -> ReviewEvent:
    review = _object(payload, "review", required=True)
    return ReviewEvent(
        action=_text(payload, "action"),
        repository=_repository(payload),
        sender=_login(payload, "sender"),
        pull_request=_pull_request(payload),
        review=ReviewDetails(
            id=_number(review, "id"),
            state=_text(review, "state").lower(),
            body=_body(review, "body"),
            reviewer=_login(review, "user"),
            association=_text(review, "author_association"),
            commit_id=_optional_text(review, "commit_id"),
        ),
    )


def _review_comment_event(payload: Json) -> ReviewCommentEvent:
    comment = _object(payload, "comment", required=True)
    return ReviewCommentEvent(
        action=_text(payload, "action"),
        repository=_repository(payload),
        sender=_login(payload, "sender"),
        pull_request=_pull_request(payload),
        comment=LineComment(
            id=_number(comment, "id"),
            review_id=_number(comment, "pull_request_review_id"),
            body=_body(comment, "body"),
            path=_optional_text(comment, "path"),
            # A later push outdates a comment: GitHub then nulls its line, not the original.
            line=_number(comment, "line") or _number(comment, "original_line"),
            start_line=_number(comment, "start_line"),
            author=_login(comment, "user"),
            association=_text(comment, "author_association"),
            url=_optional_text(comment, "html_url"),
        ),
    )


def _issue_comment_event(payload: Json) -> IssueCommentEvent:
    issue = _object(payload, "issue", required=True)
    comment = _object(payload, "comment", required=True)
    user = _object(comment, "user")
    return IssueCommentEvent(
        action=_text(payload, "action"),
        repository=_repository(payload),
        sender=_login(payload, "sender"),
        issue=IssueDetails(
            number=_required_number(issue, "number"),
            url=_optional_text(issue, "html_url"),
            title=_text(issue, "title"),
            body=_body(issue, "body"),
            labels=tuple(_text(label, "name") for label in _objects(issue, "labels")),
            # Present (even empty) only on a pull request's conversation.
            is_pull_request=issue.get("pull_request") is not None,
        ),
        comment=IssueCommentDetails(
            id=_required_number(comment, "id"),
            body=_body(comment, "body"),
            author=_text(user, "login"),
            author_type=_text(user, "type"),
            association=_text(comment, "author_association"),
            url=_optional_text(comment, "html_url"),
            created_at=_time(comment, "created_at"),
            updated_at=_time(comment, "updated_at"),
        ),
    )


def _push_event(payload: Json) -> PushEvent:
    repository = _object(payload, "repository")
    commits = tuple(
        PushCommit(
            added=_texts(commit, "added"),
            modified=_texts(commit, "modified"),
            removed=_texts(commit, "removed"),
        )
        for commit in _objects(payload, "commits")
    )
    return PushEvent(
        repository=_text(repository, "full_name"),
        ref=_text(payload, "ref"),
        default_branch=_text(repository, "default_branch") or FALLBACK_DEFAULT_BRANCH,
        deleted=_flag(payload, "deleted"),
        after=_text(payload, "after"),
        commits=commits,
        changed_paths=changed_paths(commits),
    )


def changed_paths(commits: tuple[PushCommit, ...]) -> tuple[str, ...]:
    """Return the files a push added, changed or removed, each once, in its commits' order."""
    paths: dict[str, None] = {}
    for commit in commits:
        for path in (*commit.added, *commit.modified, *commit.removed):
            paths.setdefault(path)
    return tuple(paths)


_PARSERS: dict[str, Callable[[Json], GitHubEvent]] = {
    "pull_request": _pull_request_event,
    "pull_request_review": _review_event,
    "pull_request_review_comment": _review_comment_event,
    "issue_comment": _issue_comment_event,
    "push": _push_event,
}

# The webhook event (X-GitHub-Event) each typed event is parsed from.
EVENT_NAMES: dict[type[GitHubEvent], str] = {
    PullRequestEvent: "pull_request",
    ReviewEvent: "pull_request_review",
    ReviewCommentEvent: "pull_request_review_comment",
    IssueCommentEvent: "issue_comment",
    PushEvent: "push",
}


def parse_event(name: str, payload: object) -> GitHubEvent | None:
    """Return the typed event of a delivery; None for an event not followed or malformed."""
    parse = _PARSERS.get(name)
    if parse is None:
        return None
    if not isinstance(payload, Mapping):
        log.warning("ignoring a %s payload that is not an object", name)
        return None
    try:
        return parse(payload)
    except _MalformedError as problem:
        log.warning("ignoring a malformed %s payload: %s", name, problem)
        return None
