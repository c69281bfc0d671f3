"""Perform linking jobs: write each lesson's post and issue, recording every write at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from bot.domain.link_texts import LESSON_LABEL, POST_LINK, forum_name, issue_marker
from bot.domain.linking import (
    ISSUE_PART,
    THREAD_PART,
    UNKNOWN_PART,
    LinkState,
    WantedLesson,
    adopted_issue_digest,
)
from bot.services.linking.finding import LinkFinder, RunContext
from bot.services.linking.planning import LinkPlanner
from bot.services.linking.report import SyncReport
from bot.services.linking.store import LinkStore
from bot.services.outbox import Claim, JobFailure, Outbox
from bot.services.ports import ChatNotFoundError, ChatPort, Forum, GitHubPort, Issue

log = logging.getLogger(__name__)


class LinkPerformer:
    """Run linking jobs claimed on the write path, one lesson each: link it or remove it."""

    def __init__(
        self,
        *,
        github: GitHubPort,
        chat: ChatPort,
        outbox: Outbox,
        store: LinkStore,
        planner: LinkPlanner,
        finder: LinkFinder,
    ) -> None:
        self._github = github
        self._chat = chat
        self._outbox = outbox
        self._store = store
        self._planner = planner
        self._finder = finder

    async def perform(
        self,
        job_ids: Sequence[int],
        report: SyncReport,
        progress: Callable[[str], None] | None,
        *,
        wait: float | None = None,
    ) -> None:
        """Claim and run each job; wait for those another process holds, then report them."""
        context = RunContext()
        waiting: list[int] = []
        for job_id in job_ids:
            claim = await self._outbox.claim(job_id)
            if claim is None:
                waiting.append(job_id)
                continue
            await self.run_job(claim, report, context)
            if progress is not None:
                progress(claim.payload.get("identity", ""))
        # Held elsewhere: that process finishes them (or, if it died, its lease runs out
        # and they are taken over here). Wait a while, as two syncs at once should both
        # end with every lesson linked.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (wait if wait is not None else self._outbox.lease_seconds + 5)
        while waiting and loop.time() < deadline:
            await asyncio.sleep(0.2)
            still = []
            for job_id in waiting:
                state = await self._outbox.state(job_id)
                if state is None or state.status in ("done", "failed"):
                    if state is not None and state.status == "failed":
                        report.failed[state.key.removeprefix("lesson:")] = state.last_error or ""
                    continue
                claim = await self._outbox.claim(job_id)
                if claim is None:
                    still.append(job_id)
                    continue
                await self.run_job(claim, report, context)
            waiting = still
        for job_id in waiting:
            state = await self._outbox.state(job_id)
            if state is not None:
                report.busy.append(state.key.removeprefix("lesson:"))
                log.info("lesson %s: being synced by another process", state.key)

    async def run_job(
        self, claim: Claim, report: SyncReport | None = None, context: RunContext | None = None
    ) -> None:
        """Perform one claimed linking job and confirm it (or give it back on error)."""
        report = report if report is not None else SyncReport()
        context = context if context is not None else RunContext()
        identity = claim.payload.get("identity", claim.key)

        async def perform() -> None:
            if claim.payload.get("op") == "remove":
                await self._remove(claim, identity, report)
            else:
                await self._link(claim, WantedLesson.from_payload(claim.payload), report, context)

        done = await self._outbox.attempt(claim, perform, label=f"lesson {identity}")
        # One lesson's failure must not stop the others: it is reported and retried.
        if isinstance(done, JobFailure):
            if done.taken_over:
                report.busy.append(identity)
            else:
                report.failed[identity] = done.message

    # --- linking one lesson --------------------------------------------------------------

    async def _link(
        self, claim: Claim, wanted: WantedLesson, report: SyncReport, context: RunContext
    ) -> None:
        """Bring one lesson's post and issue in line: post, issue, then the starter message
        linking the issue, each write confirmed in the database before the next."""
        texts, planner, store = self._planner.texts, self._planner, self._store
        forum = await self._forum(wanted.program, wanted.program_title)
        tag_ids = planner.tag_ids(wanted, forum)
        state = await store.load_state(claim, wanted)
        if state.issue_number is None:
            issue = await self._finder.issue(wanted.identity, context, fresh=claim.uncertain)
            if issue is not None:
                state = await self._adopt_issue(claim, state, wanted.identity, issue)
                report.issues_adopted += 1
        if state.thread_id is None and claim.uncertain:
            # An earlier attempt may have opened the post and died before recording it.
            thread_id = await self._finder.post(forum, wanted, context, fresh=True)
            if thread_id is not None:
                log.info("lesson %s: adopting post %d", wanted.identity, thread_id)
                state = await store.save(
                    claim,
                    state,
                    thread_id=thread_id,
                    starter_id=thread_id,  # a forum post's starter message has its id
                    forum_id=forum.id,
                    digest=UNKNOWN_PART * 3,
                )
                report.threads_adopted += 1
        writes = planner.plan(wanted, state, forum, tag_ids)
        report.count(writes)
        if writes.create_thread:
            post = await self._chat.create_forum_post(
                forum.id,
                wanted.title,
                texts.starter(wanted, state.issue_url),
                tag_ids=tag_ids,
                button=planner.button(wanted),
            )
            state = await store.save(
                claim,
                state,
                thread_id=post.thread_id,
                starter_id=post.message_ids[0],
                forum_id=forum.id,
                thread_name=wanted.title[:300],
            )
        elif writes.edit_thread or writes.reopen:
            renamed = state.thread_name != wanted.title[:300]
            await self._chat.edit_thread(
                state.thread_id or 0,
                name=wanted.title if renamed else None,
                tag_ids=tag_ids,
                **({"archived": False, "locked": False} if writes.reopen else {}),
            )
            # Recorded at once: a retry after a crash does not rename the post again.
            state = await store.save(
                claim,
                state,
                digest=planner.with_part(state, THREAD_PART, wanted, forum, tag_ids),
                thread_name=wanted.title[:300],
            )
        url = planner.post_url(state, forum)
        if writes.create_issue:
            issue = await self._github.create_issue(
                texts.issue_title(wanted),
                texts.issue_body(wanted, url),
                [LESSON_LABEL, f"program:{wanted.program}"],
                issue_marker(wanted.identity),
            )
            state = await store.save(
                claim, state, issue_number=issue.number, issue_url=issue.html_url
            )
        elif writes.edit_issue or writes.reopen:
            await self._github.update_issue(
                state.issue_number or 0,
                title=texts.issue_title(wanted),
                body=texts.issue_body(wanted, url),
                state="open" if writes.reopen else None,
            )
            state = await store.save(
                claim, state, digest=planner.with_part(state, ISSUE_PART, wanted, forum, tag_ids)
            )
        if writes.edit_starter:
            await self._chat.edit_message(
                state.thread_id or 0,
                state.starter_id or 0,
                content=texts.starter(wanted, state.issue_url),
                button=planner.button(wanted),
            )
        digest = "".join(planner.parts(wanted, state, forum, tag_ids))
        await store.confirm(claim, state, wanted, forum, digest)

    async def _adopt_issue(
        self, claim: Claim, state: LinkState, identity: str, issue: Issue
    ) -> LinkState:
        """Take over an issue found by its marker, and the post its body links to."""
        log.info("lesson %s: adopting issue #%d", identity, issue.number)
        changes: dict[str, Any] = {"issue_number": issue.number, "issue_url": issue.html_url}
        found = POST_LINK.search(issue.body)
        if found and state.thread_id is None:
            thread_id = int(found.group(2))
            changes["thread_id"] = thread_id
            changes["starter_id"] = int(found.group(3) or thread_id)
        changes["digest"] = adopted_issue_digest(
            issue.title, issue.body, with_post="thread_id" in changes
        )
        state = await self._store.save(claim, state, **changes)
        if issue.state == "closed" and not state.removed:
            # Closed when it left: reopen it, as it is back.
            state = await self._store.mark_removed(state)
        return state

    async def _forum(self, program: str, title: str) -> Forum:
        """Return the program's forum with every tag, creating or extending it once across
        processes."""
        tags = self._planner.texts.forum_tags()
        forum = await self._store.forum(program)
        if forum is not None and set(tags) <= set(forum.tags):
            return forum
        async with self._outbox.exclusive(f"forum:{program}"):
            forum = await self._store.forum(program)  # another process may have done it
            if forum is not None and set(tags) <= set(forum.tags):
                return forum
            forum = await self._chat.ensure_forum(
                forum_name(title, program),
                title,
                tags,
                forum_id=forum.id if forum is not None else None,
            )
            await self._store.save_forum(program, forum)
            return forum

    # --- removing one lesson -------------------------------------------------------------

    async def _remove(self, claim: Claim, identity: str, report: SyncReport) -> None:
        """Archive and lock a removed lesson's post, close its issue with one comment."""
        row, state = await self._store.removal(identity)
        if row is None or row.removed_at is not None:
            await self._outbox.complete(claim)
            return
        report.removed += 1
        if state is not None and state.thread_id is not None:
            report.threads_updated += 1
            await self._outbox.renew(claim)
            try:
                await self._chat.edit_thread(state.thread_id, archived=True, locked=True)
            except ChatNotFoundError:
                log.info("lesson %s: its post is gone already", identity)
        if state is not None and state.issue_number is not None:
            report.issues_updated += 1
            comment, note = self._planner.texts.removed_comment(identity, claim.revision)
            await self._outbox.renew(claim)
            await self._github.create_comment(state.issue_number, comment, marker=note)
            await self._outbox.renew(claim)
            await self._github.update_issue(state.issue_number, state="closed")
        await self._store.confirm_removal(claim, row.id)
