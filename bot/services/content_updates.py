"""Follow pushes to the lessons' repository: content first, then suggestions, then links."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from bot.domain.catalogue import Catalogue
from bot.services.events import EventHandler, PushEvent
from bot.services.lessons import LessonDirectory
from bot.services.linking import SyncReport
from bot.services.ports import ContentPort


class PushLinking(Protocol):
    """Keeps the lessons' posts and issues in step with what a push changed."""

    async def on_push(
        self, catalogue: Catalogue, push: PushEvent, *, read_files: bool = True
    ) -> SyncReport | None:
        """Sync the lessons a push to the default branch touched."""
        ...


class BranchFollowing(Protocol):
    """Keeps open suggestions' pull requests up to date with the default branch."""

    async def on_default_branch_push(self, changed_paths: Sequence[str], branch: str) -> int:
        """Re-check open suggestions whose file changed; return how many."""
        ...


class ContentUpdates:
    """Bring everything that shows the lessons up to date after a push.

    The order matters: the clone is fetched and the catalogue reloaded first, so /lesson,
    suggestions and links all see what was pushed; open suggestions on a changed file are
    then brought up to date (or marked in conflict); links come last, from the new
    catalogue.
    """

    def __init__(
        self,
        content: ContentPort,
        lessons: LessonDirectory,
        linking: PushLinking,
        suggestions: BranchFollowing | None = None,
    ) -> None:
        self._content = content
        self._lessons = lessons
        self._linking = linking
        self._suggestions = suggestions

    def webhook_handlers(self) -> list[EventHandler[Any]]:
        """Return the handler that follows pushes."""
        return [EventHandler(PushEvent, "content", self.on_push)]

    async def on_push(self, push: PushEvent) -> str:
        """Follow one push; return what it changed (for logs and tests)."""
        content = self._content
        catalogue = content.catalogue
        done: list[str] = []
        if content.from_github and push.to_default_branch and not push.deleted:
            catalogue = await content.refresh(push.default_branch)
            self._lessons.reload(catalogue)
            done.append(f"{len(catalogue.lessons)} lessons at {push.after[:12]}")
        if self._suggestions is not None and push.to_default_branch:
            followed = await self._suggestions.on_default_branch_push(
                push.changed_paths, push.default_branch
            )
            if followed:
                done.append(f"{followed} suggestions to update")
        # A refreshed clone already holds the pushed files: nothing to read again.
        report = await self._linking.on_push(catalogue, push, read_files=not content.from_github)
        if report is not None:
            done.append(f"links {report.as_json()}")
        return "; ".join(done) or "nothing to update"
