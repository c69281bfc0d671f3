"""Messages, replies, embeds, reactions and DMs with the real discord.py client."""

from __future__ import annotations

import io
import json
from typing import Any

import aiohttp
import discord
import pytest

from sandboxes.discord import DiscordSandbox
from tests.sandboxes.discord.conftest import ANA, BEN, RecordingBot


async def test_user_message_reaches_on_message_with_author_and_guild(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot
) -> None:
    mark = bot.mark()
    posted = await sandbox.post_message(guild["channels"]["general"], ANA, "¿Qué es un dato?")
    (message,) = await bot.expect("message", after=mark)
    assert message.id == int(posted["id"])
    assert message.content == "¿Qué es un dato?"
    assert isinstance(message.author, discord.Member) and message.author.id == ANA
    assert message.guild is not None and message.guild.id == guild["id"]
    assert message.channel.id == guild["channels"]["general"]


async def test_reply_from_user_references_the_bot_message(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot
) -> None:
    general = guild["channels"]["general"]
    original = await bot.get_channel(general).send("Any questions?")
    mark = bot.mark()
    await sandbox.post_message(general, ANA, "Yes, one", reply_to=original.id)
    (reply,) = await bot.expect("message", lambda m: m.author.id == ANA, after=mark)
    assert reply.type is discord.MessageType.reply
    assert reply.reference is not None and reply.reference.message_id == original.id
    assert reply.reference.resolved is not None and reply.reference.resolved.id == original.id
    assert [u.id for u in reply.mentions] == [sandbox.bot_user_id]


async def test_bot_message_is_stored_and_dispatched(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot
) -> None:
    general = guild["channels"]["general"]
    mark = bot.mark()
    embed = discord.Embed(title="Digest", description="2 open questions")
    embed.add_field(name="data-basics", value="What is data?")
    sent = await bot.get_channel(general).send(f"Hi <@{ANA}>", embed=embed)
    (echo,) = await bot.expect("message", after=mark)
    assert echo.id == sent.id and echo.author.id == sandbox.bot_user_id
    stored = sandbox.channel_messages(general)[-1]
    assert stored["id"] == str(sent.id) and stored["content"] == f"Hi <@{ANA}>"
    assert stored["embeds"][0]["title"] == "Digest"
    assert stored["embeds"][0]["fields"] == [
        {"name": "data-basics", "value": "What is data?", "inline": True}
    ]
    assert [m["id"] for m in stored["mentions"]] == [str(ANA)]
    assert sent.embeds[0].fields[0].name == "data-basics"


async def test_bot_edits_and_deletes_its_message(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot
) -> None:
    general = guild["channels"]["general"]
    sent = await bot.get_channel(general).send("draft")
    mark = bot.mark()
    edited = await sent.edit(content="final")
    assert edited.content == "final" and edited.edited_at is not None
    before, after = await bot.expect("message_edit", after=mark)
    assert (before.content, after.content) == ("draft", "final")
    await sent.delete()
    (deleted,) = await bot.expect("raw_message_delete", after=mark)
    assert deleted.message_id == sent.id
    assert sandbox.channel_messages(general) == []
    with pytest.raises(discord.NotFound) as caught:
        await bot.get_channel(general).fetch_message(sent.id)
    assert caught.value.code == 10008


async def test_bot_cannot_edit_a_users_message(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot
) -> None:
    general = guild["channels"]["general"]
    posted = await sandbox.post_message(general, ANA, "mine")
    message = await bot.get_channel(general).fetch_message(int(posted["id"]))
    with pytest.raises(discord.Forbidden) as caught:
        await message.edit(content="changed")
    assert caught.value.code == 50005


async def test_too_long_message_is_refused_with_invalid_form_body(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot
) -> None:
    channel = bot.get_channel(guild["channels"]["general"])
    await channel.send("x" * 2000)  # exactly the limit is fine
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send("x" * 2001)
    assert caught.value.status == 400 and caught.value.code == 50035
    assert "content" in caught.value.text and "2000 or fewer" in caught.value.text
    assert len(sandbox.channel_messages(guild["channels"]["general"])) == 1


@pytest.mark.parametrize(
    ("embeds", "field"),
    [
        ([discord.Embed(title="t" * 257)], "embeds.0.title"),
        ([discord.Embed(description="d" * 4097)], "embeds.0.description"),
        ([discord.Embed().set_footer(text="f" * 2049)], "embeds.0.footer.text"),
        ([discord.Embed().set_author(name="a" * 257)], "embeds.0.author.name"),
        ([discord.Embed().add_field(name="n" * 257, value="v")], "embeds.0.fields.0.name"),
        ([discord.Embed().add_field(name="n", value="v" * 1025)], "embeds.0.fields.0.value"),
        ([discord.Embed(description="d" * 4000), discord.Embed(description="d" * 2001)], "embeds"),
    ],
)
async def test_embed_limits_are_enforced(
    sandbox: DiscordSandbox,
    guild: dict[str, Any],
    bot: RecordingBot,
    embeds: list[discord.Embed],
    field: str,
) -> None:
    channel = bot.get_channel(guild["channels"]["general"])
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send(embeds=embeds)
    assert caught.value.code == 50035
    assert f"In {field}:" in caught.value.text


async def test_too_many_fields_and_empty_message_are_refused(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot
) -> None:
    channel = bot.get_channel(guild["channels"]["general"])
    embed = discord.Embed(title="many")
    for number in range(26):
        embed.add_field(name=str(number), value="v")
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send(embed=embed)
    assert "In embeds.0.fields: Must be 25 or fewer in length." in caught.value.text
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send(content="")
    assert caught.value.code == 50006


async def test_reactions_both_ways(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot
) -> None:
    general = guild["channels"]["general"]
    posted = await sandbox.post_message(general, ANA, "Is this right?")
    message = await bot.get_channel(general).fetch_message(int(posted["id"]))
    mark = bot.mark()
    await message.add_reaction("👀")
    (raw,) = await bot.expect("raw_reaction_add", after=mark)
    assert (raw.user_id, str(raw.emoji)) == (sandbox.bot_user_id, "👀")
    reactions = sandbox.message(general, message.id)["reactions"]
    assert reactions[0]["emoji"] == {"id": None, "name": "👀"} and reactions[0]["me"] is True
    assert await sandbox.add_reaction(general, message.id, BEN, "✅") is True
    assert await sandbox.add_reaction(general, message.id, BEN, "✅") is False  # no new event
    (added,) = await bot.expect("raw_reaction_add", lambda r: r.user_id == BEN, after=mark)
    assert str(added.emoji) == "✅" and added.member is not None and added.member.id == BEN
    assert added.message_author_id == ANA and added.burst is False
    await sandbox.remove_reaction(general, message.id, BEN, "✅")
    (removed,) = await bot.expect("raw_reaction_remove", after=mark)
    assert (removed.user_id, str(removed.emoji)) == (BEN, "✅")
    await message.remove_reaction("👀", bot.user)
    await bot.expect("raw_reaction_remove", lambda r: r.user_id == sandbox.bot_user_id, after=mark)
    assert "reactions" not in sandbox.message(general, message.id)
    assert len(bot.events("raw_reaction_add", mark)) == 2
    with pytest.raises(discord.HTTPException) as caught:
        await message.add_reaction("notanemoji")
    assert caught.value.code == 10014


async def test_direct_messages_both_ways(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot
) -> None:
    ana = bot.get_user(ANA)
    assert ana is not None
    mark = bot.mark()
    sent = await ana.send("Your suggestion is now a pull request.")
    assert isinstance(sent.channel, discord.DMChannel)
    assert [m["content"] for m in sandbox.dms(ANA)] == ["Your suggestion is now a pull request."]
    await sandbox.post_message(sandbox.dm_channel(ANA), ANA, "gracias")
    (reply,) = await bot.expect("message", lambda m: m.author.id == ANA, after=mark)
    assert reply.guild is None and isinstance(reply.channel, discord.DMChannel)
    assert reply.content == "gracias"
    assert [m["content"] for m in sandbox.dms(ANA)][-1] == "gracias"


async def test_dm_to_a_user_who_closed_dms_is_forbidden(
    sandbox: DiscordSandbox, point_discord: None, bot: RecordingBot
) -> None:
    shy = sandbox.create_user("shy", accepts_dms=False)
    user = await bot.fetch_user(shy)
    with pytest.raises(discord.Forbidden) as caught:
        await user.send("hello")
    assert caught.value.code == 50007
    assert sandbox.dms(shy) == []


async def test_users_act_only_where_they_belong(
    sandbox: DiscordSandbox, guild: dict[str, Any]
) -> None:
    outsider = sandbox.create_user("outsider")
    with pytest.raises(ValueError, match="not a member"):
        await sandbox.post_message(guild["channels"]["general"], outsider, "hi")
    with pytest.raises(ValueError, match="2000 or fewer"):
        await sandbox.post_message(guild["channels"]["general"], ANA, "x" * 2001)
    with pytest.raises(ValueError, match="50008"):
        await sandbox.post_message(guild["channels"]["data-basics"], ANA, "not in a forum")
    with pytest.raises(LookupError):
        await sandbox.post_message(123, ANA, "nowhere")


async def test_history_pages_newest_first_and_oldest_first(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot
) -> None:
    general = bot.get_channel(guild["channels"]["general"])
    for number in range(5):
        await sandbox.post_message(general.id, ANA, f"m{number}")
    newest = [m.content async for m in general.history(limit=3)]
    assert newest == ["m4", "m3", "m2"]
    oldest = [m.content async for m in general.history(limit=None, oldest_first=True)]
    assert oldest == ["m0", "m1", "m2", "m3", "m4"]
    middle = int(sandbox.channel_messages(general.id)[2]["id"])
    around = [m.content async for m in general.history(limit=3, around=discord.Object(middle))]
    assert sorted(around) == ["m1", "m2", "m3"]


async def test_files_are_uploaded_as_attachments_and_served_back(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot
) -> None:
    general = bot.get_channel(guild["channels"]["general"])
    upload = discord.File(io.BytesIO(b"lesson notes"), filename="notes.txt", description="Notes")
    sent = await general.send("See attached", file=upload)
    (attachment,) = sent.attachments
    assert (attachment.filename, attachment.size, attachment.description) == (
        "notes.txt",
        12,
        "Notes",
    )
    assert await attachment.read() == b"lesson notes"
    assert sandbox.channel_messages(general.id)[0]["attachments"][0]["filename"] == "notes.txt"


async def test_a_forum_post_and_an_edit_carry_uploaded_files(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot
) -> None:
    forum = bot.get_channel(guild["channels"]["data-basics"])
    assert isinstance(forum, discord.ForumChannel)
    digest = discord.File(io.BytesIO(b"# Digest\n"), filename="digest.md", description="Digest")
    created = await forum.create_thread(name="Weekly digest", content="This week", file=digest)
    (attachment,) = created.message.attachments
    assert (attachment.filename, attachment.size, attachment.content_type) == (
        "digest.md",
        9,
        "text/markdown; charset=utf-8",
    )
    assert await attachment.read() == b"# Digest\n"
    # An edit keeps the attachments it lists and adds the files it uploads, as on Discord.
    more = discord.File(io.BytesIO(b"a,b\n1,2\n"), filename="table.csv")
    edited = await created.message.edit(attachments=[attachment, more])
    assert [a.filename for a in edited.attachments] == ["digest.md", "table.csv"]
    assert await edited.attachments[1].read() == b"a,b\n1,2\n"
    emptied = await edited.edit(attachments=[])
    assert emptied.attachments == []
    stored = sandbox.channel_messages(created.thread.id)[0]["attachments"]
    assert stored == []


async def test_history_refuses_ids_that_are_not_snowflakes(
    sandbox: DiscordSandbox, guild: dict[str, Any], raw: Any
) -> None:
    general = guild["channels"]["general"]
    for name in ("before", "after", "around"):
        for value in ("abc", "-1", "1.5", str(1 << 64)):
            status, _, body = await raw("GET", f"/channels/{general}/messages?{name}={value}")
            assert status == 400 and body["code"] == 50035, (name, value, body)
            assert body["message"] == "Invalid Form Body"
            assert body["errors"][name]["_errors"] == [
                {"code": "NUMBER_TYPE_COERCE", "message": f'Value "{value}" is not snowflake.'}
            ]
    status, _, body = await raw("GET", f"/channels/{general}/messages?before=12345")
    assert (status, body) == (200, [])


async def test_an_interaction_reply_edit_takes_files_as_discord_does(
    sandbox: DiscordSandbox, guild: dict[str, Any], raw: Any
) -> None:
    app = sandbox.application_id
    await raw("PUT", f"/applications/{app}/commands", [{"name": "digest", "description": "D"}])
    interaction_id = await sandbox.run_command(
        guild["id"], guild["channels"]["general"], ANA, "digest"
    )
    token = sandbox.context.state.interactions[interaction_id].token
    callback = f"/interactions/{interaction_id}/{token}/callback"
    assert (await raw("POST", callback, {"type": 4, "data": {"content": "Digest"}}, token=None))[
        0
    ] == 204
    form = aiohttp.FormData()
    payload = {"attachments": [{"id": 0, "description": "Open questions"}]}
    form.add_field("payload_json", json.dumps(payload), content_type="application/json")
    form.add_field("files[0]", b"q,a\n", filename="questions.csv")
    url = f"{sandbox.api_base_url}/webhooks/{app}/{token}/messages/@original"
    async with aiohttp.ClientSession() as session, session.patch(url, data=form) as response:
        assert response.status == 200, await response.text()
        edited = await response.json()
    (attachment,) = edited["attachments"]
    assert attachment["filename"] == "questions.csv" and attachment["size"] == 4
    assert attachment["description"] == "Open questions"
    assert attachment["content_type"] == "text/csv; charset=utf-8"
    async with aiohttp.ClientSession() as session, session.get(attachment["url"]) as response:
        assert await response.read() == b"q,a\n"
