"""A suggestion's rows and jobs: loading it in full, copying its facts out, naming its jobs."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.config import Settings
from bot.domain import edits
from bot.domain.pull_request import SuggestedEdit
from bot.services.linking import post_url
from bot.store.models import (
    LessonLink,
    ProgramForum,
    Suggestion,
    SuggestionStatus,
)

# The outbox kinds of the jobs that write to GitHub and the chat, and of those that tell people.
JOB_KIND = "suggestion"
NOTIFY_KIND = "suggestion_notify"
# Statuses a suggester may still revise or withdraw.
REVISABLE = (
    SuggestionStatus.QUEUED,
    SuggestionStatus.OPEN,
    SuggestionStatus.CHANGES_REQUESTED,
    SuggestionStatus.ANSWERED,
    SuggestionStatus.APPROVED,
    SuggestionStatus.CONFLICT,
)
# Load options for a suggestion with what its views show: lesson, credits and events.
WITH_LESSON_CREDITS_EVENTS = (
    selectinload(Suggestion.lesson),
    selectinload(Suggestion.credits),
    selectinload(Suggestion.events),
)


@dataclass(frozen=True, slots=True)
class LessonLinks:
    """Where a lesson is discussed: its GitHub issue and its Discord post."""

    issue_number: int | None = None
    post_url: str | None = None
    thread_id: int | None = None


async def load_suggestion(session: AsyncSession, suggestion_id: int) -> Suggestion | None:
    """Return a suggestion with its lesson, credits and events, or None."""
    return (
        await session.execute(
            select(Suggestion)
            .options(*WITH_LESSON_CREDITS_EVENTS)
            .where(Suggestion.id == suggestion_id)
        )
    ).scalar_one_or_none()


def suggested_edit(row: Suggestion) -> SuggestedEdit:
    """Copy a suggestion's facts out of its session, crediting those who did not withdraw."""
    credits = [credit for credit in row.credits if not credit.withdrawn]
    return SuggestedEdit(
        id=row.id,
        lesson_id=row.lesson_id,
        program=row.lesson.program,
        slug=row.lesson.slug,
        locale=row.locale,
        path=row.path or "",
        find=str(row.edit.get("find", "")),
        replace=str(row.edit.get("replace", "")),
        revisions=tuple(row.edit.get("revisions", [])),
        reason=row.reason or "",
        source=str(row.source),
        names=tuple(name for name in (credit.name for credit in credits) if name),
        emails=tuple(
            (credit.name or credit.email.split("@")[0], credit.email)
            for credit in credits
            if credit.email
        ),
    )


async def lesson_links(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    lesson_id: int,
    within: AsyncSession | None = None,
) -> LessonLinks:
    """Return a lesson's issue and post, read in `within` when a transaction holds one."""
    async with contextlib.AsyncExitStack() as stack:
        session = within or await stack.enter_async_context(sessions())
        found = (
            await session.execute(
                select(LessonLink, ProgramForum.discord_guild_id)
                .outerjoin(
                    ProgramForum, ProgramForum.discord_forum_id == LessonLink.discord_forum_id
                )
                .where(LessonLink.lesson_id == lesson_id)
            )
        ).first()
    if found is None:
        return LessonLinks()
    link, guild_id = found
    post = None
    if guild_id and link.discord_thread_id and link.discord_starter_message_id:
        post = post_url(
            guild_id,
            link.discord_thread_id,
            link.discord_starter_message_id,
            settings.discord.web_url,
        )
    return LessonLinks(
        issue_number=link.github_issue_number,
        post_url=post,
        thread_id=link.discord_thread_id,
    )


def passage_detail(passage: edits.Passage | None) -> dict[str, Any]:
    """Return an event's record of the passage a commit left on the branch."""
    return {} if passage is None else {"passage": passage.text, "line": passage.line}


def open_job_key(suggestion_id: int) -> str:
    """Return the key of the job that opens a suggestion's pull request."""
    return f"suggestion:{suggestion_id}:open"


def suggestion_of_job(key: str) -> int:
    """Return the suggestion id of a job key `suggestion:<id>:<op>...`."""
    return int(key.split(":")[1])
