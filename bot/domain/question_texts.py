"""Say what became of a message the question service saw, and read what it is handed.

Pure: the outcomes are the strings the service returns to its adapters (which log them)
and to the tests, so their wording is part of its behaviour.
"""

from __future__ import annotations

from bot.domain.help_posts import LessonCandidate, LessonMatch
from bot.domain.questions import QuestionVerdict


def recorded_outcome(verdict: QuestionVerdict, answered: int = 0) -> str:
    """Return the outcome of a message recorded as a question (and what it answered)."""
    said = f"question ({verdict.rule}, {verdict.locale or '?'})"
    return f"{said}, answered {answered}" if answered else said


def lesson_named(found: LessonMatch | None) -> str:
    """Say which lesson a help post names, and how."""
    return f"names {found.identity} ({found.how}: {found.cue})" if found else "names no lesson"


def title_in(candidate: LessonCandidate, locale: str, default: str) -> str:
    """Return a lesson's title in a locale, else the default locale's, else its slug."""
    for code in (locale, locale.split("-")[0], default):
        if code in candidate.titles:
            return candidate.titles[code]
    return candidate.slug


def block_quote(text: str) -> str:
    """Return a text as a Markdown block quote, line by line."""
    return "\n".join(f"> {line}" for line in text.splitlines())
