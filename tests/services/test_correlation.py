"""The correlation id: set at a door, kept in job payloads, never taken blindly from outside."""

from __future__ import annotations

import asyncio

from bot.services import correlation


def test_an_inbound_id_is_taken_only_when_short_and_plain() -> None:
    assert correlation.sane(" abc-123.x:y_z ") == "abc-123.x:y_z"
    for bad in (None, "", "a b", "x" * 65, "évil", "id\u202e", "-leading", "a\nb"):
        assert correlation.sane(bad) is None, bad


def test_a_scope_sets_and_restores_the_id_and_its_fields() -> None:
    assert correlation.current() is None
    with correlation.correlated("outer", suggestion_id=1):
        with correlation.correlated(None, job_id=2):
            assert correlation.current() == "outer"
            assert dict(correlation.fields()) == {"suggestion_id": 1, "job_id": 2}
        with correlation.correlated("inner"):
            assert correlation.current() == "inner"
        assert correlation.current() == "outer"
    assert correlation.current() is None and not correlation.fields()


def test_payloads_are_stamped_once_and_compared_without_it() -> None:
    assert correlation.stamped({"op": "open"}) == {"op": "open"}  # no work under way
    with correlation.correlated("door-1"):
        stamped = correlation.stamped({"op": "open"})
        assert stamped == {"op": "open", "correlation_id": "door-1"}
        with correlation.correlated("door-2"):
            assert correlation.stamped(stamped) == stamped  # the first door's id is kept
    assert correlation.unstamped(stamped) == {"op": "open"}
    assert correlation.of_payload(stamped) == "door-1"
    assert correlation.of_payload({"correlation_id": "not sane!"}) is None


async def test_tasks_started_under_an_id_keep_it() -> None:
    async def seen() -> str | None:
        await asyncio.sleep(0)
        return correlation.current()

    with correlation.correlated(correlation.new_id("web")) as here:
        task = asyncio.create_task(seen())
    assert here is not None and here.startswith("web-")
    assert await task == here
