"""Taking suggested edits: checked, stored with their job, joined when identical, guarded."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings, SuggestionSettings
from bot.domain.catalogue import git_blob_sha, load_catalogue
from bot.services.events import ReviewCommentEvent, ReviewEvent
from bot.services.outbox import Outbox
from bot.services.ports import ChatButton, ChatPort
from bot.services.signing import Signer, load_signer
from bot.services.suggestions import (
    Author,
    SuggestionError,
    SuggestionInput,
    SuggestionService,
)
from bot.store.engine import make_engine, make_session_factory
from bot.store.models import (
    OutboxJob,
    Suggestion,
    SuggestionCredit,
    SuggestionEvent,
    SuggestionSource,
    SuggestionStatus,
)
from tests.conftest import FIXTURES
from tests.events import handled

Sessions = async_sessionmaker[AsyncSession]
LESSON = "demo/pipes"
PASSAGE = "Fixtures are small on purpose."


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """Copy the fixture lessons, so a test may change them."""
    root = tmp_path / "content"
    shutil.copytree(FIXTURES / "content", root)
    return root


def make_service(
    sessions: Sessions, content: Path, *, chat: ChatPort | None = None, **limits: object
) -> tuple[SuggestionService, Outbox]:
    outbox = Outbox(sessions)
    catalogue = load_catalogue(content, "en")
    settings = Settings(suggestions=SuggestionSettings(**limits))  # type: ignore[arg-type]
    service = SuggestionService(
        sessions,
        outbox,
        settings,
        catalogue=lambda: catalogue,
        signer=Signer(b"k" * 32),
        chat=chat,
    )
    return service, outbox


def suggestion(
    find: str = PASSAGE,
    replace: str = "Fixtures are kept small on purpose.",
    *,
    person: int | None = 1,
    key: str | None = None,
    email: str | None = None,
    lesson: str = LESSON,
    locale: str = "en",
) -> SuggestionInput:
    return SuggestionInput(
        lesson=lesson,
        locale=locale,
        find=find,
        replace=replace,
        reason="Clearer wording",
        source=SuggestionSource.API,
        author=Author(name=f"Person {person}", discord_user_id=person, email=email),
        idempotency_key=key,
    )


async def count(sessions: Sessions, model: type) -> int:
    async with sessions() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def test_a_suggestion_is_stored_with_the_job_that_opens_its_pull_request(
    session_factory: Sessions, content: Path
) -> None:
    service, _ = make_service(session_factory, content)

    submitted = await service.submit(suggestion())

    assert submitted.status == "queued" and not submitted.joined and not submitted.replayed
    async with session_factory() as session:
        row = (await session.execute(select(Suggestion))).scalar_one()
        jobs = (await session.execute(select(OutboxJob))).scalars().all()
    assert row.path == "programs/demo/lessons/en/pipes.mdx"
    data = (content / row.path).read_bytes()
    assert row.base_sha == git_blob_sha(data)
    assert row.edit["find"] == PASSAGE and row.status == SuggestionStatus.QUEUED
    assert [(job.kind, job.dedupe_key) for job in jobs] == [
        ("suggestion", f"suggestion:{row.id}:open")
    ]
    view = await service.view(submitted.id)
    assert view is not None and view.as_json()["status"] == "queued"
    assert [event.kind for event in view.events] == ["submitted"]


async def test_a_job_left_with_the_new_suggestions_key_is_made_pending_for_it(
    session_factory: Sessions, content: Path
) -> None:
    # A job whose key the new suggestion's id repeats (a row restored from a backup, say):
    # the statement that stores the suggestion skips it, and it is recorded again.
    service, outbox = make_service(session_factory, content)
    left = await outbox.enqueue("suggestion", "suggestion:1:open", {"op": "open"})
    claim = await outbox.claim(left)
    assert claim is not None and await outbox.complete(claim)

    submitted = await service.submit(suggestion())

    assert submitted.id == 1
    [job] = await outbox.jobs()
    assert (job.id, job.key, job.status) == (left, "suggestion:1:open", "pending")
    async with session_factory() as session:
        stored = await session.get(OutboxJob, left)
        assert stored is not None and stored.payload["suggestion_id"] == 1
    assert await count(session_factory, SuggestionCredit) == 1
    assert await count(session_factory, SuggestionEvent) == 1


async def test_a_retry_with_the_same_idempotency_key_answers_the_same_and_stores_nothing_more(
    session_factory: Sessions, content: Path
) -> None:
    service, _ = make_service(session_factory, content)

    first = await service.submit(suggestion(key="abc"))
    again = await service.submit(suggestion(key="abc"))

    assert (again.id, again.token, again.replayed) == (first.id, first.token, True)
    with pytest.raises(SuggestionError) as refused:
        await service.submit(suggestion(replace="Something else entirely.", key="abc"))
    assert (refused.value.code, refused.value.status) == ("idempotency_mismatch", 409)
    assert await count(session_factory, Suggestion) == 1
    assert await count(session_factory, SuggestionCredit) == 1


async def test_identical_pending_suggestions_become_one_crediting_everyone(
    session_factory: Sessions, content: Path
) -> None:
    service, _ = make_service(session_factory, content)

    first = await service.submit(suggestion(person=1))
    # The same edit, pasted with other whitespace and quotes, by someone else.
    second = await service.submit(
        suggestion(find="Fixtures  are small\non purpose.", person=2, email="two@example.org")
    )
    again = await service.submit(suggestion(person=1))

    assert second.id == first.id and second.joined and second.token != first.token
    assert again.id == first.id and again.token == first.token
    assert await count(session_factory, Suggestion) == 1
    assert await count(session_factory, SuggestionCredit) == 2
    view = await service.view(first.id)
    assert view is not None and view.credited == ("Person 1", "Person 2")


async def test_many_identical_suggestions_at_once_become_one(
    session_factory: Sessions, content: Path
) -> None:
    service, _ = make_service(session_factory, content, per_person_per_hour=0)

    results = await asyncio.gather(*(service.submit(suggestion(person=n)) for n in range(12)))

    assert len({result.id for result in results}) == 1
    assert await count(session_factory, Suggestion) == 1
    assert await count(session_factory, SuggestionCredit) == 12
    assert await count(session_factory, OutboxJob) == 1


async def test_identical_suggestions_from_two_processes_at_once_become_one(
    migrated_url: str, content: Path
) -> None:
    # Two engines are two processes' pools: only the database keeps them from a second row.
    engines = [make_engine(migrated_url), make_engine(migrated_url)]
    try:
        services = [
            make_service(make_session_factory(engine), content, per_person_per_hour=0)[0]
            for engine in engines
        ]
        results = await asyncio.gather(
            *(services[n % 2].submit(suggestion(person=n)) for n in range(8))
        )
        sessions = make_session_factory(engines[0])
        assert len({result.id for result in results}) == 1
        assert sorted(result.joined for result in results) == [False] + [True] * 7
        assert await count(sessions, Suggestion) == 1
        assert await count(sessions, SuggestionCredit) == 8
        assert await count(sessions, OutboxJob) == 1
        view = await services[0].view(results[0].id)
        assert view is not None
        assert sorted(event.kind for event in view.events) == ["joined"] * 7 + ["submitted"]
    finally:
        for engine in engines:
            await engine.dispose()


@pytest.mark.parametrize(
    ("request_", "code", "field"),
    [
        (suggestion(lesson="demo/nope"), "lesson_unknown", "lesson"),
        (suggestion(locale="fr"), "locale_unknown", "locale"),
        (suggestion(find="   "), "field_empty", "find"),
        (suggestion(find="x" * 2001), "field_too_long", "find"),
        (suggestion(replace="y" * 4001), "field_too_long", "replace"),
        (suggestion(find="Fixtures are big on purpose."), "find_not_found", "find"),
        (suggestion(find="Quiz", replace="Test"), "find_ambiguous", "find"),
        (suggestion(replace=PASSAGE), "no_change", "replace"),
        (suggestion(find="</FunFact>", replace="</Fun>"), "breaks_lesson", "replace"),
        (
            suggestion(find='title: "Quizzes With Pipes"', replace='title: "X"'),
            "front_matter",
            None,
        ),
        (suggestion(email="not an address"), "email_invalid", "email"),
    ],
)
async def test_bad_suggestions_are_refused_naming_the_field_and_nothing_is_stored(
    session_factory: Sessions,
    content: Path,
    request_: SuggestionInput,
    code: str,
    field: str | None,
) -> None:
    service, _ = make_service(session_factory, content)

    with pytest.raises(SuggestionError) as refused:
        await service.submit(request_)

    assert refused.value.code == code
    if field is not None:
        assert refused.value.field == field
    assert refused.value.status == 422
    message = refused.value.message("es")
    assert message and "{" not in message and "suggest.error" not in message
    assert await count(session_factory, Suggestion) == 0
    assert await count(session_factory, OutboxJob) == 0


@pytest.mark.parametrize("locale", ["en", "ar", "zh", "es"])
async def test_an_edit_that_breaks_the_lesson_says_which_line_and_tag_in_words(
    session_factory: Sessions, content: Path, locale: str
) -> None:
    service, _ = make_service(session_factory, content)
    lines = (content / "programs/demo/lessons/en/pipes.mdx").read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if "</FunFact>" in text)

    with pytest.raises(SuggestionError) as refused:
        await service.submit(suggestion(find="</FunFact>", replace="</Fun>"))

    message = refused.value.message(locale)
    # No internal code, and the line and the tags as the person would write them.
    assert not re.search(r"[a-z]+_[a-z_]+", message), message
    assert str(line) in message and "<FunFact>" in message and "</Fun>" in message
    english = refused.value.message("en")
    assert english != message or locale == "en"


async def test_a_passage_not_found_offers_the_closest_one(
    session_factory: Sessions, content: Path
) -> None:
    service, _ = make_service(session_factory, content)
    with pytest.raises(SuggestionError) as refused:
        await service.submit(suggestion(find="Fixtures are smal on purpose"))
    assert "Fixtures are small on purpose" in refused.value.message("en")


async def test_one_person_is_held_back_after_the_hourly_limit(
    session_factory: Sessions, content: Path
) -> None:
    service, _ = make_service(session_factory, content, per_person_per_hour=2)
    (content / "programs/demo/lessons/en/pipes.mdx").write_text(
        (content / "programs/demo/lessons/en/pipes.mdx").read_text() + "\nOne.\nTwo.\nThree.\n"
    )
    service, _ = make_service(session_factory, content, per_person_per_hour=2)
    await service.submit(suggestion("One.", "1."))
    await service.submit(suggestion("Two.", "2."))

    with pytest.raises(SuggestionError) as refused:
        await service.submit(suggestion("Three.", "3."))

    assert (refused.value.code, refused.value.status) == ("rate_limited", 429)
    assert await count(session_factory, Suggestion) == 2
    # Nothing of the refused one is kept: no credit, event or job.
    assert await count(session_factory, SuggestionCredit) == 2
    assert await count(session_factory, SuggestionEvent) == 2
    assert await count(session_factory, OutboxJob) == 2
    # Joining an identical pending suggestion counts against the limit too.
    with pytest.raises(SuggestionError) as refused:
        await service.submit(suggestion("Two.", "2."))
    assert refused.value.code == "rate_limited"
    # Someone else is not held back by that person's limit.
    await service.submit(suggestion("Three.", "3.", person=7))


async def test_only_a_suggester_may_revise_or_withdraw(
    session_factory: Sessions, content: Path
) -> None:
    service, _ = make_service(session_factory, content)
    submitted = await service.submit(suggestion())

    with pytest.raises(SuggestionError) as missing:
        await service.withdraw(submitted.id)
    with pytest.raises(SuggestionError) as forged:
        await service.withdraw(submitted.id, token=submitted.token[:-2] + "xx")
    with pytest.raises(SuggestionError) as other_person:
        await service.withdraw(submitted.id, discord_user_id=99)
    with pytest.raises(SuggestionError) as unknown:
        await service.withdraw(submitted.id + 1, token=submitted.token)

    assert (missing.value.status, forged.value.status, other_person.value.status) == (
        401,
        403,
        403,
    )
    assert unknown.value.status == 404
    view = await service.view(submitted.id)
    assert view is not None and view.status == "queued"


async def test_a_revision_before_the_pr_opens_is_kept_with_the_edit(
    session_factory: Sessions, content: Path
) -> None:
    service, _ = make_service(session_factory, content)
    submitted = await service.submit(suggestion())

    view = await service.revise(
        submitted.id, "kept small", "kept tiny", "Tinier", token=submitted.token
    )

    assert [event.kind for event in view.events] == ["submitted", "revised"]
    assert view.find == PASSAGE  # the revision is applied after the first edit
    # A revision is checked against the lesson with the edit so far: "kept small" exists
    # only after the first edit, "not there" nowhere.
    with pytest.raises(SuggestionError) as refused:
        await service.revise(submitted.id, "not there", "x", "r", token=submitted.token)
    assert refused.value.code == "find_not_found"


async def test_withdrawing_needs_every_suggester(session_factory: Sessions, content: Path) -> None:
    service, _ = make_service(session_factory, content)
    first = await service.submit(suggestion(person=1))
    second = await service.submit(suggestion(person=2))

    view = await service.withdraw(first.id, token=first.token)
    assert view.status == "queued" and view.credited == ("Person 2",)

    view = await service.withdraw(second.id, token=second.token)
    assert view.status == "withdrawn"
    with pytest.raises(SuggestionError) as refused:
        await service.withdraw(second.id, token=second.token)
    assert refused.value.status == 403


async def test_the_stored_signing_key_is_shared_by_every_process(session_factory: Sessions) -> None:
    first, second = await asyncio.gather(
        load_signer(session_factory, None), load_signer(session_factory, None)
    )
    assert first.sign("suggestion", "1:1") == second.sign("suggestion", "1:1")
    assert first.verify("suggestion", "1:1", second.sign("suggestion", "1:1"))
    assert not first.verify("other", "1:1", first.sign("suggestion", "1:1"))


async def test_events_are_listed_in_order(session_factory: Sessions, content: Path) -> None:
    service, _ = make_service(session_factory, content)
    submitted = await service.submit(suggestion())
    async with session_factory() as session, session.begin():
        session.add(SuggestionEvent(suggestion_id=submitted.id, kind="pr_opened", detail={}))
    view = await service.view(submitted.id)
    assert view is not None and [event.kind for event in view.events] == [
        "submitted",
        "pr_opened",
    ]


async def test_a_passage_like_nothing_in_the_lesson_is_refused_without_a_closest_one(
    session_factory: Sessions, content: Path
) -> None:
    service, _ = make_service(session_factory, content)
    with pytest.raises(SuggestionError) as refused:
        await service.submit(suggestion(find="zzzz qqqq xxxx wwww"))
    assert refused.value.code == "find_not_found_anywhere"
    for locale in ("en", "ar", "zh"):
        message = refused.value.message(locale)
        assert "{" not in message and "suggest.error" not in message


class RecordingChat:
    """A chat that takes every DM and keeps what it was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str, list[ChatButton]]] = []

    async def send_dm(
        self, user_id: int, content: str, *, buttons: Sequence[ChatButton] = (), **_: object
    ) -> list[int]:
        self.sent.append((user_id, content, list(buttons)))
        return [len(self.sent)]


async def test_a_text_proposed_in_a_review_that_only_comments_is_told_once_on_its_own(
    session_factory: Sessions, content: Path
) -> None:
    chat = RecordingChat()
    service, outbox = make_service(
        session_factory,
        content,
        chat=chat,  # type: ignore[arg-type]
        reviewers=("*:mia",),
    )
    submitted = await service.submit(suggestion())
    async with session_factory() as session, session.begin():
        row = await session.get(Suggestion, submitted.id)
        assert row is not None
        row.status, row.pr_number = SuggestionStatus.OPEN, 7
    comment = {
        "action": "created",
        "pull_request": {"number": 7},
        "comment": {
            "id": 55,
            "pull_request_review_id": 70,
            "user": {"login": "mia"},
            "line": 16,
            "body": "```suggestion\nFixtures stay small.\n```",
        },
    }
    review = {
        "action": "submitted",
        "pull_request": {"number": 7},
        "review": {"id": 70, "state": "commented", "user": {"login": "mia"}, "body": ""},
    }

    # The comment comes first: nobody is told until its review says whether it is told
    # with a verdict; a review that only comments tells it on its own.
    assert (
        await handled(ReviewCommentEvent, service.on_review_comment, comment)
        == "reviewer suggestion"
    )
    assert await outbox.claim_due(10, [SuggestionService.NOTIFY_KIND]) == []
    assert await handled(ReviewEvent, service.on_review, review) == "commented"
    assert await handled(ReviewEvent, service.on_review, review) == "already seen"
    claims = await outbox.claim_due(10, [SuggestionService.NOTIFY_KIND])
    assert [await service.run_job(claim) for claim in claims] == ["sent a DM"]

    [(user, text, buttons)] = chat.sent
    async with session_factory() as session:
        proposal = (
            await session.execute(
                select(SuggestionEvent).where(SuggestionEvent.kind == "reviewer_suggestion")
            )
        ).scalar_one()
    assert user == 1
    assert text == (
        "A reviewer proposed a text for your suggestion for Quizzes With Pipes:\n"
        "mia proposed this text for line 16:\n```\nFixtures stay small.\n```"
    )
    assert [button.custom_id or button.url for button in buttons] == [
        f"lessonbot:suggestion:use:{submitted.id}:55",
        f"lessonbot:suggestion:revise:{submitted.id}",
        f"lessonbot:suggestion:withdraw:{submitted.id}",
        service.step_url(submitted.id, proposal.id, "en"),
    ]
