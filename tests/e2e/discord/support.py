"""What the live Discord tests share: the people of their guild, timeouts, and logging the
real bot in to the Discord sandbox and out again."""

from __future__ import annotations

import asyncio

from bot.discord.client import LessonBot
from tests.discord.support import BOT_TOKEN

# Generous: these bound a hang, they do not time anything.
READY_TIMEOUT = 15.0
ANSWER_TIMEOUT = 5.0
STRING = 3  # application command option type
EPHEMERAL = 1 << 6

ANA, BEN, CLOSED = 1001, 1002, 1003  # es-ES, en-US, and someone who takes no DMs


async def log_in(bot: LessonBot) -> asyncio.Task[None]:
    """Start the bot (`bot.start()` as a task), wait until its gateway session is ready."""
    task = asyncio.create_task(bot.start(BOT_TOKEN))
    ready = asyncio.create_task(bot.wait_until_ready())
    done, _ = await asyncio.wait(
        {task, ready}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
    )
    if ready not in done:
        ready.cancel()
        if task in done:
            task.result()  # the reason the bot stopped
        await bot.close()  # no fixture holds the task to close it after a failed start
        raise TimeoutError(f"the bot was not ready within {READY_TIMEOUT}s")
    return task


async def stop_bot(bot: LessonBot, task: asyncio.Task[None]) -> None:
    """Log the bot out and wait for it to stop."""
    await bot.close()
    await asyncio.wait_for(task, READY_TIMEOUT)
