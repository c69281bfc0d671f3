"""Forum posts, threads and channels with the real discord.py client."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import discord
import pytest

from sandboxes.discord import DiscordSandbox
from tests.sandboxes.discord.conftest import ANA, BEN, RecordingBot


def _forum(bot: RecordingBot, guild: dict[str, Any]) -> discord.ForumChannel:
    """Return the test server's forum as the bot sees it."""
    forum = bot.get_channel(guild["channels"]["data-basics"])
    assert isinstance(forum, discord.ForumChannel)
    return forum


async def test_forum_post_with_tags_creates_a_thread_and_its_first_message(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot
) -> None:
    forum = _forum(bot, guild)
    tags = [forum.available_tags[0], forum.available_tags[1]]
    mark = bot.mark()
    created = await forum.create_thread(
        name="What is data?",
        content="Discuss the lesson here.",
        embed=discord.Embed(title="data-basics/what-is-data"),
        applied_tags=tags,
        auto_archive_duration=10080,
    )
    thread, first = created.thread, created.message
    assert thread.parent_id == forum.id and thread.owner_id == sandbox.bot_user_id
    assert [t.name for t in thread.applied_tags] == ["lesson", "es"]
    assert thread.auto_archive_duration == 10080
    assert first.id == thread.id and first.content == "Discuss the lesson here."
    (dispatched,) = await bot.expect("thread_create", after=mark)
    assert dispatched.id == thread.id
    (starter,) = await bot.expect("message", after=mark)
    assert starter.channel.id == thread.id
    (stored,) = sandbox.threads(forum.id)
    assert stored["name"] == "What is data?" and stored["message_count"] == 0
    assert stored["applied_tags"] == [str(tag.id) for tag in tags]
    assert sandbox.channel_messages(thread.id)[0]["embeds"][0]["title"] == (
        "data-basics/what-is-data"
    )
    # A user's answer in the post reaches the bot in the thread it already knows.
    await sandbox.post_message(thread.id, ANA, "Data is recorded facts.")
    (answer,) = await bot.expect("message", lambda m: m.author.id == ANA, after=mark)
    assert answer.channel == thread and isinstance(answer.channel, discord.Thread)
    assert sandbox.threads(forum.id)[0]["message_count"] == 1


async def test_forum_post_limits_tags_to_five_that_exist(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot
) -> None:
    forum = _forum(bot, guild)
    many = await forum.edit(available_tags=[discord.ForumTag(name=f"tag{n}") for n in range(6)])
    with pytest.raises(discord.HTTPException) as caught:
        await many.create_thread(name="Six", content="x", applied_tags=many.available_tags)
    assert caught.value.code == 50035 and "In applied_tags: Must be 5 or fewer" in caught.value.text
    with pytest.raises(discord.HTTPException) as caught:
        await many.create_thread(
            name="Unknown", content="x", applied_tags=[discord.Object(id=12345)]
        )
    assert caught.value.code == 50035 and "applied_tags.0" in caught.value.text
    with pytest.raises(discord.HTTPException) as caught:
        await many.create_thread(name="", content="x")
    assert "In name: Must be between 1 and 100 in length." in caught.value.text
    assert sandbox.threads(forum.id) == []


async def test_forum_channel_limits_available_tags(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot
) -> None:
    server = bot.get_guild(guild["id"])
    twenty = [discord.ForumTag(name=f"t{n}") for n in range(20)]
    forum = await server.create_forum("twenty", available_tags=twenty)
    assert len(forum.available_tags) == 20
    with pytest.raises(discord.HTTPException) as caught:
        await server.create_forum("too-many", available_tags=[*twenty, discord.ForumTag(name="x")])
    assert "In available_tags: Must be 20 or fewer in length." in caught.value.text
    with pytest.raises(discord.HTTPException) as caught:
        await server.create_forum("long", available_tags=[discord.ForumTag(name="x" * 21)])
    assert "In available_tags.0.name: Must be between 1 and 20 in length." in caught.value.text
    names = [c["name"] for c in sandbox.channels(guild["id"])]
    assert "twenty" in names and "too-many" not in names and "long" not in names


async def test_channel_create_and_edit_dispatch(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot
) -> None:
    server = bot.get_guild(guild["id"])
    mark = bot.mark()
    category = await server.create_category("Digests")
    text = await server.create_text_channel("weekly", category=category, topic="Open questions")
    (created,) = await bot.expect("guild_channel_create", lambda c: c.id == text.id, after=mark)
    assert created.category == category and created.topic == "Open questions"
    await text.edit(name="weekly-digest", topic="Every Monday")
    before, after = await bot.expect("guild_channel_update", after=mark)
    assert (before.name, after.name, after.topic) == ("weekly", "weekly-digest", "Every Monday")
    with pytest.raises(discord.HTTPException) as caught:
        await server.create_text_channel("x" * 101)
    assert "In name: Must be between 1 and 100 in length." in caught.value.text


async def test_archiving_and_locking_a_thread_dispatches_thread_update(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot
) -> None:
    forum = _forum(bot, guild)
    thread = (await forum.create_thread(name="Question", content="Ask here")).thread
    mark = bot.mark()
    await thread.edit(archived=True, locked=True)
    before, after = await bot.expect("thread_update", after=mark)
    assert (before.archived, after.archived, after.locked) == (False, True, True)
    stored = sandbox.threads(forum.id)[0]["thread_metadata"]
    assert stored["archived"] is True and stored["locked"] is True
    # Nobody posts in an archived, locked thread until it is reopened.
    with pytest.raises(ValueError, match="50083"):
        await sandbox.post_message(thread.id, ANA, "hello?")
    reopened = await thread.edit(
        archived=False, locked=False, applied_tags=[forum.available_tags[2]]
    )
    assert not reopened.archived and [t.name for t in reopened.applied_tags] == ["question"]
    await bot.expect("raw_thread_update", lambda raw: raw.data["applied_tags"], after=mark)


async def test_posting_in_an_archived_thread_unarchives_it_first(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot
) -> None:
    forum = _forum(bot, guild)
    thread = (await forum.create_thread(name="Old", content="Old lesson")).thread
    mark = bot.mark()
    await thread.edit(archived=True)
    await bot.expect("thread_update", lambda before, after: after.archived, after=mark)
    mark = bot.mark()
    await sandbox.post_message(thread.id, BEN, "Still relevant?")
    # THREAD_UPDATE (unarchived) comes first, so the bot knows the thread again.
    (raw,) = await bot.expect("raw_thread_update", after=mark)
    assert raw.data["thread_metadata"]["archived"] is False
    (message,) = await bot.expect("message", after=mark)
    assert isinstance(message.channel, discord.Thread) and message.channel.id == thread.id
    names = [event for event, _ in bot.seen[mark:] if event in ("raw_thread_update", "message")]
    assert names.index("raw_thread_update") < names.index("message")


async def test_threads_from_a_message_and_in_a_text_channel(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot
) -> None:
    general = bot.get_channel(guild["channels"]["general"])
    posted = await sandbox.post_message(general.id, ANA, "Can someone explain pipes?")
    message = await general.fetch_message(int(posted["id"]))
    mark = bot.mark()
    on_message = await message.create_thread(name="Pipes")
    assert on_message.id == message.id  # a message's thread shares its id
    assert sandbox.message(general.id, message.id)["thread"]["id"] == str(message.id)
    with pytest.raises(discord.HTTPException) as caught:
        await message.create_thread(name="Again")
    assert caught.value.code == 160004
    public = await general.create_thread(name="Standalone", type=discord.ChannelType.public_thread)
    assert public.type is discord.ChannelType.public_thread
    await bot.expect("thread_create", lambda thread: thread.id == public.id, after=mark)
    created = [t.id for (t,) in bot.events("thread_create", mark)]
    assert created == [on_message.id, public.id]
    # A public thread without a message leaves a "thread created" notice in the channel.
    notice = sandbox.channel_messages(general.id)[-1]
    assert notice["type"] == 18 and notice["content"] == "Standalone"
    private = await general.create_thread(name="Private")
    assert private.type is discord.ChannelType.private_thread
    assert [t["name"] for t in sandbox.threads(general.id)] == ["Pipes", "Standalone", "Private"]


async def test_user_forum_post_reaches_the_bot(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot
) -> None:
    forum = _forum(bot, guild)
    mark = bot.mark()
    thread = await sandbox.create_thread(
        forum.id, ANA, "Help with lesson 2", "I am stuck", applied_tags=[forum.available_tags[2].id]
    )
    (created,) = await bot.expect("thread_create", after=mark)
    assert created.id == int(thread["id"]) and created.owner_id == ANA
    assert [t.name for t in created.applied_tags] == ["question"]
    (first,) = await bot.expect("message", after=mark)
    assert first.id == created.id and first.content == "I am stuck"


async def test_archived_forum_posts_page_newest_archived_first(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot, raw: Any
) -> None:
    forum = _forum(bot, guild)
    posts = [(await forum.create_thread(name=f"Post {n}", content="x")).thread for n in range(5)]
    # Archive out of creation order: the listing follows the archive time, not the id.
    for post in (posts[3], posts[0], posts[4], posts[1]):
        await post.edit(archived=True)
    status, _, first = await raw("GET", f"/channels/{forum.id}/threads/archived/public?limit=2")
    assert status == 200 and first["has_more"] is True
    assert [t["name"] for t in first["threads"]] == ["Post 1", "Post 4"]
    # The bot opened every post, so it is a member of each thread listed.
    assert [m["id"] for m in first["members"]] == [t["id"] for t in first["threads"]]
    before = first["threads"][-1]["thread_metadata"]["archive_timestamp"]
    status, _, rest = await raw(
        "GET", f"/channels/{forum.id}/threads/archived/public?limit=2&before={quote(before)}"
    )
    assert [t["name"] for t in rest["threads"]] == ["Post 0", "Post 3"]
    assert rest["has_more"] is False
    # discord.py's own paginator walks the same pages.
    listed = [thread.name async for thread in forum.archived_threads(limit=None)]
    assert listed == ["Post 1", "Post 4", "Post 0", "Post 3"]
    active = await bot.get_guild(guild["id"]).active_threads()
    assert [thread.name for thread in active] == ["Post 2"]
    status, _, body = await raw("GET", f"/guilds/{guild['id']}/threads/active")
    assert body["has_more"] is False and [m["id"] for m in body["members"]] == [str(posts[2].id)]


async def test_archived_thread_listing_checks_its_query(
    sandbox: DiscordSandbox, guild: dict[str, Any], raw: Any
) -> None:
    forum = guild["channels"]["data-basics"]
    base = f"/channels/{forum}/threads/archived/public"
    for query, field in (("limit=1", "limit"), ("limit=101", "limit"), ("before=soon", "before")):
        status, _, body = await raw("GET", f"{base}?{query}")
        assert (status, body["code"]) == (400, 50035) and field in body["errors"], query
    thread = await sandbox.create_thread(forum, ANA, "Hi", "Hello")
    status, _, body = await raw("GET", f"/channels/{thread['id']}/threads/archived/public")
    assert (status, body["code"]) == (400, 50024)
