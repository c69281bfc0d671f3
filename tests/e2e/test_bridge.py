"""Comments on lesson issues reach the lesson's forum post, through the whole offline stack.

GitHub sandbox webhook -> the bot's web app -> CommentBridge -> the Discord sandbox, on
every database backend.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from github import Auth, Github
from sqlalchemy import select

from bot.config import LinkingSettings, Settings
from bot.domain.markers import find_markers
from bot.offline import SandboxEnvironment, sandbox_environment
from bot.services.bridge import CommentBridge
from bot.services.events import IssueCommentEvent
from bot.services.outbox import Outbox
from bot.services.ports import Comment, ProposedChange
from bot.store.models import BridgedComment, Lesson, LessonLink
from bot.web.keys import BACKGROUND_TASKS
from tests.conftest import PROJECT
from tests.events import handled

IDENTITY = "data-basics/what-is-data"


@dataclass
class Bridged:
    """A linked environment and one lesson's issue number and forum post."""

    env: SandboxEnvironment
    issue_number: int
    thread_id: int
    forum_id: int

    def messages(self) -> list[dict[str, Any]]:
        """Return the post's messages after its starter, oldest first."""
        return self.env.discord.channel_messages(self.thread_id)[1:]

    async def bridged(self) -> list[BridgedComment]:
        """Return the stored comment -> message mappings."""
        async with self.env.app.sessions() as session:
            return list((await session.execute(select(BridgedComment))).scalars())


def _repo(env: SandboxEnvironment, login: str) -> Any:
    """Return the content repository through a plain PyGithub client acting as `login`."""
    client = Github(
        base_url=env.github.base_url,
        auth=Auth.Token(login),
        lazy=True,  # no request here, on the event loop the sandbox serves on
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    return client.get_repo(env.github.repository)


async def _delivered(env: SandboxEnvironment) -> None:
    """Wait until every webhook reached the bot and its handlers finished."""
    await env.github.wait_for_webhooks()
    assert env.app.web_app is not None
    await env.app.web_app[BACKGROUND_TASKS].drain()


async def _linked(
    settings: Settings, tmp_path: Path, database_url: str | None
) -> AsyncIterator[Bridged]:
    """Yield a running environment with the project's lessons linked."""
    async with sandbox_environment(
        settings,
        content_dir=PROJECT / "lessons",
        state_dir=tmp_path / "state",
        database_url=database_url,
    ) as env:
        assert env.app.linking is not None and env.app.catalogue is not None
        await env.app.linking.sync(env.app.catalogue)
        await _delivered(env)  # the sync's own issue webhooks
        program, slug = IDENTITY.split("/")
        async with env.app.sessions() as session:
            link = await session.scalar(
                select(LessonLink)
                .join(Lesson, Lesson.id == LessonLink.lesson_id)
                .where(Lesson.program == program, Lesson.slug == slug)
            )
        assert link is not None
        assert link.github_issue_number is not None and link.discord_thread_id is not None
        assert link.discord_forum_id is not None
        yield Bridged(env, link.github_issue_number, link.discord_thread_id, link.discord_forum_id)


@pytest.fixture
async def bridged(tmp_path: Path, database_url: str) -> AsyncIterator[Bridged]:
    """Link the project's lessons in a running environment on every database backend."""
    async for linked in _linked(Settings(), tmp_path, database_url):
        yield linked


async def test_a_comment_is_posted_edited_and_deleted_in_the_lessons_post(
    bridged: Bridged,
) -> None:
    env = bridged.env
    issue = await asyncio.to_thread(
        lambda: _repo(env, "maintainer").get_issue(bridged.issue_number)
    )
    comment = await asyncio.to_thread(issue.create_comment, "Is the second example right?")
    await _delivered(env)

    [message] = bridged.messages()
    assert "**maintainer**" in message["content"]
    assert comment.html_url in message["content"]
    assert "Is the second example right?" in message["content"]
    assert int(message["author"]["id"]) == env.discord.bot_user_id
    [row] = await bridged.bridged()
    assert (row.github_comment_id, row.discord_message_ids) == (
        comment.id,
        {"ids": [int(message["id"])]},
    )

    await asyncio.to_thread(comment.edit, "Is the third example right?")
    await _delivered(env)

    [edited] = bridged.messages()
    assert edited["id"] == message["id"]
    assert "Is the third example right?" in edited["content"]
    assert "second" not in edited["content"]

    await asyncio.to_thread(comment.delete)
    await _delivered(env)

    assert bridged.messages() == []
    assert await bridged.bridged() == []


def _assert_one_excerpt(message: dict[str, Any], comment_url: str, start: str) -> str:
    """Check a bridged message is an excerpt fit for Discord; return the excerpt."""
    content = message["content"]
    assert len(content) <= 2000
    # The link, whole, in the heading and again in the closing note.
    assert content.count(f"<{comment_url}>") == 2
    assert content.rstrip("*").endswith(f"<{comment_url}>")
    body = content.split("\n", 1)[1].rsplit("\n\n", 1)[0]
    assert body.startswith(start) and body.endswith("…")
    return body


async def test_a_long_comment_becomes_one_message_an_excerpt_and_the_link(
    bridged: Bridged,
) -> None:
    env = bridged.env
    issue = await asyncio.to_thread(
        lambda: _repo(env, "maintainer").get_issue(bridged.issue_number)
    )
    words = " ".join(f"word{n}" for n in range(20000))
    long_text = words[: 65536 - 6] + " tail."  # GitHub's largest comment
    assert len(long_text) == 65536
    comment = await asyncio.to_thread(issue.create_comment, long_text)
    await _delivered(env)

    [message] = bridged.messages()
    body = _assert_one_excerpt(message, comment.html_url, "word0 word1 ")
    # Cut between words: what is kept is whole words of the comment.
    assert long_text.startswith(body[:-1]) and long_text[len(body) - 1] == " "
    [row] = await bridged.bridged()
    assert row.discord_message_ids == {"ids": [int(message["id"])]}

    await asyncio.to_thread(comment.edit, "Short now.")
    await _delivered(env)

    [short] = bridged.messages()
    assert short["id"] == message["id"] and "Short now." in short["content"]
    assert "Too long" not in short["content"]


async def test_a_20_mb_delivery_becomes_one_message(bridged: Bridged) -> None:
    env = bridged.env
    issue = await asyncio.to_thread(
        lambda: _repo(env, "maintainer").get_issue(bridged.issue_number)
    )
    await asyncio.to_thread(issue.create_comment, "A small one first.")
    await _delivered(env)
    sender = env.github.context.webhooks
    [sample] = [d for d in sender.deliveries if d.event == "issue_comment"]
    # GitHub would not take such a comment, but a signed delivery may still carry one.
    comment = {
        **sample.payload["comment"],
        "id": sample.payload["comment"]["id"] + 1000,
        "body": "\n".join(f"Line {n} of a very long paste." for n in range(700_000)),
    }
    comment["html_url"] = f"{sample.payload['comment']['html_url']}0"
    payload = {**sample.payload, "comment": comment}
    body = json.dumps(payload).encode()
    assert len(body) > 20_000_000
    huge = dataclasses.replace(sample, payload=payload, body=body, delivery_id=str(uuid.uuid4()))

    async with (
        aiohttp.ClientSession() as session,
        session.post(huge.url, data=body, headers=sender.headers(huge)) as answer,
    ):
        assert answer.status == 202
    await _delivered(env)

    [_, message] = bridged.messages()
    excerpt = _assert_one_excerpt(message, comment["html_url"], "Line 0 of a very long paste.")
    assert excerpt.endswith("paste.…")  # cut at a line end
    assert len(await bridged.bridged()) == 2


async def test_an_edit_collapses_a_comment_split_before_into_one_message(
    bridged: Bridged,
) -> None:
    env = bridged.env
    issue = await asyncio.to_thread(
        lambda: _repo(env, "maintainer").get_issue(bridged.issue_number)
    )
    comment = await asyncio.to_thread(issue.create_comment, "Part one.")
    await _delivered(env)
    # What the bridge stored before the one-message rule: a comment in three messages.
    chat = env.app.bot.chat
    extra = [
        (await chat.post_message(bridged.thread_id, f"Part {part}."))[0]
        for part in ("two", "three")
    ]
    async with env.app.sessions() as session:
        row = await session.scalar(select(BridgedComment))
        assert row is not None
        first = row.discord_message_ids["ids"][0]
        row.discord_message_ids = {"ids": [first, *extra]}
        await session.commit()
    assert len(bridged.messages()) == 3

    await asyncio.to_thread(comment.edit, "All in one now.")
    await _delivered(env)

    [message] = bridged.messages()
    assert int(message["id"]) == first and "All in one now." in message["content"]
    [row] = await bridged.bridged()
    assert row.discord_message_ids == {"ids": [first]}


async def test_other_issues_pull_requests_and_the_bots_own_comments_are_not_bridged(
    bridged: Bridged,
) -> None:
    env = bridged.env
    maintainer = _repo(env, "maintainer")
    assert env.app.github is not None
    pull = await env.app.github.open_pull_request(
        ProposedChange(
            branch="suggestion-1",
            path="programs/data-basics/lessons/en/what-is-data.mdx",
            content="edited\n",
            commit_message="Edit",
            title="Edit",
            body="An edit.",
        )
    )

    def comment_elsewhere() -> None:
        other = maintainer.create_issue("A question about the site")
        other.create_comment("Not about a lesson.")
        maintainer.get_issue(pull.number).create_comment("Looks good.")
        # The bot's own login (what the bot's adapter writes as), with no marker.
        _repo(env, "lessonbot").get_issue(bridged.issue_number).create_comment("From the bot.")

    await asyncio.to_thread(comment_elsewhere)
    await _delivered(env)

    assert bridged.messages() == []
    assert await bridged.bridged() == []
    forum_messages = [
        message
        for thread in env.discord.threads(bridged.forum_id)
        for message in env.discord.channel_messages(int(thread["id"]))[1:]
    ]
    assert forum_messages == []


async def test_a_replayed_delivery_does_not_post_twice(bridged: Bridged) -> None:
    env = bridged.env
    issue = await asyncio.to_thread(
        lambda: _repo(env, "maintainer").get_issue(bridged.issue_number)
    )
    await asyncio.to_thread(issue.create_comment, "Once only, please.")
    await _delivered(env)
    sender = env.github.context.webhooks
    [delivery] = [d for d in sender.deliveries if d.event == "issue_comment"]

    async with (
        aiohttp.ClientSession() as session,
        session.post(delivery.url, data=delivery.body, headers=sender.headers(delivery)) as answer,
    ):
        reply = await answer.text()
    await _delivered(env)

    assert "duplicate" in reply
    assert len(bridged.messages()) == 1


# Discord -> GitHub, with linking.mirror_to_github

ANA = 1001  # a sandbox member


async def _comments(bridged: Bridged) -> list[Comment]:
    """Return the lesson issue's comments as the bot's adapter reads them."""
    assert bridged.env.app.github is not None
    return await bridged.env.app.github.list_comments(bridged.issue_number)


async def _until(check: Callable[[], Awaitable[bool]]) -> None:
    """Wait until a gateway event's effect shows (events have no completion to join)."""
    async with asyncio.timeout(10):
        while not await check():  # noqa: ASYNC110 - the check reads another server's state
            await asyncio.sleep(0.05)


@pytest.fixture
async def mirrored(tmp_path: Path) -> AsyncIterator[Bridged]:
    """Link the project's lessons with mirroring to GitHub on."""
    settings = Settings(linking=LinkingSettings(mirror_to_github=True))
    async for linked in _linked(settings, tmp_path, None):
        yield linked


async def test_a_message_in_a_lesson_post_is_mirrored_once_and_follows_edits(
    mirrored: Bridged,
) -> None:
    env = mirrored.env
    posted = await env.discord.post_message(
        mirrored.thread_id, ANA, "Why is @everyone mean? fixes #1 <b>bold</b>"
    )

    async def one_comment() -> bool:
        return len(await _comments(mirrored)) == 1

    await _until(one_comment)
    await _delivered(env)  # the comment's own webhook, which must not come back
    [comment] = await _comments(mirrored)
    assert find_markers(comment.body) == {"discord_message": posted["id"]}
    assert "**ana**" in comment.body
    assert "@\u200beveryone" in comment.body and "&lt;b&gt;" in comment.body
    assert f"/{mirrored.thread_id}/{posted['id']}" in comment.body
    assert [m["id"] for m in mirrored.messages()] == [posted["id"]]  # nothing bridged back

    await env.discord.edit_message(mirrored.thread_id, int(posted["id"]), "Edited question.")

    async def edited() -> bool:
        return "Edited question." in (await _comments(mirrored))[0].body

    await _until(edited)
    await env.discord.delete_message(mirrored.thread_id, int(posted["id"]))

    async def gone() -> bool:
        return await _comments(mirrored) == []

    await _until(gone)
    await _delivered(env)
    assert mirrored.messages() == []


async def test_messages_are_not_mirrored_by_default(bridged: Bridged) -> None:
    env = bridged.env
    assert env.app.bot.get_cog("BridgeCog") is None
    await env.discord.post_message(bridged.thread_id, ANA, "Only for Discord.")
    await asyncio.sleep(0.5)  # time enough for a listener, were there one
    await _delivered(env)
    assert await _comments(bridged) == []


async def test_a_mirrored_message_is_cut_to_githubs_body_limit(mirrored: Bridged) -> None:
    env = mirrored.env
    assert env.app.github is not None
    bridge = CommentBridge(
        env.app.sessions,
        env.app.bot.chat,
        bot_login=env.app.github.login,
        github=env.app.github,
        mirror=True,
    )
    # Longer than Discord allows, and escaping each < makes it longer still.
    content = "Why <this>? " * 8000

    outcome = await bridge.on_discord_message(
        env.guild["id"], mirrored.thread_id, 4242, "ana", content
    )

    assert outcome == "mirrored"
    [comment] = await _comments(mirrored)
    assert len(comment.body) <= 65536
    assert find_markers(comment.body) == {"discord_message": "4242"}
    text = comment.body.rsplit("\n\n", 1)[0]
    assert text.endswith("Why &lt;this&gt;?…")


async def test_a_bridge_that_died_after_posting_finds_its_message_instead_of_posting_again(
    bridged: Bridged,
) -> None:
    env = bridged.env
    bridge = CommentBridge(
        env.app.sessions,
        env.app.bot.chat,
        bot_login=_no_login,
        outbox=Outbox(env.app.sessions, lease=timedelta(seconds=0.2)),
    )
    payload = {
        "action": "created",
        "issue": {"number": bridged.issue_number},
        "comment": {
            "id": 987654,
            "html_url": "https://github.com/lessons/content/issues/1#issuecomment-987654",
            "body": "Why does the median ignore outliers?",
            "user": {"login": "ana"},
        },
        "sender": {"login": "ana"},
    }
    # The message goes out, and the bot dies before it hears back.
    env.discord.add_fault("POST /api/v10/channels/*/messages", mode="hang")
    dying = asyncio.create_task(handled(IssueCommentEvent, bridge.on_issue_comment, payload))
    await _until(lambda: _now(len(bridged.messages()) == 1))
    dying.cancel()
    await asyncio.gather(dying, return_exceptions=True)
    env.discord.clear_faults()
    assert await bridged.bridged() == []  # nothing was recorded
    await asyncio.sleep(0.3)  # the dead attempt's lease runs out

    outcome = await handled(
        IssueCommentEvent, bridge.on_issue_comment, payload
    )  # GitHub redelivers

    assert outcome == "posted (found after a crash)"
    [message] = bridged.messages()
    assert "median" in message["content"]
    [row] = await bridged.bridged()
    assert row.discord_message_ids == {"ids": [int(message["id"])]}


async def _no_login() -> str:
    return "lessonbot"


async def _now(value: bool) -> bool:
    return value


async def test_an_edit_shows_a_comment_again_whose_copy_was_deleted_on_discord(
    bridged: Bridged,
) -> None:
    env = bridged.env
    bridge = CommentBridge(env.app.sessions, env.app.bot.chat, bot_login=_no_login)
    payload: dict[str, Any] = {
        "action": "created",
        "issue": {"number": bridged.issue_number},
        "comment": {
            "id": 55501,
            "html_url": "https://github.com/lessons/content/issues/1#issuecomment-55501",
            "body": "First words.",
            "user": {"login": "ana"},
        },
        "sender": {"login": "ana"},
    }
    assert await handled(IssueCommentEvent, bridge.on_issue_comment, payload) == "posted"
    [message] = bridged.messages()
    await env.discord.delete_message(bridged.thread_id, int(message["id"]))

    edited = {**payload, "action": "edited"}
    edited["comment"] = {**payload["comment"], "body": "Better words."}
    assert await handled(IssueCommentEvent, bridge.on_issue_comment, edited) == "edited"

    [shown] = bridged.messages()
    assert "Better words." in shown["content"]
    [row] = await bridged.bridged()
    assert row.discord_message_ids == {"ids": [int(shown["id"])]}
