"""Slash commands, deferrals, autocomplete, modals and buttons with discord.py's own code."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import discord
import pytest
from discord import app_commands

from sandboxes.discord import DiscordSandbox
from tests.sandboxes.discord.conftest import ANA, BEN, RecordingBot, running


class SuggestModal(discord.ui.Modal, title="Suggest an edit"):
    """The kind of modal the bot shows for /suggest."""

    change = discord.ui.TextInput(
        label="Your change", custom_id="change", style=discord.TextStyle.long
    )
    reason = discord.ui.TextInput(label="Why", custom_id="reason", required=False, max_length=50)

    def __init__(self, received: list[tuple[str, str, str]], lesson: str) -> None:
        super().__init__(custom_id=f"suggest:{lesson}")
        self.received = received

    async def on_submit(self, interaction: discord.Interaction) -> None:
        self.received.append((self.custom_id, self.change.value, self.reason.value))
        await interaction.response.send_message("Thanks, we got it.", ephemeral=True)


class VoteView(discord.ui.View):
    """A message with a button whose callback edits the message."""

    @discord.ui.button(label="Helpful", custom_id="vote:yes")
    async def helpful(
        self, interaction: discord.Interaction, button: discord.ui.Button[Any]
    ) -> None:
        await interaction.response.edit_message(
            content=f"Voted by {interaction.user.name}", view=None
        )


def lesson_bot() -> RecordingBot:
    """Return a bot with the commands these tests run, registered globally."""
    bot = RecordingBot()
    bot.modal_submissions = []  # type: ignore[attr-defined]

    @bot.tree.command(name="lesson", description="Find a lesson")
    @app_commands.describe(lesson="Program and slug")
    async def lesson(interaction: discord.Interaction, lesson: str, private: bool = False) -> None:
        await interaction.response.send_message(
            f"{lesson} for {interaction.user.name} in {interaction.locale.value}", ephemeral=private
        )

    @lesson.autocomplete("lesson")
    async def lesson_choices(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(
                name=f"{current} {n} ({interaction.locale.value})", value=f"{current}/{n}"
            )
            for n in range(3)
        ]

    @bot.tree.command(name="digest", description="Build the digest")
    async def digest(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send("Digest: 2 open questions")
        await interaction.followup.send("And one more thing", ephemeral=True)

    @bot.tree.command(name="status", description="Suggestion status")
    async def status(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True)
        await interaction.edit_original_response(content="Your suggestion is queued")
        original = await interaction.original_response()
        await interaction.followup.send(f"(original {original.id} says: {original.content})")

    @bot.tree.command(name="suggest", description="Suggest an edit")
    async def suggest(interaction: discord.Interaction, lesson: str) -> None:
        await interaction.response.send_modal(SuggestModal(bot.modal_submissions, lesson))  # type: ignore[attr-defined]

    @bot.tree.command(name="vote", description="Vote")
    async def vote(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Was this helpful?", view=VoteView())

    @bot.tree.command(name="many", description="Too many choices")
    async def many(interaction: discord.Interaction, pick: str) -> None:
        await interaction.response.send_message(pick)

    @many.autocomplete("pick")
    async def many_choices(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=str(n), value=str(n)) for n in range(26)]

    return bot


@pytest.fixture
async def synced(
    sandbox: DiscordSandbox, guild: dict[str, Any], point_discord: None
) -> AsyncIterator[RecordingBot]:
    """Return a connected bot whose commands are synced globally."""
    async with running(lesson_bot(), sandbox) as bot:
        await bot.tree.sync()
        yield bot


async def test_sync_registers_commands_with_ids_and_versions(
    sandbox: DiscordSandbox, guild: dict[str, Any], point_discord: None
) -> None:
    async with running(lesson_bot(), sandbox) as bot:
        synced = await bot.tree.sync()
        assert sorted(c.name for c in synced) == [
            "digest",
            "lesson",
            "many",
            "status",
            "suggest",
            "vote",
        ]
        assert all(c.application_id == sandbox.application_id and c.id for c in synced)
        listed = sandbox.commands()
        lesson = next(c for c in listed if c["name"] == "lesson")
        assert lesson["options"][0]["name"] == "lesson" and lesson["options"][0]["autocomplete"]
        again = {c.name: c.id for c in await bot.tree.sync()}
        assert again == {c.name: c.id for c in synced}  # same names keep their ids
        fetched = await bot.tree.fetch_commands()
        assert {c.id for c in fetched} == set(again.values())
        target = discord.Object(id=guild["id"])
        bot.tree.copy_global_to(guild=target)
        in_guild = await bot.tree.sync(guild=target)
        assert all(c.guild_id == guild["id"] for c in in_guild)
        assert len(sandbox.commands(guild["id"])) == 6


async def test_command_reply_public_and_ephemeral(
    sandbox: DiscordSandbox, guild: dict[str, Any], synced: RecordingBot
) -> None:
    general = guild["channels"]["general"]
    option = [{"name": "lesson", "type": 3, "value": "data-basics/what-is-data"}]
    interaction_id = await sandbox.run_command(
        guild["id"], general, ANA, "lesson", options=option, locale="es-ES"
    )
    (reply,) = await sandbox.wait_for_interaction_response(interaction_id)
    assert (reply["kind"], reply["type"], reply["ephemeral"]) == ("callback", 4, False)
    assert reply["message"]["content"] == "data-basics/what-is-data for ana in es-ES"
    stored = sandbox.channel_messages(general)[-1]
    assert stored["type"] == 20 and stored["interaction_metadata"]["user"]["id"] == str(ANA)
    private = [*option, {"name": "private", "value": True}]
    interaction_id = await sandbox.run_command(guild["id"], general, BEN, "lesson", options=private)
    (reply,) = await sandbox.wait_for_interaction_response(interaction_id)
    assert reply["ephemeral"] is True and reply["message"]["flags"] & 64
    assert reply["message"]["content"].endswith("for ben in en-US")
    assert len(sandbox.channel_messages(general)) == 1  # ephemeral replies are not in the channel


async def test_command_in_a_dm_with_the_bot(
    sandbox: DiscordSandbox, guild: dict[str, Any], synced: RecordingBot
) -> None:
    options = [{"name": "lesson", "value": "ai/intro"}]
    interaction_id = await sandbox.run_command(None, None, ANA, "lesson", options=options)
    (reply,) = await sandbox.wait_for_interaction_response(interaction_id)
    assert reply["message"]["content"] == "ai/intro for ana in es-ES"  # the user's own locale
    assert [m["content"] for m in sandbox.dms(ANA)] == ["ai/intro for ana in es-ES"]
    (interaction,) = [i for (i,) in synced.events("interaction") if i.id == interaction_id]
    assert interaction.guild_id is None and isinstance(interaction.channel, discord.DMChannel)


async def test_deferred_reply_then_followups(
    sandbox: DiscordSandbox, guild: dict[str, Any], synced: RecordingBot
) -> None:
    general = guild["channels"]["general"]
    interaction_id = await sandbox.run_command(guild["id"], general, ANA, "digest")
    records = await sandbox.wait_for_interaction_response(interaction_id, count=3)
    assert [(r["kind"], r["type"]) for r in records] == [
        ("callback", 5),
        ("followup", None),
        ("followup", None),
    ]
    thinking, first, second = (r["message"] for r in records)
    assert thinking["flags"] & 128  # loading
    # The first follow-up after a deferral fills the "thinking" message.
    assert first["id"] == thinking["id"] and first["content"] == "Digest: 2 open questions"
    assert not first["flags"] & 128
    assert second["id"] != thinking["id"] and records[2]["ephemeral"] is True
    assert [m["content"] for m in sandbox.channel_messages(general)] == ["Digest: 2 open questions"]


async def test_deferred_ephemeral_reply_edited_through_original_response(
    sandbox: DiscordSandbox, guild: dict[str, Any], synced: RecordingBot
) -> None:
    general = guild["channels"]["general"]
    interaction_id = await sandbox.run_command(guild["id"], general, ANA, "status")
    records = await sandbox.wait_for_interaction_response(interaction_id, count=3)
    assert [(r["kind"], r["ephemeral"]) for r in records] == [
        ("callback", True),
        ("edit", True),
        ("followup", False),  # the deferral was already filled: this one is a new message
    ]
    original = records[0]["message"]["id"]
    assert records[1]["message"]["id"] == original
    assert records[1]["message"]["content"] == "Your suggestion is queued"
    assert records[2]["message"]["content"] == (
        f"(original {original} says: Your suggestion is queued)"
    )
    assert [m["id"] for m in sandbox.channel_messages(general)] == [records[2]["message"]["id"]]


async def test_autocomplete_returns_the_bots_choices(
    sandbox: DiscordSandbox, guild: dict[str, Any], synced: RecordingBot
) -> None:
    choices = await sandbox.autocomplete(
        guild["id"],
        guild["channels"]["general"],
        ANA,
        "lesson",
        options=[{"name": "lesson", "type": 3, "value": "data", "focused": True}],
        locale="fr",
    )
    assert choices == [{"name": f"data {n} (fr)", "value": f"data/{n}"} for n in range(3)]


async def test_too_many_autocomplete_choices_are_refused(
    sandbox: DiscordSandbox, guild: dict[str, Any], synced: RecordingBot
) -> None:
    # discord.py sends all 26 choices; Discord refuses them and the caller learns why.
    with pytest.raises(ValueError, match="Must be 25 or fewer in length"):
        await sandbox.autocomplete(
            guild["id"],
            guild["channels"]["general"],
            ANA,
            "many",
            options=[{"name": "pick", "value": "", "focused": True}],
        )
    assert sandbox.requests[-1]["path"].endswith("/callback")
    assert sandbox.requests[-1]["status"] == 400


async def test_modal_submit_reaches_on_submit_with_both_custom_ids(
    sandbox: DiscordSandbox, guild: dict[str, Any], synced: RecordingBot
) -> None:
    general = guild["channels"]["general"]
    opened = await sandbox.run_command(
        guild["id"],
        general,
        ANA,
        "suggest",
        options=[{"name": "lesson", "value": "data-basics/what-is-data"}],
    )
    (shown,) = await sandbox.wait_for_interaction_response(opened)
    assert shown["type"] == 9 and shown["data"]["custom_id"] == "suggest:data-basics/what-is-data"
    submitted = await sandbox.submit_modal(
        guild["id"],
        general,
        ANA,
        custom_id="suggest:data-basics/what-is-data",
        components={"change": "Fix the typo in 'recieve'", "reason": "spelling"},
        locale="es-ES",
    )
    (thanks,) = await sandbox.wait_for_interaction_response(submitted)
    assert thanks["ephemeral"] is True and thanks["message"]["content"] == "Thanks, we got it."
    assert synced.modal_submissions == [  # type: ignore[attr-defined]
        ("suggest:data-basics/what-is-data", "Fix the typo in 'recieve'", "spelling")
    ]


async def test_modal_submit_checks_fields_like_the_client(
    sandbox: DiscordSandbox, guild: dict[str, Any], synced: RecordingBot
) -> None:
    general = guild["channels"]["general"]
    with pytest.raises(LookupError, match="has not shown"):
        await sandbox.submit_modal(guild["id"], general, ANA, components={"change": "x"})
    opened = await sandbox.run_command(
        guild["id"], general, ANA, "suggest", options=[{"name": "lesson", "value": "l"}]
    )
    await sandbox.wait_for_interaction_response(opened)
    with pytest.raises(ValueError, match="required"):
        await sandbox.submit_modal(guild["id"], general, ANA, components={"reason": "why"})
    with pytest.raises(ValueError, match="0 to 50"):
        await sandbox.submit_modal(
            guild["id"], general, ANA, components={"change": "c", "reason": "w" * 51}
        )
    with pytest.raises(ValueError, match="no field"):
        await sandbox.submit_modal(
            guild["id"], general, ANA, components={"change": "c", "extra": "?"}
        )
    # Fields can also be named by their label.
    submitted = await sandbox.submit_modal(
        guild["id"], general, ANA, components={"Your change": "c"}
    )
    await sandbox.wait_for_interaction_response(submitted)
    assert synced.modal_submissions == [("suggest:l", "c", "")]  # type: ignore[attr-defined]


async def test_button_click_runs_the_views_callback(
    sandbox: DiscordSandbox, guild: dict[str, Any], synced: RecordingBot
) -> None:
    general = guild["channels"]["general"]
    command = await sandbox.run_command(guild["id"], general, ANA, "vote")
    (reply,) = await sandbox.wait_for_interaction_response(command)
    message_id = int(reply["message"]["id"])
    button = reply["message"]["components"][0]["components"][0]
    assert button["custom_id"] == "vote:yes" and button["id"] == 2
    click = await sandbox.click(general, message_id, BEN, "vote:yes")
    (update,) = await sandbox.wait_for_interaction_response(click)
    assert update["type"] == 7 and update["message"]["content"] == "Voted by ben"
    assert sandbox.message(general, message_id)["components"] == []
    with pytest.raises(LookupError):
        await sandbox.click(general, message_id, BEN, "vote:yes")


async def test_commands_must_be_synced_before_users_run_them(
    sandbox: DiscordSandbox, guild: dict[str, Any], point_discord: None
) -> None:
    async with running(lesson_bot(), sandbox):
        with pytest.raises(LookupError, match="must sync"):
            await sandbox.run_command(guild["id"], guild["channels"]["general"], ANA, "lesson")


async def test_options_are_checked_against_the_registered_command(
    sandbox: DiscordSandbox, guild: dict[str, Any], synced: RecordingBot
) -> None:
    general = guild["channels"]["general"]
    with pytest.raises(ValueError, match="required option"):
        await sandbox.run_command(guild["id"], general, ANA, "lesson")
    with pytest.raises(ValueError, match="no option"):
        await sandbox.run_command(
            guild["id"], general, ANA, "lesson", options=[{"name": "nope", "value": "x"}]
        )
    with pytest.raises(ValueError, match="needs a"):
        await sandbox.run_command(
            guild["id"], general, ANA, "lesson", options=[{"name": "lesson", "value": 3}]
        )


def _token(sandbox: DiscordSandbox, interaction_id: int) -> str:
    """Return an interaction's token (what the bot received in INTERACTION_CREATE)."""
    return sandbox.context.state.interactions[interaction_id].token


async def _register(raw: Callable[..., Any], sandbox: DiscordSandbox) -> None:
    """Register /ping with a raw bulk overwrite."""
    status, _, _ = await raw(
        "PUT",
        f"/applications/{sandbox.application_id}/commands",
        [{"name": "ping", "description": "Ping"}],
    )
    assert status == 200


async def test_callback_rules_ack_once_and_tokenless(
    sandbox: DiscordSandbox, guild: dict[str, Any], raw: Callable[..., Any]
) -> None:
    await _register(raw, sandbox)
    interaction_id = await sandbox.run_command(
        guild["id"], guild["channels"]["general"], ANA, "ping"
    )
    url = f"/interactions/{interaction_id}/{_token(sandbox, interaction_id)}/callback"
    status, _, body = await raw(
        "POST", f"{url}?with_response=true", {"type": 8, "data": {"choices": []}}, token=None
    )
    assert status == 400 and body["errors"]["type"]["_errors"][0]["code"] == "BASE_TYPE_CHOICES"
    status, _, body = await raw(
        "POST", f"{url}?with_response=true", {"type": 4, "data": {"content": "pong"}}, token=None
    )
    assert status == 200 and body["interaction"]["id"] == str(interaction_id)
    assert body["resource"]["message"]["content"] == "pong"
    status, _, body = await raw("POST", url, {"type": 4, "data": {"content": "again"}}, token=None)
    assert (status, body["code"]) == (400, 40060)
    status, _, body = await raw(
        "POST", f"/interactions/{interaction_id}/wrong/callback", {"type": 4}, token=None
    )
    assert (status, body["code"]) == (404, 10062)
    app = sandbox.application_id
    hook = f"/webhooks/{app}/{_token(sandbox, interaction_id)}"
    status, _, body = await raw(
        "PATCH", f"{hook}/messages/@original", {"content": "pong!"}, token=None
    )
    assert status == 200 and body["content"] == "pong!" and body["edited_timestamp"]
    status, _, body = await raw("POST", f"{hook}?wait=true", {"content": "x" * 2001}, token=None)
    assert (status, body["code"]) == (400, 50035)
    status, _, _ = await raw("DELETE", f"{hook}/messages/@original", token=None)
    assert status == 204 and sandbox.channel_messages(guild["channels"]["general"]) == []
    status, _, body = await raw(
        "GET", f"/webhooks/{app}/not-a-token/messages/@original", token=None
    )
    assert (status, body["code"]) == (404, 10015)


async def test_late_first_response_gets_unknown_interaction(
    guild: dict[str, Any], raw: Callable[..., Any], sandbox: DiscordSandbox
) -> None:
    await _register(raw, sandbox)
    sandbox.context.responses.deadline = 0.0  # every first response is late
    interaction_id = await sandbox.run_command(
        guild["id"], guild["channels"]["general"], ANA, "ping"
    )
    url = f"/interactions/{interaction_id}/{_token(sandbox, interaction_id)}/callback"
    status, _, body = await raw("POST", url, {"type": 5}, token=None)
    assert (status, body["code"], body["message"]) == (404, 10062, "Unknown interaction")
    with pytest.raises(TimeoutError):
        await sandbox.wait_for_interaction_response(interaction_id, timeout=0.05)


async def test_followup_before_any_response_is_unknown_webhook(
    guild: dict[str, Any], raw: Callable[..., Any], sandbox: DiscordSandbox
) -> None:
    await _register(raw, sandbox)
    interaction_id = await sandbox.run_command(
        guild["id"], guild["channels"]["general"], ANA, "ping"
    )
    hook = f"/webhooks/{sandbox.application_id}/{_token(sandbox, interaction_id)}"
    status, _, body = await raw("POST", f"{hook}?wait=true", {"content": "early"}, token=None)
    assert (status, body["code"]) == (404, 10015)


async def test_modal_limits_are_enforced(
    guild: dict[str, Any], raw: Callable[..., Any], sandbox: DiscordSandbox
) -> None:
    await _register(raw, sandbox)
    interaction_id = await sandbox.run_command(
        guild["id"], guild["channels"]["general"], ANA, "ping"
    )
    url = f"/interactions/{interaction_id}/{_token(sandbox, interaction_id)}/callback"
    text_input = {"type": 4, "custom_id": "f", "label": "Field", "style": 1}
    modal = {
        "custom_id": "m",
        "title": "t" * 46,
        "components": [{"type": 1, "components": [text_input]}],
    }
    status, _, body = await raw("POST", url, {"type": 9, "data": modal}, token=None)
    assert status == 400 and "title" in body["errors"]["data"]
    modal["title"] = "Fine"
    status, _, _ = await raw("POST", url, {"type": 9, "data": modal}, token=None)
    assert status == 204


async def test_a_pick_in_a_string_select_sends_the_chosen_values(
    sandbox: DiscordSandbox, guild: dict[str, Any], raw: Callable[..., Any]
) -> None:
    general = guild["channels"]["general"]
    select = {
        "type": 3,
        "custom_id": "lessonbot:pick:42",
        "placeholder": "Choose a lesson",
        "options": [
            {"label": "Cleaning Data", "value": "data-basics/cleaning-data"},
            {"label": "What Is Data?", "value": "data-basics/what-is-data"},
        ],
    }
    status, _, sent = await raw(
        "POST",
        f"/channels/{general}/messages",
        {"content": "Which lesson?", "components": [{"type": 1, "components": [select]}]},
    )
    assert status == 200
    [row] = sent["components"]
    assert row["components"][0]["options"][0]["value"] == "data-basics/cleaning-data"
    message_id = int(sent["id"])
    picked = await sandbox.click(
        general, message_id, ANA, "lessonbot:pick:42", ["data-basics/what-is-data"]
    )
    interaction = sandbox.context.state.interactions[picked]
    # Discord's MESSAGE_COMPONENT: type 3, with the select's type and the values picked.
    assert interaction.type == 3
    assert interaction.data == {
        "custom_id": "lessonbot:pick:42",
        "component_type": 3,
        "values": ["data-basics/what-is-data"],
    }
    assert interaction.payload["message"]["id"] == sent["id"]
    with pytest.raises(ValueError, match="offers only"):
        await sandbox.click(general, message_id, ANA, "lessonbot:pick:42", ["other/lesson"])
    with pytest.raises(ValueError, match="1 to 1 values"):
        await sandbox.click(general, message_id, ANA, "lessonbot:pick:42", [])
    # More than 25 options is refused as Discord refuses it.
    select["options"] = [{"label": f"L{n}", "value": f"p/l{n}"} for n in range(26)]
    status, _, body = await raw(
        "POST",
        f"/channels/{general}/messages",
        {"content": "Too many", "components": [{"type": 1, "components": [select]}]},
    )
    assert status == 400, body
