"""Issue 10 end to end: `/suggest` on Discord becomes a reviewed, merged PR on GitHub.

Both sandboxes and the real bot (`started_app`, as `lessonbot sandbox` runs it): a learner
drives Discord through the sandbox's admin API, a maintainer drives GitHub with PyGithub
(and githubkit, a second client, checks the PR), and the bot's job worker runs as it would
in production. Every step waits on what the suggester and the lesson would see, on every
database backend.
"""

from __future__ import annotations

import asyncio
import base64
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from github import Auth, Github
from github.Repository import Repository
from githubkit import GitHub
from sqlalchemy import select

from bot.config import Settings
from bot.i18n import t
from bot.sandbox.everything import SandboxEnvironment, sandbox_environment
from bot.services.suggestions import Author, SuggestionInput, SuggestionService, SuggestionView
from bot.store.models import (
    JobStatus,
    Lesson,
    LessonLink,
    OutboxJob,
    SuggestionEvent,
    SuggestionSource,
)
from bot.web.keys import BACKGROUND_TASKS
from tests.conftest import FIXTURES
from tests.discord.test_suggest_live import (
    INTEGER,
    MODAL,
    STRING,
    modal_fields,
    run_suggest,
    submit,
)

T = TypeVar("T")
# Long enough for any slow CI machine; each wait returns as soon as its condition holds.
TIMEOUT = 60.0
LESSON = "demo/pipes"
PATH = "programs/demo/lessons/en/pipes.mdx"
SAM = 1004  # a sandbox member whose Discord speaks en-US
PASSAGE = "Fixtures are small on purpose."
FIRST = "Fixtures are kept small on purpose."
REVIEWED = "Fixtures are kept tiny on purpose."
FINAL = "Fixtures are kept really tiny on purpose."
TOLD = ["pr_opened", "changes_requested", "approved", "merged"]


async def eventually(check: Callable[[], Awaitable[T | None]], what: str) -> T:
    """Return `check()`'s first truthy answer, polling until TIMEOUT; else fail naming `what`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while True:
        found = await check()
        if found:
            return found
        if loop.time() > deadline:
            raise AssertionError(f"gave up waiting for {what} (last seen: {found!r})")
        await asyncio.sleep(0.05)


@dataclass
class World:
    """The running environment, the lesson's links, and a maintainer on GitHub."""

    env: SandboxEnvironment
    service: SuggestionService
    issue_number: int
    thread_id: int
    maintainer: Github

    @property
    def guild(self) -> dict[str, Any]:
        """Return the sandbox guild."""
        return self.env.guild

    async def as_maintainer(self, action: Callable[[Repository], T]) -> T:
        """Run PyGithub calls as the maintainer, off the loop both sandboxes serve on."""
        return await asyncio.to_thread(
            lambda: action(self.maintainer.get_repo(self.env.github.repository))
        )

    async def status(self, suggestion_id: int, wanted: str) -> SuggestionView:
        """Wait until the suggestion has the status `wanted`; return its view."""

        async def check() -> SuggestionView | None:
            view = await self.service.view(suggestion_id)
            return view if view is not None and view.status == wanted else None

        return await eventually(check, f"suggestion {suggestion_id} to be {wanted}")

    async def dms(self, count: int) -> list[str]:
        """Wait until the suggester has `count` DMs; return them, oldest first."""

        async def check() -> list[str] | None:
            messages = [message["content"] for message in self.env.discord.dms(SAM)]
            return messages if len(messages) >= count else None

        return await eventually(check, f"{count} DMs")

    def post(self) -> list[str]:
        """Return the lesson post's messages after its starter."""
        return [m["content"] for m in self.env.discord.channel_messages(self.thread_id)[1:]]

    async def on_branch(self, ref: str, expected: str) -> str:
        """Wait until the lesson on `ref` holds `expected`; return its text."""

        async def check() -> str | None:
            text = await self.as_maintainer(
                lambda repo: repo.get_contents(PATH, ref=ref).decoded_content.decode()
            )
            return text if expected in text else None

        return await eventually(check, f"{expected!r} on {ref}")

    async def lesson_fields(self) -> dict[str, str]:
        """Run `/lesson` on the fixture lesson as the learner; return the embed's fields."""
        discord = self.env.discord
        interaction = await discord.run_command(
            int(self.guild["id"]),
            int(self.guild["channels"]["general"]),
            SAM,
            "lesson",
            options=[{"name": "lesson", "type": STRING, "value": LESSON}],
            locale="en-US",
        )
        answers = await discord.wait_for_interaction_response(interaction, timeout=TIMEOUT)
        [embed] = answers[-1]["message"]["embeds"]
        return {field["name"]: field["value"] for field in embed["fields"]}

    async def all_jobs_done(self) -> bool:
        """Tell whether every job so far is done (none pending, running or failed)."""
        await _delivered(self.env)
        async with self.env.app.sessions() as session:
            statuses = set((await session.execute(select(OutboxJob.status))).scalars())
        return statuses == {JobStatus.DONE}

    async def event_ids(self, suggestion_id: int) -> dict[str, int]:
        """Return the id of the suggestion's first event of each kind."""
        async with self.env.app.sessions() as session:
            rows = (
                await session.execute(
                    select(SuggestionEvent.kind, SuggestionEvent.id)
                    .where(SuggestionEvent.suggestion_id == suggestion_id)
                    .order_by(SuggestionEvent.id)
                )
            ).all()
        found: dict[str, int] = {}
        for kind, event_id in rows:
            found.setdefault(kind, event_id)
        return found


async def _delivered(env: SandboxEnvironment) -> None:
    """Wait until every webhook so far reached the bot and its handlers finished."""
    await env.github.wait_for_webhooks()
    assert env.app.web_app is not None
    await env.app.web_app[BACKGROUND_TASKS].drain()


@pytest.fixture
async def world(tmp_path: Path, database_url: str) -> AsyncIterator[World]:
    """Run both sandboxes and the bot over the fixture lessons, linked, its worker running."""
    content = tmp_path / "content"
    shutil.copytree(FIXTURES / "content", content)
    async with sandbox_environment(
        Settings(), content_dir=content, state_dir=tmp_path / "state", database_url=database_url
    ) as env:
        app = env.app
        assert app.linking is not None and app.catalogue is not None
        assert app.suggestions is not None and app.worker is not None
        await app.linking.sync(app.catalogue)
        await _delivered(env)
        async with app.sessions() as session:
            link = await session.scalar(
                select(LessonLink)
                .join(Lesson, Lesson.id == LessonLink.lesson_id)
                .where(Lesson.program == "demo", Lesson.slug == "pipes")
            )
        assert link is not None
        assert link.github_issue_number is not None and link.discord_thread_id is not None
        env.github.add_collaborator("maintainer", "write")
        maintainer = Github(
            base_url=env.github.base_url,
            auth=Auth.Token("maintainer"),
            retry=None,
            seconds_between_requests=0,
            seconds_between_writes=0,
        )
        worker = asyncio.create_task(app.worker.run())
        try:
            yield World(
                env, app.suggestions, link.github_issue_number, link.discord_thread_id, maintainer
            )
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)


async def suggest(world: World, subcommand: str, options: list[dict[str, Any]]) -> dict[str, Any]:
    """Run `/suggest <subcommand>` as the learner; return the bot's one answer."""
    return await run_suggest(world.env.discord, world.guild, SAM, subcommand, options, "en-US")


async def fill(world: World, **fields: str) -> dict[str, Any]:
    """Submit the modal the bot last showed the learner; return the bot's answer."""
    _, answer = await submit(world.env.discord, world.guild, SAM, "en-US", **fields)
    assert answer["ephemeral"] is True, answer
    return answer


def body(answer: dict[str, Any]) -> str:
    """Return the text of an interaction answer."""
    return str(answer["data"]["content"])


async def test_a_discord_suggestion_is_reviewed_revised_merged_and_told_at_each_step(
    world: World,
) -> None:
    original = (FIXTURES / "content" / PATH).read_bytes()
    service, env = world.service, world.env

    # The learner runs /suggest edit and fills the modal.
    modal = await suggest(
        world,
        "edit",
        [
            {"name": "lesson", "type": STRING, "value": LESSON},
            {"name": "locale", "type": STRING, "value": "en"},
        ],
    )
    assert modal["type"] == MODAL and list(modal_fields(modal)) == ["find", "replace", "reason"]
    answer = await fill(world, find=PASSAGE, replace=FIRST, reason="Say it more plainly.")
    [pending] = await service.for_lesson(LESSON)
    suggestion_id = pending.id
    assert body(answer) == t(
        "en",
        "discord_suggest.submitted",
        id=suggestion_id,
        status_url=service.status_url(suggestion_id),
    )

    # The bot opens one PR with exactly that change; the learner and the lesson are told.
    view = await world.status(suggestion_id, "open")
    assert view.pr_number is not None and view.pr_url is not None
    number, branch = view.pr_number, f"lessonbot/suggest/{suggestion_id}"
    on_branch = await world.on_branch(branch, FIRST)
    assert on_branch.encode() == original.replace(PASSAGE.encode(), FIRST.encode())
    [opened] = await world.dms(1)
    ids = await world.event_ids(suggestion_id)
    assert opened == (
        t(
            "en",
            "suggest.notice.pr_opened",
            id=suggestion_id,
            lesson=LESSON,
            pr_url=view.pr_url,
            status_url=service.status_url(suggestion_id),
        )
        + f"\n-# suggestion {suggestion_id} · {ids['pr_opened']}"
    )
    [posted] = await eventually(
        lambda: asyncio.sleep(0, [m for m in world.post() if "suggested an edit" in m]),
        "the lesson post to say an edit was suggested",
    )
    assert posted.startswith(
        t(
            "en",
            "suggest.post.opened",
            id=suggestion_id,
            names="sam",
            pr_url=view.pr_url,
            status_url=service.status_url(suggestion_id),
        )
    )

    def observe(repo: Repository) -> tuple[set[str], str, list[str], list[str]]:
        pull = repo.get_pull(number)
        messages = [commit.commit.message for commit in pull.get_commits()]
        return (
            {label.name for label in pull.labels},
            pull.body,
            messages,
            [f.filename for f in pull.get_files()],
        )

    labels, pr_body, messages, files = await world.as_maintainer(observe)
    assert labels == {"suggested-edit", "program:demo", "locale:en"}
    assert files == [PATH] and len(messages) == 1
    assert "Say it more plainly." in pr_body
    assert "Suggested by sam from Discord." in pr_body
    assert f"Refs #{world.issue_number}" in pr_body
    guild_id = int(world.guild["id"])
    # The post's link opens in the Discord sandbox's viewer, as `lessonbot sandbox` sets it.
    viewer = world.env.discord.web_url
    assert f"{viewer}/channels/{guild_id}/{world.thread_id}/" in pr_body
    assert "https://example.org/en/programs/demo/lessons/pipes" in pr_body
    assert f"(suggestion {suggestion_id})" in messages[0]

    # A second client, githubkit, sees the same PR, labels and one commit.
    owner, name = env.github.repository.split("/")
    kit = GitHub("maintainer", base_url=env.github.base_url, http_cache=False, auto_retry=False)
    pull = (await kit.rest.pulls.async_get(owner, name, number)).parsed_data
    assert (pull.state, pull.head.ref, pull.base.ref) == ("open", branch, "main")
    assert {label.name for label in pull.labels} == labels
    [commit] = (await kit.rest.pulls.async_list_commits(owner, name, number)).parsed_data
    assert commit.sha == pull.head.sha
    blob = (await kit.rest.repos.async_get_content(owner, name, PATH, ref=branch)).parsed_data
    assert base64.b64decode(blob.content) == on_branch.encode()  # type: ignore[union-attr]

    # While it is open, /lesson lists it.
    assert (await world.lesson_fields())[t("en", "discord_suggest.suggested_edits")] == (
        f"[#{suggestion_id}]({view.pr_url}) · {t('en', 'discord_suggest.status.open')}"
    )

    # The maintainer requests changes with a line comment holding a suggestion block.
    line = on_branch.splitlines().index(FIRST) + 1

    def request_changes(repo: Repository) -> None:
        pull = repo.get_pull(number)
        pull.create_review(
            commit=repo.get_commit(pull.head.sha),
            body="Nearly: one word.",
            event="REQUEST_CHANGES",
            comments=[{"path": PATH, "line": line, "body": f"```suggestion\n{REVIEWED}\n```"}],
        )

    await world.as_maintainer(request_changes)
    view = await world.status(suggestion_id, "changes_requested")
    [proposal] = view.reviewer_suggestions
    assert proposal.detail["suggestion"].rstrip("\n") == REVIEWED
    _, asked = await world.dms(2)
    ids = await world.event_ids(suggestion_id)
    # The reviewer's words come as a block of their own, nothing in them can reformat.
    assert asked.startswith(
        t(
            "en",
            "suggest.notice.changes_requested",
            id=suggestion_id,
            lesson=LESSON,
            pr_url=view.pr_url,
            status_url=service.status_url(suggestion_id),
            reviewer="maintainer",
            summary="\n```\nNearly: one word.\n```",
        ).replace(": \n", ":\n")
    )
    assert asked.endswith(f"\n-# suggestion {suggestion_id} · {ids['changes_requested']}")

    # The learner accepts the reviewer's text from Discord...
    id_option = [{"name": "id", "type": INTEGER, "value": suggestion_id}]
    accepted = await suggest(world, "accept", id_option)
    assert accepted["ephemeral"] is True
    assert body(accepted).startswith(
        t("en", "discord_suggest.accepted", id=suggestion_id, status_url="")
    )
    await world.on_branch(branch, REVIEWED)

    # ...then revises once more through the revise modal.
    modal = await suggest(world, "revise", id_option)
    assert modal["type"] == MODAL
    revised = await fill(world, find="kept tiny", replace="kept really tiny", reason="Clearer.")
    assert body(revised).startswith(
        t("en", "discord_suggest.revised", id=suggestion_id, status_url="")
    )
    on_branch = await world.on_branch(branch, FINAL)
    assert on_branch.encode() == original.replace(PASSAGE.encode(), FINAL.encode())

    async def three_commits() -> int | None:
        count = await world.as_maintainer(lambda repo: repo.get_pull(number).commits)
        return count if count == 3 else None

    assert await eventually(three_commits, "three commits on the PR") == 3
    view = await world.status(suggestion_id, "changes_requested")
    assert [e.kind for e in view.events if e.kind in ("accepted", "revised")] == [
        "accepted",
        "revised",
    ]

    # The maintainer approves, then merges.
    def approve(repo: Repository) -> None:
        pull = repo.get_pull(number)
        pull.create_review(commit=repo.get_commit(pull.head.sha), body="Thanks!", event="APPROVE")

    await world.as_maintainer(approve)
    view = await world.status(suggestion_id, "approved")
    _, _, approved = await world.dms(3)
    assert approved.startswith(
        t("en", "suggest.notice.approved", id=suggestion_id, lesson=LESSON, reviewer="maintainer")
    )
    await world.as_maintainer(lambda repo: repo.get_pull(number).merge(merge_method="merge"))
    view = await world.status(suggestion_id, "merged")
    *_, merged = await world.dms(4)
    assert merged.startswith(t("en", "suggest.notice.merged", id=suggestion_id, lesson=LESSON))

    # The default branch holds the new text, byte-exact elsewhere.
    main = await world.on_branch("main", FINAL)
    assert main.encode() == original.replace(PASSAGE.encode(), FINAL.encode())

    # The lesson's post thanks the suggester; its issue gets one translation note.
    thanks = t("en", "suggest.post.merged", id=suggestion_id, names="sam", pr_url=view.pr_url)
    await eventually(
        lambda: asyncio.sleep(0, [m for m in world.post() if m.startswith(thanks)]),
        "the thanks in the lesson's post",
    )

    async def notes() -> list[str] | None:
        found = await world.as_maintainer(
            lambda repo: [
                c.body
                for c in repo.get_issue(world.issue_number).get_comments()
                if "translations may need" in c.body
            ]
        )
        return found or None

    [note] = await eventually(notes, "the translation note on the lesson's issue")
    assert f"#{number}" in note and f"`{PATH}`" in note
    assert "programs/demo/lessons/es/pipes.mdx" in note
    assert "programs/demo/lessons/ar/pipes.mdx" in note

    # Everything settles: exactly one DM per told event, one post per opened/merged.
    await eventually(world.all_jobs_done, "every job to be done")
    ids = await world.event_ids(suggestion_id)
    dms = [message["content"] for message in env.discord.dms(SAM)]
    assert [dm.rsplit("\n", 1)[1] for dm in dms] == [
        f"-# suggestion {suggestion_id} · {ids[kind]}" for kind in TOLD
    ]
    assert await notes() == [note]
    post = world.post()
    assert len([m for m in post if f"-# suggestion {suggestion_id} · " in m]) == 2
    assert (await world.as_maintainer(lambda repo: repo.get_pull(number).merged)) is True
    assert await service.for_lesson(LESSON) == []
    assert t("en", "discord_suggest.suggested_edits") not in await world.lesson_fields()


async def test_a_name_typed_on_the_web_is_one_inert_line_in_the_lesson_post(world: World) -> None:
    await world.service.submit(
        SuggestionInput(
            lesson=LESSON,
            locale="en",
            find=PASSAGE,
            replace=FIRST,
            reason="Clearer",
            source=SuggestionSource.WEB,
            author=Author(name="Bob\n\n# Fixes #5\n**@everyone**", handle="ip:9"),
        )
    )
    [posted] = await eventually(
        lambda: asyncio.sleep(0, [m for m in world.post() if "suggested an edit" in m]),
        "the lesson post to say an edit was suggested",
    )
    named = posted.split("\n")[0]
    assert named.startswith("✏️ Bob \\# Fixes \\#5 \\*\\*@\u200beveryone\\*\\* suggested")
    # No heading, bold text or ping started by the name anywhere in the message.
    assert "\n#" not in posted and "@everyone" not in posted
