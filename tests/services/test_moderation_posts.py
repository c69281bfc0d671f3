"""The moderators' message of a held suggestion: within one Discord message, neutralized,
in the site's language, and saying who decided."""

from __future__ import annotations

import pytest

from bot.domain import spam
from bot.i18n import t
from bot.services.suggestions.moderation_posts import (
    MESSAGE_LIMIT,
    HeldMessage,
    buttons,
    discord_moderator,
    message_text,
    who,
)


def held(**changes: object) -> HeldMessage:
    fields: dict[str, object] = {
        "id": 7,
        "lesson": "Pipes",
        "locale": "en",
        "find": "old text",
        "replace": "new text",
        "reason": "because",
        "signals": (spam.Signal("link_shortener", 1.0, {"domains": "bit.ly"}),),
        "decision": None,
        "decided_by": None,
    }
    fields.update(changes)
    return HeldMessage(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("locale", ["en", "ar", "zh", "te"])
def test_a_huge_edit_is_cut_to_one_message_keeping_the_signals(locale: str) -> None:
    text = message_text(held(find="a" * 5000, replace="b" * 5000, reason="c" * 3000), locale)

    assert len(text) <= MESSAGE_LIMIT
    # Discord shows `bit\\.ly` as bit.ly: the escape keeps what the sender wrote inert.
    assert t(locale, "moderation.signal.link_shortener", domains="bit.ly") in text.replace("\\", "")
    assert text.startswith(t(locale, "moderation_queue.held", id=7, lesson="Pipes", locale="en"))


def test_what_the_sender_wrote_cannot_close_its_block_or_mention_anyone() -> None:
    text = message_text(held(replace="```\n@everyone <@&1> **bold**", lesson="@here *x*"), "en")

    # One block per text: the sender's backticks do not end it early, so their @everyone
    # stays code (and the client allows no mentions at all); the lesson's name is escaped.
    assert text.count("```") == 6  # passage, replacement, reason: open and close each
    block = text.split(t("en", "moderation_queue.new"))[1].split(
        t("en", "moderation_queue.reason")
    )[0]
    assert block.strip().startswith("```") and block.strip().endswith("```")
    assert "@everyone" in block
    assert "@here" not in text.replace("@\u200bhere", "")


def test_the_decision_names_who_and_the_buttons_carry_the_id() -> None:
    by_button = message_text(
        held(decision="approved", decided_by=discord_moderator(55, "Mo")), "es"
    )
    assert t("es", "moderation_queue.decided_approved", who="<@55>") in by_button
    assert who("cli:root", "fr") == t("fr", "moderation_queue.by_terminal", login="root")
    assert who("email-confirmed", "nl") == t("nl", "moderation_queue.by_email")
    assert [button.custom_id for button in buttons(7, "hi")] == [
        "lessonbot:moderate:approve:7",
        "lessonbot:moderate:reject:7",
        "lessonbot:moderate:block:7",
    ]
    assert [button.label for button in buttons(7, "hi")] == [
        t("hi", f"moderation_queue.button_{action}") for action in ("approve", "reject", "block")
    ]
