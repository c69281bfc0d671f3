"""Text bound for GitHub pings, closes and injects nothing."""

from __future__ import annotations

from bot.domain.neutral import neutralize


def test_mentions_are_made_inert_but_email_addresses_stay() -> None:
    assert neutralize("Thanks @octocat!") == "Thanks @\u200boctocat!"
    assert neutralize("write to a@b.org") == "write to a@b.org"


def test_closing_keywords_lose_their_reference_link() -> None:
    assert neutralize("This fixes #12.") == "This fixes `#12`."
    assert neutralize("Closes: owner/repo#3") == "Closes: `owner/repo#3`"
    assert neutralize("see #12") == "see #12"


def test_raw_html_is_escaped() -> None:
    assert neutralize("<img src=x onerror=alert(1)> & more") == (
        "&lt;img src=x onerror=alert(1)&gt; &amp; more"
    )
