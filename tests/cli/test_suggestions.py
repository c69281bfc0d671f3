"""`lessonbot suggest` and `lessonbot suggestions list|show`: the CLI door to suggested edits."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cli import main
from bot.domain.review_flow import STATUSES as SUGGESTION_STATUSES
from bot.services.signing import load_signer
from bot.services.suggestions import TOKEN_PURPOSE
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

PASSAGE = "Fixtures are small on purpose."
QUIZ = '<Quiz\n  question="A quiz over several lines?"\n  options="yes|no"'
SIBLINGS = ["programs/demo/lessons/ar/pipes.mdx", "programs/demo/lessons/es/pipes.mdx"]
Capture = pytest.CaptureFixture[str]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    """Run each command in a folder of sample lessons, on a fresh database, as user tess."""
    for name in list(os.environ):
        if name.startswith("LESSONBOT_"):
            monkeypatch.delenv(name)
    shutil.copytree(FIXTURES / "content", tmp_path / "lessons")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LESSONBOT_DATABASE_URL", database_url)
    monkeypatch.setenv("USER", "tess")
    monkeypatch.setenv("LOGNAME", "tess")


def suggest(*extra: str, find: str = PASSAGE, lesson: str = "demo/pipes") -> list[str]:
    return [
        "suggest",
        "--lesson",
        lesson,
        "--locale",
        "en",
        "--find",
        find,
        "--replace",
        "Fixtures are kept small on purpose.",
        "--reason",
        "Clearer wording",
        *extra,
    ]


def in_database(url: str, use: Callable[[async_sessionmaker[AsyncSession]], Awaitable[Any]]) -> Any:
    """Run one call on the test database, as the CLI left it."""

    async def run() -> Any:
        engine = make_engine(url)
        try:
            return await use(make_session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


async def rows(sessions: async_sessionmaker[AsyncSession], model: type) -> list[Any]:
    async with sessions() as session:
        return list((await session.execute(select(model).order_by(model.id))).scalars())


def submitted(capsys: Capture, *extra: str) -> dict[str, Any]:
    """Suggest the sample edit with --json and return what the command printed."""
    assert main(suggest(*extra, "--json")) == 0
    return json.loads(capsys.readouterr().out)


def merge(url: str, suggestion_id: int, siblings: list[str], *, locale: str = "en") -> None:
    """Mark a suggestion merged as the webhook would, with its translations_behind event."""

    async def use(sessions: async_sessionmaker[AsyncSession]) -> None:
        async with sessions() as session, session.begin():
            row = await session.get(Suggestion, suggestion_id)
            assert row is not None
            row.status, row.pr_number, row.locale = (
                SuggestionStatus.MERGED,
                40 + suggestion_id,
                locale,
            )
            row.pr_url = f"https://github.test/lessons/content/pull/{40 + suggestion_id}"
            session.add(SuggestionEvent(suggestion_id=suggestion_id, kind="merged", detail={}))
            session.add(
                SuggestionEvent(
                    suggestion_id=suggestion_id,
                    kind="translations_behind",
                    detail={"siblings": siblings},
                )
            )

    in_database(url, use)


# --- lessonbot suggest


def test_suggest_stores_the_edit_with_the_job_that_opens_its_pull_request(
    capsys: Capture, database_url: str
) -> None:
    assert main(suggest("--author", "Ann Lee")) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Suggestion 1 queued: http://127.0.0.1:8080/suggestions/1"
    assert out[1].startswith("Your token (keep it to revise or withdraw the suggestion): ")
    suggestions = in_database(database_url, lambda s: rows(s, Suggestion))
    assert [(row.id, row.source, row.status, row.author_name) for row in suggestions] == [
        (1, SuggestionSource.CLI, SuggestionStatus.QUEUED, "Ann Lee")
    ]
    assert suggestions[0].edit["find"] == PASSAGE
    assert suggestions[0].path == "programs/demo/lessons/en/pipes.mdx"
    jobs = in_database(database_url, lambda s: rows(s, OutboxJob))
    assert [(job.kind, job.dedupe_key, str(job.status)) for job in jobs] == [
        ("suggestion", "suggestion:1:open", "pending")
    ]
    credit = in_database(database_url, lambda s: rows(s, SuggestionCredit))[0]
    assert credit.person == "handle:cli:tess"


def test_json_answers_id_status_url_and_a_token_the_bot_accepts(
    capsys: Capture, database_url: str
) -> None:
    record = submitted(capsys, "--email", "ann@example.org")

    assert set(record) == {"id", "status", "status_url", "token", "joined"}
    assert record["id"] == 1
    assert record["status"] == "queued"
    assert record["status_url"] == "http://127.0.0.1:8080/suggestions/1"
    assert record["joined"] is False

    async def check(sessions: async_sessionmaker[AsyncSession]) -> bool:
        signer = await load_signer(sessions, None)  # the key the running bot reads back
        credit = (await rows(sessions, SuggestionCredit))[0]
        return signer.verify(TOKEN_PURPOSE, f"1:{credit.id}", record["token"])

    assert in_database(database_url, check)


def test_the_author_defaults_to_the_user_and_the_same_edit_joins(
    capsys: Capture, database_url: str
) -> None:
    submitted(capsys)
    again = submitted(capsys, "--author", "Bo", "--email", "bo@example.org")

    assert again["id"] == 1 and again["joined"] is True
    credits = in_database(database_url, lambda s: rows(s, SuggestionCredit))
    assert [(credit.name, credit.person) for credit in credits] == [
        ("tess", "handle:cli:tess"),
        ("Bo", "email:bo@example.org"),
    ]
    assert main(suggest("--author", "Cy")) == 0  # tess again: credited once, said plainly
    assert capsys.readouterr().out.startswith(
        "The same edit was already suggested: you are now credited on suggestion 1."
    )
    assert len(in_database(database_url, lambda s: rows(s, SuggestionCredit))) == 2


def test_a_passage_not_in_the_lesson_exits_1_with_the_message(
    capsys: Capture, database_url: str
) -> None:
    assert main(suggest(find="This sentence is not in the lesson.")) == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert lines[-1].startswith(
        "lessonbot: The passage to change was not found in the lesson. Copy it exactly"
    )
    assert "Traceback" not in captured.err
    assert in_database(database_url, lambda s: rows(s, Suggestion)) == []
    assert in_database(database_url, lambda s: rows(s, OutboxJob)) == []


def test_an_unknown_lesson_exits_1_in_the_configured_language(
    capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(suggest(lesson="demo/nothing")) == 1
    assert capsys.readouterr().err == (
        "lessonbot: There is no lesson “demo/nothing”. Name a lesson as program/slug, "
        "for example demo/pipes.\n"
    )

    monkeypatch.setenv("LESSONBOT_LOCALE", "es")
    assert main(suggest(lesson="demo/nothing")) == 1
    assert capsys.readouterr().err == (
        "lessonbot: No hay ninguna lección «demo/nothing». Indica la lección como "
        "program/slug, por ejemplo demo/pipes.\n"
    )


def test_a_mistyped_lesson_prints_the_closest_ones(
    capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(suggest(lesson="demo/pipe")) == 1
    assert capsys.readouterr().err == (
        "lessonbot: There is no lesson “demo/pipe”. Did you mean demo/pipes? "
        "Lessons are named program/slug.\n"
    )
    monkeypatch.setenv("LESSONBOT_LOCALE", "ar")
    assert main(suggest(lesson="demo/pipe")) == 1
    assert "هل تقصد demo/pipes؟" in capsys.readouterr().err


def test_a_unique_slug_or_the_lesson_page_address_is_taken(
    capsys: Capture, database_url: str
) -> None:
    for lesson in ("pipes", "https://example.org/en/programs/demo/lessons/pipes"):
        assert main(suggest("--json", lesson=lesson)) == 0, capsys.readouterr().err
        assert json.loads(capsys.readouterr().out)["id"] == 1  # the same edit: joined
    (row,) = in_database(database_url, lambda s: rows(s, Suggestion))
    assert row.path == "programs/demo/lessons/en/pipes.mdx"


def test_an_ambiguous_passage_and_a_missing_locale_are_said_not_raised(capsys: Capture) -> None:
    assert main(suggest(find="Quiz")) == 1
    assert "appears" in capsys.readouterr().err

    argv = suggest()
    argv[argv.index("--locale") + 1] = "fr"
    assert main(argv) == 1
    assert capsys.readouterr().err == (
        "lessonbot: This lesson has no “fr” version. It is available in: ar, en, es.\n"
    )


def test_find_dash_reads_a_multi_line_passage_from_stdin(
    capsys: Capture, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(QUIZ + "\n"))  # as `cat file |` sends it

    assert main(suggest(find="-")) == 0

    assert capsys.readouterr().out.startswith("Suggestion 1 queued: ")
    suggestions = in_database(database_url, lambda s: rows(s, Suggestion))
    assert suggestions[0].edit["find"] == QUIZ


def test_a_missing_content_folder_is_one_line_exit_2(capsys: Capture, tmp_path: Path) -> None:
    shutil.rmtree(tmp_path / "lessons")
    assert main(suggest()) == 2
    assert capsys.readouterr().err == "lessonbot: Content directory not found: lessons\n"


def test_content_option_names_another_folder(capsys: Capture, tmp_path: Path) -> None:
    shutil.move(tmp_path / "lessons", tmp_path / "elsewhere")
    assert main(suggest("--content", str(tmp_path / "elsewhere"), "--json")) == 0
    assert json.loads(capsys.readouterr().out)["id"] == 1


# --- lessonbot suggestions list


def test_list_shows_a_table_of_suggestions_newest_first(capsys: Capture) -> None:
    submitted(capsys)
    assert main(suggest("--json", find="Some text with")) == 0
    capsys.readouterr()

    assert main(["suggestions", "list"]) == 0

    lines = [line.split() for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert lines[0] == ["ID", "Lesson", "Locale", "Status", "PR", "Age"]
    assert [line[:5] for line in lines[2:]] == [
        ["2", "demo/pipes", "en", "queued", "-"],
        ["1", "demo/pipes", "en", "queued", "-"],
    ]


def test_list_filters_by_status_and_prints_json(capsys: Capture, database_url: str) -> None:
    submitted(capsys)
    assert main(suggest("--json", find="Some text with")) == 0
    capsys.readouterr()
    merge(database_url, 1, [])

    assert main(["suggestions", "list", "--status", "merged", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [(record["id"], record["status"], record["pr_number"]) for record in records] == [
        (1, "merged", 41)
    ]
    assert records[0]["path"] == "programs/demo/lessons/en/pipes.mdx"
    assert "events" not in records[0]

    assert main(["suggestions", "list", "--status", "queued", "open", "--json"]) == 0
    assert [record["id"] for record in json.loads(capsys.readouterr().out)] == [2]
    assert main(["suggestions", "list", "--status", "failed"]) == 0
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "No suggestions.\n")


def test_list_refuses_an_unknown_status(capsys: Capture) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["suggestions", "list", "--status", "lost"])
    assert exit_.value.code == 2
    assert "invalid choice: 'lost'" in capsys.readouterr().err


def test_the_status_choices_are_the_models_statuses() -> None:
    assert set(SUGGESTION_STATUSES) == {status.value for status in SuggestionStatus}


# --- lessonbot suggestions list --translations-behind


def test_translations_behind_lists_one_line_per_sibling(capsys: Capture, database_url: str) -> None:
    submitted(capsys)
    assert main(suggest("--json", find="Some text with")) == 0
    assert main(suggest("--json", find="# Quizzes With Pipes")) == 0
    capsys.readouterr()
    merge(database_url, 1, SIBLINGS)
    merge(database_url, 2, [])  # merged, but no translations named
    merge(database_url, 3, SIBLINGS, locale="es")  # not the default locale: never listed

    assert main(["suggestions", "list", "--translations-behind"]) == 0

    lines = [line.split() for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert lines[0] == ["ID", "Lesson", "PR", "Edited", "file", "Translation", "to", "check"]
    assert lines[2:] == [
        ["1", "demo/pipes", "#41", "programs/demo/lessons/en/pipes.mdx", SIBLINGS[0]],
        ["1", "demo/pipes", "#41", "programs/demo/lessons/en/pipes.mdx", SIBLINGS[1]],
    ]
    assert main(["suggestions", "list", "--translations-behind", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [(record["id"], record["sibling"]) for record in records] == [
        (1, SIBLINGS[0]),
        (1, SIBLINGS[1]),
    ]
    assert records[0]["pr_url"] == "https://github.test/lessons/content/pull/41"


def test_translations_behind_says_when_there_are_none(capsys: Capture) -> None:
    submitted(capsys)  # queued, not merged
    assert main(["suggestions", "list", "--translations-behind"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "No merged suggestion has translations that may need the same change.\n"
    )


def test_translations_behind_does_not_combine_with_status(capsys: Capture) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["suggestions", "list", "--translations-behind", "--status", "merged"])
    assert exit_.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


# --- lessonbot suggestions show


def test_show_prints_the_edit_and_its_events(capsys: Capture, database_url: str) -> None:
    submitted(capsys, "--author", "Ann")
    merge(database_url, 1, SIBLINGS)

    assert main(["suggestions", "show", "1"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Suggestion 1: demo/pipes (en), merged"
    assert "File: programs/demo/lessons/en/pipes.mdx" in out
    assert "Pull request: https://github.test/lessons/content/pull/41" in out
    assert "Suggested by: Ann" in out
    assert "Status page: http://127.0.0.1:8080/suggestions/1" in out
    assert "Reason: Clearer wording" in out
    assert out[out.index("Passage:") + 1] == f"    {PASSAGE}"
    assert out[out.index("Replacement:") + 1] == "    Fixtures are kept small on purpose."
    events = [line.strip().split("  ")[1:] for line in out[out.index("Events:") + 1 :]]
    assert events == [
        ["submitted", "source=cli"],
        ["merged"],
        ["translations_behind", f"siblings={', '.join(SIBLINGS)}"],
    ]


def test_show_json_is_the_view_with_its_events(capsys: Capture) -> None:
    submitted(capsys)

    assert main(["suggestions", "show", "1", "--json"]) == 0

    record = json.loads(capsys.readouterr().out)
    assert record["id"] == 1 and record["status"] == "queued"
    assert record["find"] == PASSAGE
    assert record["credited"] == ["tess"]
    assert record["status_url"] == "http://127.0.0.1:8080/suggestions/1"
    assert [event["kind"] for event in record["events"]] == ["submitted"]
    assert record["events"][0]["detail"] == {"source": "cli"}


def test_show_an_unknown_suggestion_exits_1(capsys: Capture) -> None:
    assert main(["suggestions", "show", "7"]) == 1
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "lessonbot: There is no suggestion 7.\n")
