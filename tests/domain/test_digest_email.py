"""The digest email: subject, text part, and sanitized, styled, direction-aware HTML."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from bot.domain.digest import QuestionRecord, SuggestionRecord, build_digest
from bot.domain.digest_email import render_email, render_html

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
UNSUBSCRIBE = "https://bot.example/digest/unsubscribe?address=ana%40example.org&token=abc"


def digest_with(text: str = "How do I stop a loop?", url: str = "https://x.org/q/1"):
    question = QuestionRecord(
        1, "python", "loops", "Loops", "ana", text, NOW - timedelta(days=4), url, "en"
    )
    waiting = SuggestionRecord(
        9, "python", "loops", "en", "open", NOW - timedelta(days=6), "https://x.org/pull/9"
    )
    return build_digest([question], [waiting], now=NOW, since=NOW - timedelta(days=7))


def test_the_email_has_a_counting_subject_a_text_part_and_an_html_part() -> None:
    email = render_email(digest_with(), "en", UNSUBSCRIBE)
    assert email.subject == "[lessonbot] 1 open question, 1 edit awaiting review"
    assert "How do I stop a loop?" in email.text and UNSUBSCRIBE in email.text
    assert email.html.startswith("<!DOCTYPE html>")
    assert '<html lang="en" dir="ltr">' in email.html
    assert 'href="https://x.org/q/1"' in email.html
    assert (
        'href="https://bot.example/digest/unsubscribe?address=ana%40example.org&amp;token=abc"'
        in (email.html)
    )


def test_every_element_carries_its_style_inline() -> None:
    html = render_email(digest_with(), "en", UNSUBSCRIBE).html
    assert "<style" not in html
    for tag in re.findall(r"<(h1|h2|h3|ul|li|a|p)[ >]", html):
        assert tag  # found
    assert not re.search(r"<(h1|h2|h3|ul|ol|li|a|p)>", html), "an element without inline style"


@pytest.mark.parametrize("locale", ["ar"])
def test_right_to_left_locales_get_dir_rtl(locale: str) -> None:
    html = render_email(digest_with(), locale, UNSUBSCRIBE).html
    assert f'<html lang="{locale}" dir="rtl">' in html
    assert '<div dir="rtl"' in html and "text-align:right" in html


def _elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    found: list[tuple[str, dict[str, str | None]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, dict(attrs)))

    Collector().feed(html)
    return found


def test_hostile_text_never_becomes_markup_or_a_script_link() -> None:
    hostile = '<img src=x onerror=alert(1)><a href="javascript:alert(1)">x</a> [y](javascript:z)'
    html = render_email(digest_with(hostile, url="javascript:alert(2)"), "en").html
    elements = _elements(html)
    assert "img" not in {tag for tag, _ in elements}
    hrefs = [attrs["href"] or "" for tag, attrs in elements if tag == "a"]
    assert all(href.startswith("https://") for href in hrefs), hrefs
    assert not any(name.startswith("on") for _, attrs in elements for name in attrs)
    assert "&lt;img src=x" in html  # shown as text, as typed


def test_raw_html_in_the_markdown_is_sanitized_away() -> None:
    html = render_html("# Title\n\n<script>alert(1)</script>\n\n<b onclick='x()'>b</b>", "en")
    assert "<script" not in html and "onclick" not in html


@pytest.mark.parametrize("locale", ["en", "es", "ar", "zh", "fr", "hi", "nl", "te"])
def test_no_raw_key_or_placeholder_in_any_locales_email(locale: str) -> None:
    email = render_email(digest_with(), locale, UNSUBSCRIBE)
    for shown in (email.subject, email.text, email.html):
        assert not re.search(r"\bdigest\.[a-z_]+", shown), shown
        assert not re.search(r"\{[a-z_]+\}", shown), shown
    assert (f'dir="{"rtl" if locale == "ar" else "ltr"}"') in email.html


def test_latin_names_in_an_arabic_email_are_isolated_and_shown_as_typed() -> None:
    question = QuestionRecord(
        1, "python", "loops", "Loops (for *and* while)", "sam_b", "Why (x)?", NOW, None, "ar"
    )
    email = render_email(build_digest([question], now=NOW), "ar", UNSUBSCRIBE)
    assert "<bdi>Loops (for *and* while)</bdi>" in email.html
    assert "<bdi>sam_b</bdi>" in email.html and "<bdi>Why (x)?</bdi>" in email.html
    assert "\\" not in email.text and "Loops (for *and* while)" in email.text
    hostile = QuestionRecord(1, "p", "l", "L", "a", "<bdi dir=rtl onclick=x()>b</bdi>", NOW)
    html = render_email(build_digest([hostile], now=NOW), "ar").html
    assert "&lt;bdi dir=rtl onclick=x()&gt;" in html  # shown as typed, not markup
    assert all(not attrs for tag, attrs in _elements(html) if tag == "bdi")
