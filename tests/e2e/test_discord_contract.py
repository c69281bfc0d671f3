"""The Discord sandbox driven by hikari, a client library the bot does not use: login over
the gateway with hikari's default compression, a slash command registered by hikari and
run through the sandbox admin API, an interaction reply, a modal and its submission
answered with a reply, and a forum post. hikari must parse every payload without error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import aiohttp
import hikari
import pytest

from sandboxes.discord import DiscordSandbox

USER = 1001
TIMEOUT = 10.0  # bounds a hang; nothing is timed


class Problems(logging.Handler):
    """Collect what hikari logs at WARNING or above (a payload it failed to read)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record, unless it is hikari's advice to run Python with -O."""
        if record.name != "hikari.ux":
            self.records.append(record)


@pytest.fixture
def problems() -> Iterator[Problems]:
    """Collect hikari's warnings and errors during a test."""
    handler = Problems()
    logger = logging.getLogger("hikari")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


async def _admin(sandbox: DiscordSandbox, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST to the sandbox admin API and return its JSON answer."""
    url = f"{sandbox.base_url}/_sandbox{path}"
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        assert response.status == 201, await response.text()
        return await response.json()


async def test_hikari_logs_in_answers_a_command_and_a_modal_and_posts_to_a_forum(
    problems: Problems,
) -> None:
    async with DiscordSandbox() as sandbox:
        guild = sandbox.create_guild(
            "Contract",
            channels=[
                {"name": "general", "type": 0},
                {"name": "data-basics", "type": 15, "available_tags": [{"name": "lesson"}]},
            ],
            members=[{"id": USER, "username": "ana", "locale": "es-ES"}],
        )
        general, forum_id = guild["channels"]["general"], guild["channels"]["data-basics"]
        bot = hikari.GatewayBot(
            sandbox.bot_token,
            rest_url=sandbox.api_base_url,
            banner=None,
            logs=None,
            intents=hikari.Intents.ALL_UNPRIVILEGED | hikari.Intents.MESSAGE_CONTENT,
        )
        seen: dict[str, Any] = {}
        done: dict[str, asyncio.Event] = {
            key: asyncio.Event() for key in ("hello", "modal", "reply", "reply_event")
        }

        @bot.listen(hikari.InteractionCreateEvent)
        async def on_interaction(event: hikari.InteractionCreateEvent) -> None:
            interaction = event.interaction
            if isinstance(interaction, hikari.CommandInteraction):
                seen[interaction.command_name] = interaction
                if interaction.command_name == "hello":
                    await interaction.create_initial_response(
                        hikari.ResponseType.MESSAGE_CREATE, "Hello from hikari"
                    )
                    seen["hello_message"] = await interaction.fetch_initial_response()
                    done["hello"].set()
                else:
                    row = bot.rest.build_modal_action_row().add_text_input(
                        "change", "Your change", style=hikari.TextInputStyle.PARAGRAPH
                    )
                    await interaction.create_modal_response("Suggest an edit", "suggest", row)
            elif isinstance(interaction, hikari.ModalInteraction):
                seen["modal"] = interaction
                value = interaction.components[0].components[0].value
                await interaction.create_initial_response(
                    hikari.ResponseType.MESSAGE_CREATE, f"Thanks: {value}"
                )
                seen["reply"] = await interaction.fetch_initial_response()
                done["reply"].set()

        @bot.listen(hikari.GuildMessageCreateEvent)
        async def on_message(event: hikari.GuildMessageCreateEvent) -> None:
            if event.message.content and event.message.content.startswith("Thanks:"):
                seen["reply_event"] = event.message
                done["reply_event"].set()

        await asyncio.wait_for(bot.start(check_for_updates=False), TIMEOUT)
        try:
            assert bot.get_me() is not None and bot.get_me().id == sandbox.bot_user_id
            # hikari asked for zlib-stream transport compression and read it.
            (connection,) = sandbox.context.gateway.connections
            assert connection.stream is not None
            assert bot.cache.get_guild(guild["id"]).name == "Contract"

            application = await bot.rest.fetch_application()
            assert application.id == sandbox.application_id
            registered = await bot.rest.set_application_commands(
                application.id,
                [
                    bot.rest.slash_command_builder("hello", "Say hello"),
                    bot.rest.slash_command_builder("suggest", "Suggest an edit"),
                ],
                guild=guild["id"],
            )
            assert sorted(command.name for command in registered) == ["hello", "suggest"]

            where = {"guild_id": guild["id"], "channel_id": general, "user_id": USER}
            await _admin(sandbox, "/interactions/commands", {**where, "name": "hello"})
            await asyncio.wait_for(done["hello"].wait(), TIMEOUT)
            assert seen["hello"].user.id == USER and seen["hello"].locale == "es-ES"
            assert seen["hello_message"].content == "Hello from hikari"

            started = await _admin(sandbox, "/interactions/commands", {**where, "name": "suggest"})
            (shown,) = await sandbox.wait_for_interaction_response(started["interaction_id"])
            assert shown["type"] == 9 and shown["data"]["custom_id"] == "suggest"
            await _admin(
                sandbox,
                "/interactions/modals",
                {**where, "custom_id": "suggest", "components": {"change": "Fix the typo"}},
            )
            await asyncio.wait_for(done["reply"].wait(), TIMEOUT)
            await asyncio.wait_for(done["reply_event"].wait(), TIMEOUT)
            assert seen["modal"].custom_id == "suggest"
            for reply in (seen["reply"], seen["reply_event"]):
                assert reply.content == "Thanks: Fix the typo"
                assert reply.interaction_metadata is not None
                assert reply.interaction_metadata.user.id == USER

            forum = await bot.rest.fetch_channel(forum_id)
            assert isinstance(forum, hikari.GuildForumChannel)
            tag = forum.available_tags[0]
            post = await bot.rest.create_forum_post(
                forum_id, "Arrays", "Talk about this lesson here.", tags=[tag.id]
            )
            assert isinstance(post, hikari.GuildPublicThread)
            assert post.parent_id == forum_id and list(post.applied_tag_ids) == [tag.id]
            (stored,) = sandbox.threads(forum_id)
            assert stored["name"] == "Arrays"
            first = await bot.rest.fetch_message(post.id, post.id)
            assert first.content == "Talk about this lesson here."
        finally:
            await bot.close()
    assert [record.getMessage() for record in problems.records] == []
