"""When a question's post is nudged: due times, rounds, quiet hours and the daily cap."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.domain.nudges import (
    NudgeCandidate,
    NudgeKind,
    NudgePolicy,
    QuietHours,
    due_nudges,
    nudge_of,
    parse_duration,
    waited_text,
)

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
POLICY = NudgePolicy(
    nudge_after=timedelta(hours=24),
    ask_resolved_after=timedelta(days=3),
    quiet=QuietHours(time(22), time(7)),
    per_post_per_day=2,
)


def candidate(question_id: int = 1, post: str = "100", **fields: object) -> NudgeCandidate:
    values: dict[str, object] = {
        "asked_at": T0,
        "answered_at": None,
        "resolved_at": None,
        "reopened_at": None,
        "round": 0,
    }
    values.update(fields)
    return NudgeCandidate(question_id, post, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24h", timedelta(hours=24)),
        ("3d", timedelta(days=3)),
        ("90m", timedelta(minutes=90)),
        ("1d12h", timedelta(hours=36)),
        (" 2H ", timedelta(hours=2)),
    ],
)
def test_durations_read_as_settings_spell_them(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "24", "h", "0h", "1w", "24h!", "-1h", "1.5h"])
def test_a_malformed_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_quiet_hours_may_cross_midnight() -> None:
    quiet = QuietHours.parse("22:00-07:00")
    assert quiet is not None
    assert quiet.contains(time(22)) and quiet.contains(time(3)) and quiet.contains(time(6, 59))
    assert not quiet.contains(time(7)) and not quiet.contains(time(12))
    day = QuietHours.parse("12:00-13:30")
    assert day is not None and day.contains(time(13)) and not day.contains(time(13, 30))


@pytest.mark.parametrize("text", ["22-7", "25:00-07:00", "07:00-07:00", "10:61-11:00"])
def test_malformed_quiet_hours_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        QuietHours.parse(text)


def test_no_quiet_hours_when_empty() -> None:
    assert QuietHours.parse("") is None
    assert NudgePolicy(quiet=None).quiet_until(T0.replace(hour=23)) is None


def test_quiet_hours_end_the_next_morning_in_the_policy_zone() -> None:
    # 22:30 in Kolkata is 17:00 UTC; the quiet hours end at 07:00 there, 01:30 UTC.
    policy = NudgePolicy(quiet=QuietHours(time(22), time(7)), zone="Asia/Kolkata")
    now = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    assert policy.quiet_until(now) == datetime(2026, 12, 2, 1, 30, tzinfo=UTC)
    assert policy.quiet_until(datetime(2026, 12, 1, 6, 0, tzinfo=UTC)) is None
    assert policy.day(now) == "2026-12-01"
    assert policy.day(datetime(2026, 12, 1, 19, 0, tzinfo=UTC)) == "2026-12-02"


def test_an_unanswered_question_is_due_after_nudge_after_and_once_per_round() -> None:
    assert nudge_of(candidate(), T0 + timedelta(hours=23, minutes=59), POLICY) is None
    due = nudge_of(candidate(), T0 + timedelta(hours=24), POLICY)
    assert due is not None and (due.kind, due.round, due.since) == (NudgeKind.UNANSWERED, 0, T0)
    claimed = candidate(claimed=frozenset({NudgeKind.UNANSWERED}))
    assert nudge_of(claimed, T0 + timedelta(days=9), POLICY) is None


def test_a_reopened_question_waits_again_from_its_reopening() -> None:
    reopened = candidate(reopened_at=T0 + timedelta(days=5), round=1)
    assert nudge_of(reopened, T0 + timedelta(days=5, hours=23), POLICY) is None
    due = nudge_of(reopened, T0 + timedelta(days=6), POLICY)
    assert due is not None and due.round == 1 and due.kind is NudgeKind.UNANSWERED


def test_an_answered_question_asks_its_asker_after_ask_resolved_after() -> None:
    answered = candidate(answered_at=T0 + timedelta(hours=2))
    assert nudge_of(answered, T0 + timedelta(days=3, hours=1), POLICY) is None
    due = nudge_of(answered, T0 + timedelta(days=3, hours=2), POLICY)
    assert due is not None and due.kind is NudgeKind.ASK_RESOLVED
    # The unanswered nudge of the same round does not stop the asker's.
    both = candidate(
        answered_at=T0 + timedelta(hours=30), claimed=frozenset({NudgeKind.UNANSWERED})
    )
    assert nudge_of(both, T0 + timedelta(days=5), POLICY) is not None


def test_a_resolved_question_is_never_due() -> None:
    assert nudge_of(candidate(resolved_at=T0), T0 + timedelta(days=30), POLICY) is None


def test_nothing_is_due_in_quiet_hours_and_everything_after() -> None:
    questions = [candidate(1), candidate(2, post="200")]
    night = datetime(2026, 12, 3, 23, 0, tzinfo=UTC)
    assert due_nudges(questions, night, POLICY, {}) == []
    morning = datetime(2026, 12, 4, 7, 0, tzinfo=UTC)
    assert [n.question_id for n in due_nudges(questions, morning, POLICY, {})] == [1, 2]


def test_the_daily_cap_per_post_counts_what_went_out_today_longest_waiting_first() -> None:
    now = T0 + timedelta(days=2)
    questions = [
        candidate(1, asked_at=T0 + timedelta(hours=3)),
        candidate(2, asked_at=T0),
        candidate(3, asked_at=T0 + timedelta(hours=1)),
        candidate(4, post="200"),
    ]
    assert [n.question_id for n in due_nudges(questions, now, POLICY, {})] == [2, 4, 3]
    assert [n.question_id for n in due_nudges(questions, now, POLICY, {"100": 1})] == [2, 4]
    assert [n.question_id for n in due_nudges(questions, now, POLICY, {"100": 2})] == [4]


def test_the_wait_reads_in_hours_then_days_in_each_language() -> None:
    assert waited_text("en", timedelta(hours=25)) == "25 hours"
    assert waited_text("en", timedelta(minutes=30)) == "1 hour"
    assert waited_text("en", timedelta(days=3, hours=5)) == "3 days"
    assert waited_text("es", timedelta(days=3)) == "3 días"
    assert waited_text("ar", timedelta(days=2)) == "يومين"
