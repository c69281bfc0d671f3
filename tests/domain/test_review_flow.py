"""A suggestion's status only moves forward, whatever order review events arrive in."""

from __future__ import annotations

import itertools

import pytest

from bot.domain.review_flow import MODERATED, MOVES, can_move, target_of

EVENTS = ("merged", "closed", "reopened", "changes_requested", "approved", "review_dismissed")


def test_nothing_leaves_merged() -> None:
    assert MOVES["merged"] == frozenset()
    for event in EVENTS:
        assert target_of(event, "merged") is None


@pytest.mark.parametrize("event", ["approved", "changes_requested", "review_dismissed"])
def test_a_review_after_a_close_or_withdrawal_changes_nothing(event: str) -> None:
    for status in ("closed", "withdrawn"):
        assert target_of(event, status) is None


def test_a_merge_is_the_last_word_from_anywhere_else() -> None:
    for status in MOVES:
        # Held and rejected suggestions have no pull request, so no merge can arrive.
        if status != "merged" and status not in MODERATED:
            assert target_of("merged", status) == "merged"


def test_only_reopening_leaves_closed_and_only_from_closed() -> None:
    assert target_of("reopened", "closed") == "open"
    assert target_of("reopened", "conflict") is None
    assert target_of("reopened", "open") is None


def test_repeated_reviews_keep_their_status_and_a_dismissal_reopens_review() -> None:
    assert target_of("changes_requested", "changes_requested") == "changes_requested"
    assert target_of("approved", "changes_requested") == "approved"
    assert target_of("review_dismissed", "approved") == "open"
    assert target_of("review_dismissed", "open") is None


@pytest.mark.parametrize(("first", "second"), list(itertools.permutations(EVENTS, 2)))
def test_any_two_events_in_either_order_end_merged_when_one_is_the_merge(
    first: str, second: str
) -> None:
    status = "open"
    for event in (first, second):
        status = target_of(event, status) or status
    if "merged" in (first, second):
        assert status == "merged"
    assert can_move("open", status) or status == "open"
