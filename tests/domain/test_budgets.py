"""The window math of rate budgets: when a spend may go, and how long it must wait."""

from __future__ import annotations

import pytest

from bot.domain.budgets import (
    DISCORD_WINDOW_SLACK,
    GITHUB_PRIMARY,
    BudgetRule,
    Window,
    budget_wait,
    discord_global,
    discord_route,
    github_content_writes,
    most_in_any_window,
)

WRITES = github_content_writes(80, 500, 1.0)


def test_an_unused_budget_lets_a_spend_go_at_once() -> None:
    assert budget_wait(WRITES, [], 1000.0) == 0


def test_writes_go_a_minimum_interval_apart() -> None:
    assert budget_wait(WRITES, [999.75], 1000.0) == pytest.approx(0.75)
    assert budget_wait(WRITES, [998.0], 1000.0) == 0


def test_the_eighty_first_write_in_a_minute_waits_for_the_first_to_leave_it() -> None:
    rule = github_content_writes(80, 500, 0.0)
    # 80 writes, one every half second, newest first: the oldest went at 960.5.
    spent = [1000.0 - 0.5 * n for n in range(80)]
    assert budget_wait(rule, spent, 1000.0) == pytest.approx(20.5)
    assert budget_wait(rule, spent[:79], 1000.0) == 0


def test_the_hourly_window_holds_when_the_minute_has_room() -> None:
    rule = BudgetRule("t", "t", windows=(Window(80, 60.0), Window(3, 3600.0)))
    assert budget_wait(rule, [900.0, 500.0, 100.0], 1000.0) == pytest.approx(2700.0)


def test_a_reported_block_outlasts_the_windows() -> None:
    assert budget_wait(GITHUB_PRIMARY, [], 1000.0, blocked_until=1030.0) == 30.0
    assert budget_wait(GITHUB_PRIMARY, [], 1000.0, blocked_until=990.0) == 0


def test_a_budget_of_windows_needs_its_deepest_window_of_spends() -> None:
    assert (WRITES.depth, WRITES.horizon, WRITES.counted) == (500, 3600.0, True)
    assert (GITHUB_PRIMARY.depth, GITHUB_PRIMARY.counted) == (0, False)
    # A little longer than Discord's second: arrivals drift from the spends.
    assert discord_global(50).windows == (Window(50, 1.0 + DISCORD_WINDOW_SLACK),)


def test_most_in_any_window_counts_a_sliding_window() -> None:
    assert most_in_any_window([], 1.0) == 0
    assert most_in_any_window([0.0, 0.5, 0.99, 1.0, 1.5], 1.0) == 3
    assert most_in_any_window([0.0, 1.0, 2.0], 1.0) == 1


def test_descriptions_read_as_english_for_operators() -> None:
    assert WRITES.description == "GitHub's content-write budget (80 a minute, 500 an hour)"
    assert discord_global(50).description == ("Discord's global rate limit (50 requests a second)")
    route = discord_route("POST /channels/1/messages")
    assert route.description == "Discord's rate limit on POST /channels/1/messages"
    assert route.label == "discord.route"  # one metrics label for every route
