"""A held or rejected suggestion reads as waiting for a moderator on Discord, in every locale."""

from __future__ import annotations

import pytest

from bot.discord.cogs.suggest._embeds import status_label
from bot.i18n import t

LOCALES = ("ar", "en", "es", "fr", "hi", "nl", "te", "zh")


@pytest.mark.parametrize("locale", LOCALES)
def test_held_and_rejected_both_say_waiting_for_a_moderator(locale: str) -> None:
    waiting = t(locale, "moderation.waiting")
    assert status_label("held", locale) == waiting
    assert status_label("rejected", locale) == waiting
    assert status_label("queued", locale) != waiting
    assert "held" not in waiting and "rejected" not in waiting
