"""Replies use the response once, then follow-ups; slow work is deferred in time."""

from __future__ import annotations

import asyncio
from typing import Any

import discord

from bot.discord.replies import defer_if_slow, reply, shorten
from tests.discord.fakes import FakeInteraction


def test_shorten_adds_an_ellipsis_only_when_cut() -> None:
    assert shorten("short", 10) == "short"
    assert shorten("a" * 20, 10) == "a" * 9 + "…"
    assert len(shorten("word " * 50, 100)) <= 100


async def test_reply_uses_the_response_then_follow_ups() -> None:
    interaction: Any = FakeInteraction()
    embed = discord.Embed(title="Lesson")
    await reply(interaction, "first", ephemeral=True)
    await reply(interaction, embed=embed)
    assert interaction.response.sent == [("message", "first", {"ephemeral": True})]
    assert interaction.followup.sent == [(None, {"ephemeral": False, "embed": embed})]


async def test_fast_work_is_not_deferred() -> None:
    interaction: Any = FakeInteraction()
    async with defer_if_slow(interaction, after=0.5):
        await asyncio.sleep(0)
    await reply(interaction, "done")
    assert interaction.response.sent == [("message", "done", {"ephemeral": False})]


async def test_slow_work_is_deferred_then_answered_by_follow_up() -> None:
    interaction: Any = FakeInteraction()
    async with defer_if_slow(interaction, after=0.01, ephemeral=True):
        await asyncio.sleep(0.1)
    await reply(interaction, "done", ephemeral=True)
    assert interaction.response.sent == [("defer", None, {"ephemeral": True, "thinking": True})]
    assert interaction.followup.sent == [("done", {"ephemeral": True})]


async def test_a_failing_body_still_stops_the_timer() -> None:
    interaction: Any = FakeInteraction()
    try:
        async with defer_if_slow(interaction, after=0.05):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    await asyncio.sleep(0.1)
    assert interaction.response.sent == []  # the error handler answers, not a late defer
