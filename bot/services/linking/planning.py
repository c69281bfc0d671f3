"""Decide what a lesson's post and issue should hold and which writes bring them there."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.domain.link_texts import LinkTexts
from bot.domain.linking import (
    LessonWrites,
    LinkState,
    WantedLesson,
    part_digest,
    plan_writes,
    with_part,
)
from bot.services.linking.directory import post_url
from bot.services.linking.store import state_of
from bot.services.ports import ChatButton, Forum, suggest_button
from bot.store.models import Lesson


class LinkPlanner:
    """Render a lesson's links (texts, button, tags) and compare them with what is stored.

    No I/O: it works on what the store loaded and the digests it recorded.
    """

    def __init__(self, texts: LinkTexts, *, web_url: str, suggest_button: bool) -> None:
        self.texts = texts
        # Where post links in issues lead: Discord, or the sandbox's viewer.
        self._web_url = web_url
        # With suggested edits on, each starter message carries a "Suggest an edit" button.
        self._suggest_button = suggest_button

    def button(self, wanted: WantedLesson) -> ChatButton | None:
        """Return the starter message's "Suggest an edit" button, when suggestions are on."""
        if not self._suggest_button:
            return None
        return suggest_button(
            wanted.identity, self.texts.default_locale, self.texts.suggest_label()
        )

    def tag_ids(self, wanted: WantedLesson, forum: Forum | None) -> list[int]:
        """Return the ids of a post's tags among those its forum has."""
        tags = forum.tags if forum is not None else {}
        return [tags[name] for name in self.texts.post_tags(wanted) if name in tags]

    def post_url(self, state: LinkState, forum: Forum | None) -> str | None:
        """Return the link to the lesson's post, once it has one."""
        if state.thread_id is None or state.starter_id is None:
            return None
        guild = forum.guild_id if forum is not None else 0
        return post_url(guild, state.thread_id, state.starter_id, self._web_url)

    def parts(
        self,
        wanted: WantedLesson,
        state: LinkState,
        forum: Forum | None,
        tag_ids: Sequence[int],
    ) -> tuple[str, str, str]:
        """Return the digests of what the thread, starter message and issue should hold."""
        url = self.post_url(state, forum)
        button = self.button(wanted)
        return (
            part_digest(wanted.title, list(tag_ids)),
            # The button is part of the starter: turning suggestions on adds it to every post.
            part_digest(
                self.texts.starter(wanted, state.issue_url),
                *(() if button is None else (button.label, button.custom_id)),
            ),
            part_digest(self.texts.issue_title(wanted), self.texts.issue_body(wanted, url)),
        )

    def plan(
        self,
        wanted: WantedLesson,
        state: LinkState,
        forum: Forum | None,
        tag_ids: Sequence[int] | None = None,
    ) -> LessonWrites:
        """Return the writes that bring the lesson's stored links in line with `wanted`."""
        if tag_ids is None:
            tag_ids = self.tag_ids(wanted, forum)
        return plan_writes(state, self.parts(wanted, state, forum, tag_ids))

    def with_part(
        self,
        state: LinkState,
        index: int,
        wanted: WantedLesson,
        forum: Forum,
        tag_ids: Sequence[int],
    ) -> str:
        """Return the stored digest with one part (thread, starter, issue) now written."""
        return with_part(state.digest, index, self.parts(wanted, state, forum, tag_ids)[index])

    def unchanged(
        self, wanted: WantedLesson, row: Lesson | None, stored_forums: Mapping[str, Forum]
    ) -> bool:
        """Tell from what was loaded up front that a lesson needs nothing: no write, and
        not even a query of its own (what makes a sync with nothing changed cheap)."""
        forum = stored_forums.get(wanted.program)
        if row is None or row.link is None or row.removed_at is not None or forum is None:
            return False
        if not set(self.texts.forum_tags()) <= set(forum.tags):
            return False
        files = {file.locale: (file.title, file.path) for file in row.files}
        if files != {loc: (title[:300], path) for loc, (title, path) in wanted.files.items()}:
            return False
        return not self.plan(wanted, state_of(row), forum).needed

    def dry_plan(
        self, wanted: WantedLesson, row: Lesson | None, forums: Mapping[str, Forum]
    ) -> LessonWrites:
        """Return what a lesson would need, from what is stored (a dry run's count)."""
        if row is None or row.link is None:
            return LessonWrites(create_thread=True, create_issue=True, edit_starter=True)
        return self.plan(wanted, state_of(row), forums.get(wanted.program))
