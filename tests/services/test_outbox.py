"""The write path: recording, exclusive claims, leases, revisions, retries, on every backend."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.priorities import JobPriority
from bot.services.outbox import (
    JobFailure,
    JobWait,
    LostClaimError,
    Outbox,
    backoff_delay,
    error_line,
    holder_is_dead,
)
from bot.services.ports import RateLimitedError
from bot.store.engine import make_engine, make_session_factory
from bot.store.models import JobStatus, OutboxJob


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outbox(session_factory: async_sessionmaker[AsyncSession], clock: Clock) -> Outbox:
    return Outbox(session_factory, lease=timedelta(seconds=30), max_attempts=3, clock=clock)


async def test_the_same_intent_twice_is_one_job(outbox: Outbox) -> None:
    first = await outbox.enqueue("linking", "lesson:a/b", {"title": "B"})
    second = await outbox.enqueue("linking", "lesson:a/b", {"title": "B"})
    assert first == second
    [job] = await outbox.jobs()
    assert (job.status, job.key) == ("pending", "lesson:a/b")


async def test_only_one_of_two_claims_wins(
    outbox: Outbox, session_factory: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    job_id = await outbox.enqueue("linking", "lesson:a/b", {"title": "B"})
    other = Outbox(session_factory, lease=timedelta(seconds=30), clock=clock)
    claims = await asyncio.gather(outbox.claim(job_id), other.claim(job_id))
    assert len([claim for claim in claims if claim is not None]) == 1
    assert await outbox.claim(job_id) is None  # held, lease still running


async def test_a_lease_that_ran_out_is_taken_over_and_marked_uncertain(
    outbox: Outbox, clock: Clock
) -> None:
    job_id = await outbox.enqueue("linking", "lesson:a/b", {"title": "B"})
    first = await outbox.claim(job_id)
    assert first is not None and not first.uncertain
    clock.advance(31)
    second = await outbox.claim(job_id)
    assert second is not None and second.uncertain and second.attempt == 2
    # The first holder finds out before its next write, and cannot confirm.
    with pytest.raises(LostClaimError):
        await outbox.renew(first)
    with pytest.raises(LostClaimError):
        await outbox.complete(first)
    assert await outbox.complete(second)
    [job] = await outbox.jobs()
    assert job.status == "done"


async def test_renewing_keeps_a_claim(outbox: Outbox, clock: Clock) -> None:
    job_id = await outbox.enqueue("linking", "lesson:a/b", {})
    claim = await outbox.claim(job_id)
    assert claim is not None
    clock.advance(20)
    await outbox.renew(claim)
    clock.advance(20)
    assert await outbox.claim(job_id) is None


async def test_a_newer_intent_while_held_leaves_the_job_pending_for_it(outbox: Outbox) -> None:
    job_id = await outbox.enqueue("linking", "lesson:a/b", {"title": "Old"})
    claim = await outbox.claim(job_id)
    assert claim is not None
    await outbox.enqueue("linking", "lesson:a/b", {"title": "New"})
    assert not await outbox.complete(claim)
    again = await outbox.claim(job_id)
    assert again is not None and again.payload == {"title": "New"} and not again.uncertain
    assert await outbox.complete(again)


async def test_failures_back_off_then_end_failed_and_visible(outbox: Outbox, clock: Clock) -> None:
    job_id = await outbox.enqueue("linking", "lesson:a/b", {})
    for attempt in (1, 2):
        claim = await outbox.claim(job_id)
        assert claim is not None and claim.attempt == attempt
        assert await outbox.fail(claim, f"boom {attempt}")
        # Not due yet: backoff; but still claimable on purpose (a sync run by a person).
        assert await outbox.claim_due() == []
        clock.advance(3600)
        [due] = await outbox.claim_due()
        assert due.uncertain  # an error may come after a write that went through
        await outbox.release(due)
    claim = await outbox.claim(job_id)
    assert claim is not None
    assert not await outbox.fail(claim, "boom 3\nsecond line")
    [failed] = await outbox.jobs([JobStatus.FAILED])
    assert failed.last_error == "boom 3\nsecond line" and failed.attempts == 3
    assert await outbox.claim_due() == []
    retried = await outbox.retry(job_id)
    assert retried is not None and (retried.status, retried.attempts) == ("pending", 0)
    assert len(await outbox.claim_due()) == 1


async def test_a_done_job_asked_for_again_runs_again(outbox: Outbox) -> None:
    job_id = await outbox.enqueue("linking", "lesson:a/b", {"op": "remove"})
    claim = await outbox.claim(job_id)
    assert claim is not None and await outbox.complete(claim)
    assert await outbox.claim(job_id) is None
    await outbox.enqueue("linking", "lesson:a/b", {"op": "remove"})
    assert await outbox.claim(job_id) is not None


async def test_enqueue_new_records_a_job_in_the_callers_transaction(
    outbox: Outbox, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session, session.begin():
        job_id = await outbox.enqueue_new(
            session, "suggestion", "suggestion:1:open", {"op": "open"}
        )
    [job] = await outbox.jobs()
    assert (job.id, job.status, job.key, job.attempts) == (
        job_id,
        "pending",
        "suggestion:1:open",
        0,
    )

    # A caller that rolls back leaves no job behind.
    with pytest.raises(RuntimeError):
        async with session_factory() as session, session.begin():
            await outbox.enqueue_new(session, "suggestion", "suggestion:2:open", {"op": "open"})
            raise RuntimeError("the caller's own rows failed")
    assert [job.key for job in await outbox.jobs()] == ["suggestion:1:open"]


async def test_enqueue_new_on_a_key_already_done_makes_it_pending_as_enqueue_does(
    outbox: Outbox, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    job_id = await outbox.enqueue("suggestion", "suggestion:1:open", {"op": "open"})
    claim = await outbox.claim(job_id)
    assert claim is not None and await outbox.complete(claim)

    async with session_factory() as session, session.begin():
        again = await outbox.enqueue_new(session, "suggestion", "suggestion:1:open", {"op": "open"})

    [job] = await outbox.jobs()
    assert again == job_id and job.status == "pending"
    assert await outbox.claim(job_id) is not None


async def test_exclusive_blocks_are_serialized(outbox: Outbox) -> None:
    inside: list[str] = []

    async def hold(name: str) -> None:
        async with outbox.exclusive("forum:demo", poll=0.01):
            inside.append(f"{name} in")
            await asyncio.sleep(0.05)
            inside.append(f"{name} out")

    await asyncio.gather(hold("a"), hold("b"))
    assert inside in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])


def test_backoff_grows_with_jitter_and_a_cap() -> None:
    assert backoff_delay(1, rng=lambda: 0.0) == 1.0
    assert backoff_delay(1, rng=lambda: 1.0) == 2.0
    assert backoff_delay(4, rng=lambda: 0.0) == 8.0
    assert backoff_delay(40, cap=900, rng=lambda: 1.0) == 900


def test_a_dead_local_holder_is_recognised() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    host = socket.gethostname()[:20]
    assert holder_is_dead(f"{host}:{child.pid}:abc1")
    assert not holder_is_dead(f"{host}:{os.getpid()}:abc1")
    assert not holder_is_dead(f"elsewhere:{child.pid}:abc1")
    assert not holder_is_dead(None)


async def test_a_killed_holder_is_taken_over_at_once(migrated_url: str, clock: Clock) -> None:
    """A process killed while holding a job: the next run takes over without waiting."""
    engine = make_engine(migrated_url)
    try:
        sessions = make_session_factory(engine)
        outbox = Outbox(sessions, lease=timedelta(hours=1), clock=clock)
        job_id = await outbox.enqueue("linking", "lesson:a/b", {})
        child = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
        await child.wait()
        async with sessions() as session, session.begin():
            await session.execute(
                update(OutboxJob)
                .where(OutboxJob.id == job_id)
                .values(
                    status=JobStatus.RUNNING,
                    locked_by=f"{socket.gethostname()[:20]}:{child.pid}:dead{job_id}",
                    locked_until=clock.now + timedelta(hours=1),
                )
            )
        claim = await outbox.claim(job_id)
        assert claim is not None and claim.uncertain
        async with sessions() as session:
            holder = await session.scalar(select(OutboxJob.locked_by).where(OutboxJob.id == job_id))
        assert holder == claim.token
    finally:
        await engine.dispose()


async def test_a_new_intent_for_a_failed_job_gets_fresh_attempts(outbox: Outbox) -> None:
    job_id = await outbox.enqueue("linking", "lesson:a/b", {"title": "Old"})
    for _ in range(3):
        claim = await outbox.claim(job_id)
        assert claim is not None
        await outbox.fail(claim, "boom")
    [failed] = await outbox.jobs([JobStatus.FAILED])
    await outbox.enqueue("linking", "lesson:a/b", {"title": "New"})
    claim = await outbox.claim(job_id)
    assert claim is not None and claim.attempt == 1 and claim.payload == {"title": "New"}
    assert await outbox.fail(claim, "once more")  # retried: attempts started over
    assert failed.attempts == 3


async def test_claim_due_takes_a_killed_holders_job_over_at_once(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    # The job worker restarted after a kill -9 must not wait out the lease (an hour here).
    outbox = Outbox(session_factory, lease=timedelta(hours=1))
    job_id = await outbox.enqueue("suggestion", "suggestion:1:open", {"op": "open"})
    [claim] = await outbox.claim_due()
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await child.wait()
    # As if the claim had been made by that (now dead) process.
    async with session_factory() as session, session.begin():
        await session.execute(
            update(OutboxJob)
            .where(OutboxJob.id == job_id)
            .values(locked_by=f"{socket.gethostname()[:20]}:{child.pid}:dead{job_id}")
        )
    taken = await outbox.claim_due()
    assert [c.job_id for c in taken] == [claim.job_id]
    assert taken[0].uncertain
    [view] = await outbox.jobs([JobStatus.RUNNING])
    assert view.id == job_id


class _RateLimitedError(RateLimitedError):
    """What an adapter raises when a service's hourly limit is used up."""

    service = "GitHub"


async def test_a_rate_limited_job_waits_for_the_reset_without_using_an_attempt(
    outbox: Outbox, clock: Clock
) -> None:
    job_id = await outbox.enqueue("suggestion", "suggestion:1:open", {"op": "open"})
    reset = clock.now + timedelta(minutes=41)
    # More rate limits than the job has attempts (3): none of them is a failed attempt.
    for _ in range(5):
        claim = await outbox.claim(job_id)
        assert claim is not None and claim.attempt == 1
        error = _RateLimitedError("rate limited", retry_at=reset.timestamp())
        assert await outbox.fail(claim, error_line(error), cause=error)
        state = await outbox.state(job_id)
        assert state is not None
        assert (state.status, state.attempts, state.run_after) == ("waiting", 0, reset)
        assert state.wait == JobWait(reset, "GitHub's rate limit")
        assert await outbox.claim_due() == []  # not due before the reset
    assert not await outbox.jobs([JobStatus.FAILED])
    assert await outbox.waiting("suggestion:1:open") == JobWait(reset, "GitHub's rate limit")
    # After the reset it runs by itself and finishes, without `jobs retry`.
    clock.now = reset + timedelta(seconds=1)
    [claim] = await outbox.claim_due()
    assert claim.job_id == job_id
    assert await outbox.complete(claim)
    state = await outbox.state(job_id)
    assert state is not None and (state.status, state.wait_reason) == ("done", None)


async def test_a_job_merely_due_later_is_not_waiting(outbox: Outbox, clock: Clock) -> None:
    job_id = await outbox.enqueue("suggestion", "suggestion:2:open", {"op": "open"})
    claim = await outbox.claim(job_id)
    assert claim is not None
    assert await outbox.fail(claim, "RuntimeError: boom", cause=RuntimeError("boom"))
    state = await outbox.state(job_id)
    assert state is not None
    assert (state.status, state.attempts, state.wait) == ("pending", 1, None)
    assert state.run_after > clock.now  # a backoff
    assert await outbox.waiting("suggestion:2:open") is None


async def test_a_wait_reads_as_one_line_with_its_time() -> None:
    until = datetime.now(UTC).replace(hour=10, minute=41, second=0, microsecond=0)
    assert JobWait(until, "GitHub's rate limit").text == (
        "waiting for GitHub's rate limit until 10:41 UTC"
    )


async def test_only_the_claim_holder_defers_a_job(outbox: Outbox, clock: Clock) -> None:
    job_id = await outbox.enqueue("suggestion", "suggestion:1:open", {"op": "open"})
    first = await outbox.claim(job_id)
    assert first is not None
    clock.advance(31)  # its lease ran out: another process takes the job over
    second = await outbox.claim(job_id)
    assert second is not None
    assert not await outbox.defer(first, clock.now + timedelta(hours=1), "GitHub's rate limit")
    state = await outbox.state(job_id)
    assert state is not None and (state.status, state.wait_reason) == ("running", None)
    assert await outbox.defer(second, clock.now + timedelta(hours=1), "GitHub's rate limit")
    assert (await outbox.state(job_id)).status == "waiting"  # type: ignore[union-attr]


async def test_a_newer_intent_for_a_waiting_job_waits_too(outbox: Outbox, clock: Clock) -> None:
    job_id = await outbox.enqueue("suggestion", "suggestion:1:revise:1", {"op": "revise"})
    claim = await outbox.claim(job_id)
    assert claim is not None
    reset = clock.now + timedelta(minutes=10)
    await outbox.defer(claim, reset, "GitHub's rate limit")
    await outbox.enqueue("suggestion", "suggestion:1:revise:1", {"op": "revise", "n": 2})
    state = await outbox.state(job_id)
    assert state is not None and (state.status, state.run_after) == ("waiting", reset)
    # `jobs retry` still makes it due now, by a person's choice.
    retried = await outbox.retry(job_id)
    assert retried is not None and (retried.status, retried.run_after) == ("pending", clock.now)


async def test_enqueue_once_records_a_key_once_even_after_it_is_done(outbox: Outbox) -> None:
    first = await outbox.enqueue_once("prune", "prune:2026-11-29", {})
    assert first is not None
    claim = await outbox.claim(first)
    assert claim is not None
    await outbox.complete(claim)
    assert await outbox.enqueue_once("prune", "prune:2026-11-29", {}) is None
    assert (await outbox.state(first)).status == "done"  # type: ignore[union-attr]


async def test_a_rate_limit_without_a_reset_is_an_ordinary_failure(outbox: Outbox) -> None:
    job_id = await outbox.enqueue("suggestion", "suggestion:3:open", {"op": "open"})
    claim = await outbox.claim(job_id)
    assert claim is not None
    await outbox.fail(claim, "rate limited", cause=RateLimitedError("rate limited"))
    state = await outbox.state(job_id)
    assert state is not None and (state.status, state.attempts) == ("pending", 1)


async def test_an_attempt_returns_the_work_and_leaves_the_claim_to_it(outbox: Outbox) -> None:
    await outbox.enqueue("linking", "lesson:a/b", {})
    [claim] = await outbox.claim_due()

    async def work() -> str:
        await outbox.complete(claim)
        return "linked"

    assert await outbox.attempt(claim, work) == "linked"
    [job] = await outbox.jobs()
    assert job.status == "done"


async def test_an_attempt_that_raises_gives_the_job_back_then_fails_it(
    outbox: Outbox, clock: Clock
) -> None:
    await outbox.enqueue("linking", "lesson:a/b", {})

    async def broken() -> str:
        raise OSError("connection reset")

    outcomes = []
    for _ in range(3):  # max_attempts
        [claim] = await outbox.claim_due()
        outcomes.append(await outbox.attempt(claim, broken))
        clock.advance(3600)
    assert [outcome.summary for outcome in outcomes] == [
        "queued: OSError: connection reset",
        "queued: OSError: connection reset",
        "failed: OSError: connection reset",
    ]
    assert all(isinstance(o, JobFailure) and o.counts_as_attempt for o in outcomes)
    [job] = await outbox.jobs()
    assert (job.status, job.attempts) == ("failed", 3)


async def test_an_attempt_whose_claim_was_lost_stops_without_failing_the_job(
    outbox: Outbox,
) -> None:
    await outbox.enqueue("linking", "lesson:a/b", {})
    [claim] = await outbox.claim_due()

    async def taken() -> str:
        raise LostClaimError("held by another process")

    outcome = await outbox.attempt(claim, taken)
    assert isinstance(outcome, JobFailure)
    assert (outcome.taken_over, outcome.counts_as_attempt) == (True, False)
    assert outcome.summary == "queued: taken over by another process"
    [job] = await outbox.jobs()
    assert (job.status, job.last_error) == ("running", None)


async def test_an_attempt_that_must_wait_is_no_failed_attempt(outbox: Outbox, clock: Clock) -> None:
    await outbox.enqueue("linking", "lesson:a/b", {})
    [claim] = await outbox.claim_due()
    reset = clock.now + timedelta(minutes=10)

    async def limited() -> str:
        raise _RateLimitedError("rate limited", retry_at=reset.timestamp())

    outcome = await outbox.attempt(claim, limited)
    assert isinstance(outcome, JobFailure)
    assert (outcome.waiting, outcome.retried, outcome.counts_as_attempt) == (True, True, False)
    [job] = await outbox.jobs()
    assert (job.status, job.attempts) == ("waiting", 0)


async def test_a_job_keeps_the_correlation_id_of_the_work_that_recorded_it(
    outbox: Outbox,
) -> None:
    from bot.services import correlation

    with correlation.correlated("req-1"):
        job_id = await outbox.enqueue("linking", "lesson:a/b", {"title": "B"})
    # Planned again by other work: the same intent, so the job and its id are unchanged.
    with correlation.correlated("sync-2"):
        await outbox.enqueue("linking", "lesson:a/b", {"title": "B"})
    claim = await outbox.claim(job_id)
    assert claim is not None and claim.revision == 1
    assert claim.payload == {"title": "B", "correlation_id": "req-1"}


# --- priorities ---------------------------------------------------------------------------


async def test_due_jobs_are_claimed_most_urgent_first_then_longest_due_then_oldest(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime.now(UTC)
    an_hour_ago = Outbox(session_factory, clock=lambda: now - timedelta(hours=1))
    # A bulk backlog due for an hour, then a person's work due only now.
    await an_hour_ago.enqueue("linking", "lesson:a/early", {}, priority=JobPriority.BULK)
    outbox = Outbox(session_factory)
    await outbox.enqueue("linking", "lesson:a/late", {}, priority=JobPriority.BULK)
    await outbox.enqueue("bridge", "bridge:1", {})
    await outbox.enqueue("linking", "lesson:a/touched", {}, priority=JobPriority.TOUCHED)
    await outbox.enqueue("suggestion", "suggestion:1:open", {"op": "open"})

    claims = await outbox.claim_due(10)

    assert [claim.key for claim in claims] == [
        "suggestion:1:open",
        "lesson:a/touched",
        "bridge:1",
        "lesson:a/early",
        "lesson:a/late",
    ]
    assert [claim.priority for claim in claims] == [0, 1, 2, 3, 3]


async def test_a_lane_claims_only_its_priorities(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    outbox = Outbox(session_factory)
    await outbox.enqueue("linking", "lesson:a/bulk", {}, priority=JobPriority.BULK)
    await outbox.enqueue("suggestion", "suggestion:1:open", {"op": "open"})

    [bulk] = await outbox.claim_due(10, priorities=[JobPriority.BULK])
    assert bulk.key == "lesson:a/bulk"
    assert await outbox.claim_due(10, priorities=[JobPriority.BULK]) == []
    [urgent] = await outbox.claim_due(10, priorities=[JobPriority.URGENT, JobPriority.NORMAL])
    assert urgent.key == "suggestion:1:open"


async def test_each_kind_has_its_priority_and_work_not_done_keeps_the_more_urgent(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    outbox = Outbox(session_factory)
    notice = await outbox.enqueue("suggestion_notify", "notify:1", {})
    lesson = await outbox.enqueue("linking", "lesson:a/b", {"v": 1}, priority=JobPriority.TOUCHED)
    # A bulk sync plans the same lesson again, with news: it stays as urgent as it was.
    await outbox.enqueue("linking", "lesson:a/b", {"v": 2}, priority=JobPriority.BULK)
    # ...and the same intent asked for sooner moves up.
    bulk = await outbox.enqueue("linking", "lesson:a/c", {}, priority=JobPriority.BULK)
    await outbox.enqueue("linking", "lesson:a/c", {}, priority=JobPriority.NORMAL)

    views = {view.id: view for view in await outbox.jobs()}
    assert views[notice].priority == JobPriority.URGENT
    assert views[lesson].priority == JobPriority.TOUCHED
    assert views[bulk].priority == JobPriority.NORMAL
    assert views[notice].as_json()["priority"] == "urgent"

    # Done, then asked for again in bulk: it runs as bulk this time.
    claim = await outbox.claim(bulk)
    assert claim is not None and await outbox.complete(claim)
    await outbox.enqueue("linking", "lesson:a/c", {}, priority=JobPriority.BULK)
    state = await outbox.state(bulk)
    assert state is not None and (state.status, state.priority) == ("pending", JobPriority.BULK)


async def test_raising_a_priority_moves_only_work_not_done_and_less_urgent(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    outbox = Outbox(session_factory)
    keys = ["lesson:a/b", "lesson-issue:a/b", "lesson:a/done", "suggestion:1:open"]
    ids = {
        key: await outbox.enqueue("linking", key, {}, priority=JobPriority.BULK) for key in keys[:3]
    }
    ids[keys[3]] = await outbox.enqueue("suggestion", keys[3], {})
    claim = await outbox.claim(ids["lesson:a/done"])
    assert claim is not None and await outbox.complete(claim)

    assert await outbox.raise_priority(keys, JobPriority.TOUCHED) == 2

    priorities = {view.key: view.priority for view in await outbox.jobs()}
    assert priorities == {
        "lesson:a/b": JobPriority.TOUCHED,
        "lesson-issue:a/b": JobPriority.TOUCHED,
        "lesson:a/done": JobPriority.BULK,
        "suggestion:1:open": JobPriority.URGENT,
    }
