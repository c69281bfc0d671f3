"""Person-typed text pings, closes and injects nothing where the bot writes it."""

from __future__ import annotations

import re

import pytest

from bot.domain.neutral import (
    close_open_fences,
    discord_fenced,
    discord_name,
    fenced,
    markdown_name,
    neutralize,
    neutralize_plain,
    one_line_name,
)

# GitHub's closing syntax: a keyword, an optional colon, then an issue reference.
CLOSES = re.compile(
    r"\b(close[sd]?|fix(e[sd])?|resolve[sd]?)\s*:?\s*"
    r"((\S+/\S+)?#\d|gh-\d|https?://\S+/(issues|pull)/\d)",
    re.IGNORECASE,
)


def test_mentions_are_made_inert_but_email_addresses_stay() -> None:
    assert neutralize("Thanks @octocat!") == "Thanks @\u200boctocat!"
    assert neutralize("write to a@b.org") == "write to a@b.org"


@pytest.mark.parametrize(
    "typed",
    [
        "This fixes #12.",
        "Closes: owner/repo#3",
        "Fixes #1 closes #2",
        "resolved #9",
        "FIXED:#4",
        "fixes GH-7",
        "closes https://github.com/owner/repo/issues/5",
        "fix https://github.com/owner/repo/pull/6",
    ],
)
def test_closing_keywords_no_longer_close_in_markdown_or_commit_messages(typed: str) -> None:
    assert CLOSES.search(typed)
    for neutral in (neutralize(typed), neutralize_plain(typed), fenced(typed)):
        assert not CLOSES.search(neutral), neutral
        # Still readable: only zero-width spaces were added.
        assert typed.split()[-1] in neutral.replace("\u200b", "")


def test_references_without_a_keyword_stay_links() -> None:
    assert neutralize("see #12") == "see #12"
    assert neutralize_plain("prefix #12") == "prefix #12"


def test_raw_html_is_escaped() -> None:
    assert neutralize("<img src=x onerror=alert(1)> & more") == (
        "&lt;img src=x onerror=alert(1)&gt; &amp; more"
    )


def test_names_are_one_line_without_bidi_tricks() -> None:
    assert one_line_name("Bob\n\nFixes #5\n@everyone") == "Bob Fixes #5 @everyone"
    assert one_line_name("  Ada\tLovelace\u2028 ") == "Ada Lovelace"
    # RIGHT-TO-LEFT OVERRIDE would show "evil.exe" reversed as something else.
    assert one_line_name("ann\u202egpj.exe") == "anngpj.exe"
    assert one_line_name("\u2067سارة\u2069") == "سارة"  # noqa: RUF001


def test_a_name_in_markdown_starts_no_structure_and_pings_nobody() -> None:
    shown = markdown_name("[click](https://evil.example) **Bob**\n# Fixes #5 @everyone")
    assert "\n" not in shown
    assert "[click](" not in shown and "**" not in shown
    assert "@everyone" not in shown and not CLOSES.search(shown)


def test_a_name_on_discord_is_one_escaped_line() -> None:
    shown = discord_name("Bob\n\n# Big **bold** @everyone")
    assert "\n" not in shown and "**" not in shown and "@everyone" not in shown


@pytest.mark.parametrize(
    "typed",
    [
        "Fine.\n~~~\nunclosed",
        "three ``` backticks\n```\n# Heading after",
        "````\nfour\n````",
        "<!-- lessonbot:suggestion=99 -->",
    ],
)
def test_a_fenced_block_cannot_be_closed_from_inside(typed: str) -> None:
    block = fenced(typed, "text")
    fence = block.split("\n", 1)[0].removesuffix("text")
    inner = block.split("\n")[1:-1]
    assert set(fence) == {"`"} and block.endswith("\n" + fence)
    # No inner line is a fence that closes this one (CommonMark: same char, at least as long).
    assert not any(line.strip().startswith(fence) for line in inner)
    assert "<!-- lessonbot:" not in block


def test_a_discord_block_holds_no_three_backticks_inside() -> None:
    block = discord_fenced("a ``` b\n```\n@everyone")
    assert block.startswith("```\n") and block.endswith("\n```")
    assert "```" not in block[4:-4]


def test_overrides_are_dropped_from_fenced_text_but_isolates_stay() -> None:
    assert "\u202e" not in fenced("abc\u202edef")
    assert "\u2067" in fenced("\u2067نص\u2069")


def test_a_diff_shows_the_bidi_controls_it_would_commit() -> None:
    block = fenced("+abc\u202edef\u2066x\u2069", "diff", reveal=True)
    assert "<U+202E>" in block and "<U+2066>" in block and "\u202e" not in block


def test_an_open_code_block_is_closed_and_a_closed_one_left_alone() -> None:
    assert close_open_fences("Look:\n~~~\nunclosed") == "Look:\n~~~\nunclosed\n~~~"
    assert close_open_fences("````py\n```\nstill code") == "````py\n```\nstill code\n````"
    whole = "```\ncode\n```\nafter"
    assert close_open_fences(whole) == whole
