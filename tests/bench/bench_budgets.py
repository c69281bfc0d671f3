"""Benchmark: what one shared budget acquisition costs, next to the in-memory pacer.

Run as a script (never inside the test suite): prints one JSON line of figures: the median
milliseconds per acquisition of the shared budget (one transaction each) on SQLite, and on
PostgreSQL when --postgres names a server, with two engines taking turns, next to the
in-memory WritePacer it replaces as the baseline. No window is ever full: it measures the
bookkeeping, not waits.

    .venv/bin/python tests/bench/bench_budgets.py [--count N] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from bot.domain.budgets import github_content_writes
from bot.github.pacing import WriteLimits, WritePacer
from bot.services.budgets import Budgets
from bot.store.engine import make_engine, make_session_factory
from bot.store.migrate import upgrade


async def shared_ms(url: str, count: int) -> float:
    """Return the median ms per acquisition of a shared budget, two engines alternating."""
    upgrade(url)
    engines = [make_engine(url), make_engine(url)]
    rule = github_content_writes(10**9, 10**9, 0.0)
    sides = [Budgets(make_session_factory(engine)) for engine in engines]
    timings = []
    try:
        for n in range(count):
            started = time.perf_counter()
            await sides[n % 2].spend(rule)
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        for engine in engines:
            await engine.dispose()
    return statistics.median(timings)


async def memory_ms(count: int) -> float:
    """Return the median ms per acquisition of the in-memory pacer (the baseline)."""
    pacer = WritePacer(WriteLimits(per_minute=10**9, per_hour=10**9, min_interval=0.0))
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        await pacer.acquire()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    """Print one JSON line of figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--postgres", default="")
    args = parser.parse_args()
    figures: dict[str, float | int] = {"acquisitions": args.count}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        figures["sqlite_ms_per_acquisition"] = round(asyncio.run(shared_ms(url, args.count)), 3)
    if args.postgres:
        figures["postgresql_ms_per_acquisition"] = round(
            asyncio.run(shared_ms(args.postgres, args.count)), 3
        )
    figures["baseline_in_memory_ms_per_acquisition"] = round(asyncio.run(memory_ms(args.count)), 4)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
