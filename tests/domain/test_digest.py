"""The digest of open questions: selection, grouping, buckets, counts and every rendering."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.digest import (
    EMBED_FIELD_NAME,
    EMBED_FIELD_VALUE,
    EMBED_FIELDS,
    EMBED_TITLE,
    EMBED_TOTAL,
    Audience,
    Names,
    QuestionRecord,
    SuggestionRecord,
    bucket_of,
    build_digest,
    humanize,
    render_embeds,
    render_markdown,
    render_text,
    subject,
)
from bot.i18n import load_catalog

LOCALES = ("en", "es", "ar", "zh", "fr", "hi", "nl", "te")
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def question(
    qid: int,
    *,
    hours: float,
    program: str = "python",
    lesson: str | None = "loops",
    locale: str | None = "en",
    text: str = "How do I break out of a loop?",
    answered_after: float | None = None,
    resolved_after: float | None = None,
) -> QuestionRecord:
    asked = NOW - timedelta(hours=hours)
    return QuestionRecord(
        id=qid,
        program=program,
        lesson=lesson,
        title=lesson.title() if lesson else "",
        author=f"learner{qid}",
        text=text,
        asked_at=asked,
        url=f"https://discord.com/channels/1/2/{qid}",
        locale=locale,
        answered_at=asked + timedelta(hours=answered_after) if answered_after is not None else None,
        resolved_at=asked + timedelta(hours=resolved_after) if resolved_after is not None else None,
    )


def sample() -> list[QuestionRecord]:
    return [
        question(1, hours=2),
        question(2, hours=30, lesson="functions"),
        question(3, hours=24 * 4, program="data", lesson="pandas", locale="es"),
        question(4, hours=24 * 8),
        question(5, hours=24 * 10, answered_after=5),  # answered: not open
        question(6, hours=24 * 2, resolved_after=1),  # resolved: not open
        question(7, hours=50, lesson="functions", locale="ar"),
    ]


def test_buckets_take_the_oldest_threshold_a_question_passes() -> None:
    assert bucket_of(timedelta(hours=23)) == "recent"
    assert bucket_of(timedelta(hours=25)) == "over_24h"
    assert bucket_of(timedelta(days=3, minutes=1)) == "over_3d"
    assert bucket_of(timedelta(days=3)) == "over_24h"
    assert bucket_of(timedelta(days=8)) == "over_7d"


def test_open_questions_are_grouped_by_program_and_lesson_oldest_first() -> None:
    digest = build_digest(sample(), now=NOW)
    assert digest.open_count == 5
    assert [group.program for group in digest.programs] == ["data", "python"]
    python = digest.programs[1]
    # The lesson with the oldest question comes first; inside it, the oldest question first.
    assert [lesson.lesson for lesson in python.lessons] == ["loops", "functions"]
    assert [q.id for q in python.lessons[0].questions] == [4, 1]
    assert [q.id for q in python.lessons[1].questions] == [7, 2]
    assert dict(digest.buckets) == {"over_7d": 1, "over_3d": 1, "over_24h": 2, "recent": 1}
    # Most open questions first; a tie goes by the lesson's name.
    top = [(lesson.lesson, count) for lesson, count in digest.top_lessons]
    assert top == [("functions", 2), ("loops", 2), ("pandas", 1)]


def test_counts_since_the_last_digest_and_median_time_to_first_reply() -> None:
    questions = [
        question(1, hours=10),  # new
        question(2, hours=200, answered_after=199),  # answered an hour ago
        question(3, hours=100, answered_after=3),  # answered long ago: not counted
        question(4, hours=20, answered_after=4, resolved_after=6),  # new, answered, resolved
        question(5, hours=30, answered_after=10),  # answered since
    ]
    digest = build_digest(questions, now=NOW, since=NOW - timedelta(days=1))
    assert digest.activity.new == 2
    assert digest.activity.answered == 3
    assert digest.activity.resolved == 1
    # Waits of 199, 4 and 10 hours: the median is 10 hours.
    assert digest.activity.median_first_reply == timedelta(hours=10)
    never = build_digest([question(1, hours=3)], now=NOW)
    assert never.activity.median_first_reply is None


def test_a_maintainer_sees_only_the_programs_and_locales_asked_for() -> None:
    questions = [*sample(), question(8, hours=40, locale=None)]
    digest = build_digest(questions, now=NOW, audience=Audience(frozenset({"python"})))
    assert {group.program for group in digest.programs} == {"python"}
    spanish = build_digest(questions, now=NOW, audience=Audience(locales=frozenset({"es"})))
    ids = {q.id for group in spanish.programs for lesson in group.lessons for q in lesson.questions}
    # A question whose locale is unknown goes to every locale's maintainers.
    assert ids == {3, 8}


def test_suggestions_waiting_longer_than_the_threshold_are_listed() -> None:
    suggestions = [
        SuggestionRecord(1, "python", "loops", "en", "open", NOW - timedelta(days=5)),
        SuggestionRecord(2, "python", "loops", "en", "open", NOW - timedelta(days=1)),
        SuggestionRecord(3, "data", "pandas", "es", "approved", NOW - timedelta(days=9)),
        SuggestionRecord(4, "python", "loops", "en", "merged", NOW - timedelta(days=9)),
        SuggestionRecord(5, "python", "loops", "fr", "changes_requested", NOW - timedelta(days=4)),
    ]
    digest = build_digest([], suggestions, now=NOW, wait_days=3)
    assert [item.id for item in digest.waiting] == [3, 1, 5]
    assert not digest.is_empty
    narrow = build_digest([], suggestions, now=NOW, audience=Audience(locales=frozenset({"fr"})))
    assert [item.id for item in narrow.waiting] == [5]
    assert build_digest([], [], now=NOW).is_empty


def test_subject_counts_questions_and_edits_with_plurals() -> None:
    suggestions = [SuggestionRecord(1, "python", "loops", "en", "open", NOW - timedelta(days=5))]
    digest = build_digest(sample(), suggestions, now=NOW)
    assert subject(digest, "en") == "[lessonbot] 5 open questions, 1 edit awaiting review"
    assert subject(digest, "ar").startswith("[lessonbot] 5 أسئلة مفتوحة")


HOSTILE = (
    "@everyone look <script>alert(1)</script> [click](javascript:alert(1)) **bold** "
    "<@123456> ```rm -rf /``` and\n\n# heading"
)


def test_excerpts_are_neutralized_in_every_rendering() -> None:
    digest = build_digest([question(1, hours=30, text=HOSTILE)], now=NOW)
    markdown = render_markdown(digest, "en")
    assert "<script>" not in markdown and "&lt;script" in markdown
    # No bracket is left to make a link of: `\[click\](javascript:...)` shows as typed.
    assert not re.search(r"(?<!\\)\]\(javascript:", markdown)
    assert "\\[click\\](javascript:alert(1))" in markdown
    assert "@everyone" not in markdown and "@\u200beveryone" in markdown
    assert "**bold**" not in markdown
    assert "rm -rf" not in markdown  # code blocks are left out of excerpts
    assert "\n# heading" not in markdown
    discord = "\n".join(
        embed.description + "".join(value for _, value in embed.fields)
        for embed in render_embeds(digest, "en")
    )
    assert "@everyone" not in discord and "<@123456>" not in discord
    assert "\\<script" in discord
    text = render_text(digest, "en")
    assert "@everyone look <script>" in text  # plain text needs no escaping
    assert "\n" not in text.split("learner1")[0].rsplit("- ", 1)[1]


def test_a_link_that_is_not_a_web_address_is_not_linked() -> None:
    bad = QuestionRecord(
        1, "p", "l", "L", "a", "why?", NOW - timedelta(hours=1), url="javascript:alert(1)"
    )
    digest = build_digest([bad], now=NOW)
    assert "javascript:" not in render_markdown(digest, "en")
    assert "javascript:" not in render_text(digest, "en")


_KEY = re.compile(r"\bdigest\.[a-z_.]+\b")


@pytest.mark.parametrize("locale", LOCALES)
def test_no_raw_template_or_key_in_any_rendering(locale: str) -> None:
    suggestions = [
        SuggestionRecord(1, "python", "loops", "en", status, NOW - timedelta(days=6))
        for status in ("open", "changes_requested", "approved")
    ]
    for since, start in ((None, None), (None, NOW - timedelta(days=7)), (NOW, NOW)):
        digest = build_digest(
            sample(), suggestions, now=NOW, since=since, counted_from=start, wait_days=3
        )
        empty = build_digest([], now=NOW, since=since, counted_from=start)
        for shown in (digest, empty):
            embeds = render_embeds(shown, locale)
            outputs = [
                render_markdown(shown, locale, footer="footer"),
                render_text(shown, locale, footer="footer"),
                subject(shown, locale),
                *(e.title + e.description + "".join(n + v for n, v in e.fields) for e in embeds),
            ]
            for output in outputs:
                assert not _KEY.search(output), output
                assert not re.search(r"\{[a-z_]+\}", output), output
    titles = load_catalog(locale).messages["digest.title"]
    assert titles in render_text(digest, locale)


def test_many_questions_split_across_embeds_within_discords_limits() -> None:
    questions = [
        question(i, hours=30 + i, lesson=f"lesson-{i % 40}", text="why " * 60 + str(i))
        for i in range(600)
    ]
    digest = build_digest(questions, now=NOW)
    embeds = render_embeds(digest, "en")
    assert len(embeds) > 5
    for embed in embeds:
        assert len(embed.title) <= EMBED_TITLE
        assert len(embed.fields) <= EMBED_FIELDS
        assert embed.size <= EMBED_TOTAL
        for name, value in embed.fields:
            assert len(name) <= EMBED_FIELD_NAME and 0 < len(value) <= EMBED_FIELD_VALUE
    shown = "".join(value for embed in embeds for _, value in embed.fields)
    # Nothing is cut: every question's link is in some embed.
    for i in range(600):
        assert f"/2/{i})" in shown


def test_questions_from_posts_naming_no_lesson_are_listed_under_their_program() -> None:
    questions = [
        question(1, hours=2),
        question(2, hours=50, lesson=None, text="Stuck on the quiz in lesson 3"),
        question(3, hours=5, lesson=None, program="data", locale="es"),
        question(4, hours=1, lesson=None, answered_after=0.5),  # answered: not open
    ]
    digest = build_digest(questions, now=NOW)
    assert digest.open_count == 3
    data, python = digest.programs
    # The unlinked group closes its program, whatever the age of its questions.
    assert [(g.lesson, g.unlinked) for g in python.lessons] == [("loops", False), ("", True)]
    assert [q.id for q in python.lessons[1].questions] == [2]
    assert python.count == 2
    assert [(g.unlinked, [q.id for q in g.questions]) for g in data.lessons] == [(True, [3])]
    # Not a lesson: never among the lessons with the most open questions.
    assert [lesson.lesson for lesson, _ in digest.top_lessons] == ["loops"]
    for locale in LOCALES:
        heading = load_catalog(locale).messages["digest.unlinked"]
        assert isinstance(heading, str)
        assert f"### {heading}" in render_markdown(digest, locale).replace("\\", "")
        assert heading in render_text(digest, locale)
        fields = [name for embed in render_embeds(digest, locale) for name, _ in embed.fields]
        assert heading in [name.replace("\\", "") for name in fields]
    assert "Stuck on the quiz in lesson 3" in render_text(digest, "en")


def test_every_edit_awaiting_review_is_counted_and_those_over_the_threshold_told() -> None:
    fresh = [
        SuggestionRecord(1, "python", "loops", "en", "open", NOW - timedelta(days=1)),
        SuggestionRecord(2, "python", "loops", "en", "approved", NOW - timedelta(hours=5)),
    ]
    digest = build_digest([], fresh, now=NOW, wait_days=3)
    assert [item.id for item in digest.pending] == [1, 2] and digest.waiting == ()
    assert not digest.is_empty
    assert subject(digest, "en") == "[lessonbot] 0 open questions, 2 edits awaiting review"
    for shown in (render_text(digest, "en"), render_markdown(digest, "en")):
        assert "2 edits awaiting review (0 for over 3 days)" in shown
        assert "Edit #1 to Loops (Python) (English): awaiting review, waiting 1 day" in shown
    old = SuggestionRecord(3, "python", "loops", "en", "open", NOW - timedelta(days=4))
    text = render_text(build_digest([], [*fresh, old], now=NOW, wait_days=3), "en")
    assert "3 edits awaiting review (1 for over 3 days)" in text


def test_the_first_digest_tells_the_window_it_counted_and_names_no_last_digest() -> None:
    first = build_digest(sample(), now=NOW, counted_from=NOW - timedelta(days=7))
    assert first.since is None
    for shown in (render_text(first, "en"), render_markdown(first, "en")):
        assert "last digest" not in shown and "Over the last 7 days: asked" in shown
    later = build_digest(
        sample(), now=NOW, since=NOW - timedelta(days=7), counted_from=NOW - timedelta(days=7)
    )
    assert "Since the last digest (2026-11-23)" in render_text(later, "en")


TRICKY = "Lists (and *tuples*) #1"


def test_names_are_escaped_once_and_only_where_markdown_renders() -> None:
    asked = QuestionRecord(
        1, "p", "l", TRICKY, "sam_b", "Why (x) is `a[0]` 1.5?", NOW - timedelta(hours=2)
    )
    digest = build_digest([asked], now=NOW)
    text = render_text(digest, "en")
    assert "\\" not in text and TRICKY in text and "Why (x) is `a[0]` 1.5?" in text
    markdown = render_markdown(digest, "en")
    assert "### Lists (and \\*tuples\\*) #1\n" in markdown
    assert "Why (x) is \\`a\\[0\\]\\` 1.5?" in markdown and "sam\\_b" in markdown
    embeds = render_embeds(digest, "en")
    parts = [e.title + e.description + "".join(n + v for n, v in e.fields) for e in embeds]
    assert not any(re.search(r"\\[()#.!]", part.replace("1\\.", "")) for part in parts)
    assert "Lists (and \\*tuples\\*) #1" in "".join(parts)


def test_a_value_that_would_start_a_block_is_escaped_where_it_starts() -> None:
    from bot.domain.digest import escape_markdown

    assert escape_markdown("# not a heading") == "\\# not a heading"
    assert escape_markdown("-# small print", discord=True) == "\\-# small print"
    assert escape_markdown("1. not a list", discord=True) == "1\\. not a list"
    assert escape_markdown("> no quote", discord=True) == "\\> no quote"
    assert escape_markdown("C# (and F#)", discord=True) == "C# (and F#)"
    assert escape_markdown("a <b> & c") == "a &lt;b> &amp; c"
    # Python-Markdown would drop a heading's closing #.
    assert escape_markdown("Learn C#") == "Learn C\\#"
    assert escape_markdown("Learn C#", discord=True) == "Learn C#"


def test_programs_and_lessons_are_named_in_the_readers_language() -> None:
    names = Names(
        "en",
        programs={"data-basics": {"en": "Data Basics", "ar": "أساسيات البيانات"}},
        lessons={("data-basics", "what-is-data"): {"en": "What Is Data?", "ar": "ما البيانات؟"}},
    )
    asked = QuestionRecord(
        1, "data-basics", "what-is-data", "What Is Data?", "ana", "Why?", NOW - timedelta(hours=2)
    )
    other = QuestionRecord(
        2, "prompt-craft", "few-shot", "Few Shot", "li", "How?", NOW - timedelta(hours=3)
    )
    digest = build_digest([asked, other], now=NOW, names=names)
    arabic = render_text(digest, "ar")
    assert "أساسيات البيانات (1)" in arabic and "ما البيانات؟" in arabic
    assert "What Is Data?" not in arabic and "data-basics" not in arabic
    # No title in program.json: the slug as words; a lesson without one: its stored title.
    assert "Prompt Craft (1)" in arabic and "Few Shot" in arabic
    english = render_text(digest, "en-GB")
    assert "Data Basics (1)" in english and "What Is Data?" in english
    assert humanize("data-basics") == "Data Basics" and humanize("a_b c") == "A B C"


def test_the_html_markdown_isolates_each_name_from_the_sentence() -> None:
    asked = QuestionRecord(
        1, "p", "l", "Loops", "ana", "Why?", NOW - timedelta(hours=2), "https://x.org/q/1"
    )
    isolated = render_markdown(build_digest([asked], now=NOW), "ar", isolate=True)
    assert "### <bdi>Loops</bdi>" in isolated and "[<bdi>Why?</bdi>](" in isolated
    assert "<bdi>ana</bdi>" in isolated and "## <bdi>P</bdi> (1)" in isolated
    assert "<bdi>" not in render_markdown(build_digest([asked], now=NOW), "ar")


def test_a_clipped_name_never_ends_in_half_an_escape() -> None:
    from bot.domain.digest import _clip

    clipped = _clip("x" * 8 + "\\*" + "y" * 20, 10)
    assert clipped.endswith("…") and not clipped.removesuffix("…").endswith("\\")
