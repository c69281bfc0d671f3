"""Perform linking jobs: write each lesson's post and issue, recording every write at once.

A lesson's links are two jobs: its post (Discord, at Discord's pace) and then its issue
(GitHub, at GitHub's write pace, which for a large catalogue takes hours), so posts never
wait behind issues. The post job records the issue job, when one is needed, in the same
commit that confirms the post.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Any

from bot.domain.link_texts import LESSON_LABEL, POST_LINK, forum_name, issue_marker
from bot.domain.linking import (
    DIGEST_PART,
    ISSUE_PART,
    THREAD_PART,
    UNKNOWN_PART,
    LessonWrites,
    LinkState,
    WantedLesson,
    adopted_issue_digest,
)
from bot.domain.priorities import LINKING_ISSUE
from bot.services.linking.finding import LinkFinder, RunContext
from bot.services.linking.planning import LinkPlanner
from bot.services.linking.report import SyncReport
from bot.services.linking.store import LinkStore
from bot.services.outbox import Claim, JobFailure, Outbox
from bot.services.ports import ChatNotFoundError, ChatPort, Forum, GitHubPort, Issue

log = logging.getLogger(__name__)


POST_JOB_PREFIX = "lesson:"
ISSUE_JOB_PREFIX = "lesson-issue:"


def post_job_key(identity: str) -> str:
    """Return the key of a lesson's linking job (its post, or its removal)."""
    return f"{POST_JOB_PREFIX}{identity}"


def issue_job_key(identity: str) -> str:
    """Return the key of a lesson's issue job."""
    return f"{ISSUE_JOB_PREFIX}{identity}"


def identity_of(key: str) -> str:
    """Return the lesson a linking job's key names."""
    return key.removeprefix(ISSUE_JOB_PREFIX).removeprefix(POST_JOB_PREFIX)


def issue_needed(writes: LessonWrites, state: LinkState) -> bool:
    """Tell whether a lesson's issue needs a write (left to its issue job)."""
    reopen = writes.reopen and state.issue_number is not None
    return writes.create_issue or writes.edit_issue or reopen


class LinkPerformer:
    """Run linking jobs claimed on the write path, one lesson each: link its post (then its
    issue, as a job of its own), or remove it."""

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
        issues: bool = True,
    ) -> None:
        """Claim and run each job; wait for those another process holds, then report them.

        The posts go first, every one; then, with `issues`, the issue jobs they recorded
        (otherwise those are left to the running bot's workers).
        """
        context = RunContext()
        await self._perform(job_ids, report, progress, context, wait)
        if issues and context.issue_jobs:
            issue_ids = list(dict.fromkeys(context.issue_jobs))
            context.issue_jobs.clear()
            await self._perform(issue_ids, report, None, context, wait)

    async def _perform(
        self,
        job_ids: Sequence[int],
        report: SyncReport,
        progress: Callable[[str], None] | None,
        context: RunContext,
        wait: float | None,
    ) -> None:
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
                        report.failed[identity_of(state.key)] = state.last_error or ""
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
                report.busy.append(identity_of(state.key))
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
            elif claim.kind == LINKING_ISSUE:
                # The lesson as its post job last planned it: a newer plan (a push that
                # renamed it) may have replaced the one this job was recorded from.
                latest = await self._outbox.latest_payload(post_job_key(identity))
                planned = latest if latest and latest.get("op") != "remove" else claim.payload
                await self._link_issue(claim, WantedLesson.from_payload(planned), report, context)
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
        """Bring one lesson's post in line, each write confirmed in the database before the
        next; record its issue job when the issue needs a write (it then links the issue
        in the starter message)."""
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
        issue_next = issue_needed(writes, state)
        report.count(writes, issue=False)
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
        if writes.edit_starter and not writes.create_issue:
            await self._chat.edit_message(
                state.thread_id or 0,
                state.starter_id or 0,
                content=texts.starter(wanted, state.issue_url),
                button=planner.button(wanted),
            )
        parts = planner.parts(wanted, state, forum, tag_ids)
        if not issue_next:
            await store.confirm(claim, state, wanted, forum, "".join(parts))
            return
        # The issue's part stays as stored until its job writes it; so does the starter's
        # when the issue is still to be made (its link goes in once there is one).
        stored = state.digest or UNKNOWN_PART * 3
        starter = stored[DIGEST_PART : 2 * DIGEST_PART] if writes.create_issue else parts[1]
        digest = parts[0] + starter + stored[2 * DIGEST_PART :]
        payload = {**claim.payload, "reopen": writes.reopen}
        job_id = await store.confirm(
            claim,
            state,
            wanted,
            forum,
            digest,
            follow_up=(LINKING_ISSUE, issue_job_key(wanted.identity), payload, claim.priority),
        )
        if job_id is not None:
            context.issue_jobs.append(job_id)

    async def _link_issue(
        self, claim: Claim, wanted: WantedLesson, report: SyncReport, context: RunContext
    ) -> None:
        """Bring one lesson's issue in line (its post is written already), then link it
        from the starter message, each write confirmed in the database before the next."""
        texts, planner, store = self._planner.texts, self._planner, self._store
        forum = await self._forum(wanted.program, wanted.program_title)
        tag_ids = planner.tag_ids(wanted, forum)
        state = await store.load_state(claim, wanted)
        if claim.payload.get("reopen"):
            # Its post job reopened the lesson (and recorded it so): the issue follows.
            state = dataclasses.replace(state, removed=True)
        elif state.removed:
            # Removed since this job was recorded: its removal closed what there was.
            await self._outbox.complete(claim)
            return
        if state.issue_number is None:
            issue = await self._finder.issue(wanted.identity, context, fresh=claim.uncertain)
            if issue is not None:
                state = await self._adopt_issue(claim, state, wanted.identity, issue)
                report.issues_adopted += 1
        writes = planner.plan(wanted, state, forum, tag_ids)
        report.count(writes, post=False)
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
        if writes.edit_starter and state.thread_id is not None:
            await self._chat.edit_message(
                state.thread_id,
                state.starter_id or 0,
                content=texts.starter(wanted, state.issue_url),
                button=planner.button(wanted),
            )
        # The post's part is the post job's: keep what it recorded.
        stored = state.digest or UNKNOWN_PART * 3
        parts = planner.parts(wanted, state, forum, tag_ids)
        digest = stored[:DIGEST_PART] + parts[1] + parts[2]
        await store.confirm(claim, dataclasses.replace(state, removed=False), wanted, forum, digest)

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
        await self._store.confirm_removal(claim, row.id, settles=[issue_job_key(identity)])
