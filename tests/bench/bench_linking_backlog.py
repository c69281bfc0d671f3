"""Benchmark: a 2,000-lesson catalogue linked in the background, next to a suggestion's PR.

Runs both sandboxes in-process and the real bot's linking and suggestion services over a
generated catalogue, with the job worker's lanes (bot/services/worker.py). Discord's limits
are the ones the sandbox enforces (its real figures); GitHub's write pacing runs at its
REAL defaults (a second apart, 80 a minute, 500 an hour), so the issues would take hours:
it measures the time until every forum post exists, the issue rate over the first
`ISSUE_WINDOW` seconds next to GitHub's floor, and how long a suggestion submitted in the
middle of the backlog takes to its pull request. The baseline is the old design (one job
per lesson, its post and issue together), where the last post waits for 1,999 paced
issues: computed from the pacer itself. Prints one JSON line.

    .venv/bin/python tests/bench/bench_linking_backlog.py [LESSONS]
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT))  # run as a script: import the project, not bot/discord alone

from bot.config import Settings  # noqa: E402
from bot.domain.catalogue import load_catalogue  # noqa: E402
from bot.domain.priorities import JobPriority  # noqa: E402
from bot.github.adapter import GitHubAdapter  # noqa: E402
from bot.github.pacing import WriteLimits, WritePacer  # noqa: E402
from bot.offline import sandbox_environment  # noqa: E402
from bot.services.linking import LinkBacklog, LinkingService  # noqa: E402
from bot.services.suggestions import SuggestionService  # noqa: E402
from bot.services.suggestions.views import Author, SuggestionInput  # noqa: E402
from bot.services.worker import JobWorker  # noqa: E402
from bot.store.models import SuggestionSource  # noqa: E402

LESSONS = 2000
# The issue rate is read over this long, from the first issue job on.
ISSUE_WINDOW = 60.0
# The suggestion is sent this long after the backlog starts: in the middle of it.
SUGGEST_AFTER = 20.0
# Aims: every post within minutes; the issue rate at GitHub's floor; a PR in seconds.
AIM_ALL_POSTS_SECONDS = 300.0
AIM_ISSUE_RATE_SHARE = 0.9
AIM_PR_SECONDS = 10.0
# GitHub's real defaults (bot/config.py's github settings, bot/github/pacing.py).
REAL = WriteLimits(per_minute=80, per_hour=500, min_interval=1.0)


def write_catalogue(root: Path, count: int) -> None:
    """Write a program of `count` published lessons."""
    program = root / "programs" / "bench"
    (program / "lessons" / "en").mkdir(parents=True)
    (program / "program.json").write_text(
        json.dumps({"slug": "bench", "title": "Bench Program"}), encoding="utf-8"
    )
    for n in range(count):
        (program / "lessons" / "en" / f"lesson-{n:04d}.mdx").write_text(
            f'---\ntitle: "Lesson {n}"\ndescription: "Lesson {n}"\norder: {n}\n'
            f"difficulty: beginner\n---\n\n# Lesson {n}\n\n"
            f"This lesson explains topic {n} in plain words.\n",
            encoding="utf-8",
        )


def old_design_last_post_seconds(count: int) -> float:
    """Return when the last post went out with a lesson's post and issue in one job:
    after every earlier lesson's issue, at GitHub's pace (the pacer's own arithmetic)."""
    now = [0.0]

    async def advance(seconds: float) -> None:
        now[0] += seconds

    pacer = WritePacer(REAL, clock=lambda: now[0], sleep=advance)

    async def issues() -> None:
        for _ in range(count - 1):
            await pacer.acquire()

    asyncio.run(issues())
    return now[0]


async def run(count: int) -> dict[str, Any]:
    """Link `count` lessons through the worker; return the figures."""
    with tempfile.TemporaryDirectory() as scratch:
        content = Path(scratch) / "content"
        write_catalogue(content, count)
        async with sandbox_environment(
            Settings(), content_dir=content, state_dir=Path(scratch) / "state"
        ) as env:
            app = env.app
            assert app.signer is not None
            settings = app.settings
            paced = dataclasses.replace(
                settings.github,
                writes_per_minute=REAL.per_minute,
                writes_per_hour=REAL.per_hour,
                seconds_between_writes=REAL.min_interval,
            )
            github = GitHubAdapter.from_settings(paced)
            catalogue = load_catalogue(content, "en")
            linking = LinkingService(
                app.sessions,
                github,
                app.bot.chat,
                default_locale="en",
                locales=settings.content.locales,
                lesson_url_template=settings.site.lesson_url_template,
                outbox=app.outbox,
                suggest_button=True,
                discord_web_url=settings.discord.web_url,
            )
            suggestions = SuggestionService(
                app.sessions,
                app.outbox,
                settings,
                catalogue=lambda: catalogue,
                signer=app.signer,
                github=github,
                chat=app.bot.chat,
                touch=linking.touch,
            )
            worker = JobWorker(
                app.outbox,
                {
                    LinkingService.JOB_KIND: linking.run_job,
                    LinkingService.ISSUE_JOB_KIND: linking.run_job,
                    SuggestionService.JOB_KIND: suggestions.run_job,
                    SuggestionService.NOTIFY_KIND: suggestions.run_job,
                },
                poll_seconds=0.2,
            )
            backlog = LinkBacklog(app.sessions, app.outbox)
            discord_before = len(env.discord.requests)
            started = time.perf_counter()
            await linking.sync(catalogue, background=True, priority=JobPriority.BULK)
            running = asyncio.create_task(worker.run())
            all_posts = first_issue = pr_seconds = None
            issues_in_window = 0
            suggestion_id = None
            sent_at = 0.0
            try:
                while True:
                    await asyncio.sleep(0.25)
                    elapsed = time.perf_counter() - started
                    counts = await backlog.counts()
                    if all_posts is None and counts.with_post >= count:
                        all_posts = elapsed
                    if first_issue is None and counts.with_issue:
                        first_issue = elapsed
                    if first_issue is not None and elapsed - first_issue <= ISSUE_WINDOW:
                        issues_in_window = counts.with_issue
                    if suggestion_id is None and elapsed >= SUGGEST_AFTER:
                        submitted = await suggestions.submit(
                            SuggestionInput(
                                lesson=f"bench/lesson-{count // 2:04d}",
                                locale="en",
                                find=f"explains topic {count // 2}",
                                replace=f"covers topic {count // 2}",
                                reason="Clearer wording",
                                source=SuggestionSource.API,
                                author=Author(name="Bench", handle="bench"),
                            )
                        )
                        suggestion_id, sent_at = submitted.id, elapsed
                        worker.wake()
                    if suggestion_id is not None and pr_seconds is None:
                        view = await suggestions.view(suggestion_id)
                        if view is not None and view.pr_number is not None:
                            pr_seconds = elapsed - sent_at
                    window_over = first_issue is not None and elapsed - first_issue > ISSUE_WINDOW
                    if all_posts is not None and window_over and pr_seconds is not None:
                        break
                    if elapsed > 1800:
                        break
            finally:
                worker.stop()
                running.cancel()
                await asyncio.gather(running, return_exceptions=True)
                github.close()
            discord = env.discord
            return {
                "seconds_to_all_posts": round(all_posts, 1) if all_posts else None,
                "discord_requests": len(discord.requests) - discord_before,
                "discord_429s": discord.rate_limiter.counts["limited"]
                + discord.rate_limiter.counts["global_limited"],
                "issues_in_first_window": issues_in_window,
                "suggestion_pr_seconds": round(pr_seconds, 1) if pr_seconds else None,
            }


def main() -> None:
    """Run the backlog and print one JSON line."""
    logging.basicConfig(level=logging.ERROR)
    count = int(sys.argv[1]) if len(sys.argv) > 1 else LESSONS
    figures = asyncio.run(run(count))
    floor_per_minute = min(REAL.per_minute, 60.0 / REAL.min_interval)
    rate = figures["issues_in_first_window"] / ISSUE_WINDOW * 60.0
    print(
        json.dumps(
            {
                "lessons": count,
                **figures,
                "issue_window_seconds": ISSUE_WINDOW,
                "issues_per_minute": round(rate, 1),
                "github_floor_per_minute": floor_per_minute,
                "issue_rate_share_of_floor": round(rate / floor_per_minute, 2),
                "baseline_old_design_seconds_to_all_posts": old_design_last_post_seconds(count),
                "aims": {
                    "seconds_to_all_posts": AIM_ALL_POSTS_SECONDS,
                    "issue_rate_share_of_floor": AIM_ISSUE_RATE_SHARE,
                    "suggestion_pr_seconds": AIM_PR_SECONDS,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
