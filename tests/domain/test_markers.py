"""Hidden markers: written once, found again in any body."""

from __future__ import annotations

import pytest

from bot.domain.markers import find_markers, marker


def test_marker_round_trips_in_a_body() -> None:
    hidden = marker("lesson", "ai-seeds/what-is-ai")
    body = f"Discuss the lesson here.\n\n{hidden}\n"
    assert find_markers(body) == {"lesson": "ai-seeds/what-is-ai"}


def test_first_marker_of_a_kind_wins_and_kinds_are_separate() -> None:
    body = f"{marker('lesson', 'a/b')} {marker('lesson', 'c/d')} {marker('suggestion', '42')}"
    assert find_markers(body) == {"lesson": "a/b", "suggestion": "42"}


@pytest.mark.parametrize("value", ["", "has space", "x-->y", "a>b"])
def test_values_that_would_break_the_comment_are_refused(value: str) -> None:
    with pytest.raises(ValueError):
        marker("lesson", value)


def test_no_body_has_no_markers() -> None:
    assert find_markers(None) == {}
    assert find_markers("<!-- lessonbot: lesson=x -->") == {}
