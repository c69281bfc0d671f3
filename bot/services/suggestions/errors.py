"""Why a suggestion cannot be taken: a code, the field it is about, and its words."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from babel.lists import format_list

from bot.domain import edits
from bot.domain.catalogue import Problem
from bot.domain.lookup import LessonLookup
from bot.i18n import normalize_locale, t


class SuggestionError(Exception):
    """A suggestion that cannot be taken as sent: a code, the field, an HTTP status."""

    def __init__(
        self, code: str, *, field: str | None = None, status: int = 422, **params: Any
    ) -> None:
        super().__init__(f"{code}{f' ({field})' if field else ''}")
        self.code = code
        self.field = field
        self.status = status
        self.params = params

    def message(self, locale: str, field_label: str | None = None) -> str:
        """Return what to tell the person, in their language (the field as they saw it)."""
        params = {
            key: value
            for key, value in self.params.items()
            if value is not None and key not in ("found", "did_you_mean")
        }
        params["field"] = field_label or self.field or ""
        found = self.params.get("found")
        if found:
            params["problems"] = worded_problems(found, locale)
        closest = self.params.get("did_you_mean")
        if closest:
            # Its own sentence: where "did you mean" goes differs from language to language.
            params["lessons"] = format_list(list(closest), "or", normalize_locale(locale))
            return t(locale, f"suggest.error.{self.code}_closest", **params)
        return t(locale, f"suggest.error.{self.code}", **params)


def unknown_lesson(typed: str, found: LessonLookup) -> SuggestionError:
    """Return the refusal of a lesson there is not: the form to use and the closest ones."""
    example = found.closest[0] if found.closest else found.example
    return SuggestionError(
        "lesson_unknown",
        field="lesson",
        lesson=typed.strip()[:100],
        example=example.identity if example else "program/slug",
        did_you_mean=tuple(lesson.identity for lesson in found.closest),
    )


def edit_error(error: edits.EditError) -> SuggestionError:
    """Return the suggestion error for an edit that does not apply."""
    if error.code == "not_found" and not error.closest:
        # Nothing in the lesson comes close: there is no passage to offer.
        return SuggestionError("find_not_found_anywhere", field="find")
    code = {
        "not_found": "find_not_found",
        "ambiguous": "find_ambiguous",
        "find_empty": "field_empty",
    }.get(error.code, error.code)
    return SuggestionError(
        code,
        field="find" if code.startswith("find") or code == "field_empty" else "replace",
        count=error.count or None,
        closest=(error.closest or "")[:200] or None,
        found=error.found or None,
    )


def worded_problems(found: Sequence[Problem], locale: str) -> str:
    """Return lesson-check problems as sentences for a person, each with its line."""
    return " ".join(
        t(
            locale,
            "suggest.error.problem_at",
            line=problem.line,
            problem=t(locale, f"check.{problem.code}", **problem.params),
        )
        for problem in sorted(found, key=lambda problem: problem.line)[:5]
    )
