"""Cron lines: crontab weekdays, the fields the scheduler takes, and the times a line fires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.cron import crontab_days, latest_fire, parse_cron


@pytest.mark.parametrize(
    ("crontab", "days"),
    [
        ("1", "mon"),
        ("0", "sun"),
        ("7", "sun"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("0,6", "sun,sat"),
        ("*/3", "sun,wed,sat"),
        ("*", "*"),
        ("mon-fri", "mon-fri"),
    ],
)
def test_crontab_weekdays_mean_what_crontab_says(crontab: str, days: str) -> None:
    assert crontab_days(crontab) == days


@pytest.mark.parametrize(
    "line",
    [
        "every monday",
        "0 9 * *",
        "0 25 * * *",
        "60 9 * * *",
        "*/0 9 * * *",
        "*/60 9 * * *",
        "0 9 0 * *",
        "0 9 * 13 *",
        "0 9 * * 8",
        "0 9 * * fri-mon",
        "0 9 * smarch *",
        "5-1 9 * * *",
        "0 9 1,,2 * *",
    ],
)
def test_a_line_the_scheduler_would_refuse_is_refused(line: str) -> None:
    with pytest.raises(ValueError):
        parse_cron(line)


def test_a_line_keeps_its_fields_with_weekdays_as_names() -> None:
    cron = parse_cron("*/15 9-17 last jan-mar 1-5")
    assert (cron.minute, cron.hour, cron.day, cron.month, cron.day_of_week) == (
        "*/15",
        "9-17",
        "last",
        "jan-mar",
        "mon,tue,wed,thu,fri",
    )
    assert cron.minutes == {0, 15, 30, 45}
    assert cron.hours == set(range(9, 18))
    assert cron.months == {1, 2, 3}
    assert cron.weekdays == {0, 1, 2, 3, 4}
    assert cron.last_day and not cron.days


def test_the_latest_fire_is_the_last_time_at_or_before_now() -> None:
    monday_nine = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert latest_fire("0 9 * * 1", "UTC", monday_nine, timedelta(days=1)) == monday_nine
    later = monday_nine + timedelta(hours=5)
    assert latest_fire("0 9 * * 1", "UTC", later, timedelta(days=1)) == monday_nine
    assert latest_fire("0 9 * * 1", "UTC", later, timedelta(hours=1)) is None
    assert (
        latest_fire("0 9 * * 1", "UTC", monday_nine - timedelta(seconds=1), timedelta(days=6))
        is None
    )


def test_a_time_a_clock_change_skips_fires_when_the_clock_moved_on() -> None:
    # Amsterdam skips 02:00-03:00 on 29 March 2026: 02:30 comes at 03:30 summer time.
    fired = latest_fire(
        "30 2 * * *", "Europe/Amsterdam", datetime(2026, 3, 29, 12, tzinfo=UTC), timedelta(hours=12)
    )
    assert fired is not None and fired.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_a_time_a_clock_change_repeats_fires_the_first_time() -> None:
    # Amsterdam has 02:00-03:00 twice on 25 October 2026: 02:30 summer time is taken.
    fired = latest_fire(
        "30 2 * * *",
        "Europe/Amsterdam",
        datetime(2026, 10, 25, 12, tzinfo=UTC),
        timedelta(hours=12),
    )
    assert fired is not None and fired.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
