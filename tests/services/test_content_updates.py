"""A push brings the lessons up to date first, then suggestions, then links."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.domain.catalogue import Catalogue, load_catalogue
from bot.services.content_updates import ContentUpdates
from bot.services.events import PushEvent
from bot.services.lessons import LessonDirectory
from bot.services.linking import SyncReport
from tests.conftest import FIXTURES
from tests.events import parsed

PATH = "programs/demo/lessons/en/pipes.mdx"


class Steps:
    """Each collaborator's calls, in the order they happened."""

    def __init__(self) -> None:
        self.done: list[tuple[Any, ...]] = []


class FakeContent:
    def __init__(self, steps: Steps, *, from_github: bool) -> None:
        self._steps = steps
        self.from_github = from_github
        self.catalogue = load_catalogue(FIXTURES / "content", "en")
        self.refreshed = load_catalogue(FIXTURES / "content", "en")

    async def refresh(self, branch: str | None = None) -> Catalogue:
        self._steps.done.append(("refresh", branch))
        self.catalogue = self.refreshed
        return self.refreshed


class FakeLessons(LessonDirectory):
    def __init__(self, steps: Steps, catalogue: Catalogue) -> None:
        # Construction loads the first catalogue, which is no step of a push.
        self._steps = Steps()
        super().__init__(catalogue, "en")
        self._steps = steps

    def reload(self, catalogue: Catalogue) -> None:
        self._steps.done.append(("reload", catalogue))
        super().reload(catalogue)


class FakeSuggestions:
    def __init__(self, steps: Steps) -> None:
        self._steps = steps

    async def on_default_branch_push(self, changed_paths: Sequence[str], branch: str) -> int:
        self._steps.done.append(("suggestions", tuple(changed_paths), branch))
        return len(changed_paths)


class FakeLinking:
    def __init__(self, steps: Steps) -> None:
        self._steps = steps

    async def on_push(
        self, catalogue: Catalogue, push: PushEvent, *, read_files: bool = True
    ) -> SyncReport | None:
        self._steps.done.append(("link", catalogue, read_files))
        return SyncReport() if push.to_default_branch else None


def updates(*, from_github: bool) -> tuple[ContentUpdates, Steps, FakeContent]:
    steps = Steps()
    content = FakeContent(steps, from_github=from_github)
    lessons = FakeLessons(steps, content.catalogue)
    return (
        ContentUpdates(content, lessons, FakeLinking(steps), FakeSuggestions(steps)),
        steps,
        content,
    )


def push(ref: str = "refs/heads/trunk", *, deleted: bool = False) -> PushEvent:
    return parsed(
        PushEvent,
        {
            "ref": ref,
            "after": "a" * 40,
            "deleted": deleted,
            "repository": {"full_name": "o/r", "default_branch": "trunk"},
            "commits": [{"added": [], "modified": [PATH], "removed": []}],
        },
    )


async def test_a_push_to_the_default_branch_refreshes_then_suggestions_then_links() -> None:
    service, steps, content = updates(from_github=True)

    outcome = await service.on_push(push())

    assert steps.done == [
        ("refresh", "trunk"),
        ("reload", content.refreshed),
        ("suggestions", (PATH,), "trunk"),
        # The refreshed clone holds the pushed files: linking reads none of them again.
        ("link", content.refreshed, False),
    ]
    assert outcome.startswith(f"{len(content.refreshed.lessons)} lessons at aaaaaaaaaaaa; ")
    assert "1 suggestions to update" in outcome


async def test_lessons_from_a_directory_are_not_refreshed_and_linking_reads_the_files() -> None:
    service, steps, content = updates(from_github=False)

    await service.on_push(push())

    assert steps.done == [
        ("suggestions", (PATH,), "trunk"),
        ("link", content.catalogue, True),
    ]


async def test_a_push_to_another_branch_changes_nothing_but_asks_linking() -> None:
    service, steps, content = updates(from_github=True)

    outcome = await service.on_push(push("refs/heads/feature"))

    assert steps.done == [("link", content.catalogue, False)]
    assert outcome == "nothing to update"


async def test_a_deleted_default_branch_is_not_fetched() -> None:
    service, steps, _ = updates(from_github=True)

    await service.on_push(push(deleted=True))

    assert [step[0] for step in steps.done] == ["suggestions", "link"]
