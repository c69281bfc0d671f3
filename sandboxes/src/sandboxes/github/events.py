"""Webhook event bodies (`issues`, `issue_comment`, `pull_request`, ...) and their emission."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandboxes.github.payloads import JSON, Payloads, PullStats
from sandboxes.github.state import Comment, Issue, Label, Repo, Review, User
from sandboxes.github.webhooks import WebhookSender


class Events:
    """Build webhook payloads the way GitHub shapes them and hand them to the sender."""

    def __init__(self, payloads: Payloads, sender: WebhookSender) -> None:
        self.payloads = payloads
        self.sender = sender
        # Told of every repository event (repo, sender, body), e.g. to keep issue timelines.
        self.observers: list[Callable[[Repo, User, JSON], None]] = []

    def _envelope(self, repo: Repo, sender: User, body: JSON) -> JSON:
        """Add the repository and sender every repository event carries."""
        body["repository"] = self.payloads.repository(repo, hook=True)
        self._add_organization(repo, body)
        body["sender"] = self.payloads.user(sender)
        for observe in self.observers:
            observe(repo, sender, body)
        return body

    def _add_organization(self, repo: Repo, body: JSON) -> None:
        """Add `organization`, which GitHub sends only when an organization owns the repo."""
        if repo.owner.type == "Organization":
            body["organization"] = self.payloads.organization(repo.owner)

    def issues(
        self,
        action: str,
        repo: Repo,
        issue: Issue,
        sender: User,
        *,
        label: Label | None = None,
        changes: JSON | None = None,
        assignee: User | None = None,
    ) -> None:
        """Emit an `issues` event."""
        body: JSON = {"action": action, "issue": self.payloads.issue(repo, issue, hook=True)}
        if changes is not None:
            body["changes"] = changes
        if assignee is not None:
            body["assignee"] = self.payloads.user(assignee)
        if label is not None:
            body["label"] = self.payloads.label(repo, label)
        self.sender.send("issues", self._envelope(repo, sender, body))

    def issue_comment(
        self,
        action: str,
        repo: Repo,
        issue: Issue,
        comment: Comment,
        sender: User,
        *,
        changes: JSON | None = None,
    ) -> None:
        """Emit an `issue_comment` event."""
        body: JSON = {"action": action}
        if changes is not None:
            body["changes"] = changes
        body["issue"] = self.payloads.issue(repo, issue, hook=True)
        body["comment"] = self.payloads.comment(repo, comment)
        self.sender.send("issue_comment", self._envelope(repo, sender, body))

    def pull_request(
        self,
        action: str,
        repo: Repo,
        issue: Issue,
        stats: PullStats,
        sender: User,
        **extra: Any,
    ) -> None:
        """Emit a `pull_request` event; `extra` holds label, changes, before/after, reviewer."""
        body: JSON = {
            "action": action,
            "number": issue.number,
            "pull_request": self.payloads.pull(repo, issue, stats, hook=True),
        }
        label = extra.pop("label", None)
        if label is not None:
            body["label"] = self.payloads.label(repo, label)
        reviewer = extra.pop("requested_reviewer", None)
        if reviewer is not None:
            body["requested_reviewer"] = self.payloads.user(reviewer)
        body.update(extra)
        self.sender.send("pull_request", self._envelope(repo, sender, body))

    def pull_request_review(
        self, action: str, repo: Repo, issue: Issue, review: Review, sender: User
    ) -> None:
        """Emit a `pull_request_review` event."""
        body: JSON = {
            "action": action,
            "review": self.payloads.review(repo, issue, review, hook=True),
            "pull_request": self.payloads.pull(repo, issue, hook=True),
        }
        self.sender.send("pull_request_review", self._envelope(repo, sender, body))

    def pull_request_review_comment(
        self,
        action: str,
        repo: Repo,
        issue: Issue,
        comment: JSON,
        sender: User,
        *,
        changes: JSON | None = None,
    ) -> None:
        """Emit a `pull_request_review_comment` event for an already rendered comment."""
        body: JSON = {"action": action}
        if changes is not None:
            body["changes"] = changes
        body["comment"] = comment
        body["pull_request"] = self.payloads.pull(repo, issue, hook=True)
        self.sender.send("pull_request_review_comment", self._envelope(repo, sender, body))

    def push(
        self,
        repo: Repo,
        sender: User,
        *,
        ref: str,
        before: str,
        after: str,
        created: bool,
        deleted: bool,
        forced: bool,
        commits: list[JSON],
        head_commit: JSON | None,
    ) -> None:
        """Emit a `push` event."""
        html = self.payloads.repo_html(repo)
        if created:
            compare = f"{html}/commit/{after[:12]}"
        else:
            compare = f"{html}/compare/{before[:12]}...{after[:12]}"
        body: JSON = {
            "ref": ref,
            "before": before,
            "after": after,
            "repository": self.payloads.repository(repo, hook=True, push=True),
            "pusher": {"name": sender.login, "email": sender.email},
        }
        self._add_organization(repo, body)
        body |= {
            "sender": self.payloads.user(sender),
            "created": created,
            "deleted": deleted,
            "forced": forced,
            "base_ref": None,
            "compare": compare,
            "commits": commits,
            "head_commit": head_commit,
        }
        self.sender.send("push", body)
