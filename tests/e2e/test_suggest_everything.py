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
import email
import email.policy
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from github import Auth, Github
from github.Repository import Repository
from githubkit import GitHub
from sqlalchemy import select

from bot.config import Settings
from bot.i18n import t
from bot.offline import SandboxEnvironment, sandbox_environment
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
from tests.e2e.discord.support import STRING
from tests.e2e.discord.test_suggest_live import (
    INTEGER,
    MODAL,
    assert_no_bookkeeping,
    buttons,
    click,
    modal_fields,
    run_suggest,
    submit,
)

T = TypeVar("T")
# Long enough for any slow CI machine; each wait returns as soon as its condition holds.
TIMEOUT = 60.0
LESSON = "demo/pipes"
TITLE = "Quizzes With Pipes"  # the lesson's English title, as notices name it
PATH = "programs/demo/lessons/en/pipes.mdx"
SAM = 1004  # a sandbox member whose Discord speaks en-US
PASSAGE = "Fixtures are small on purpose."
FIRST = "Fixtures are kept small on purpose."
REVIEWED = "Fixtures are kept tiny on purpose."
FINAL = "Fixtures are kept really tiny on purpose."
TOLD = ["pr_opened", "changes_requested", "approved", "merged"]
# The status page's passage as it reads now, and its revise form's fields.
CURRENT = re.compile(r'<pre class="passage" id="current-passage"[^>]*>([^<]*)</pre>')
TEXTAREA = re.compile(r'<textarea[^>]* name="(\w+)"[^>]*>([^<]*)</textarea>')


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
        return [message["content"] for message in await self.dm_messages(count)]

    async def dm_messages(self, count: int) -> list[dict[str, Any]]:
        """Wait until the suggester has `count` DMs; return them whole, oldest first."""

        async def check() -> list[dict[str, Any]] | None:
            messages = self.env.discord.dms(SAM)
            return messages if len(messages) >= count else None

        return await eventually(check, f"{count} DMs")

    async def dm_starting(self, text: str) -> dict[str, Any]:
        """Wait for the suggester's DM that starts with `text`; return it."""
        lead = text.rstrip()

        async def check() -> dict[str, Any] | None:
            found = [m for m in self.env.discord.dms(SAM) if m["content"].startswith(lead)]
            return found[0] if found else None

        return await eventually(check, f"a DM starting {lead!r}")

    async def status_page(self, suggestion_id: int) -> str:
        """Return the suggestion's status page as a browser gets it over HTTP."""
        url = f"{self.env.app.web_url}/suggestions/{suggestion_id}?locale=en"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            assert response.status == 200
            return await response.text()

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
    [opened] = await world.dm_messages(1)
    ids = await world.event_ids(suggestion_id)
    assert opened["content"] == t(
        "en",
        "suggest.notice.pr_opened",
        id=suggestion_id,
        lesson=TITLE,
        pr_url=view.pr_url,
        status_url=service.status_url(suggestion_id),
    )
    assert [b.get("custom_id") or b.get("url") for b in buttons(opened)] == [
        f"lessonbot:suggestion:revise:{suggestion_id}",
        f"lessonbot:suggestion:withdraw:{suggestion_id}",
        service.step_url(suggestion_id, ids["pr_opened"], "en"),
    ]
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
    await world.status(suggestion_id, "changes_requested")

    # The review and its line comment are two webhooks, handled in either order.
    async def proposed() -> SuggestionView | None:
        view = await world.service.view(suggestion_id)
        return view if view is not None and view.reviewer_suggestions else None

    view = await eventually(proposed, "the reviewer's proposed text to be recorded")
    [proposal] = view.reviewer_suggestions
    assert proposal.detail["suggestion"].rstrip("\n") == REVIEWED
    comment_id = proposal.detail["comment_id"]
    use_id = f"lessonbot:suggestion:use:{suggestion_id}:{comment_id}"

    # The learner is told the reviewer's words and the proposed text with its button: in
    # the review's DM, or (its webhook handled after the review's) in one of its own.
    async def proposal_told() -> dict[str, Any] | None:
        told = [m for m in world.env.discord.dms(SAM) if use_id in str(buttons(m))]
        return told[0] if told else None

    with_text = await eventually(proposal_told, "the proposed text told with its button")
    asked = await world.dm_starting(
        t("en", "suggest.notice.changes_requested", lesson=TITLE, reviewer="maintainer", summary="")
    )
    assert asked["content"].startswith(
        t(
            "en",
            "suggest.notice.changes_requested",
            lesson=TITLE,
            reviewer="maintainer",
            summary="\n```\nNearly: one word.\n```",
        ).replace(": \n", ":\n")
    )
    assert with_text["content"].endswith(
        t(
            "en",
            "suggest.notice.proposed_text",
            reviewer="maintainer",
            line=line,
            text=f"```\n{REVIEWED}\n```",
        )
    )

    # The learner takes the reviewer's text with its button...
    [use] = [b for b in buttons(with_text) if b.get("custom_id") == use_id]
    assert use["label"] == t("en", "suggest.button.use", line=line)
    accepted = await click(world.env.discord, with_text, SAM, use_id, "en-US")
    assert accepted["ephemeral"] is True
    assert body(accepted).startswith(
        t("en", "discord_suggest.accepted", id=suggestion_id, status_url="")
    )
    await world.on_branch(branch, REVIEWED)
    # ...which answers the review: the status says so, and shows the text as it is now.
    view = await world.status(suggestion_id, "answered")
    assert view.passage == REVIEWED
    page = await world.status_page(suggestion_id)
    assert 'data-status="answered"' in page
    assert t("en", "web_suggest.status.answered") in page
    [current] = CURRENT.findall(page)
    assert current == REVIEWED
    status = await suggest(
        world, "status", [{"name": "id", "type": INTEGER, "value": suggestion_id}]
    )
    fields = {f["name"]: f["value"] for f in status["data"]["embeds"][0]["fields"]}
    assert fields["Status"] == t("en", "discord_suggest.status.answered")
    assert fields[t("en", "discord_suggest.passage_field")] == f"> {REVIEWED}"

    # ...then revises once more: the Revise button opens the modal filled with that text.
    revise_id = f"lessonbot:suggestion:revise:{suggestion_id}"
    modal = await click(world.env.discord, with_text, SAM, revise_id, "en-US")
    assert modal["type"] == MODAL
    assert {key: f.get("value") for key, f in modal_fields(modal).items()} == {
        "find": REVIEWED,
        "replace": REVIEWED,
        "reason": None,
    }
    revised = await fill(world, replace=FINAL, reason="Clearer.")
    assert body(revised).startswith(
        t("en", "discord_suggest.revised", id=suggestion_id, status_url="")
    )
    on_branch = await world.on_branch(branch, FINAL)
    assert on_branch.encode() == original.replace(PASSAGE.encode(), FINAL.encode())

    async def three_commits() -> int | None:
        count = await world.as_maintainer(lambda repo: repo.get_pull(number).commits)
        return count if count == 3 else None

    assert await eventually(three_commits, "three commits on the PR") == 3

    async def final_passage() -> SuggestionView | None:
        found = await service.view(suggestion_id)
        return found if found is not None and found.passage == FINAL else None

    view = await eventually(final_passage, "the revised passage recorded")
    assert view.status == "answered"
    assert [e.kind for e in view.events if e.kind in ("accepted", "revised")] == [
        "accepted",
        "revised",
    ]
    assert CURRENT.findall(await world.status_page(suggestion_id)) == [FINAL]

    # The maintainer approves, then merges.
    def approve(repo: Repository) -> None:
        pull = repo.get_pull(number)
        pull.create_review(commit=repo.get_commit(pull.head.sha), body="Thanks!", event="APPROVE")

    await world.as_maintainer(approve)
    view = await world.status(suggestion_id, "approved")
    await world.dm_starting(
        t("en", "suggest.notice.approved", id=suggestion_id, lesson=TITLE, reviewer="maintainer")
    )
    await world.as_maintainer(lambda repo: repo.get_pull(number).merge(merge_method="merge"))
    view = await world.status(suggestion_id, "merged")
    await world.dm_starting(t("en", "suggest.notice.merged", id=suggestion_id, lesson=TITLE))

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

    # Everything settles: one DM per told step (the proposed text in its review's or in
    # its own), one post per opened/merged; no bookkeeping shows anywhere.
    await eventually(world.all_jobs_done, "every job to be done")
    ids = await world.event_ids(suggestion_id)
    told = TOLD if with_text is asked else [*TOLD[:2], "reviewer_suggestion", *TOLD[2:]]
    dms = world.env.discord.dms(SAM)
    assert sorted(buttons(dm)[-1]["url"] for dm in dms) == sorted(
        service.step_url(suggestion_id, ids[kind], "en") for kind in told
    )
    posts = world.env.discord.channel_messages(world.thread_id)[1:]
    assert [buttons(m)[-1]["url"] for m in posts if buttons(m)] == [
        service.step_url(suggestion_id, ids[kind]) for kind in ("pr_opened", "merged")
    ]
    for message in [*dms, *posts]:
        assert_no_bookkeeping(message["content"])
    assert await notes() == [note]
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


async def test_a_suggester_who_gave_an_email_is_emailed_each_step_in_their_language(
    world: World,
) -> None:
    """`lessonbot sandbox` sends the bot's mail to its catcher: the steps arrive there."""
    env, service = world.env, world.service
    assert env.mail is not None
    submitted = await service.submit(
        SuggestionInput(
            lesson=LESSON,
            locale="en",
            find=PASSAGE,
            replace=FIRST,
            reason="Más claro.",
            source=SuggestionSource.WEB,
            author=Author(name="Ana", email="ana@example.org", handle="ip:7", locale="es"),
        )
    )
    suggestion_id = submitted.id
    view = await world.status(suggestion_id, "open")
    assert view.pr_number is not None
    number = view.pr_number
    on_branch = await world.on_branch(f"lessonbot/suggest/{suggestion_id}", FIRST)
    line = on_branch.splitlines().index(FIRST) + 1

    def request_changes(repo: Repository) -> None:
        pull = repo.get_pull(number)
        pull.create_review(
            commit=repo.get_commit(pull.head.sha),
            body="Nearly: **one** word.",
            event="REQUEST_CHANGES",
            comments=[{"path": PATH, "line": line, "body": f"```suggestion\n{REVIEWED}\n```"}],
        )

    await world.as_maintainer(request_changes)
    await world.status(suggestion_id, "changes_requested")
    await eventually(world.all_jobs_done, "every job to be done")

    ids = await world.event_ids(suggestion_id)
    caught = await env.mail.wait_for_messages(2, timeout=TIMEOUT)
    mails = {}
    for mail in caught:
        message = email.message_from_bytes(mail.raw, policy=email.policy.default)
        assert mail.to == ["ana@example.org"]
        assert message["Subject"] == t("es", "suggest.mail_subject", id=suggestion_id, lesson=TITLE)
        text = message.get_content().replace("\r\n", "\n")
        # Plain text for people: no Discord markdown, no codes, nothing for the bot only.
        for inner in ("```", "-#", "lessonbot:", "\\", "<@"):
            assert inner not in text, (inner, text)
        event_id = int(re.findall(r"#event-(\d+)", text)[-1])
        mails[event_id] = text
    opened = mails.pop(ids["pr_opened"])
    step = service.step_url(suggestion_id, ids["pr_opened"], "es")
    assert opened == (
        t(
            "es",
            "suggest.notice.pr_opened",
            lesson=TITLE,
            pr_url=view.pr_url,
            status_url=service.status_url(suggestion_id),
        )
        + "\n\n"
        + t("es", "suggest.mail_revise", status_url=step)
        + "\n"
    )
    # The review's step says what the reviewer wrote and, with it or right after (the
    # webhooks come in either order), the proposed text, once, and where to take it.
    asked = mails.pop(ids["changes_requested"])
    assert asked.startswith(
        t(
            "es",
            "suggest.notice.changes_requested",
            lesson=TITLE,
            reviewer="maintainer",
            summary="\n    Nearly: **one** word.",
        ).replace(": \n", ":\n")
    )
    proposed = t(
        "es",
        "suggest.notice.proposed_text",
        reviewer="maintainer",
        line=line,
        text=f"    {REVIEWED}",
    )
    told = [text for text in (asked, *mails.values()) if proposed in text]
    assert len(told) == 1 and len(mails) == (0 if told[0] is asked else 1)
    assert t("es", "suggest.mail_use", status_url="") in told[0]
