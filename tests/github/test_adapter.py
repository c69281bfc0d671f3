"""The real PyGithub adapter against the GitHub sandbox, over HTTP, with injected faults."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from github import Auth, Github

from bot.config import GitHubSettings, Secret
from bot.domain.markers import marker
from bot.github.adapter import GitHubAdapter, GitHubError, GitHubRateLimitedError, StaleFileError
from bot.sandbox.github import GitHubSandbox
from bot.services.ports import ProposedChange
from tests.conftest import FIXTURES

CONTENT = FIXTURES / "content"
LESSON = "programs/demo/lessons/en/pipes.mdx"


@pytest.fixture
async def sandbox() -> AsyncIterator[GitHubSandbox]:
    """Start a sandbox whose repository holds the fixture lessons."""
    async with GitHubSandbox(CONTENT, "lessons/content") as running:
        yield running


def make_adapter(sandbox: GitHubSandbox, **options: object) -> GitHubAdapter:
    """Build the adapter the way the bot does, from settings, pointed at the sandbox."""
    settings = GitHubSettings(
        base_url=sandbox.base_url,
        repository=sandbox.repository,
        token=Secret("lessonbot"),
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    options.setdefault("backoff", 0.01)
    return GitHubAdapter.from_settings(settings, **options)  # type: ignore[arg-type]


def as_user(sandbox: GitHubSandbox, login: str) -> Github:
    """Return a plain PyGithub client acting as another user (a maintainer, say)."""
    return Github(
        base_url=sandbox.base_url,
        auth=Auth.Token(login),
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )


def api_requests(sandbox: GitHubSandbox, since: int = 0) -> list[str]:
    """Return the API requests the sandbox received, as 'METHOD /path'."""
    return [f"{entry['method']} {entry['path']}" for entry in sandbox.requests[since:]]


async def git(sandbox: GitHubSandbox, *args: str) -> str:
    """Run git on the sandbox's repository without blocking the event loop it serves on."""
    process = await asyncio.create_subprocess_exec(
        "git", "-C", str(sandbox.git_dir), *args, stdout=asyncio.subprocess.PIPE
    )
    output, _ = await process.communicate()
    assert process.returncode == 0
    return output.decode()


def change(branch: str = "suggestion-1", content: str = "new text\n") -> ProposedChange:
    """Return a suggestion-shaped change to the fixture lesson."""
    return ProposedChange(
        branch=branch,
        path=LESSON,
        content=content,
        commit_message="Fix a typo in pipes",
        title="Fix a typo in pipes",
        body=f"Suggested by a learner.\n\n{marker('suggestion', branch)}",
        labels=("suggestion", "locale:en"),
    )


async def test_issue_lifecycle_and_exact_request_count(sandbox: GitHubSandbox) -> None:
    adapter = make_adapter(sandbox)
    hidden = marker("lesson", "demo/pipes")
    issue = await adapter.create_issue(
        "Pipes", f"Talk here.\n{hidden}", ["lesson-discussion"], hidden
    )
    assert issue.title == "Pipes" and issue.state == "open"
    assert issue.labels == ("lesson-discussion",)
    renamed = await adapter.update_issue(issue.number, title="Pipes, renamed")
    closed = await adapter.update_issue(issue.number, state="closed")
    fetched = await adapter.get_issue(issue.number)
    assert (renamed.title, closed.state) == ("Pipes, renamed", "closed")
    assert (fetched.title, fetched.state, fetched.body) == ("Pipes, renamed", "closed", issue.body)
    # Lazy objects: no GET /repos, no completion requests, nothing beyond what was asked.
    assert api_requests(sandbox) == [
        "POST /repos/lessons/content/issues",
        f"PATCH /repos/lessons/content/issues/{issue.number}",
        f"PATCH /repos/lessons/content/issues/{issue.number}",
        f"GET /repos/lessons/content/issues/{issue.number}",
    ]
    assert adapter.total_requests == 4
    assert adapter.request_counts == {"issues.create": 1, "issues.update": 2, "issues.get": 1}


async def test_pagination_over_250_issues_leaves_out_pull_requests(sandbox: GitHubSandbox) -> None:
    def create_issues() -> None:
        # Seeded as a maintainer: through the adapter, the write pacer would (rightly) take
        # GitHub's 80-a-minute three minutes for this.
        repo = as_user(sandbox, "maintainer").get_repo(sandbox.repository)
        for number in range(250):
            repo.create_issue(f"Lesson {number}", labels=["lesson-discussion"])
        repo.create_issue("Unlabelled")

    await asyncio.to_thread(create_issues)
    adapter = make_adapter(sandbox)
    pull = await adapter.open_pull_request(change())
    await adapter.add_labels(pull.number, ["lesson-discussion"])  # a PR with the label
    issues = await adapter.list_issues(label="lesson-discussion")
    assert [issue.title for issue in issues] == [f"Lesson {n}" for n in range(250)]
    assert adapter.request_counts["issues.list"] == 3  # 100 + 100 + 51 (the PR included)
    everything = await adapter.list_issues()
    assert len(everything) == 251


async def test_comments_with_a_marker_are_written_once(sandbox: GitHubSandbox) -> None:
    adapter = make_adapter(sandbox)
    hidden = marker("lesson", "demo/pipes")
    issue = await adapter.create_issue("Pipes", hidden, [], hidden)
    note = marker("notice", "removed")
    first = await adapter.create_comment(issue.number, f"This lesson was removed.\n{note}", note)
    again = await adapter.create_comment(issue.number, f"This lesson was removed.\n{note}", note)
    plain = await adapter.create_comment(issue.number, "Thanks @someone!")
    comments = await adapter.list_comments(issue.number)
    assert first.id == again.id
    assert [comment.id for comment in comments] == [first.id, plain.id]
    assert comments[0].author == "lessonbot"


async def test_suggestion_shaped_change_costs_the_floor_of_six_requests(
    sandbox: GitHubSandbox,
) -> None:
    adapter = make_adapter(sandbox)
    original = await adapter.get_file(LESSON)
    before = len(sandbox.requests)
    pull = await adapter.open_pull_request(change(content=original.text + "\nOne more line.\n"))
    assert api_requests(sandbox, before) == [
        "GET /repos/lessons/content/git/ref/heads/main",
        f"GET /repos/lessons/content/contents/{LESSON}",
        "POST /repos/lessons/content/git/refs",
        f"PUT /repos/lessons/content/contents/{LESSON}",
        "POST /repos/lessons/content/pulls",
        f"POST /repos/lessons/content/issues/{pull.number}/labels",
    ]
    assert (pull.head, pull.base, pull.state, pull.merged) == (
        "suggestion-1",
        "main",
        "open",
        False,
    )
    on_branch = await adapter.get_file(LESSON, "suggestion-1")
    assert on_branch.text.endswith("One more line.\n")
    assert (await adapter.get_file(LESSON)).text == original.text
    issue = await adapter.get_issue(pull.number)
    assert issue.is_pull_request and set(issue.labels) == {"suggestion", "locale:en"}
    diff = await git(sandbox, "diff", "main", "suggestion-1", "--", LESSON)
    assert "+One more line." in diff


async def test_reviews_and_a_real_merge(sandbox: GitHubSandbox) -> None:
    adapter = make_adapter(sandbox)
    pull = await adapter.open_pull_request(change(content="merged text\n"))

    def review_as_maintainer() -> None:
        # PyGithub blocks: run it off the loop the sandbox serves on.
        maintainer = as_user(sandbox, "maintainer").get_repo(sandbox.repository)
        maintainer_pull = maintainer.get_pull(pull.number)
        maintainer_pull.create_review(body="Please add a source.", event="REQUEST_CHANGES")
        maintainer_pull.create_review(body="Looks good.", event="APPROVE")

    await asyncio.to_thread(review_as_maintainer)
    reviews = await adapter.list_reviews(pull.number)
    assert [(r.author, r.state) for r in reviews] == [
        ("maintainer", "CHANGES_REQUESTED"),
        ("maintainer", "APPROVED"),
    ]
    merge_sha = await adapter.merge_pull_request(pull.number, "Merge the suggestion")
    merged = await adapter.get_pull_request(pull.number)
    assert merged.merged and merged.state == "closed" and merged.merge_commit_sha == merge_sha
    parents = (await git(sandbox, "rev-list", "--parents", "-n", "1", "main")).split()
    assert parents[0] == merge_sha and len(parents) == 3  # a merge commit: two parents
    assert (await adapter.get_file(LESSON)).text == "merged text\n"


async def test_stale_expected_sha_is_refused(sandbox: GitHubSandbox) -> None:
    adapter = make_adapter(sandbox)
    stale = dataclasses.replace(change(), expected_sha="0" * 40)
    with pytest.raises(StaleFileError):
        await adapter.open_pull_request(stale)
    assert not any(entry["method"] != "GET" for entry in sandbox.requests)


async def test_client_errors_are_not_retried(sandbox: GitHubSandbox) -> None:
    adapter = make_adapter(sandbox)
    with pytest.raises(GitHubError) as raised:
        await adapter.get_issue(999)
    assert raised.value.status == 404
    assert adapter.total_requests == 1


@pytest.mark.parametrize("mode", ["before", "after", "secondary", "primary"])
async def test_issue_creation_survives_each_fault_without_duplicates(
    sandbox: GitHubSandbox, mode: str
) -> None:
    adapter = make_adapter(sandbox)
    sandbox.add_fault(match="POST /repos/*/issues", mode=mode, count=1)
    hidden = marker("lesson", "demo/pipes")
    issue = await adapter.create_issue("Pipes", f"Talk.\n{hidden}", ["lesson-discussion"], hidden)
    issues = await adapter.list_issues()
    assert [i.number for i in issues] == [issue.number]
    posts = [r for r in api_requests(sandbox) if r == "POST /repos/lessons/content/issues"]
    assert len(posts) == (1 if mode == "after" else 2)


@pytest.mark.parametrize("mode", ["before", "after", "secondary", "primary"])
@pytest.mark.parametrize(
    "match",
    [
        "POST /repos/*/git/refs",
        "PUT /repos/*/contents/*",
        "POST /repos/*/pulls",
        "POST /repos/*/issues/*/labels",
    ],
)
async def test_pull_request_survives_each_fault_without_duplicates(
    sandbox: GitHubSandbox, mode: str, match: str
) -> None:
    adapter = make_adapter(sandbox)
    sandbox.add_fault(match=match, mode=mode, count=1)
    pull = await adapter.open_pull_request(change(content="faulty text\n"))

    def observe() -> tuple[list[int], set[str]]:
        client = as_user(sandbox, "maintainer").get_repo(sandbox.repository)
        pulls = [p.number for p in client.get_pulls(state="all")]
        return pulls, {label.name for label in client.get_issue(pull.number).labels}

    pulls, labels = await asyncio.to_thread(observe)
    assert pulls == [pull.number]
    assert labels == {"suggestion", "locale:en"}
    assert (await adapter.get_file(LESSON, "suggestion-1")).text == "faulty text\n"
    commits = await git(sandbox, "rev-list", "--count", "main..suggestion-1")
    assert commits.strip() == "1"  # one commit on the branch, never two


async def test_a_long_rate_limit_is_raised_for_the_caller_to_reschedule(
    sandbox: GitHubSandbox,
) -> None:
    adapter = make_adapter(sandbox, max_rate_limit_wait=0.1)
    sandbox.add_fault(match="POST /repos/*/issues", mode="secondary", count=1)
    hidden = marker("lesson", "x/y")
    with pytest.raises(GitHubRateLimitedError) as raised:
        await adapter.create_issue("X", hidden, [], hidden)
    assert raised.value.status == 403
    assert await adapter.list_issues() == []


async def test_persistent_server_errors_give_up_with_a_clear_error(sandbox: GitHubSandbox) -> None:
    adapter = make_adapter(sandbox, max_attempts=3)
    sandbox.add_fault(match="GET /repos/*/issues/*", mode="before", count=10)
    with pytest.raises(GitHubError) as raised:
        await adapter.get_issue(1)
    assert "gave up after 3 attempts" in str(raised.value)
    assert adapter.request_counts == {"issues.get": 3}


async def test_the_token_never_appears_in_errors(sandbox: GitHubSandbox) -> None:
    settings = GitHubSettings(
        base_url=sandbox.base_url, repository="lessons/absent", token=Secret("s3cr3t-token")
    )
    adapter = GitHubAdapter.from_settings(settings, backoff=0.01)
    with pytest.raises(GitHubError) as raised:
        await adapter.get_issue(1)
    assert raised.value.status == 404
    assert "s3cr3t-token" not in str(raised.value) and "s3cr3t-token" not in repr(raised.value)


def test_missing_credentials_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="LESSONBOT_GITHUB_TOKEN"):
        GitHubAdapter.from_settings(GitHubSettings(repository="a/b"))


def _rsa_key_pair() -> tuple[str, str]:
    """Return a fresh RSA private key and its public key, as PEM text."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


async def test_github_app_auth_gets_an_installation_token_once(sandbox: GitHubSandbox) -> None:
    private, public = _rsa_key_pair()
    bot_login = sandbox.register_app(app_id=4242, public_key_pem=public, installation_id=77)
    settings = GitHubSettings(
        base_url=sandbox.base_url,
        repository=sandbox.repository,
        app_id=4242,
        installation_id=77,
        app_private_key=Secret(private),
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    adapter = GitHubAdapter.from_settings(settings, backoff=0.01)
    hidden = marker("lesson", "demo/pipes")
    issue = await adapter.create_issue("Pipes", hidden, [], hidden)
    await adapter.create_comment(issue.number, "Hello")
    comments = await adapter.list_comments(issue.number)
    assert bot_login == "lessonbot[bot]"
    assert [comment.author for comment in comments] == [bot_login]
    # The token is fetched once and reused until it nears expiry.
    assert api_requests(sandbox).count("POST /app/installations/77/access_tokens") == 1


async def test_github_app_with_the_wrong_key_is_refused(sandbox: GitHubSandbox) -> None:
    _, public = _rsa_key_pair()
    other_private, _ = _rsa_key_pair()
    sandbox.register_app(app_id=4242, public_key_pem=public, installation_id=77)
    settings = GitHubSettings(
        base_url=sandbox.base_url,
        repository=sandbox.repository,
        app_id=4242,
        installation_id=77,
        app_private_key=Secret(other_private),
    )
    adapter = GitHubAdapter.from_settings(settings, backoff=0.01)
    with pytest.raises(GitHubError) as raised:
        await adapter.get_issue(1)
    assert raised.value.status == 401
    assert "BEGIN PRIVATE KEY" not in str(raised.value)
