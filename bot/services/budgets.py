"""Budgets of external rate limits kept in the database, so every process shares them.

Each acquisition is one short transaction: it first UPDATEs the budget's row, which takes
PostgreSQL's row lock and SQLite's one write lock, so two processes never both see room
for the last unit; it reads the latest spends (a sliding-window log, one row per unit),
and either records the spend and prunes what left every window, or answers how long to
wait. Blocks a service reported (GitHub's primary limit spent, a Discord bucket at 0, a
429) live on the same rows and are read in the same transaction.

A wait no longer than the caller may sit out is slept here; a job (see `deferring`) that
would wait longer raises `BudgetWaitError`, a `RateLimitedError` naming the budget, so the
outbox defers it to then with a reason people read in `lessonbot jobs list`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.budgets import BudgetRule, budget_wait
from bot.services.ports import RateLimitedError
from bot.store.models import RateBudgetSpend, RateBudgetState, utcnow
from bot.store.upsert import insert_new

log = logging.getLogger(__name__)

# A job waits this long for a budget in place; a longer wait defers it.
DEFAULT_JOB_WAIT = 5.0
# Outside a job (a webhook, a command) a caller sits out this much before giving up.
DEFAULT_MAX_WAIT = 900.0

# Set while a job's work runs (`Outbox.attempt`): a long wait then defers the job rather
# than hold its claim; elsewhere (a slash command's answer) waiting is the better choice.
_DEFERRING: ContextVar[bool] = ContextVar("lessonbot_budget_deferring", default=False)


@contextmanager
def deferring() -> Iterator[None]:
    """Let budget waits longer than a job's allowance raise `BudgetWaitError` in the block."""
    token = _DEFERRING.set(True)
    try:
        yield
    finally:
        _DEFERRING.reset(token)


class BudgetWaitError(RateLimitedError):
    """A job would wait longer than it may for a budget: defer it until `retry_at`."""

    def __init__(self, rule: BudgetRule, retry_at: float) -> None:
        service = "GitHub" if rule.name.startswith("github.") else "Discord"
        super().__init__(
            f"waiting for {rule.description}",
            retry_at=retry_at,
            service=service,
            reason=rule.description,
        )
        self.rule = rule


@dataclass(frozen=True, slots=True)
class Acquisition:
    """What one transaction answered: spent (wait 0), or how long to wait, and for what."""

    wait: float
    rule: BudgetRule


class Budgets:
    """The `BudgetPort` over the store: shared by every process on one database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        job_wait: float = DEFAULT_JOB_WAIT,
        max_wait: float = DEFAULT_MAX_WAIT,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._sessions = sessions
        self._job_wait = job_wait
        self._max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        # This process's callers of one budget queue here (FIFO), not on the database.
        self._locks: dict[str, asyncio.Lock] = {}

    async def spend(self, rule: BudgetRule, gates: Sequence[BudgetRule] = ()) -> float:
        """Wait for a unit of `rule` (and for `gates` to be clear), spend it; return the
        seconds waited."""
        lock = self._locks.setdefault(rule.name, asyncio.Lock())
        async with lock:
            return await self._waiting(lambda: self.try_spend(rule, gates))

    async def clear(self, rule: BudgetRule) -> float:
        """Wait until nobody reported `rule` spent; return the seconds waited."""
        return await self._waiting(lambda: self._blocked(rule))

    async def block(self, rule: BudgetRule, until: float) -> None:
        """Record that `rule` is spent until `until`; a later block already known stays."""
        async with self._sessions() as session, session.begin():
            current = await self._lock_row(session, rule)
            if current is not None and current >= until:
                return
            await session.execute(
                update(RateBudgetState)
                .where(RateBudgetState.name == rule.name)
                .values(blocked_until=until, updated_at=utcnow())
            )
        log.info("%s is spent until %.0f", rule.name, until)

    async def try_spend(self, rule: BudgetRule, gates: Sequence[BudgetRule] = ()) -> Acquisition:
        """In one transaction: spend a unit of `rule` now if it and `gates` allow it, else
        say how long to wait (and for which budget)."""
        async with self._sessions() as session, session.begin():
            own = await self._lock_row(session, rule)
            # Read after the lock: the time spent queuing for it is not counted as sent.
            now = self._clock()
            blocks: list[tuple[float, BudgetRule]] = [(own or 0.0, rule)]
            if gates:
                found = dict(
                    (
                        await session.execute(
                            select(RateBudgetState.name, RateBudgetState.blocked_until).where(
                                RateBudgetState.name.in_([gate.name for gate in gates])
                            )
                        )
                    ).all()
                )
                blocks += [(found.get(gate.name) or 0.0, gate) for gate in gates]
            spent: list[float] = []
            if rule.counted:
                spent = list(
                    (
                        await session.execute(
                            select(RateBudgetSpend.spent_at)
                            .where(
                                RateBudgetSpend.budget == rule.name,
                                RateBudgetSpend.spent_at > now - rule.horizon,
                            )
                            .order_by(RateBudgetSpend.spent_at.desc())
                            .limit(rule.depth)
                        )
                    ).scalars()
                )
            # Name what ends last: the window's own wait, or a block.
            waits = [(budget_wait(rule, spent, now), rule)]
            waits += [(until - now, blocker) for until, blocker in blocks]
            wait, waiting_for = max(waits, key=lambda item: item[0])
            if wait > 0:
                return Acquisition(wait, waiting_for)
            if rule.counted:
                session.add(RateBudgetSpend(budget=rule.name, spent_at=now))
                await session.execute(
                    delete(RateBudgetSpend).where(
                        RateBudgetSpend.budget == rule.name,
                        RateBudgetSpend.spent_at <= now - rule.horizon,
                    )
                )
        return Acquisition(0.0, rule)

    async def _blocked(self, rule: BudgetRule) -> Acquisition:
        """Read how long `rule` stays blocked (a read, no lock: nothing is spent)."""
        now = self._clock()
        async with self._sessions() as session:
            until = await session.scalar(
                select(RateBudgetState.blocked_until).where(RateBudgetState.name == rule.name)
            )
        return Acquisition(max(0.0, (until or 0.0) - now), rule)

    async def _lock_row(self, session: AsyncSession, rule: BudgetRule) -> float | None:
        """Take the budget row's lock (adding the row the first time); return its block."""
        locking = (
            update(RateBudgetState)
            .where(RateBudgetState.name == rule.name)
            .values(updated_at=utcnow())
            .returning(RateBudgetState.blocked_until)
        )
        found = (await session.execute(locking)).first()
        if found is not None:
            return found[0]
        # The first spend of this budget anywhere: add its row (a racing process may win).
        await session.execute(
            insert_new(session, RateBudgetState, ["name"]).values(
                name=rule.name, blocked_until=None, updated_at=utcnow()
            )
        )
        found = (await session.execute(locking)).first()
        return found[0] if found is not None else None

    def allowance(self) -> float:
        """Return how long the caller may wait in place: a job a few seconds, else more."""
        return self._job_wait if _DEFERRING.get() else self._max_wait

    async def _waiting(self, attempt: Callable[[], Awaitable[Acquisition]]) -> float:
        """Repeat `attempt` until it goes, sleeping its waits; raise when a wait is longer
        than the caller may sit out."""
        waited = 0.0
        allowance = self.allowance()
        while True:
            answer = await attempt()
            if answer.wait <= 0:
                return waited
            if waited + answer.wait > allowance:
                raise BudgetWaitError(answer.rule, self._clock() + answer.wait)
            await self._sleep(answer.wait)
            waited += answer.wait
