"""Benchmark: requests and time of a first and a second lesson sync, next to a naive sync.

Runs the whole offline environment (both sandboxes and the real bot) over the real corpus
(`../shared/corpus/ai-courses`) or, where it is absent, the project's `lessons/`, and counts
the requests each sandbox received. The naive baseline finds each lesson's issue and post
again by title on every run (a label listing per lesson on GitHub, the guild's active
threads per lesson on Discord), as a sync without stored ids must; GitHub's search API would
cost one request per lesson too, under its 30-a-minute limit (`naive_search_min_seconds`).
Prints one JSON line.

    .venv/bin/python tests/bench/bench_sync.py
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT))  # run as a script: import the project, not bot/discord alone

from bot.config import Settings  # noqa: E402
from bot.domain.catalogue import Catalogue  # noqa: E402
from bot.domain.link_texts import LESSON_LABEL, MARKER_KIND, forum_name  # noqa: E402
from bot.domain.markers import marker  # noqa: E402
from bot.offline import SandboxEnvironment, sandbox_environment  # noqa: E402
from bot.services.linking import post_url  # noqa: E402

CORPUS = PROJECT.parent / "shared" / "corpus" / "ai-courses"


async def _measure(
    env: SandboxEnvironment, run: Callable[[], Awaitable[object]]
) -> dict[str, float]:
    github, discord = len(env.github.requests), len(env.discord.requests)
    started = time.perf_counter()
    await run()
    return {
        "github_requests": len(env.github.requests) - github,
        "discord_requests": len(env.discord.requests) - discord,
        "seconds": round(time.perf_counter() - started, 3),
    }


async def _ours(content: Path, state: Path) -> dict[str, Any]:
    async with sandbox_environment(Settings(), content_dir=content, state_dir=state) as env:
        linking, catalogue = env.app.linking, env.app.catalogue
        assert linking is not None and catalogue is not None
        first = await _measure(env, lambda: linking.sync(catalogue))
        second = await _measure(env, lambda: linking.sync(catalogue))
        return {"lessons": len(linking.published(catalogue)), "first": first, "second": second}


async def _naive_sync(env: SandboxEnvironment, catalogue: Catalogue) -> None:
    """Find each lesson's issue and post by title; create what is missing."""
    linking, github, bot = env.app.linking, env.app.github, env.app.bot
    assert linking is not None and github is not None
    guild = bot.get_guild(int(env.guild["id"]))
    assert guild is not None
    for lesson in linking.published(catalogue):
        wanted = linking.wanted(lesson)
        program = catalogue.programs[lesson.program]
        name = forum_name(program.title("en"), lesson.program)
        forum = await bot.chat.ensure_forum(name, program.title("en"), linking.forum_tags())
        title = linking.issue_title(wanted)
        issue = next((i for i in await github.list_issues(LESSON_LABEL) if i.title == title), None)
        threads = await guild.active_threads()
        thread = next(
            (t for t in threads if t.parent_id == forum.id and t.name == wanted.title), None
        )
        if thread is None:
            tags = [forum.tags[n] for n in linking.post_tags(wanted) if n in forum.tags]
            post = await bot.chat.create_forum_post(
                forum.id, wanted.title, linking.starter(wanted, None), tag_ids=tags
            )
            thread_id, message_id = post.thread_id, post.message_ids[0]
        else:
            thread_id = message_id = thread.id
        if issue is None:
            url = post_url(forum.guild_id, thread_id, message_id)
            issue = await github.create_issue(
                title,
                linking.issue_body(wanted, url),
                [LESSON_LABEL, f"program:{lesson.program}"],
                marker(MARKER_KIND, wanted.identity),
            )
            await bot.chat.edit_message(
                thread_id, message_id, content=linking.starter(wanted, issue.html_url)
            )


async def _naive(content: Path, state: Path) -> dict[str, Any]:
    async with sandbox_environment(Settings(), content_dir=content, state_dir=state) as env:
        catalogue = env.app.catalogue
        assert catalogue is not None
        first = await _measure(env, lambda: _naive_sync(env, catalogue))
        second = await _measure(env, lambda: _naive_sync(env, catalogue))
        return {"first": first, "second": second}


async def main() -> None:
    """Run both and print one JSON line."""
    content = CORPUS if (CORPUS / "programs").is_dir() else PROJECT / "lessons"
    with tempfile.TemporaryDirectory() as scratch:
        ours = await _ours(content, Path(scratch) / "ours")
        naive = await _naive(content, Path(scratch) / "naive")
    lessons = ours.pop("lessons")
    print(
        json.dumps(
            {
                "content": "corpus" if content == CORPUS else "lessons",
                "lessons": lessons,
                "sync": ours,
                "naive_by_title": naive,
                "naive_search_min_seconds": math.ceil(lessons / 30) * 60,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
