"""The running bot's job worker: runs due jobs, keeps failing ones, hands back on stop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.priorities import LINKING_ISSUE, JobPriority
from bot.services.outbox import Claim, Outbox
from bot.services.worker import JobWorker
from bot.store.models import JobStatus


async def test_due_jobs_run_and_failures_come_back_after_backoff(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    outbox = Outbox(session_factory, backoff_base=3600)
    seen: list[str] = []

    async def handle(claim: Claim) -> None:
        seen.append(claim.key)
        if claim.key == "lesson:bad":
            raise RuntimeError("GitHub said no")
        await outbox.complete(claim)

    worker = JobWorker(outbox, {"linking": handle})
    await outbox.enqueue("linking", "lesson:good", {})
    await outbox.enqueue("linking", "lesson:bad", {})
    await outbox.enqueue("other", "other:x", {})  # no handler: left alone

    assert await worker.run_once() == 2
    assert sorted(seen) == ["lesson:bad", "lesson:good"]
    assert await worker.run_once() == 0  # the failure waits out its backoff
    jobs = {job.key: job for job in await outbox.jobs()}
    assert jobs["lesson:good"].status == "done"
    assert jobs["lesson:bad"].status == "pending"
    assert jobs["lesson:bad"].last_error == "RuntimeError: GitHub said no"
    assert jobs["other:x"].status == "pending" and jobs["other:x"].attempts == 0


async def test_a_stopped_worker_hands_its_job_back(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    outbox = Outbox(session_factory, lease=timedelta(hours=1))
    started = asyncio.Event()

    async def handle(_claim: Claim) -> None:
        started.set()
        await asyncio.Event().wait()  # a write that never answers

    job_id = await outbox.enqueue("linking", "lesson:slow", {})
    worker = JobWorker(outbox, {"linking": handle}, poll_seconds=0.01)
    running = asyncio.create_task(worker.run())
    await started.wait()
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)

    [job] = await outbox.jobs([JobStatus.PENDING])
    assert job.attempts == 0
    claim = await outbox.claim(job_id)  # due again at once, and looked at with care
    assert claim is not None and claim.uncertain


async def test_a_stop_lets_the_job_under_way_finish_and_starts_no_other(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    outbox = Outbox(session_factory)
    started, finish = asyncio.Event(), asyncio.Event()
    done: list[str] = []

    async def handle(claim: Claim) -> None:
        started.set()
        await finish.wait()  # a write under way when the stop comes
        await outbox.complete(claim)
        done.append(claim.key)

    await outbox.enqueue("linking", "lesson:one", {})
    await outbox.enqueue("linking", "lesson:two", {})
    worker = JobWorker(outbox, {"linking": handle}, poll_seconds=0.01)
    running = asyncio.create_task(worker.run())
    await started.wait()
    worker.stop()
    finish.set()
    await asyncio.wait_for(running, 5)

    # The one under way was confirmed, not cut off; the other waits for the next process.
    assert len(done) == 1
    statuses = {job.key: job.status for job in await outbox.jobs()}
    assert sorted(statuses.values()) == ["done", "pending"]


async def test_a_job_runs_under_the_correlation_id_its_payload_carries(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    from bot.services import correlation

    outbox = Outbox(session_factory)
    seen: dict[str, tuple[str | None, dict[str, object]]] = {}

    async def handle(claim: Claim) -> None:
        seen[claim.key] = (correlation.current(), dict(correlation.fields()))
        await outbox.complete(claim)

    worker = JobWorker(outbox, {"notify": handle})
    with correlation.correlated("req-7"):
        first = await outbox.enqueue("notify", "notify:1", {"suggestion_id": 4})
    second = await outbox.enqueue("notify", "notify:2", {})  # recorded outside any door
    assert await worker.run_once() == 2
    assert seen["notify:1"] == (
        "req-7",
        {"suggestion_id": 4, "job_id": first, "job_kind": "notify"},
    )
    own, fields = seen["notify:2"]
    assert own is not None and own.startswith("job-") and fields["job_id"] == second
    assert correlation.current() is None  # nothing leaks out of the job


async def test_an_urgent_job_runs_while_a_bulk_backlog_waits_on_github_pacing(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime.now(UTC)
    # A bulk backlog of issue jobs, due for an hour, each waiting on GitHub's pace.
    early = Outbox(session_factory, clock=lambda: now - timedelta(hours=1))
    for n in range(20):
        await early.enqueue(LINKING_ISSUE, f"lesson-issue:p/{n}", {}, priority=JobPriority.BULK)
    outbox = Outbox(session_factory)
    pacing = asyncio.Event()  # never set: the pacer's hourly window is full
    in_pacing: list[str] = []
    opened, paced = asyncio.Event(), asyncio.Event()

    async def paced_issue(claim: Claim) -> None:
        in_pacing.append(claim.key)
        paced.set()
        await pacing.wait()

    async def open_pr(claim: Claim) -> None:
        await outbox.complete(claim)
        opened.set()

    worker = JobWorker(
        outbox, {LINKING_ISSUE: paced_issue, "suggestion": open_pr}, poll_seconds=0.01
    )
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(paced.wait(), 10)
        await outbox.enqueue("suggestion", "suggestion:1:open", {"op": "open"})
        worker.wake()
        # The PR opens though the backlog was due first and one of it holds its lane.
        await asyncio.wait_for(opened.wait(), 10)
    finally:
        worker.stop()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert in_pacing == ["lesson-issue:p/0"]
    state = {view.key: view.status for view in await outbox.jobs()}
    assert state["suggestion:1:open"] == "done"
    # Handed back on the stop, as a cancelled job is: the backlog is still all there.
    assert sum(status == "pending" for status in state.values()) == 20


async def test_bulk_posts_run_beside_a_paced_issue_and_the_paced_lane_gives_way(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    outbox = Outbox(session_factory)
    for n in range(3):
        await outbox.enqueue("linking", f"lesson:p/{n}", {}, priority=JobPriority.BULK)
    urgent_running, urgent_done = asyncio.Event(), asyncio.Event()
    posts: list[str] = []
    issues: list[str] = []
    posted, issued = asyncio.Event(), asyncio.Event()

    async def post(claim: Claim) -> None:
        posts.append(claim.key)
        await outbox.complete(claim)
        if len(posts) == 3:
            posted.set()

    async def issue(claim: Claim) -> None:
        issues.append(claim.key)
        await outbox.complete(claim)
        issued.set()

    async def notify(claim: Claim) -> None:
        urgent_running.set()
        await urgent_done.wait()
        await outbox.complete(claim)

    worker = JobWorker(
        outbox,
        {"linking": post, LINKING_ISSUE: issue, "suggestion_notify": notify},
        poll_seconds=0.01,
    )
    await outbox.enqueue("suggestion_notify", "notify:1", {})
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(urgent_running.wait(), 10)
        # While the person's notice is under way, bulk issues wait; bulk posts do not.
        await outbox.enqueue(LINKING_ISSUE, "lesson-issue:p/0", {}, priority=JobPriority.BULK)
        worker.wake()
        await asyncio.wait_for(posted.wait(), 10)
        await asyncio.sleep(0.2)  # many polls of the paced lane
        assert issues == []
        urgent_done.set()
        await asyncio.wait_for(issued.wait(), 10)
    finally:
        worker.stop()
        await asyncio.wait_for(running, 10)
    assert issues == ["lesson-issue:p/0"]
    assert [lane.name for lane in worker.lanes] == ["main", "bulk", "bulk-paced"]
