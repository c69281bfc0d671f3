"""Nobody else's text reaches a suggestion's branch, and nothing typed closes or breaks it.

Driven through the GitHub sandbox and the bot's signed webhook path, with outsiders acting
as read-only users of the repository, as anyone signed in to GitHub can.
"""

from __future__ import annotations

import asyncio

import pytest
from github import Auth, Github
from github.Repository import Repository
from markdown_it import MarkdownIt
from sqlalchemy import select

from bot.services.suggestions import Author, SuggestionError, SuggestionInput
from bot.store.models import SuggestionCredit, SuggestionSource
from tests.e2e import test_suggestion_review as review
from tests.e2e.test_suggestion_review import PASSAGE, PATH, World, link_issue, request

world = review.world  # the fixture: a GitHub sandbox, the bot's web app and the service

OUTSIDER = "mallory"


def as_user(world: World, login: str) -> Github:
    """Return a PyGithub client acting as `login` (the sandbox takes logins as tokens)."""
    return Github(
        base_url=world.sandbox.base_url,
        auth=Auth.Token(login),
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )


async def as_outsider(world: World, action):  # type: ignore[no-untyped-def]
    """Run PyGithub calls as a read-only user of the repository."""
    client = as_user(world, OUTSIDER)
    return await asyncio.to_thread(lambda: action(client.get_repo(world.sandbox.repository)))


async def opened(world: World, **changes: str) -> tuple[int, int, str]:
    """Submit a suggestion and let its PR open; return its id, PR number and branch."""
    submitted = await world.service.submit(request(**changes))
    await world.settle()
    view = await world.service.view(submitted.id)
    assert view is not None and view.status == "open" and view.pr_number is not None
    return submitted.id, view.pr_number, f"lessonbot/suggest/{submitted.id}"


def suggestion_comment(number: int, line: int, text: str):  # type: ignore[no-untyped-def]
    """Return an action leaving a review comment with a ```suggestion block on a PR."""

    def comment(repo: Repository) -> None:
        pull = repo.get_pull(number)
        pull.create_review(
            commit=repo.get_commit(pull.head.sha),
            body="",
            event="COMMENT",
            comments=[{"path": PATH, "line": line, "body": f"```suggestion\n{text}\n```"}],
        )

    return comment


async def line_of(world: World, branch: str, text: str) -> int:
    on_branch = (await world.github.get_file(PATH, branch)).text
    return on_branch.splitlines().index(text) + 1


async def test_an_outsiders_pr_on_the_suggestion_branch_cannot_close_the_suggestion(
    world: World,
) -> None:
    world.sandbox.add_collaborator(OUTSIDER, "read")
    first, real_pr, branch = await opened(world)
    second, _, other_branch = await opened(
        world, replace="Fixtures are small, and on purpose.", find="Fixtures are small"
    )

    def open_and_close(repo: Repository) -> int:
        decoy = repo.create_pull(title="Decoy", body="", head=branch, base=other_branch)
        decoy.edit(state="closed")
        return decoy.number

    decoy = await as_outsider(world, open_and_close)
    await world.settle()

    assert decoy != real_pr
    view = await world.service.view(first)
    assert view is not None and view.status == "open" and view.pr_number == real_pr
    assert "closed" not in [event.kind for event in view.events]
    other = await world.service.view(second)
    assert other is not None and other.status == "open"


async def test_an_outsiders_proposal_never_reaches_the_suggestion_branch(world: World) -> None:
    world.sandbox.add_collaborator(OUTSIDER, "read")
    suggestion_id, real_pr, branch = await opened(world)
    _, _, other_branch = await opened(
        world, replace="Fixtures are small, and on purpose.", find="Fixtures are small"
    )
    submitted_token = await _token(world, suggestion_id)
    line = await line_of(world, branch, "Fixtures are kept small on purpose.")
    phishing = "Fixtures: see https://evil.example/login to continue."

    # A decoy PR whose head is the suggestion's branch, with a suggestion block on it...
    def decoy(repo: Repository) -> None:
        pull = repo.create_pull(title="Decoy", body="", head=branch, base=other_branch)
        suggestion_comment(pull.number, line, phishing)(repo)

    await as_outsider(world, decoy)
    # ...and a suggestion block on the real PR itself.
    await as_outsider(world, suggestion_comment(real_pr, line, phishing))
    await world.settle()

    view = await world.service.view(suggestion_id)
    assert view is not None
    assert view.reviewer_suggestions == []
    # The outsider's comment on the real PR is kept, as a line comment with its author.
    [kept] = [event for event in view.events if event.kind == "line_comment"]
    assert kept.detail["reviewer"] == OUTSIDER
    with pytest.raises(SuggestionError) as refused:
        await world.service.accept(suggestion_id, token=submitted_token)
    assert refused.value.code == "no_reviewer_suggestion"
    await world.settle()
    assert phishing not in (await world.github.get_file(PATH, branch)).text
    commits = await world.as_maintainer(lambda repo: repo.get_pull(real_pr).commits)
    assert commits == 1


async def test_a_proposal_whose_author_lost_write_access_is_refused_and_told(
    world: World,
) -> None:
    suggestion_id, real_pr, branch = await opened(world)
    token = await _token(world, suggestion_id)
    line = await line_of(world, branch, "Fixtures are kept small on purpose.")
    await world.as_maintainer(suggestion_comment(real_pr, line, "Fixtures are tiny."))
    await world.settle()
    view = await world.service.view(suggestion_id)
    assert view is not None
    [proposal] = view.reviewer_suggestions
    assert proposal.detail["reviewer"] == "maintainer"

    world.sandbox.add_collaborator("maintainer", "read")
    await world.service.accept(suggestion_id, token=token)
    await world.settle()

    assert "Fixtures are tiny." not in (await world.github.get_file(PATH, branch)).text
    view = await world.service.view(suggestion_id)
    assert view is not None
    [refused] = [event for event in view.events if event.kind == "accept_refused"]
    assert refused.detail["reviewer"] == "maintainer"


async def test_a_reason_with_closing_keywords_closes_no_issue_when_squash_merged(
    world: World,
) -> None:
    numbers = await world.as_maintainer(
        lambda repo: [repo.create_issue(f"Lesson issue {n}", "").number for n in range(3)]
    )
    reason = (
        f"Fixes #{numbers[0]} closes #{numbers[1]}\n"
        f"resolves {world.sandbox.base_url}/{world.sandbox.repository}/issues/{numbers[2]}"
    )
    submitted = await world.service.submit(
        SuggestionInput(
            lesson="demo/pipes",
            locale="en",
            find=PASSAGE,
            replace="Fixtures are kept small on purpose.",
            reason=reason,
            source=SuggestionSource.API,
            author=Author(name="Fixes #1", email="f@example.org", handle="ip:2"),
        )
    )
    await world.settle()
    view = await world.service.view(submitted.id)
    assert view is not None and view.pr_number is not None
    number = view.pr_number

    def squash(repo: Repository) -> None:
        pull = repo.get_pull(number)
        # GitHub's default squash message lists the branch's commit messages.
        pull.merge(merge_method="squash")

    await world.as_maintainer(squash)
    await world.settle()

    def states(repo: Repository) -> list[str]:
        return [repo.get_issue(n).state for n in numbers]

    assert await world.as_maintainer(states) == ["open", "open", "open"]
    view = await world.service.view(submitted.id)
    assert view is not None and view.status == "merged"


async def test_the_sandbox_closes_issues_a_merged_commit_names_as_github_does(
    world: World,
) -> None:
    # The check above means something only if the sandbox closes issues as GitHub does.
    issue = await world.as_maintainer(lambda repo: repo.create_issue("Typo", "").number)

    def commit(repo: Repository) -> None:
        current = repo.get_contents(PATH, ref="main")
        text = current.decoded_content.decode() + "\nMore.\n"
        repo.update_file(PATH, f"Add a line\n\nFixes #{issue}", text, current.sha, branch="main")

    await world.as_maintainer(commit)
    await world.settle()
    assert await world.as_maintainer(lambda repo: repo.get_issue(issue).state) == "closed"


async def test_person_typed_markdown_cannot_swallow_the_pr_body(world: World) -> None:
    issue = await world.as_maintainer(lambda repo: repo.create_issue("Lesson", "").number)
    linked = False
    for reason, name in (
        ("Fine.\n~~~\nunclosed", "Bob\n\nFixes #5\n@everyone"),
        ("Three ``` backticks\n```\n# Heading", "[click](https://evil.example)"),
        ("<!-- lessonbot:suggestion=999 -->\n````", "Ann\u202eevil"),
    ):
        submitted = await world.service.submit(
            SuggestionInput(
                lesson="demo/pipes",
                locale="en",
                find=PASSAGE,
                replace=f"Fixtures are small on purpose ({len(reason)}).",
                reason=reason,
                source=SuggestionSource.WEB,
                author=Author(name=name, handle=f"ip:{len(reason)}"),
            )
        )
        if not linked:
            await link_issue(world, issue)
            linked = True
        await world.settle()
        view = await world.service.view(submitted.id)
        assert view is not None and view.pr_number is not None
        number = view.pr_number
        body = await world.as_maintainer(lambda repo, n=number: repo.get_pull(n).body)

        tokens = MarkdownIt("commonmark").parse(body)
        fences = [token for token in tokens if token.type == "fence"]
        # Two code blocks: the reason as typed, then the diff, each whole.
        assert [fence.info for fence in fences] == ["text", "diff"]
        assert fences[0].content.replace("\u200b", "").rstrip("\n") == reason
        assert fences[1].content.startswith("--- a/")
        paragraphs = [
            tokens[i + 1].content
            for i, token in enumerate(tokens)
            if token.type == "paragraph_open"
        ]
        # The credit is one line of its own, followed by the links and the issue reference.
        credit, *after = next(
            text for text in paragraphs if text.startswith("Suggested by ")
        ).split("\n")
        assert "@everyone" not in credit and "](" not in credit and "\u202e" not in credit
        assert after[0].startswith("Links: ") and after[-1] == f"Refs #{issue}"
        headings = [
            tokens[i + 1].content for i, token in enumerate(tokens) if token.type == "heading_open"
        ]
        assert headings == ["Why", "The change"]
        # The bot's own marker is a real HTML block at the end, and the only one.
        html = [token.content for token in tokens if token.type == "html_block"]
        assert html == [f"<!-- lessonbot:suggestion={submitted.id} -->"]
        await world.as_maintainer(lambda repo, n=number: repo.get_pull(n).edit(state="closed"))
        await world.settle()


async def _token(world: World, suggestion_id: int) -> str:
    """Return the suggester's token of a suggestion (its first credit)."""
    async with world.sessions() as session:
        credit_id = (
            (
                await session.execute(
                    select(SuggestionCredit.id)
                    .where(SuggestionCredit.suggestion_id == suggestion_id)
                    .order_by(SuggestionCredit.id)
                )
            )
            .scalars()
            .first()
        )
    assert credit_id is not None
    return world.service.token(suggestion_id, credit_id)
