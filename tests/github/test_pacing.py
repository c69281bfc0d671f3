"""The write pacer keeps GitHub's secondary limits, measured on a fake clock."""

from __future__ import annotations

import asyncio

from bot.github.pacing import WriteLimits, WritePacer


class FakeClock:
    """A clock that moves only when the pacer sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def _send(pacer: WritePacer, clock: FakeClock, count: int) -> list[float]:
    times = []
    for _ in range(count):
        await pacer.acquire()
        times.append(clock.now)
    return times


async def test_writes_are_spaced_by_the_minimum_interval() -> None:
    clock = FakeClock()
    pacer = WritePacer(WriteLimits(min_interval=1.0), clock=clock, sleep=clock.sleep)
    times = await _send(pacer, clock, 3)
    assert times == [1000.0, 1001.0, 1002.0]


async def test_no_more_than_per_minute_in_any_minute() -> None:
    clock = FakeClock()
    pacer = WritePacer(
        WriteLimits(per_minute=80, per_hour=500, min_interval=0), clock=clock, sleep=clock.sleep
    )
    times = await _send(pacer, clock, 161)
    for index in range(len(times) - 80):
        assert times[index + 80] - times[index] >= 60.0
    assert times[79] == 1000.0  # the first 80 go at once
    assert times[80] == 1060.0 and times[160] == 1120.0


async def test_no_more_than_per_hour_in_any_hour() -> None:
    clock = FakeClock()
    pacer = WritePacer(
        WriteLimits(per_minute=80, per_hour=500, min_interval=0), clock=clock, sleep=clock.sleep
    )
    times = await _send(pacer, clock, 501)
    assert times[500] - times[0] >= 3600.0
    assert sum(1 for t in times if t < times[0] + 3600.0) == 500
    assert pacer.waited > 0


async def test_concurrent_writers_go_in_arrival_order() -> None:
    clock = FakeClock()
    pacer = WritePacer(WriteLimits(min_interval=2.0), clock=clock, sleep=clock.sleep)
    order: list[int] = []

    async def writer(number: int) -> None:
        await pacer.acquire()
        order.append(number)

    await asyncio.gather(*(writer(number) for number in range(5)))
    assert order == [0, 1, 2, 3, 4]
    assert clock.now == 1008.0
