"""The real bot, through discord.py's own code, against the Discord sandbox on one loop.

Each test starts the sandbox and the bot (`bot.start()` as a task), waits until the gateway
session is ready, acts as a person through the sandbox's admin API, and reads what the bot
answered from the sandbox's records.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.discord.client import LessonBot, create_bot
from bot.discord.replies import defer_if_slow, reply
from bot.domain.catalogue import load_catalogue
from bot.i18n import t
from bot.services.lessons import LessonDirectory, LessonSummary
from bot.services.ports import ChatButton, ChatEmbed, ChatForbiddenError, ChatNotFoundError
from tests.conftest import write_lesson
from tests.discord.support import LESSONS, make_bot, make_services, make_settings
from tests.e2e.discord.support import (
    ANA,
    ANSWER_TIMEOUT,
    BEN,
    CLOSED,
    EPHEMERAL,
    READY_TIMEOUT,
    STRING,
    log_in,
    stop_bot,
)


@pytest.fixture
def forum_tags() -> list[str]:
    """Tag the lesson forum."""
    return ["lesson", "beginner", "es"]


BotStarter = Callable[..., Awaitable[LessonBot]]


@pytest.fixture
async def start_bot(sandbox: Any, guild: dict[str, Any]) -> AsyncIterator[BotStarter]:
    """Yield a function that starts the real bot against the sandbox; close it after."""
    running: list[tuple[LessonBot, asyncio.Task[None]]] = []

    async def start(
        directory: LessonDirectory | None = None, cogs: tuple[commands.Cog, ...] = ()
    ) -> LessonBot:
        settings = make_settings(sandbox.api_base_url, sandbox.gateway_url, guild["id"])
        bot = await make_bot(settings, make_services(directory), guild_ready_timeout=0.1)
        for cog in cogs:  # before login, so setup_hook syncs their commands too
            await bot.add_cog(cog)
        running.append((bot, await log_in(bot)))
        return bot

    yield start
    for bot, task in running:
        await stop_bot(bot, task)


async def run_lesson(
    sandbox: Any, guild: dict[str, Any], user: int, value: str, locale: str
) -> list[dict[str, Any]]:
    """Run `/lesson value` as a user and return the bot's answers."""
    interaction_id = await sandbox.run_command(
        guild["id"],
        guild["channels"]["general"],
        user,
        "lesson",
        options=[{"name": "lesson", "type": STRING, "value": value}],
        locale=locale,
    )
    return await sandbox.wait_for_interaction_response(interaction_id, timeout=ANSWER_TIMEOUT)


# Connecting and registering commands


async def test_bot_connects_and_registers_lesson_in_the_guild(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter
) -> None:
    bot = await start_bot()
    assert bot.user is not None and bot.user.id == sandbox.bot_user_id
    assert bot.application_id == sandbox.application_id
    assert bot.get_guild(guild["id"]) is not None  # GUILD_CREATE arrived over the gateway
    (command,) = sandbox.commands(guild["id"])
    assert command["name"] == "lesson"
    assert command["description"] == t("en", "discord.lesson_description")
    assert command["description_localizations"]["es-ES"] == t("es", "discord.lesson_description")
    (option,) = command["options"]
    assert option["autocomplete"] is True
    assert sandbox.commands() == []  # synced to the guild, not globally


# /lesson


async def test_lesson_answers_in_spanish_for_a_spanish_user(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter
) -> None:
    await start_bot()
    (answer,) = await run_lesson(sandbox, guild, ANA, "data-basics/what-is-data", "es-ES")
    assert answer["kind"] == "callback" and answer["type"] == 4
    assert not answer["ephemeral"]
    (embed,) = answer["message"]["embeds"]
    assert embed["title"] == "¿Qué son los datos?"
    assert embed["description"].startswith("Descubre qué significan los datos")
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert fields == {"Programa": "Fundamentos de datos", "Disponible en": "árabe, inglés, español"}
    # Everyone in the channel sees it, as a reply to the command.
    posted = sandbox.channel_messages(guild["channels"]["general"])
    assert [message["embeds"][0]["title"] for message in posted] == ["¿Qué son los datos?"]


async def test_lesson_answers_in_english_for_an_english_user(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter
) -> None:
    await start_bot()
    (answer,) = await run_lesson(sandbox, guild, BEN, "data-basics/what-is-data", "en-US")
    (embed,) = answer["message"]["embeds"]
    assert embed["title"] == "What Is Data?"
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert fields == {"Program": "Data Basics", "Available in": "Arabic, English, Spanish"}
    assert embed["footer"]["text"] == "data-basics/what-is-data"


async def test_unknown_lesson_gets_a_localized_ephemeral_message(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter
) -> None:
    await start_bot()
    (answer,) = await run_lesson(sandbox, guild, ANA, "data-basics/no-such-lesson", "es-ES")
    assert answer["ephemeral"] is True
    assert answer["message"]["flags"] & EPHEMERAL
    assert answer["message"]["content"] == t(
        "es",
        "lesson.not_found",
        lesson="data-basics/no-such-lesson",
        example="`data-basics/what-is-data`",
    )
    assert sandbox.channel_messages(guild["channels"]["general"]) == []  # nobody else sees it


async def test_autocomplete_offers_matching_lessons(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter
) -> None:
    await start_bot()
    choices = await sandbox.autocomplete(
        guild["id"],
        guild["channels"]["general"],
        BEN,
        "lesson",
        options=[{"name": "lesson", "type": STRING, "value": "dat", "focused": True}],
        locale="en-US",
    )
    assert [choice["value"] for choice in choices] == [
        "data-basics/what-is-data",
        "data-basics/cleaning-data",
        "data-basics/train-test-split",
    ]
    assert choices[0]["name"] == "What Is Data? · Data Basics"
    spanish = await sandbox.autocomplete(
        guild["id"],
        guild["channels"]["general"],
        ANA,
        "lesson",
        options=[{"name": "lesson", "type": STRING, "value": "limpieza", "focused": True}],
        locale="es-ES",
    )
    assert spanish == [
        {"name": "Limpieza de datos · Fundamentos de datos", "value": "data-basics/cleaning-data"}
    ]


async def test_autocomplete_never_offers_more_than_25(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter, tmp_path: Path
) -> None:
    for number in range(40):
        write_lesson(
            tmp_path,
            f"programs/big/lessons/en/lesson-{number:02}.mdx",
            f"---\ntitle: Lesson {number}\ndescription: d\norder: {number + 1}\n---\n",
        )
    await start_bot(LessonDirectory(load_catalogue(tmp_path), "en"))
    choices = await sandbox.autocomplete(
        guild["id"],
        guild["channels"]["general"],
        BEN,
        "lesson",
        options=[{"name": "lesson", "type": STRING, "value": "", "focused": True}],
        locale="en-US",
    )
    assert len(choices) == 25


class BrokenDirectory(LessonDirectory):
    """A directory whose lookups fail, as a broken service would."""

    def describe(self, identity: str, locale: str) -> LessonSummary | None:
        raise RuntimeError("the catalogue cannot be read")


async def test_an_exception_in_a_command_gets_a_localized_answer_and_a_log_line(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="bot.discord.errors")
    await start_bot(BrokenDirectory(load_catalogue(LESSONS), "en"))
    (answer,) = await run_lesson(sandbox, guild, ANA, "data-basics/what-is-data", "es-ES")
    assert answer["ephemeral"] is True
    content = answer["message"]["content"]
    reference = re.search(r"referencia ([0-9a-f]{8})", content)
    assert reference is not None
    assert content == t("es", "discord.error_generic", command="lesson", reference=reference[1])
    (record,) = [r for r in caplog.records if r.name == "bot.discord.errors"]
    assert record.getMessage().startswith(f"/lesson failed (reference {reference[1]})")
    assert "the catalogue cannot be read" in caplog.text


class SlowCog(commands.Cog):
    """Commands that take longer than Discord's three seconds allow, scaled down."""

    @app_commands.command(name="slow", description="Answer after a while")
    async def slow(self, interaction: discord.Interaction) -> None:
        """Work past the defer threshold, then answer."""
        async with defer_if_slow(interaction, after=0.05):
            await asyncio.sleep(0.3)
        await reply(interaction, "done")

    @app_commands.command(name="slowfail", description="Fail after a while")
    async def slowfail(self, interaction: discord.Interaction) -> None:
        """Work past the defer threshold, then fail."""
        async with defer_if_slow(interaction, after=0.05):
            await asyncio.sleep(0.3)
            raise RuntimeError("late failure")


async def test_slow_work_is_deferred_then_answered(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter
) -> None:
    await start_bot(cogs=(SlowCog(),))
    interaction_id = await sandbox.run_command(
        guild["id"], guild["channels"]["general"], BEN, "slow", locale="en-US"
    )
    answers = await sandbox.wait_for_interaction_response(interaction_id, timeout=ANSWER_TIMEOUT)
    assert [(answer["kind"], answer["type"]) for answer in answers] == [
        ("callback", 5),  # "thinking..." within the deadline
        ("followup", None),
    ]
    assert answers[-1]["message"]["content"] == "done"


async def test_a_failure_after_deferring_is_answered_by_follow_up(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter
) -> None:
    await start_bot(cogs=(SlowCog(),))
    interaction_id = await sandbox.run_command(
        guild["id"], guild["channels"]["general"], ANA, "slowfail", locale="es-ES"
    )
    answers = await sandbox.wait_for_interaction_response(interaction_id, timeout=ANSWER_TIMEOUT)
    assert [answer["kind"] for answer in answers] == ["callback", "followup"]
    assert answers[-1]["message"]["content"].startswith("Algo salió mal al ejecutar /slowfail.")


async def test_the_bot_answers_again_after_the_gateway_drops(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter
) -> None:
    bot = await start_bot()
    resumed = asyncio.create_task(bot.wait_for("resumed", timeout=READY_TIMEOUT))
    await asyncio.sleep(0)  # let wait_for register before the connection drops
    assert await sandbox.drop_gateway() == 1
    # discord.py reconnects on its own and resumes at the READY's resume_gateway_url.
    await resumed
    assert sandbox.gateway_counts["resume"] == 1
    assert sandbox.gateway_counts["identify"] == 1  # the same session, not a new one
    (answer,) = await run_lesson(sandbox, guild, BEN, "prompt-craft/clear-instructions", "en-US")
    assert answer["message"]["embeds"][0]["title"] == "Writing Clear Instructions"


# The chat port


async def test_chat_posts_and_edits_a_message(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter
) -> None:
    bot = await start_bot()
    channel = guild["channels"]["general"]
    (message_id,) = await bot.chat.post_message(channel, "A new lesson is out.")
    await bot.chat.edit_message(channel, message_id, content="A new lesson is out: read it!")
    (posted,) = sandbox.channel_messages(channel)
    assert int(posted["id"]) == message_id
    assert posted["content"] == "A new lesson is out: read it!"
    assert posted["edited_timestamp"] is not None


async def test_chat_splits_a_long_message_into_three(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter
) -> None:
    bot = await start_bot()
    channel = guild["channels"]["general"]
    content = "\n".join(f"{number:02} " + "x" * 96 for number in range(45))
    content += "!"
    assert len(content) == 4500
    ids = await bot.chat.post_message(channel, content)
    posted = sandbox.channel_messages(channel)
    assert [int(message["id"]) for message in posted] == ids and len(ids) == 3
    assert all(len(message["content"]) <= 2000 for message in posted)
    assert "\n".join(message["content"] for message in posted) == content


async def test_chat_replaces_a_split_message_and_deletes_messages(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter
) -> None:
    bot = await start_bot()
    channel = guild["channels"]["general"]
    ids = await bot.chat.post_message(channel, "\n".join("y" * 99 for _ in range(30)))
    assert len(ids) == 2

    longer = await bot.chat.replace_messages(channel, ids, "\n".join("z" * 99 for _ in range(50)))
    assert longer[:2] == ids and len(longer) == 3
    assert all(m["content"].startswith("z") for m in sandbox.channel_messages(channel))

    shorter = await bot.chat.replace_messages(channel, longer, "Short.")
    assert shorter == ids[:1]
    assert [m["content"] for m in sandbox.channel_messages(channel)] == ["Short."]

    await bot.chat.delete_message(channel, ids[0])
    await bot.chat.delete_message(channel, ids[0])  # already gone: no error
    assert sandbox.channel_messages(channel) == []


async def test_chat_waits_out_a_rate_limit(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter
) -> None:
    bot = await start_bot()
    channel = guild["channels"]["general"]
    sandbox.add_fault(
        match="POST /api/v10/channels/*/messages", mode="ratelimit", count=1, retry_after=0.2
    )
    (message_id,) = await bot.chat.post_message(channel, "Sent once the limit passes.")
    assert [int(message["id"]) for message in sandbox.channel_messages(channel)] == [message_id]
    posts = [
        request["status"]
        for request in sandbox.requests
        if request["method"] == "POST"
        and request["path"] == f"/api/v10/channels/{channel}/messages"
    ]
    assert posts == [429, 200]  # the rate limit, then discord.py's own retry


async def test_chat_embeds_stay_within_limits(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter
) -> None:
    bot = await start_bot()
    channel = guild["channels"]["general"]
    embed = ChatEmbed(
        title="Digest " * 60,
        description="question? " * 700,
        fields=tuple((f"Lesson {n}", "open " * 300) for n in range(30)),
        footer="lessonbot",
    )
    (message_id,) = await bot.chat.post_message(channel, "This week:", embed=embed)
    (posted,) = sandbox.channel_messages(channel)
    assert int(posted["id"]) == message_id
    (sent,) = posted["embeds"]
    assert len(sent["title"]) <= 256 and len(sent["fields"]) <= 25


async def test_chat_creates_a_forum_post_with_tags(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter
) -> None:
    bot = await start_bot()
    forum = guild["channels"]["data-basics"]
    post = await bot.chat.create_forum_post(
        forum,
        "What Is Data?",
        "Talk about the lesson here.",
        tags=["Lesson", "beginner", "no-such-tag"],
    )
    (thread,) = sandbox.threads(forum)
    assert int(thread["id"]) == post.thread_id
    assert thread["name"] == "What Is Data?"
    tag_names = {
        tag["id"]: tag["name"]
        for channel in sandbox.channels(guild["id"])
        if channel["id"] == str(forum)
        for tag in channel["available_tags"]
    }
    assert sorted(tag_names[tag] for tag in thread["applied_tags"]) == ["beginner", "lesson"]
    (starter,) = sandbox.channel_messages(post.thread_id)
    assert int(starter["id"]) == post.message_ids[0]
    assert starter["content"] == "Talk about the lesson here."


def _forum_tags(sandbox: Any, guild: dict[str, Any], forum_id: int) -> dict[str, str]:
    """Return a forum's tags as {id: name}."""
    return {
        tag["id"]: tag["name"]
        for channel in sandbox.channels(guild["id"])
        if channel["id"] == str(forum_id)
        for tag in channel["available_tags"]
    }


async def test_chat_finds_a_forum_by_name_and_adds_only_the_missing_tags(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter
) -> None:
    bot = await start_bot()
    before = len(sandbox.requests)

    forum = await bot.chat.ensure_forum("data-basics", "Data Basics", ["beginner", "ar", "es"])

    assert forum.id == guild["channels"]["data-basics"]
    assert forum.guild_id == guild["id"]
    assert set(forum.tags) == {"lesson", "beginner", "es", "ar"}
    assert set(_forum_tags(sandbox, guild, forum.id).values()) == set(forum.tags)
    # Found in the cache, read fresh before its tags are written.
    assert [r["method"] for r in sandbox.requests[before:]] == ["GET", "PATCH"]

    before = len(sandbox.requests)
    again = await bot.chat.ensure_forum("renamed", "Data", ["ar"], forum_id=forum.id)
    assert again == forum
    # By stored id, every tag there: nothing written, even before the cache catches up.
    assert [r["method"] for r in sandbox.requests[before:]] in ([], ["GET"])


async def test_chat_creates_a_missing_forum_within_the_tag_limit(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter
) -> None:
    bot = await start_bot()
    wanted = [f"tag-{n}" for n in range(25)]

    forum = await bot.chat.ensure_forum("prompt-craft", "Prompt Craft", wanted)

    channels = {c["name"]: c for c in sandbox.channels(guild["id"])}
    assert int(channels["prompt-craft"]["id"]) == forum.id
    assert channels["prompt-craft"]["type"] == 15
    assert channels["prompt-craft"]["topic"] == "Prompt Craft"
    assert list(forum.tags) == wanted[:20]  # Discord's 20 tags per forum


async def test_chat_edits_a_thread_name_tags_archived_and_locked(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter
) -> None:
    # Discord allows 2 name edits per thread per 10 minutes and discord.py waits out an
    # exhausted bucket before its next call on the route: relaxed here, on purpose.
    sandbox.rate_limiter.settings.rules["channel_name_topic"] = (10, 600.0)
    bot = await start_bot()
    forum = await bot.chat.ensure_forum("data-basics", "Data Basics", ["beginner", "es"])
    post = await bot.chat.create_forum_post(
        forum.id, "Old", "Talk here.", tag_ids=[forum.tags["beginner"]]
    )
    counted = sum(bot.chat.request_counts.values())

    await bot.chat.edit_thread(
        post.thread_id, name="New", tag_ids=[forum.tags["es"]], archived=True, locked=True
    )

    assert sum(bot.chat.request_counts.values()) == counted + 1
    (thread,) = sandbox.threads(forum.id)
    assert thread["name"] == "New"
    assert _forum_tags(sandbox, guild, forum.id)[thread["applied_tags"][0]] == "es"
    assert thread["thread_metadata"]["archived"] and thread["thread_metadata"]["locked"]

    await bot.chat.edit_thread(post.thread_id, name="Back", archived=False, locked=False)

    (thread,) = sandbox.threads(forum.id)
    assert thread["name"] == "Back"
    assert not thread["thread_metadata"]["archived"] and not thread["thread_metadata"]["locked"]
    with pytest.raises(ChatNotFoundError):
        await bot.chat.edit_thread(123456789, name="gone")


async def test_chat_lists_every_post_of_a_forum_active_and_archived_oldest_first(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter
) -> None:
    bot = await start_bot()
    forum = await bot.chat.ensure_forum("data-basics", "Data Basics", [])
    other = await bot.chat.ensure_forum("other", "Other", [])
    await bot.chat.create_forum_post(other.id, "Elsewhere", "Not in data-basics.")
    # More archived posts than one page (100) holds, archived newest first, so the
    # listing has to page and still hand them back in creation order.
    created = [
        int((await sandbox.create_thread(forum.id, ANA, f"Post {n}", "Hi"))["id"])
        for n in range(103)
    ]
    for thread_id in reversed(created[:101]):
        await bot.chat.edit_thread(thread_id, archived=True)
    await bot.chat.edit_thread(created[0], locked=True)
    mine = await bot.chat.create_forum_post(forum.id, "Mine", "key: lesson-1")
    counted = dict(bot.chat.request_counts)

    threads = await bot.chat.list_forum_threads(forum.id)

    assert [t.id for t in threads] == [*created, mine.thread_id]
    assert [t.name for t in threads[:2]] == ["Post 0", "Post 1"]
    assert threads[0].archived and threads[0].locked and threads[0].owner_id == ANA
    assert not threads[-1].archived and threads[-1].owner_id == bot.chat.user_id
    made = Counter(bot.chat.request_counts) - Counter(counted)
    assert made == {
        "GET /guilds/{guild_id}/threads/active": 1,
        "GET /channels/{channel_id}/threads/archived/public": 2,
    }
    # A post unarchived since stays listed once.
    await bot.chat.edit_thread(created[5], archived=False)
    again = await bot.chat.list_forum_threads(forum.id)
    assert [t.id for t in again] == [t.id for t in threads]
    assert not again[5].archived
    assert [t.name for t in await bot.chat.list_forum_threads(other.id)] == ["Elsewhere"]
    with pytest.raises(ChatNotFoundError):
        await bot.chat.list_forum_threads(123456789)


async def test_chat_reads_a_message_and_knows_its_own_id(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter
) -> None:
    settings = make_settings(sandbox.api_base_url, sandbox.gateway_url, guild["id"])
    assert create_bot(settings).chat.user_id == 0
    bot = await start_bot()
    assert bot.chat.user_id == sandbox.bot_user_id
    forum = await bot.chat.ensure_forum("data-basics", "Data Basics", [])
    post = await bot.chat.create_forum_post(
        forum.id,
        "Keyed",
        "Talk here.",
        embed=ChatEmbed(title="Card", description="About it", fields=(("Part", "one"),)),
        button=ChatButton("Suggest an edit", "lessonbot:suggest:demo/keyed:en"),
    )
    message = await bot.chat.fetch_message(post.thread_id, post.message_ids[0])
    assert (message.id, message.author_id) == (post.message_ids[0], sandbox.bot_user_id)
    assert message.content == "Talk here."
    assert message.custom_ids == ("lessonbot:suggest:demo/keyed:en",)
    assert message.embeds == (
        ChatEmbed(title="Card", description="About it", fields=(("Part", "one"),)),
    )
    assert message.created_at is not None
    assert abs((message.created_at - datetime.now(UTC)).total_seconds()) < 60
    [recent] = await bot.chat.recent_messages(post.thread_id)
    assert recent == message
    await sandbox.delete_message(post.thread_id, post.message_ids[0])
    with pytest.raises(ChatNotFoundError):
        await bot.chat.fetch_message(post.thread_id, post.message_ids[0])


async def test_chat_creates_a_thread_on_a_message_and_without(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter
) -> None:
    bot = await start_bot()
    channel = guild["channels"]["general"]
    (message_id,) = await bot.chat.post_message(channel, "Questions about data?")
    on_message = await bot.chat.create_thread(channel, "Data questions", message_id=message_id)
    standalone = await bot.chat.create_thread(channel, "Weekly digest")
    threads = {int(thread["id"]): thread["name"] for thread in sandbox.threads(channel)}
    assert threads == {on_message: "Data questions", standalone: "Weekly digest"}
    assert on_message == message_id  # Discord gives a message's thread the message's id
    await bot.chat.post_message(standalone, "Inside the thread.")
    assert [m["content"] for m in sandbox.channel_messages(standalone)] == ["Inside the thread."]


async def test_chat_sends_a_dm(sandbox: Any, guild: dict[str, Any], start_bot: BotStarter) -> None:
    bot = await start_bot()
    ids = await bot.chat.send_dm(ANA, "Tu sugerencia se ha fusionado.")
    assert [(int(m["id"]), m["content"]) for m in sandbox.dms(ANA)] == [
        (ids[0], "Tu sugerencia se ha fusionado.")
    ]


async def test_chat_errors_come_as_port_errors(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter
) -> None:
    bot = await start_bot()
    with pytest.raises(ChatForbiddenError):
        await bot.chat.send_dm(CLOSED, "You will not get this.")
    with pytest.raises(ChatNotFoundError):
        await bot.chat.edit_message(guild["channels"]["general"], 123456789, content="gone")


async def test_chat_reacts_to_a_message(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter
) -> None:
    bot = await start_bot()
    general = guild["channels"]["general"]
    question = await sandbox.post_message(general, ANA, "¿Qué es un conjunto de prueba?")
    await bot.chat.add_reaction(general, int(question["id"]), "✅")
    reactions = sandbox.message(general, int(question["id"]))["reactions"]
    assert [(r["emoji"]["name"], r["count"], r["me"]) for r in reactions] == [("✅", 1, True)]


async def test_the_bot_sees_reactions_people_add(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter
) -> None:
    bot = await start_bot()
    seen: asyncio.Queue[discord.RawReactionActionEvent] = asyncio.Queue()

    async def on_raw_reaction_add(event: discord.RawReactionActionEvent) -> None:
        await seen.put(event)

    bot.add_listener(on_raw_reaction_add)
    general = guild["channels"]["general"]
    message = await sandbox.post_message(general, BEN, "Thanks, that answers it.")
    await sandbox.add_reaction(general, int(message["id"]), BEN, "✅")
    event = await asyncio.wait_for(seen.get(), ANSWER_TIMEOUT)
    assert (event.user_id, event.message_id, str(event.emoji)) == (BEN, int(message["id"]), "✅")


class AskModal(discord.ui.Modal, title="Ask a question"):
    """A modal with one field, answered with what was typed."""

    question: discord.ui.TextInput[AskModal] = discord.ui.TextInput(
        label="Question", custom_id="question"
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Echo the question back, ephemerally."""
        await interaction.response.send_message(f"Got: {self.question.value}", ephemeral=True)


class AskCog(commands.Cog):
    """A test-only command that opens a modal."""

    @app_commands.command(name="ask", description="Ask a question")
    async def ask(self, interaction: discord.Interaction) -> None:
        """Open the modal."""
        await interaction.response.send_modal(AskModal())


async def test_a_modal_is_shown_and_its_submission_reaches_the_bot(
    sandbox: Any, guild: dict[str, Any], start_bot: BotStarter
) -> None:
    await start_bot(cogs=(AskCog(),))
    general = guild["channels"]["general"]
    opened = await sandbox.run_command(guild["id"], general, ANA, "ask", options=[])
    [shown] = await sandbox.wait_for_interaction_response(opened, timeout=ANSWER_TIMEOUT)
    assert shown["type"] == 9  # MODAL
    assert shown["data"]["title"] == "Ask a question"
    submitted = await sandbox.submit_modal(
        guild["id"], general, ANA, components={"question": "¿Por qué 0 y no 1?"}
    )
    [answer] = await sandbox.wait_for_interaction_response(submitted, timeout=ANSWER_TIMEOUT)
    assert answer["data"]["content"] == "Got: ¿Por qué 0 y no 1?"
    assert answer["ephemeral"] is True
