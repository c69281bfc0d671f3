"""The GitHub port over PyGithub: lazy objects, paced writes, safe retries, counted calls."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from github import Auth, Github, GithubException
from github.ContentFile import ContentFile
from github.Issue import Issue as GithubIssue
from github.IssueComment import IssueComment
from github.PullRequest import PullRequest as GithubPullRequest
from github.PullRequestComment import PullRequestComment
from github.PullRequestReview import PullRequestReview

from bot.config import GitHubSettings
from bot.domain.budgets import GITHUB_PRIMARY
from bot.domain.markers import find_markers
from bot.github.pacing import WriteLimits, WritePacer
from bot.services.metrics import NETWORK_ERROR, OK, RATE_LIMITED, RequestTally, outcome_of_status
from bot.services.ports import (
    BudgetPort,
    Comment,
    FileContent,
    Issue,
    IssueState,
    ProposedChange,
    PullRequest,
    RateLimitedError,
    RequestMeter,
    Review,
    ReviewComment,
    StaleContentError,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
PER_PAGE = 100


class GitHubError(Exception):
    """A GitHub request failed for good; `status` is the HTTP status (0 for no response)."""

    def __init__(self, kind: str, status: int, message: str) -> None:
        super().__init__(f"GitHub {kind} failed ({status or 'no response'}): {message}")
        self.kind = kind
        self.status = status


class GitHubRateLimitedError(GitHubError, RateLimitedError):
    """GitHub asked us to wait longer than we are willing to block; retry at `retry_at`."""

    service = "GitHub"

    def __init__(self, kind: str, status: int, retry_at: float) -> None:
        super().__init__(kind, status, f"rate limited until {retry_at:.0f}")
        self.retry_at = retry_at


class StaleFileError(GitHubError, StaleContentError):
    """The file changed since the caller read it (its blob sha no longer matches)."""


def make_client(settings: GitHubSettings) -> Github:
    """Build the PyGithub client: token or GitHub App auth, lazy objects, no hidden retries."""
    if settings.token:
        auth: Auth.Auth = Auth.Token(settings.token.reveal())
    elif settings.app_id and settings.installation_id and settings.app_private_key:
        # Installation tokens expire after an hour; PyGithub refreshes them on use.
        auth = Auth.AppAuth(
            settings.app_id, settings.app_private_key.reveal()
        ).get_installation_auth(settings.installation_id)
    else:
        raise ValueError(
            "GitHub needs LESSONBOT_GITHUB_TOKEN, or github.app_id, github.installation_id "
            "and LESSONBOT_GITHUB_APP_PRIVATE_KEY"
        )
    return Github(
        base_url=settings.base_url,
        auth=auth,
        # Lazy objects make no request until a missing field is read: no GET /repos first.
        lazy=True,
        # PyGithub's own retry re-sends a POST after a 5xx and so duplicates issues and PRs
        # whose first attempt landed; the adapter retries itself, after checking.
        retry=None,
        per_page=PER_PAGE,
        timeout=30,
        seconds_between_requests=settings.seconds_between_requests,
        # Writes are paced by the adapter's queue, which also knows the hourly limit.
        seconds_between_writes=None,
    )


class GitHubAdapter:
    """The bot's only door to GitHub (implements `bot.services.ports.GitHubPort`)."""

    def __init__(
        self,
        client: Github,
        repository: str,
        *,
        pacer: WritePacer | None = None,
        max_attempts: int = 5,
        backoff: float = 0.5,
        max_rate_limit_wait: float = 900.0,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        meter: RequestMeter | None = None,
        budgets: BudgetPort | None = None,
    ) -> None:
        self._client = client
        self._repository_name = repository
        self._repo = client.get_repo(repository)  # lazy client: no request
        self._pacer = pacer or WritePacer(budgets=budgets)
        # Shared with every process on the database: GitHub's primary limit, once one
        # process sees it spent, and (through the pacer) the content-write budget.
        self._budgets = budgets
        # The latest primary reset this process recorded as spent, so it is written once.
        self._primary_blocked_until = 0.0
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._max_rate_limit_wait = max_rate_limit_wait
        self._sleep = sleep
        self._clock = clock
        self._counts: Counter[str] = Counter()
        self._meter: RequestMeter = meter or RequestTally()
        # When GitHub last answered a request (clock seconds): a fresh answer makes a
        # readiness probe free.
        self._answered_at: float | None = None
        self._login: str | None = None
        self._clone_url: str | None = None

    @classmethod
    def from_settings(cls, settings: GitHubSettings, **options: Any) -> GitHubAdapter:
        """Build the adapter from settings."""
        if not settings.repository:
            raise ValueError("setting github.repository (LESSONBOT_GITHUB_REPOSITORY) is empty")
        limits = WriteLimits(
            per_minute=settings.writes_per_minute,
            per_hour=settings.writes_per_hour,
            min_interval=settings.seconds_between_writes,
        )
        options.setdefault("pacer", WritePacer(limits, budgets=options.get("budgets")))
        return cls(make_client(settings), settings.repository, **options)

    @property
    def request_counts(self) -> Mapping[str, int]:
        """Return how many HTTP requests were made, by kind (retries and pages included)."""
        return dict(self._counts)

    @property
    def total_requests(self) -> int:
        """Return the number of HTTP requests made so far."""
        return sum(self._counts.values())

    async def reachable(self, fresh_seconds: float = 30.0) -> bool:
        """Tell whether GitHub answers: free when it answered lately, else one request for
        the rate limit (which spends no quota), never retried."""
        if self._answered_at is not None and self._clock() - self._answered_at < fresh_seconds:
            return True
        self._counts["rate_limit.get"] += 1
        try:
            await asyncio.to_thread(self._client.get_rate_limit)
        except GithubException as error:
            self._meter.request(outcome_of_status(error.status))
            log.warning("GitHub readiness: rate_limit answered %s", error.status)
            return False
        except requests.RequestException as error:
            self._meter.request(NETWORK_ERROR)
            log.warning("GitHub readiness: %s", type(error).__name__)
            return False
        self._meter.request(OK)
        self._answered_at = self._clock()
        return True

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._client.close()

    # --- the retry loop every request goes through --------------------------------------

    async def _call(
        self,
        kind: str,
        operation: Callable[[], T],
        *,
        write: bool = False,
        recover: Callable[[], Awaitable[T | None]] | None = None,
    ) -> T:
        """Run one blocking PyGithub request off the event loop, with safe retries.

        After an ambiguous failure (5xx, timeout, dropped connection) a write may have landed;
        `recover` looks for its result before the write is sent again, so a retry never
        duplicates it.
        """
        for attempt in range(1, self._max_attempts + 1):
            await self._wait_for_budgets(write)
            self._counts[kind] += 1
            try:
                result = await asyncio.to_thread(operation)
            except GithubException as error:
                status = error.status
                wait = self._rate_limit_wait(error)
                self._meter.request(RATE_LIMITED if wait is not None else outcome_of_status(status))
                if status < 500 and status != 401:
                    self._answered_at = self._clock()
                if wait is not None:
                    # Every process waits for it, not only this one.
                    await self._note_primary(self._clock() + wait)
                    if wait > self._longest_wait():
                        raise GitHubRateLimitedError(kind, status, self._clock() + wait) from error
                    log.warning("GitHub %s rate limited (%s); waiting %.1fs", kind, status, wait)
                    self._meter.waited("rate_limit", wait)
                    await self._sleep(wait)
                    continue
                if status < 500:
                    raise GitHubError(kind, status, _message(error)) from error
                failure: Exception = error
            except (requests.ConnectionError, requests.Timeout) as error:
                self._meter.request(NETWORK_ERROR)
                status, failure = 0, error
            else:
                self._meter.request(OK)
                self._answered_at = self._clock()
                await self._note_primary()
                return result
            log.warning("GitHub %s failed (attempt %d): %s", kind, attempt, failure)
            if recover is not None:
                found = await recover()
                if found is not None:
                    log.info("GitHub %s had landed before it failed; not sending it again", kind)
                    return found
            if attempt < self._max_attempts:
                await self._sleep(self._backoff * 2 ** (attempt - 1) * (1 + random.random() / 4))  # noqa: S311
        raise GitHubError(kind, status, f"gave up after {self._max_attempts} attempts")

    async def _wait_for_budgets(self, write: bool) -> None:
        """Wait for the shared budgets before a request: writes for the content-write
        budget (and the primary limit), reads for the primary limit alone."""
        if write:
            paced = await self._pacer.acquire()
            if paced > 0:
                shared = self._pacer.budgets is not None
                self._meter.waited("pacing", paced, self._pacer.rule.label if shared else "")
        elif self._budgets is not None:
            waited = await self._budgets.clear(GITHUB_PRIMARY)
            if waited > 0:
                self._meter.waited("rate_limit", waited, GITHUB_PRIMARY.label)

    def _longest_wait(self) -> float:
        """Return the longest rate-limit wait to sit out here (a job's is a few seconds)."""
        if self._budgets is None:
            return self._max_rate_limit_wait
        return min(self._max_rate_limit_wait, self._budgets.allowance())

    async def _note_primary(self, until: float | None = None) -> None:
        """Share a spent primary limit (from the last response's headers, or a wait GitHub
        asked for) with every process, once per reset."""
        if self._budgets is None:
            return
        if until is None:
            requester = self._client.requester
            remaining, limit = requester.rate_limiting
            if limit < 0 or remaining > 0:
                return
            # A second past the reset, as GitHub's clock and ours may differ.
            until = float(requester.rate_limiting_resettime) + 1.0
        if until <= max(self._clock(), self._primary_blocked_until):
            return
        self._primary_blocked_until = until
        await self._budgets.block(GITHUB_PRIMARY, until)

    def _rate_limit_wait(self, error: GithubException) -> float | None:
        """Return how long GitHub asks us to wait, or None when this is not a rate limit."""
        if error.status not in (403, 429):
            return None
        headers = {key.lower(): value for key, value in (error.headers or {}).items()}
        if "retry-after" in headers:
            try:
                return max(0.0, float(headers["retry-after"]))
            except ValueError:
                return 60.0
        if headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
            return max(0.0, float(headers["x-ratelimit-reset"]) - self._clock()) + 1.0
        if "secondary rate limit" in _message(error).lower():
            return 60.0  # GitHub's advice when it gives no Retry-After
        return None

    async def _pages(self, kind: str, fetch_page: Callable[[int], list[T]]) -> list[T]:
        """Fetch every page of a list, one counted request per page."""
        items: list[T] = []
        page = 0
        while True:
            batch = await self._call(kind, lambda page=page: fetch_page(page))
            items.extend(batch)
            if len(batch) < PER_PAGE:
                return items
            page += 1

    async def login(self) -> str:
        """Return the login the bot writes to GitHub as ("" when GitHub will not say)."""
        if self._login is None:
            try:
                self._login = await self._call("users.me", lambda: self._client.get_user().login)
            except GitHubError as error:
                # A GitHub App's installation token may not read /user; markers still tell.
                log.warning("GitHub login unknown: %s", error)
                self._login = ""
        return self._login

    async def clone_url(self) -> str:
        """Return the repository's HTTPS clone URL, as GitHub reports it (cached)."""
        if self._clone_url is None:
            self._clone_url = await self._call("repos.get", lambda: self._repo.clone_url)
        return self._clone_url

    async def git_token(self) -> str | None:
        """Return the token git should fetch with: the configured or installation token."""
        auth = self._client.requester.auth
        if isinstance(auth, Auth.Token | Auth.AppInstallationAuth):
            # An installation token is renewed here when it is about to expire (a request).
            return await asyncio.to_thread(lambda: auth.token)
        return None

    # --- issues and comments -------------------------------------------------------------

    async def get_issue(self, number: int) -> Issue:
        """Return one issue."""
        return await self._call("issues.get", lambda: _issue(self._complete_issue(number)))

    def _complete_issue(self, number: int) -> GithubIssue:
        issue = self._repo.get_issue(number)
        issue.complete()
        return issue

    async def create_issue(
        self, title: str, body: str, labels: Sequence[str], marker: str
    ) -> Issue:
        """Create an issue whose body holds `marker`; a retry finds it instead of repeating."""
        if marker not in body:
            raise ValueError("the issue body must contain its marker")
        started = self._clock()

        async def recover() -> Issue | None:
            return await self._find_recent_issue(marker, started)

        created = await self._call(
            "issues.create",
            lambda: _issue(self._repo.create_issue(title=title, body=body, labels=list(labels))),
            write=True,
            recover=recover,
        )
        return created

    async def _find_recent_issue(self, marker: str, since: float) -> Issue | None:
        """Find an issue with this marker created since a time (newest first, one page)."""
        # Clocks differ between us and GitHub; a minute of slack costs nothing.
        after = datetime.fromtimestamp(since, UTC) - timedelta(minutes=1)
        wanted = find_markers(marker)

        def newest() -> list[Issue]:
            issues = self._repo.get_issues(
                state="all", sort="created", direction="desc", since=after
            )
            return [_issue(item) for item in issues.get_page(0)]

        for issue in await self._call("issues.list", newest):
            if wanted.items() <= find_markers(issue.body).items():
                return issue
        return None

    async def update_issue(
        self,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        state: IssueState | None = None,
    ) -> Issue:
        """Change an issue's title, body or state (PATCH is idempotent: plain retries)."""
        changes: dict[str, Any] = {
            key: value
            for key, value in (("title", title), ("body", body), ("state", state))
            if value is not None
        }

        def edit() -> Issue:
            issue = self._repo.get_issue(number)
            issue.edit(**changes)
            return _issue(issue)

        return await self._call("issues.update", edit, write=True)

    async def list_issues(self, label: str | None = None, state: str = "all") -> list[Issue]:
        """Return every issue (pull requests left out) with a label, all pages."""
        options: dict[str, Any] = {"state": state, "sort": "created", "direction": "asc"}
        if label:
            options["labels"] = [label]
        listing = self._repo.get_issues(**options)
        issues = await self._pages(
            "issues.list", lambda page: [_issue(i) for i in listing.get_page(page)]
        )
        return [issue for issue in issues if not issue.is_pull_request]

    async def add_labels(self, number: int, labels: Sequence[str]) -> None:
        """Add labels to an issue or PR (adding a label twice is harmless)."""
        if labels:
            await self._call(
                "labels.add",
                lambda: self._repo.get_issue(number).add_to_labels(*labels),
                write=True,
            )

    async def create_comment(self, number: int, body: str, marker: str | None = None) -> Comment:
        """Comment on an issue or PR; with a marker, never twice."""
        if marker is not None:
            if marker not in body:
                raise ValueError("the comment body must contain its marker")
            for comment in await self.list_comments(number):
                if find_markers(marker).items() <= find_markers(comment.body).items():
                    return comment

        async def recover() -> Comment | None:
            if marker is None:
                return None  # without a marker, a lost comment cannot be told from a new one
            for comment in await self.list_comments(number):
                if find_markers(marker).items() <= find_markers(comment.body).items():
                    return comment
            return None

        return await self._call(
            "comments.create",
            lambda: _comment(number, self._repo.get_issue(number).create_comment(body)),
            write=True,
            recover=recover,
        )

    async def update_comment(self, number: int, comment_id: int, body: str) -> None:
        """Replace a comment's body (sending the same body twice is harmless)."""

        def edit() -> None:
            self._repo.get_issue(number).get_comment(comment_id).edit(body)

        await self._call("comments.update", edit, write=True)

    async def delete_comment(self, number: int, comment_id: int) -> None:
        """Delete a comment; one already gone counts as deleted."""

        def delete() -> None:
            try:
                self._repo.get_issue(number).get_comment(comment_id).delete()
            except GithubException as error:
                if error.status != 404:
                    raise

        await self._call("comments.delete", delete, write=True)

    async def list_comments(self, number: int) -> list[Comment]:
        """Return every comment of an issue or PR, all pages."""
        listing = self._repo.get_issue(number).get_comments()
        return await self._pages(
            "comments.list", lambda page: [_comment(number, c) for c in listing.get_page(page)]
        )

    # --- files and pull requests ---------------------------------------------------------

    async def get_file(self, path: str, ref: str = "main") -> FileContent:
        """Return a file's text and blob sha at a ref."""
        return await self._call("contents.get", lambda: _file(self._repo.get_contents(path, ref)))

    async def open_pull_request(self, change: ProposedChange) -> PullRequest:
        """Branch, commit one file and open a PR: six requests, each safe to retry."""
        head_sha = await self._call(
            "git.ref.get", lambda: self._repo.get_git_ref(f"heads/{change.base}").object.sha
        )
        current = await self.get_file(change.path, head_sha)
        if change.expected_sha is not None and current.sha != change.expected_sha:
            raise StaleFileError("contents.get", 409, f"{change.path} changed since it was read")
        await self._create_branch(change.branch, head_sha)
        await self._commit_file(change, current.sha)
        pull = await self._create_pull(change)
        await self.add_labels(pull.number, change.labels)
        return pull

    async def _create_branch(self, branch: str, sha: str) -> None:
        async def recover() -> bool | None:
            return True if await self.branch_sha(branch) == sha else None

        try:
            await self._call(
                "git.ref.create",
                lambda: self._repo.create_git_ref(f"refs/heads/{branch}", sha) and True,
                write=True,
                recover=recover,
            )
        except GitHubError as error:
            # 422 "Reference already exists": a retry of our own, or an earlier attempt.
            if error.status != 422 or await self.branch_sha(branch) is None:
                raise

    async def branch_sha(self, branch: str) -> str | None:
        """Return the commit a branch points at (None when there is no such branch)."""
        try:
            return await self._call(
                "git.ref.get", lambda: self._repo.get_git_ref(f"heads/{branch}").object.sha
            )
        except GitHubError as error:
            if error.status == 404:
                return None
            raise

    async def _commit_file(self, change: ProposedChange, blob_sha: str) -> None:
        async def landed() -> bool | None:
            on_branch = await self.get_file(change.path, change.branch)
            return True if on_branch.text == change.content else None

        try:
            await self._call(
                "contents.update",
                lambda: self._repo.update_file(
                    change.path, change.commit_message, change.content, blob_sha, change.branch
                ),
                write=True,
                recover=landed,
            )
        except GitHubError as error:
            # 409: the branch already has a newer version: ours, if an earlier try landed.
            if error.status != 409 or not await landed():
                raise

    async def _create_pull(self, change: ProposedChange) -> PullRequest:
        async def existing() -> PullRequest | None:
            head = f"{self._repository_name.split('/')[0]}:{change.branch}"

            def find() -> list[PullRequest]:
                pulls = self._repo.get_pulls(state="all", head=head, base=change.base)
                return [_pull(pull) for pull in pulls.get_page(0)]

            found = await self._call("pulls.list", find)
            return found[0] if found else None

        try:
            return await self._call(
                "pulls.create",
                lambda: _pull(
                    self._repo.create_pull(
                        base=change.base,
                        head=change.branch,
                        title=change.title,
                        body=change.body,
                        maintainer_can_modify=True,
                    )
                ),
                write=True,
                recover=existing,
            )
        except GitHubError as error:
            # 422 "A pull request already exists": an earlier attempt opened it.
            if error.status == 422 and (pull := await existing()) is not None:
                return pull
            raise

    async def get_pull_request(self, number: int) -> PullRequest:
        """Return one pull request."""

        def fetch() -> PullRequest:
            pull = self._repo.get_pull(number)
            pull.complete()
            return _pull(pull)

        return await self._call("pulls.get", fetch)

    async def list_reviews(self, number: int) -> list[Review]:
        """Return a PR's reviews, oldest first, all pages."""
        listing = self._repo.get_pull(number).get_reviews()
        return await self._pages(
            "reviews.list",
            lambda page: [_review(review) for review in listing.get_page(page)],
        )

    async def get_review(self, number: int, review_id: int) -> Review:
        """Return one review of a PR."""
        return await self._call(
            "reviews.get", lambda: _review(self._repo.get_pull(number).get_review(review_id))
        )

    async def permission(self, login: str) -> str:
        """Return a person's permission on the repository: admin, write, read or none."""
        try:
            return await self._call(
                "collaborators.permission",
                lambda: self._repo.get_collaborator_permission(login),
            )
        except GitHubError as error:
            if error.status == 404:  # no such user: no access
                return "none"
            raise

    async def merge_pull_request(self, number: int, message: str) -> str:
        """Merge a PR with a merge commit; return the merge commit sha."""

        async def already_merged() -> str | None:
            pull = await self.get_pull_request(number)
            return pull.merge_commit_sha if pull.merged else None

        status = await self._call(
            "pulls.merge",
            lambda: self._repo.get_pull(number).merge(commit_message=message, merge_method="merge"),
            write=True,
            recover=already_merged,
        )
        return status if isinstance(status, str) else status.sha

    async def commit_file(
        self, branch: str, path: str, content: str, message: str, *, expected_sha: str
    ) -> str:
        """Commit one file at blob `expected_sha` on a branch; a landed retry commits nothing."""

        async def landed() -> str | None:
            try:
                on_branch = await self.get_file(path, branch)
            except GitHubError as error:
                if error.status == 404:
                    return None
                raise
            return await self.branch_sha(branch) if on_branch.text == content else None

        try:
            return await self._call(
                "contents.update",
                lambda: (
                    self._repo.update_file(path, message, content, expected_sha, branch)[
                        "commit"
                    ].sha
                ),
                write=True,
                recover=landed,
            )
        except GitHubError as error:
            # 409: the file is no longer at expected_sha, either by our own earlier try
            # (it already holds `content`) or by someone else's change.
            if error.status != 409:
                raise
            head = await landed()
            if head is None:
                raise StaleFileError(
                    "contents.update", 409, f"{path} changed on {branch} since it was read"
                ) from error
            return head

    async def reset_branch(self, branch: str, sha: str) -> None:
        """Force-move a branch to a commit (moving it where it already is is harmless)."""
        # A lazy GitRef would PATCH the /git/ref/ URL it was read from; updates go to /git/refs/.
        url = f"{self._repo.url}/git/refs/heads/{quote(branch)}"
        await self._call(
            "git.ref.update",
            lambda: self._client.requester.requestJsonAndCheck(
                "PATCH", url, input={"sha": sha, "force": True}
            ),
            write=True,
        )

    async def close_pull_request(self, number: int) -> PullRequest:
        """Close a PR without merging; closing a closed one again changes nothing."""

        def close() -> PullRequest:
            pull = self._repo.get_pull(number)
            pull.edit(state="closed")
            return _pull(pull)

        try:
            return await self._call("pulls.update", close, write=True)
        except GitHubError as error:
            # GitHub refuses state changes on a merged PR (422): it is closed already.
            if error.status != 422:
                raise
            pull = await self.get_pull_request(number)
            if pull.state != "closed":
                raise
            return pull

    async def update_pull_branch(self, number: int) -> bool:
        """Merge the base branch into a PR's branch (GitHub's "Update branch").

        Return False when the two conflict; a branch already up to date counts as updated.
        """

        def update() -> tuple[int, str]:
            # PyGithub's update_branch() answers only True/False: the reason is needed here.
            status, _, data = self._repo._requester.requestJson(
                "PUT", f"{self._repo.url}/pulls/{number}/update-branch", input={}
            )
            return status, data or ""

        status, data = await self._call("pulls.update_branch", update, write=True)
        if status in (200, 202):
            return True
        if status == 422 and ("no new commits" in data.lower() or "not open" in data.lower()):
            # Up to date already, or merged or closed meanwhile: nothing to bring over.
            return True
        if status == 422 and "conflict" in data.lower():
            return False
        raise GitHubError("pulls.update_branch", status, data[:200])

    async def request_reviewers(self, number: int, reviewers: Sequence[str]) -> None:
        """Ask people to review a PR; a login GitHub refuses (no collaborator) is skipped."""
        logins = list(dict.fromkeys(reviewers))
        if not logins:
            return

        def ask(who: list[str]) -> bool:
            self._repo.get_pull(number).create_review_request(reviewers=who)
            return True

        try:
            await self._call("pulls.review_requests", lambda: ask(logins), write=True)
            return
        except GitHubError as error:
            if error.status != 422:
                raise
            log.warning("GitHub refused reviewers %s on #%s: %s", logins, number, error)
        if len(logins) == 1:
            return
        # One refused login fails the whole request: ask the others one by one.
        for login in logins:
            try:
                await self._call(
                    "pulls.review_requests", lambda login=login: ask([login]), write=True
                )
            except GitHubError as error:
                if error.status != 422:
                    raise
                log.warning("GitHub refused reviewer %s on #%s: %s", login, number, error)

    async def pull_request_files(self, number: int) -> list[str]:
        """Return the paths a pull request changes, all pages."""
        listing: list[Any] = []

        def fetch(page: int) -> list[str]:
            # The pull request is read inside the first counted request, off the loop.
            if not listing:
                listing.append(self._repo.get_pull(number).get_files())
            return [item.filename for item in listing[0].get_page(page)]

        return await self._pages("pulls.files", fetch)

    async def list_review_comments(self, number: int) -> list[ReviewComment]:
        """Return every review comment of a PR, all pages, oldest first."""
        listing = self._repo.get_pull(number).get_review_comments(sort="created", direction="asc")
        return await self._pages(
            "review_comments.list",
            lambda page: [_review_comment(c) for c in listing.get_page(page)],
        )


def _message(error: GithubException) -> str:
    data = error.data
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return data["message"]
    return str(data)[:200]


def _issue(issue: GithubIssue) -> Issue:
    # Only fields every issue response carries: reading a missing one on a lazy object
    # would cost a request.
    return Issue(
        number=issue.number,
        title=issue.title,
        body=issue.body or "",
        state="closed" if issue.state == "closed" else "open",
        labels=tuple(label.name for label in issue.labels),
        html_url=issue.html_url,
        is_pull_request="/pull/" in issue.html_url,
    )


def _comment(number: int, comment: IssueComment) -> Comment:
    return Comment(
        id=comment.id,
        issue_number=number,
        author=comment.user.login if comment.user else "",
        body=comment.body or "",
        html_url=comment.html_url,
        created_at=comment.created_at,
    )


def _file(content: ContentFile | list[ContentFile]) -> FileContent:
    if isinstance(content, list):
        raise GitHubError("contents.get", 422, "expected a file, found a directory")
    return FileContent(content.path, content.decoded_content.decode("utf-8"), content.sha)


def _review(review: PullRequestReview) -> Review:
    return Review(
        review.id, review.user.login if review.user else "", review.state, review.body or ""
    )


def _review_comment(comment: PullRequestComment) -> ReviewComment:
    # Every field read here is in each review comment response: no completion request.
    return ReviewComment(
        id=comment.id,
        review_id=comment.pull_request_review_id,
        author=comment.user.login if comment.user else "",
        body=comment.body or "",
        path=comment.path,
        line=comment.line,
        start_line=comment.start_line,
        side=comment.side or "RIGHT",
        commit_id=comment.commit_id,
        html_url=comment.html_url,
        # GitHub sends in_reply_to_id on replies only: read from the response, not the lazy
        # attribute, whose absence would fetch the comment again.
        in_reply_to_id=_raw(comment).get("in_reply_to_id"),
    )


def _raw(item: object) -> dict[str, Any]:
    """Return the JSON a PyGithub object was built from, without completing a lazy one."""
    data = getattr(item, "_rawData", None)
    return data if isinstance(data, dict) else {}


def _pull(pull: GithubPullRequest) -> PullRequest:
    return PullRequest(
        number=pull.number,
        title=pull.title,
        state="closed" if pull.state == "closed" else "open",
        merged=bool(pull.merged),
        head=pull.head.ref,
        base=pull.base.ref,
        html_url=pull.html_url,
        head_sha=pull.head.sha,
        merge_commit_sha=pull.merge_commit_sha,
        body=pull.body or "",
        user=pull.user.login if pull.user else "",
        # Only a single PR's response has it; a listed or created one would need a request.
        mergeable_state=_raw(pull).get("mergeable_state"),
    )
