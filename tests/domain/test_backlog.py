"""The linking backlog as people read it: counts and the time its issues still take."""

from __future__ import annotations

import pytest

from bot.domain.backlog import LinkingBacklog, issues_eta_seconds, progress_text
from bot.i18n import available_locales

BACKLOG = LinkingBacklog(
    lessons=2000, with_post=1234, with_issue=310, posts_pending=766, issues_pending=1690
)


def test_the_progress_line_says_counts_and_the_time_left_at_githubs_pace() -> None:
    # 1,690 issues at 500 an hour (GitHub's floor): 3.38 h, rounded up to the minute.
    assert progress_text("en", BACKLOG, 80, 500) == (
        "Linking: 1,234 of 2,000 lessons have a forum post, 310 an issue; "
        "issues at GitHub's pace, about 3 h 23 min left."
    )


def test_the_pace_is_the_strictest_of_the_minute_the_hour_and_a_second_apart() -> None:
    assert issues_eta_seconds(BACKLOG, 80, 500) == pytest.approx(1690 / 500 * 3600)
    assert issues_eta_seconds(BACKLOG, 10, 5000) == pytest.approx(1690 / 600 * 3600)
    assert issues_eta_seconds(BACKLOG, 100_000, 1_000_000) == pytest.approx(1690.0)


def test_with_no_issue_left_it_says_no_time() -> None:
    done = LinkingBacklog(2000, 2000, 2000, 0, 0)
    assert progress_text("en", done, 80, 500) == (
        "Linking: 2,000 of 2,000 lessons have a forum post, 2,000 an issue."
    )
    assert not done.busy
    short = LinkingBacklog(10, 10, 9, 0, 1)
    assert progress_text("en", short, 80, 500).endswith("about 1 min left.")


@pytest.mark.parametrize("locale", available_locales())
def test_every_locale_words_it_with_no_placeholder_left(locale: str) -> None:
    text = progress_text(locale, BACKLOG, 80, 500)
    assert "{" not in text and "jobs." not in text
    assert "3" in text and "23" in text
