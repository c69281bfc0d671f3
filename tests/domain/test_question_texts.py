"""Question outcomes: the words the service returns, a picker's titles, GitHub's times."""

from __future__ import annotations

from bot.domain.help_posts import LessonCandidate, LessonMatch, Named
from bot.domain.question_texts import (
    block_quote,
    lesson_named,
    recorded_outcome,
    title_in,
)
from bot.domain.questions import QuestionVerdict, Rule


def test_a_recorded_question_says_its_rule_locale_and_what_it_answered() -> None:
    verdict = QuestionVerdict(True, Rule.QUESTION_MARK, "en")
    assert recorded_outcome(verdict) == "question (question_mark, en)"
    assert recorded_outcome(verdict, 1) == "question (question_mark, en), answered 1"
    unknown = QuestionVerdict(True, Rule.QUESTION_MARK)
    assert recorded_outcome(unknown) == "question (question_mark, ?)"


def test_a_help_post_says_which_lesson_it_names_and_how() -> None:
    found = LessonMatch("demo/pipes", Named.SLUG, "pipes")
    assert lesson_named(found) == "names demo/pipes (slug: pipes)"
    assert lesson_named(None) == "names no lesson"


def test_a_picker_titles_a_lesson_in_the_locale_its_language_the_default_or_its_slug() -> None:
    lesson = LessonCandidate("demo/pipes", "pipes", {"en": "Pipes", "es": "Tuberías"})
    assert title_in(lesson, "es", "en") == "Tuberías"
    assert title_in(lesson, "es-MX", "en") == "Tuberías"
    assert title_in(lesson, "ar", "en") == "Pipes"
    assert title_in(LessonCandidate("demo/pipes", "pipes"), "ar", "en") == "pipes"


def test_a_question_asked_with_ask_is_quoted_line_by_line() -> None:
    assert block_quote("pipes are odd\nsecond line") == "> pipes are odd\n> second line"
