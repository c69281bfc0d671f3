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
from bot.services.ports import ProposedChange
from sandboxes.github import GitHubSandbox
from tests.conftest import FIXTURES, rsa_key_pair

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


async def test_github_app_auth_gets_an_installation_token_once(sandbox: GitHubSandbox) -> None:
    private, public = rsa_key_pair()
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
    _, public = rsa_key_pair()
    other_private, _ = rsa_key_pair()
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


# --- the suggested-edit pull request flow ---------------------------------------------------

CO_AUTHORED = (
    "Reword the pipes lesson\n\nAs suggested on Discord.\n\n"
    "Co-authored-by: Ada Learner <12345+ada@users.noreply.github.com>"
)


async def open_suggestion(adapter: GitHubAdapter, extra: str = "One more line.") -> tuple[int, str]:
    """Open the bot's pull request adding a line to the lesson; return its number and text."""
    original = await adapter.get_file(LESSON)
    text = f"{original.text}\n{extra}\n"
    pull = await adapter.open_pull_request(change(content=text))
    return pull.number, text


async def commits_on_branch(sandbox: GitHubSandbox, branch: str = "suggestion-1") -> int:
    """Return how many commits a branch has beyond main."""
    return int((await git(sandbox, "rev-list", "--count", f"main..{branch}")).strip())


async def test_a_pull_request_reports_body_author_and_mergeable_state(
    sandbox: GitHubSandbox,
) -> None:
    adapter = make_adapter(sandbox)
    number, _ = await open_suggestion(adapter)
    pull = await adapter.get_pull_request(number)
    assert pull.body.startswith("Suggested by a learner.") and pull.user == "lessonbot"
    assert pull.mergeable_state == "clean"
    assert adapter.request_counts["pulls.get"] == 1  # no completion request for the fields


async def test_commit_file_keeps_a_co_author_trailer_and_a_retry_commits_once(
    sandbox: GitHubSandbox,
) -> None:
    adapter = make_adapter(sandbox)
    number, text = await open_suggestion(adapter)
    on_branch = await adapter.get_file(LESSON, "suggestion-1")
    before = len(sandbox.requests)
    head = await adapter.commit_file(
        "suggestion-1", LESSON, text + "Revised.\n", CO_AUTHORED, expected_sha=on_branch.sha
    )
    assert api_requests(sandbox, before) == [f"PUT /repos/lessons/content/contents/{LESSON}"]
    assert head == await adapter.branch_sha("suggestion-1")
    # The commit object stores the message byte for byte, trailer and all.
    stored = (await git(sandbox, "cat-file", "commit", head)).split("\n\n", 1)[1]
    assert stored == CO_AUTHORED
    trailers = await git(sandbox, "log", "-1", "--format=%(trailers:key=Co-authored-by)", head)
    assert trailers.strip() == "Co-authored-by: Ada Learner <12345+ada@users.noreply.github.com>"
    api_message = await asyncio.to_thread(
        lambda: as_user(sandbox, "maintainer").get_repo(sandbox.repository).get_commit(head)
    )
    assert api_message.commit.message == CO_AUTHORED
    assert (await adapter.get_pull_request(number)).head_sha == head
    # The caller retries with the sha it read first: the edit is there, so nothing is sent.
    again = await adapter.commit_file(
        "suggestion-1", LESSON, text + "Revised.\n", CO_AUTHORED, expected_sha=on_branch.sha
    )
    assert again == head and await commits_on_branch(sandbox) == 2
    # A different edit against the old sha: the file changed meanwhile.
    with pytest.raises(StaleFileError):
        await adapter.commit_file(
            "suggestion-1", LESSON, "other\n", "Other", expected_sha=on_branch.sha
        )
    assert await commits_on_branch(sandbox) == 2


@pytest.mark.parametrize("mode", ["before", "after", "secondary"])
async def test_commit_file_survives_each_fault_with_one_commit(
    sandbox: GitHubSandbox, mode: str
) -> None:
    adapter = make_adapter(sandbox)
    _, text = await open_suggestion(adapter)
    on_branch = await adapter.get_file(LESSON, "suggestion-1")
    sandbox.add_fault(match="PUT /repos/*/contents/*", mode=mode, count=1)
    head = await adapter.commit_file(
        "suggestion-1", LESSON, text + "Faulty.\n", "Revise", expected_sha=on_branch.sha
    )
    assert head == await adapter.branch_sha("suggestion-1")
    assert (await adapter.get_file(LESSON, "suggestion-1")).text == text + "Faulty.\n"
    assert await commits_on_branch(sandbox) == 2


async def test_branch_sha_is_none_for_a_missing_branch(sandbox: GitHubSandbox) -> None:
    adapter = make_adapter(sandbox)
    assert await adapter.branch_sha("no-such-branch") is None
    assert await adapter.branch_sha("main") == (await git(sandbox, "rev-parse", "main")).strip()


@pytest.mark.parametrize("mode", [None, "after"])
async def test_reset_branch_force_moves_it_onto_a_newer_main(
    sandbox: GitHubSandbox, mode: str | None
) -> None:
    adapter = make_adapter(sandbox)
    number, _ = await open_suggestion(adapter)

    def move_main() -> str:
        repo = as_user(sandbox, "maintainer").get_repo(sandbox.repository)
        return repo.create_file("NOTES.md", "Add notes", "notes\n", "main")["commit"].sha

    new_main = await asyncio.to_thread(move_main)
    if mode is not None:
        sandbox.add_fault(match="PATCH /repos/*/git/refs/*", mode=mode, count=1)
    before = len(sandbox.requests)
    await adapter.reset_branch("suggestion-1", new_main)  # not a fast-forward: forced
    patches = ["PATCH /repos/lessons/content/git/refs/heads/suggestion-1"]
    assert api_requests(sandbox, before) == patches * (2 if mode == "after" else 1)
    assert (await git(sandbox, "rev-parse", "suggestion-1")).strip() == new_main
    assert await adapter.branch_sha("suggestion-1") == new_main
    assert (await adapter.get_pull_request(number)).head_sha == new_main
    # Re-apply the edit on top, as the flow does after a reset.
    current = await adapter.get_file(LESSON, "suggestion-1")
    head = await adapter.commit_file(
        "suggestion-1", LESSON, current.text + "Again.\n", "Re-apply", expected_sha=current.sha
    )
    assert (await git(sandbox, "rev-list", "--parents", "-n", "1", head)).split()[1] == new_main


@pytest.mark.parametrize("mode", [None, "after"])
async def test_close_pull_request_is_idempotent(sandbox: GitHubSandbox, mode: str | None) -> None:
    adapter = make_adapter(sandbox)
    number, _ = await open_suggestion(adapter)
    if mode is not None:
        sandbox.add_fault(match="PATCH /repos/*/pulls/*", mode=mode, count=1)
    closed = await adapter.close_pull_request(number)
    assert (closed.number, closed.state, closed.merged) == (number, "closed", False)
    again = await adapter.close_pull_request(number)
    assert again.state == "closed"
    assert (await adapter.get_pull_request(number)).state == "closed"


async def test_closing_a_merged_pull_request_counts_as_done(sandbox: GitHubSandbox) -> None:
    adapter = make_adapter(sandbox)
    number, _ = await open_suggestion(adapter)
    await adapter.merge_pull_request(number, "Merge")
    closed = await adapter.close_pull_request(number)
    assert closed.state == "closed" and closed.merged


async def requested(sandbox: GitHubSandbox, number: int) -> list[str]:
    """Return the logins asked to review a pull request."""

    def fetch() -> list[str]:
        pull = as_user(sandbox, "maintainer").get_repo(sandbox.repository).get_pull(number)
        users, _ = pull.get_review_requests()
        return [user.login for user in users]

    return await asyncio.to_thread(fetch)


async def test_request_reviewers_skips_those_github_refuses(sandbox: GitHubSandbox) -> None:
    adapter = make_adapter(sandbox)
    number, _ = await open_suggestion(adapter)
    before = len(sandbox.requests)
    await adapter.request_reviewers(number, [])
    assert len(sandbox.requests) == before  # nothing to ask: no request
    sandbox.add_collaborator("helper", "write")
    await adapter.request_reviewers(number, ["maintainer", "stranger", "helper"])
    assert sorted(await requested(sandbox, number)) == ["helper", "maintainer"]
    await adapter.request_reviewers(number, ["stranger"])  # logged, not raised
    assert adapter.request_counts["pulls.review_requests"] == 5  # 1 refused + 3 + 1 refused


@pytest.mark.parametrize("mode", ["before", "after"])
async def test_request_reviewers_survives_a_fault(sandbox: GitHubSandbox, mode: str) -> None:
    adapter = make_adapter(sandbox)
    number, _ = await open_suggestion(adapter)
    sandbox.add_fault(match="POST /repos/*/pulls/*/requested_reviewers", mode=mode, count=1)
    await adapter.request_reviewers(number, ["maintainer"])
    assert await requested(sandbox, number) == ["maintainer"]


async def test_review_comments_and_a_single_review(sandbox: GitHubSandbox) -> None:
    adapter = make_adapter(sandbox)
    number, text = await open_suggestion(adapter)
    added = len(text.splitlines())  # the added line is the file's last
    suggestion = "Shorter:\n\n```suggestion\nOne line more.\n```\n"

    def review_as_maintainer() -> tuple[int, int]:
        pull = as_user(sandbox, "maintainer").get_repo(sandbox.repository).get_pull(number)
        review = pull.create_review(
            body="Nearly.",
            event="REQUEST_CHANGES",
            comments=[
                {"path": LESSON, "line": added, "side": "RIGHT", "body": suggestion},
                {"path": LESSON, "start_line": added - 1, "line": added, "body": "Both."},
            ],
        )
        first = next(iter(pull.get_review_comments()))
        pull.create_review_comment_reply(first.id, "Or keep it.")
        return review.id, first.id

    review_id, first_id = await asyncio.to_thread(review_as_maintainer)
    before = len(sandbox.requests)
    comments = await adapter.list_review_comments(number)
    assert len(sandbox.requests) == before + 1  # one page, no completion requests
    assert [c.body for c in comments] == [suggestion, "Both.", "Or keep it."]
    first, ranged, reply = comments
    assert (first.id, first.review_id, first.author, first.path) == (
        first_id,
        review_id,
        "maintainer",
        LESSON,
    )
    assert (first.line, first.start_line, first.side) == (added, None, "RIGHT")
    assert first.commit_id == (await adapter.get_pull_request(number)).head_sha
    assert first.html_url.endswith(f"#discussion_r{first.id}") and first.in_reply_to_id is None
    assert (ranged.start_line, ranged.line) == (added - 1, added)
    assert reply.in_reply_to_id == first.id and reply.review_id not in (None, review_id)
    review = await adapter.get_review(number, review_id)
    assert (review.id, review.author, review.state, review.body) == (
        review_id,
        "maintainer",
        "CHANGES_REQUESTED",
        "Nearly.",
    )
    with pytest.raises(GitHubError) as missing:
        await adapter.get_review(number, 999999)
    assert missing.value.status == 404


async def test_update_pull_branch_merges_main_in_and_reports_a_conflict(
    sandbox: GitHubSandbox,
) -> None:
    adapter = make_adapter(sandbox)

    def put_on_main(old: str, new: str) -> None:
        repo = as_user(sandbox, "lessonbot").get_repo(sandbox.repository)
        current = repo.get_contents(LESSON, ref="main")
        text = current.decoded_content.decode().replace(old, new)
        repo.update_file(LESSON, "Change main", text, current.sha, branch="main")

    try:
        original = (await adapter.get_file(LESSON)).text
        edited = original.replace("Fixtures are small on purpose.", "Fixtures stay small.")
        pull = await adapter.open_pull_request(change("update-me", edited))
        assert await adapter.update_pull_branch(pull.number)  # nothing new on main yet
        await asyncio.to_thread(put_on_main, "# Quizzes With Pipes", "# Pipe Quizzes")

        assert await adapter.update_pull_branch(pull.number)

        merged = (await adapter.get_file(LESSON, "update-me")).text
        assert "# Pipe Quizzes" in merged and "Fixtures stay small." in merged
        await asyncio.to_thread(put_on_main, "Fixtures are small on purpose.", "Fixtures are tiny.")

        assert not await adapter.update_pull_branch(pull.number)
        assert "Fixtures stay small." in (await adapter.get_file(LESSON, "update-me")).text
    finally:
        adapter.close()


async def test_updating_a_closed_pull_request_has_nothing_to_bring_over(
    sandbox: GitHubSandbox,
) -> None:
    adapter = make_adapter(sandbox)
    try:
        pull = await adapter.open_pull_request(change("closed-one"))
        await adapter.close_pull_request(pull.number)

        assert await adapter.update_pull_branch(pull.number)
    finally:
        adapter.close()
