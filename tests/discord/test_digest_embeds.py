"""The digest's embeds reach Discord whole: the adapter's limits cut nothing from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.discord.chat import to_discord_embed
from bot.domain.digest import QuestionRecord, SuggestionRecord, build_digest, render_embeds
from bot.services.ports import ChatEmbed

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("locale", ["en", "ar", "te"])
def test_a_large_digest_passes_the_adapter_unchanged(locale: str) -> None:
    questions = [
        QuestionRecord(
            i,
            f"program-{i % 7}",
            f"lesson-with-a-rather-long-name-{i % 90}",
            "A lesson title that goes on for a while " * 3,
            f"learner{i}",
            "Why does this step fail when I run it on my own machine? " * 5,
            NOW - timedelta(hours=1 + i),
            f"https://discord.com/channels/1/2/{i}",
            "en",
        )
        for i in range(1500)
    ]
    waiting = [
        SuggestionRecord(i, "program-1", "lesson-1", "en", "open", NOW - timedelta(days=9))
        for i in range(300)
    ]
    embeds = render_embeds(build_digest(questions, waiting, now=NOW), locale)
    assert len(embeds) > 10
    for embed in embeds:
        sent = to_discord_embed(
            ChatEmbed(title=embed.title, description=embed.description, fields=embed.fields)
        )
        assert sent.title == embed.title
        assert (sent.description or "") == embed.description
        assert [(field.name, field.value) for field in sent.fields] == list(embed.fields)
