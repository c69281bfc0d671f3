"""The GitHub sandbox's world as JSON; git objects and refs stay in the bare repositories.

People are saved once and referred to by login, labels by id and comments by id, so a
restored world shares objects as the running one did (`user is repo.owner` still holds).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sandboxes.github.gitrepo import GitRepo
from sandboxes.github.state import (
    App,
    Apps,
    Comment,
    Issue,
    Label,
    Pull,
    Repo,
    Review,
    ReviewComment,
    State,
    User,
)
from sandboxes.persist import decode, encode

VERSION = 1


def snapshot(state: State, apps: Apps, repos_dir: Path, world_id: str, port: int) -> dict[str, Any]:
    """Return the world: people, repositories with issues, pulls, comments, labels, ids."""
    return {
        "version": VERSION,
        "world_id": world_id,
        "port": port,
        "next_ids": dict(state.next_ids),
        "users": [encode(user) for user in state.users.values()],
        "repos": [_repo(repo, repos_dir) for repo in state.repos.values()],
        "apps": [encode(app) for app in apps.by_installation.values()],
        "app_tokens": {
            token: [login, expires.isoformat()] for token, (login, expires) in apps.tokens.items()
        },
    }


def _repo(repo: Repo, repos_dir: Path) -> dict[str, Any]:
    return {
        "id": repo.id,
        "name": repo.name,
        "owner": repo.owner.login,
        "git": repo.git.path.relative_to(repos_dir).as_posix(),
        "created_at": repo.created_at.isoformat(),
        "updated_at": repo.updated_at.isoformat(),
        "pushed_at": repo.pushed_at.isoformat(),
        "default_branch": repo.default_branch,
        "description": repo.description,
        "labels": [encode(label) for label in repo.labels.values()],
        "comments": [_comment(comment) for comment in repo.comments.values()],
        "issues": [_issue(issue) for issue in repo.issues.values()],
        "collaborators": dict(repo.collaborators),
        "next_number": repo.next_number,
        "records": repo.records,
    }


def _comment(comment: Comment) -> dict[str, Any]:
    return {**encode(comment), "user": comment.user.login}


def _issue(issue: Issue) -> dict[str, Any]:
    data = encode(issue)
    data["user"] = issue.user.login
    data["closed_by"] = issue.closed_by.login if issue.closed_by else None
    data["labels"] = [encode(label) for label in issue.labels]
    data["assignees"] = [user.login for user in issue.assignees]
    data["comments"] = [comment.id for comment in issue.comments]
    if issue.pull is not None:
        pull = issue.pull
        data["pull"] = {
            **encode(pull),
            "merged_by": pull.merged_by.login if pull.merged_by else None,
            "requested_reviewers": [user.login for user in pull.requested_reviewers],
            "reviews": [{**encode(review), "user": review.user.login} for review in pull.reviews],
            "review_comments": [
                {**encode(comment), "user": comment.user.login} for comment in pull.review_comments
            ],
        }
    return data


def restore(data: dict[str, Any], repos_dir: Path) -> tuple[State, Apps]:
    """Return the state and apps of a saved world, its repositories under `repos_dir`."""
    if data.get("version") != VERSION:
        raise ValueError(f"unknown GitHub sandbox world version {data.get('version')!r}")
    state = State()
    state.next_ids.update({kind: int(value) for kind, value in data["next_ids"].items()})
    for raw in data["users"]:
        user = decode(User, raw)
        state.users[user.login.lower()] = user

    def person(login: str | None) -> User | None:
        return None if login is None else state.user(login)

    for raw in data["repos"]:
        owner = state.user(raw["owner"])
        repo = Repo(
            id=raw["id"],
            name=raw["name"],
            owner=owner,
            git=GitRepo(repos_dir / raw["git"]),
            created_at=_time(raw["created_at"]),
            updated_at=_time(raw["updated_at"]),
            pushed_at=_time(raw["pushed_at"]),
            default_branch=raw["default_branch"],
            description=raw["description"],
            collaborators=dict(raw["collaborators"]),
            next_number=raw["next_number"],
            records=raw.get("records", {}),
        )
        for label in (decode(Label, item) for item in raw["labels"]):
            repo.labels[label.name.lower()] = label
        by_label_id = {label.id: label for label in repo.labels.values()}
        for item in raw["comments"]:
            comment = decode(Comment, {**item, "user": None})
            comment.user = state.user(item["user"])
            repo.comments[comment.id] = comment
        for item in raw["issues"]:
            repo.issues[item["number"]] = _restore_issue(item, repo, by_label_id, person)
        state.repos[repo.full_name.lower()] = repo

    apps = Apps()
    for raw in data.get("apps", []):
        app = decode(App, raw)
        apps.by_installation[app.installation_id] = app
    for token, (login, expires) in data.get("app_tokens", {}).items():
        apps.tokens[token] = (login, _time(expires))
    return state, apps


def _restore_issue(
    item: dict[str, Any],
    repo: Repo,
    labels: dict[int, Label],
    person: Callable[[str | None], User | None],
) -> Issue:
    plain = {
        key: value
        for key, value in item.items()
        if key not in ("user", "closed_by", "labels", "assignees", "comments", "pull")
    }
    issue = decode(Issue, {**plain, "user": None})
    issue.user = person(item["user"])
    issue.closed_by = person(item["closed_by"])
    issue.labels = [labels.get(raw["id"]) or decode(Label, raw) for raw in item["labels"]]
    issue.assignees = [person(login) for login in item["assignees"]]
    issue.comments = [repo.comments[id_] for id_ in item["comments"] if id_ in repo.comments]
    raw_pull = item.get("pull")
    if raw_pull is not None:
        fields = {
            key: value
            for key, value in raw_pull.items()
            if key not in ("merged_by", "requested_reviewers", "reviews", "review_comments")
        }
        pull = decode(Pull, fields)
        pull.merged_by = person(raw_pull["merged_by"])
        pull.requested_reviewers = [person(login) for login in raw_pull["requested_reviewers"]]
        for raw_review in raw_pull["reviews"]:
            review = decode(Review, {**raw_review, "user": None})
            review.user = person(raw_review["user"])
            pull.reviews.append(review)
        for raw_comment in raw_pull.get("review_comments", []):
            comment = decode(ReviewComment, {**raw_comment, "user": None})
            comment.user = person(raw_comment["user"])
            pull.review_comments.append(comment)
        issue.pull = pull
    return issue


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def replace_text(state: State, old: str, new: str) -> int:
    """Replace `old` by `new` in every issue and pull request body, comment, review and
    review comment (e.g. a moved server's address); return how many texts changed."""
    changed = 0
    for repo in state.repos.values():
        for issue in repo.issues.values():
            texts: list[Any] = [issue, *issue.comments]
            if issue.pull is not None:
                texts += [*issue.pull.reviews, *issue.pull.review_comments]
            for item in texts:
                if item.body and old in item.body:
                    item.body = item.body.replace(old, new)
                    changed += 1
    return changed
