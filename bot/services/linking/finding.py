"""Find a lesson's post or issue written before its write was recorded (a crash, a lost
answer, a lost database), so it is adopted instead of made twice."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.domain.link_texts import LESSON_LABEL, MARKER_KIND, OLD_POST_KEY, thread_name
from bot.domain.linking import WantedLesson
from bot.domain.markers import find_markers
from bot.services.linking.planning import LinkPlanner
from bot.services.linking.store import LinkStore
from bot.services.ports import (
    SUGGEST_BUTTON_PREFIX,
    ChatMessage,
    ChatNotFoundError,
    ChatPort,
    Forum,
    GitHubPort,
    Issue,
)

log = logging.getLogger(__name__)


@dataclass
class RunContext:
    """What one run (a sync, or a batch of jobs) looked up once and shares between lessons."""

    issues: dict[str, Issue] | None = None
    # Forum id -> the bot's posts there that no stored lesson owns, by lesson key.
    posts: dict[int, dict[str, int]] = field(default_factory=dict)
    # Forum id -> those of them without a key (made with no button), by name.
    unkeyed: dict[int, dict[str, int]] = field(default_factory=dict)
    # The issue jobs the run's post jobs recorded, for a sync to run after every post.
    issue_jobs: list[int] = field(default_factory=list)


def parse_post_key(message: ChatMessage) -> str | None:
    """Return the lesson identity a starter message names, if any: by its "Suggest an
    edit" button's custom_id, or by the key line a post made before carried in its text."""
    for custom_id in message.custom_ids:
        if custom_id.startswith(SUGGEST_BUTTON_PREFIX):
            identity, colon, _locale = custom_id.removeprefix(SUGGEST_BUTTON_PREFIX).rpartition(":")
            if colon and "/" in identity:
                return identity
    found = OLD_POST_KEY.search(message.content)
    return found.group(1) if found else None


class LinkFinder:
    """Look for lessons' issues by their hidden marker and posts by the key in their button."""

    def __init__(
        self, github: GitHubPort, chat: ChatPort, store: LinkStore, planner: LinkPlanner
    ) -> None:
        self._github = github
        self._chat = chat
        self._store = store
        self._planner = planner

    async def issue(self, identity: str, context: RunContext, *, fresh: bool) -> Issue | None:
        """Return the lesson's issue if one was written already (one listing per run)."""
        if context.issues is None or fresh:
            found: dict[str, Issue] = {}
            for issue in await self._github.list_issues(label=LESSON_LABEL):
                key = find_markers(issue.body).get(MARKER_KIND)
                if key and key not in found:  # oldest first: the original wins
                    found[key] = issue
                elif key:
                    log.warning(
                        "lesson %s has a second issue #%d (kept: #%d); close it by hand",
                        key,
                        issue.number,
                        found[key].number,
                    )
            context.issues = found
        return context.issues.get(identity)

    async def post(
        self, forum: Forum, wanted: WantedLesson, context: RunContext, *, fresh: bool
    ) -> int | None:
        """Return the bot's post for a lesson that no stored link owns, if one exists.

        One listing of the forum's posts (active and archived) per run; only the bot's
        posts that no lesson owns have their starter message read, which after a clean
        run are none. A post is known by the lesson key in its button's custom_id; a
        lesson whose post has no button (suggestions off, or a key too long for a
        custom_id) is known by its name among the bot's posts without a key.
        """
        if forum.id not in context.posts or fresh:
            owned = await self._store.owned_threads()
            mine = self._chat.user_id
            keys: dict[str, int] = {}
            unkeyed: dict[str, int] = {}
            for thread in await self._chat.list_forum_threads(forum.id):
                if thread.id in owned or (mine and thread.owner_id != mine):
                    continue
                try:
                    starter = await self._chat.fetch_message(thread.id, thread.id)
                except ChatNotFoundError:
                    continue
                key = parse_post_key(starter)
                # Oldest first: the original wins.
                if key is not None:
                    keys.setdefault(key, thread.id)
                else:
                    unkeyed.setdefault(thread.name, thread.id)
            context.posts[forum.id] = keys
            context.unkeyed[forum.id] = unkeyed
        found = context.posts[forum.id].pop(wanted.identity, None)
        if found is None and self._planner.button(wanted) is None:
            found = context.unkeyed[forum.id].pop(thread_name(wanted.title), None)
        return found
