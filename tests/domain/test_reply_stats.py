"""The first-reply target: parsing it, deciding each question once, and the digest's lines."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.digest import (
    EMBED_FIELD_VALUE,
    EMBED_FIELDS,
    EMBED_TOTAL,
    Audience,
    QuestionRecord,
    build_digest,
    render_embeds,
    render_markdown,
    render_text,
)
from bot.domain.digest_email import render_email
from bot.domain.reply_stats import (
    ReplyRecord,
    ReplyTarget,
    locale_name,
    outcome,
    parse_span,
    parse_target,
    reply_stats,
    share_text,
)

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
TARGET = ReplyTarget(0.8, DAY)


def asked(
    ago: timedelta,
    reply_after: timedelta | None = None,
    *,
    program: str = "p",
    lesson: str | None = "l",
    locale: str | None = "en",
) -> ReplyRecord:
    at = NOW - ago
    return ReplyRecord(
        program, lesson, lesson or "", locale, at, at + reply_after if reply_after else None
    )


@pytest.mark.parametrize(
    ("text", "share", "window"),
    [
        ("80% within 24h", 0.8, timedelta(hours=24)),
        ("  95.5 %  WITHIN 2d ", 0.955, timedelta(days=2)),
        ("100% within 90m", 1.0, timedelta(minutes=90)),
    ],
)
def test_a_target_reads_as_a_share_and_a_window(text: str, share: float, window: timedelta) -> None:
    target = parse_target(text)
    assert (target.share, target.window) == (pytest.approx(share), window)


@pytest.mark.parametrize(
    "text",
    ["", "80%", "80 within 24h", "0% within 1h", "101% within 1h", "80% within 0h", "80% in 2w"],
)
def test_a_malformed_target_says_what_a_good_one_looks_like(text: str) -> None:
    with pytest.raises(ValueError, match=r"80% within 24h|above 0%|longer than 0"):
        parse_target(text)


def test_spans() -> None:
    assert parse_span("30d") == timedelta(days=30) and parse_span("90m") == timedelta(minutes=90)
    for bad in ("", "0d", "30", "a month", "-1d"):
        with pytest.raises(ValueError):
            parse_span(bad)


def test_no_questions_give_no_share() -> None:
    stats = reply_stats([], target=TARGET, now=NOW, start=NOW - DAY)
    assert stats.overall.total == 0 and stats.overall.share is None
    assert stats.met_target is None and stats.programs == () and stats.worst == ()


def test_questions_still_within_the_window_are_pending_not_missed() -> None:
    stats = reply_stats(
        [asked(timedelta(hours=1)), asked(timedelta(hours=23))], target=TARGET, now=NOW, start=None
    )
    assert (stats.overall.pending, stats.overall.missed, stats.overall.share) == (2, 0, None)
    assert stats.overall.unanswered_share == 1.0 and stats.worst == ()


def test_the_exact_boundary_is_within_the_window() -> None:
    assert outcome(NOW - DAY, NOW, now=NOW, window=DAY) == ("met", NOW)
    assert outcome(NOW - DAY, None, now=NOW, window=DAY) == ("pending", None)
    late = NOW + timedelta(microseconds=1)
    assert outcome(NOW - DAY, late, now=late, window=DAY) == ("missed", NOW)
    assert outcome(NOW - DAY, None, now=late, window=DAY) == ("missed", NOW)


def test_a_late_reply_is_a_miss_but_still_answered_and_in_the_median() -> None:
    stats = reply_stats(
        [
            asked(3 * DAY, 2 * DAY),
            asked(3 * DAY, timedelta(hours=1)),
            asked(3 * DAY, timedelta(hours=2)),
        ],
        target=TARGET,
        now=NOW,
    )
    tally = stats.overall
    assert (tally.met, tally.missed, tally.answered, tally.unanswered) == (2, 1, 3, 0)
    assert tally.median_first_reply == timedelta(hours=2)
    assert stats.met_target is False and share_text("en", tally.share) == "66%"


def test_each_question_counts_in_the_one_period_it_was_decided_in() -> None:
    questions = [
        asked(timedelta(hours=30), timedelta(hours=1)),  # met 29h ago
        asked(timedelta(hours=40)),  # missed 16h ago
        asked(timedelta(hours=50)),  # missed 26h ago
        asked(timedelta(hours=2)),  # pending, asked in the last day
    ]
    last_day = reply_stats(questions, target=TARGET, now=NOW, start=NOW - DAY)
    day_before = reply_stats(questions, target=TARGET, now=NOW - DAY, start=NOW - 2 * DAY)
    assert (last_day.overall.met, last_day.overall.missed, last_day.overall.pending) == (0, 1, 1)
    assert (day_before.overall.met, day_before.overall.missed) == (1, 1)


def test_groups_by_program_and_locale_with_the_unknown_locale_last() -> None:
    stats = reply_stats(
        [
            asked(2 * DAY, timedelta(hours=1), program="b", locale=None),
            asked(2 * DAY, program="a", locale="es"),
            asked(2 * DAY, timedelta(hours=1), program="a", locale="en"),
            asked(2 * DAY, program="a", lesson=None, locale="en"),  # not linked yet
        ],
        target=TARGET,
        now=NOW,
    )
    assert [(name, tally.met, tally.missed) for name, tally in stats.programs] == [
        ("a", 1, 2),
        ("b", 1, 0),
    ]
    assert [code for code, _ in stats.locales] == ["en", "es", None]
    # A question waiting for its lesson counts for its program, never as a lesson.
    assert [(item.lesson, item.tally.missed) for item in stats.worst] == [("l", 1)]
    assert locale_name(None, "en") == "language not detected"
    assert locale_name("es", "ar") == "الإسبانية" and locale_name("xx-weird", "en")


def test_the_worst_lessons_are_the_five_with_most_misses() -> None:
    questions = [asked(2 * DAY, lesson=f"l{index}") for index in range(7) for _ in range(index + 1)]
    questions.append(asked(2 * DAY, timedelta(minutes=5), lesson="fine"))
    stats = reply_stats(questions, target=TARGET, now=NOW)
    assert [item.lesson for item in stats.worst] == ["l6", "l5", "l4", "l3", "l2"]
    assert stats.worst[0].tally.missed == 7


def test_the_share_is_rounded_down_so_it_never_shows_the_target_it_missed() -> None:
    assert share_text("en", 0.799) == "79%" and share_text("en", 0.8) == "80%"
    assert share_text("en", None) == "no data" and share_text("fr", 0.5) != "50%"


# --- in the digest ---------------------------------------------------------------------------


def _question(index: int, ago: timedelta, reply: timedelta | None, **kw: object) -> QuestionRecord:
    at = NOW - ago
    return QuestionRecord(
        id=index,
        program=str(kw.get("program", "data-basics")),
        lesson=str(kw.get("lesson", "loops")),
        title=str(kw.get("title", "Loops (for *and* while)")),
        author="sam_b",
        text="Why?",
        asked_at=at,
        locale=kw.get("locale", "en"),  # type: ignore[arg-type]
        answered_at=at + reply if reply else None,
    )


QUESTIONS = [
    _question(1, 2 * DAY, timedelta(hours=2)),
    _question(2, 2 * DAY, None, locale="es"),
    _question(3, 2 * DAY, None, locale=None, lesson="pipes", title="Pipes"),
    _question(4, timedelta(hours=3), None),
]
_RAW = re.compile(r"\b(reply_target|digest)\.[a-z_]+")


@pytest.mark.parametrize("locale", ["en", "ar", "zh"])
def test_the_digest_shows_the_target_in_every_medium_without_keys(locale: str) -> None:
    digest = build_digest(QUESTIONS, now=NOW, counted_from=NOW - 7 * DAY, target=TARGET)
    assert digest.replies is not None
    assert (digest.replies.overall.met, digest.replies.overall.missed) == (1, 2)
    email = render_email(digest, locale)
    embeds = render_embeds(digest, locale)
    shown = [email.text, email.html, render_markdown(digest, locale)]
    first = embeds[0]
    shown.append(first.title + first.description + "".join(n + v for n, v in first.fields))
    heading = {"en": "First replies", "ar": "الردود الأولى", "zh": "首次回复"}[locale]
    for text in shown:
        assert heading in text and not _RAW.search(text), text
        assert "33%" in text or "33 %" in text or "٣٣" in text
    # Compact: it joins the summary embed, as fields, within Discord's limits.
    assert len(embeds[0].fields) == 2 and embeds[0].size <= EMBED_TOTAL
    assert all(len(value) <= EMBED_FIELD_VALUE for _, value in embeds[0].fields)
    if locale == "en":
        assert "Replied in time: 33% (1 of 3), below target · still within the window: 1" in (
            email.text
        )
        assert "By language: English 100% · Spanish 0% · language not detected 0%" in email.text
        assert "1. Loops (for *and* while) (Data Basics): 1 of 2 missed" in email.text
        assert "Loops (for \\*and\\* while)" in embeds[0].fields[1][1]  # escaped once


def test_names_in_an_arabic_digest_are_isolated() -> None:
    digest = build_digest(QUESTIONS, now=NOW, counted_from=NOW - 7 * DAY, target=TARGET)
    html = render_email(digest, "ar").html
    assert "<bdi>Data Basics</bdi> ٣٣" in html or "<bdi>Data Basics</bdi> 33" in html
    assert "<bdi>Loops (for *and* while)</bdi>" in html
    # The bot's own words (the languages' names) are not isolated, as the digest does today.
    assert "<bdi>الإسبانية</bdi>" not in html and "الإسبانية" in html


def test_a_maintainer_sees_the_target_over_their_programs_only() -> None:
    other = _question(9, 2 * DAY, timedelta(minutes=1), program="web")
    digest = build_digest(
        [*QUESTIONS, other],
        now=NOW,
        target=TARGET,
        audience=Audience(programs=frozenset({"web"})),
    )
    assert digest.replies is not None
    assert (digest.replies.overall.met, digest.replies.overall.missed) == (1, 0)
    assert "On target" not in render_text(digest, "en") and "on target" in render_text(digest, "en")


def test_without_a_target_or_with_nothing_decided() -> None:
    assert build_digest(QUESTIONS, now=NOW).replies is None
    assert "First replies" not in render_text(build_digest(QUESTIONS, now=NOW), "en")
    fresh = build_digest([_question(1, timedelta(hours=1), None)], now=NOW, target=TARGET)
    text = render_text(fresh, "en")
    assert "No question's window closed in this period · still within the window: 1" in text


def test_many_programs_overflow_into_embeds_of_their_own_never_cut() -> None:
    questions = [
        _question(
            index, 2 * DAY, None, program=f"program-{index:03d}-" + "x" * 60, lesson=f"l{index}"
        )
        for index in range(120)
    ]
    digest = build_digest(questions, now=NOW, target=TARGET)
    embeds = render_embeds(digest, "en")
    for embed in embeds:
        assert embed.size <= EMBED_TOTAL and len(embed.fields) <= EMBED_FIELDS
    values = "".join(v for e in embeds for _, v in e.fields)
    assert all(f"Program {index:03d} X" in values for index in range(120))
