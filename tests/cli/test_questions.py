"""`lessonbot questions list`: the tracked questions, open or all, by program, as JSON."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.services.questions import QuestionService
from bot.store.engine import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.store.models import Lesson, LessonLink, Question, QuestionSource
from tests.services.test_questions import T0

Capture = pytest.CaptureFixture[str]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    """Run each command in an empty folder, on a database with three questions, one answered."""
    for name in list(os.environ):
        if name.startswith("LESSONBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LESSONBOT_DATABASE_URL", database_url)
    upgrade(database_url)

    async def fill() -> None:
        engine = make_engine(database_url)
        try:
            sessions = make_session_factory(engine)
            async with sessions() as session, session.begin():
                for program, slug, thread in (("demo", "pipes", 100), ("intro", "hello", 200)):
                    lesson = Lesson(program=program, slug=slug)
                    session.add(lesson)
                    await session.flush()
                    session.add(LessonLink(lesson_id=lesson.id, discord_thread_id=thread))
            questions = QuestionService(sessions, Settings())
            for message, thread, author, text, minutes in (
                (1, 100, 1, "How do I pipe?", 0),
                (2, 100, 2, "Use |.", 1),
                (3, 100, 3, "¿Por qué falla grep?", 2),
                (4, 200, 1, "What is\nhello?", 3),
            ):
                await questions.on_discord_message(
                    thread,
                    message,
                    author,
                    f"user{author}",
                    text,
                    created_at=T0 + timedelta(minutes=minutes),
                )
        finally:
            await engine.dispose()

    asyncio.run(fill())


def test_list_prints_every_question_with_its_state(capsys: Capture) -> None:
    assert main_ok(["questions", "list"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert (
        "answered" in lines[0] and "demo/pipes" in lines[0] and "user1: How do I pipe?" in lines[0]
    )
    assert "open" in lines[1] and "¿Por qué falla grep?" in lines[1]
    # A line break in a question never breaks the listing.
    assert lines[2].endswith("intro/hello  user1: What is hello?")


def test_list_open_and_program_filter_as_json(capsys: Capture) -> None:
    assert main_ok(["questions", "list", "--open", "--json"])
    records = json.loads(capsys.readouterr().out)
    assert [(r["lesson"], r["state"], r["locale"]) for r in records] == [
        ("demo/pipes", "open", "es"),
        ("intro/hello", "open", "en"),  # "What is" says English
    ]
    assert records[0]["rule"] == "question_mark"

    assert main_ok(["questions", "list", "--program", "intro", "--json"])
    records = json.loads(capsys.readouterr().out)
    assert [r["text"] for r in records] == ["What is\nhello?"]


def test_list_says_who_answered_or_resolved_each_and_how(
    capsys: Capture, database_url: str
) -> None:
    async def more() -> None:
        engine = make_engine(database_url)
        try:
            questions = QuestionService(make_session_factory(engine), Settings())
            # Chatter answers nothing; a reply answers; the asker resolves the last one.
            for message, author, text, reply_to in (
                (5, 4, "Great lesson, thanks!", None),
                (6, 4, "+1, same here", None),
                (7, 5, "Quote the pattern: grep 'a|b'.", 3),
            ):
                await questions.on_discord_message(
                    100, message, author, f"user{author}", text, reply_to=reply_to
                )
            await questions.resolve(200, 1, message_id=4)
        finally:
            await engine.dispose()

    asyncio.run(more())
    assert main_ok(["questions", "list"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("[answered by user2 (a later message)]")
    assert lines[1].endswith("[answered by user5 (a reply)]")
    assert lines[2].endswith("[resolved by the asker with /resolve]")

    assert main_ok(["questions", "list", "--json"])
    records = json.loads(capsys.readouterr().out)
    assert [(r["answered_by"], r["answered_how"], r["outcome"]) for r in records[:2]] == [
        ("user2", "later_message", "answered by user2 (a later message)"),
        ("user5", "reply", "answered by user5 (a reply)"),
    ]
    assert (records[2]["resolved_how"], records[2]["state"]) == ("command", "resolved")


def test_list_names_the_program_of_a_question_waiting_for_its_lesson(
    capsys: Capture, database_url: str
) -> None:
    async def help_post() -> None:
        engine = make_engine(database_url)
        try:
            async with make_session_factory(engine)() as session, session.begin():
                session.add(
                    Question(
                        source=QuestionSource.DISCORD,
                        external_id="900",
                        container_id="900",
                        program="data-basics",
                        author_id="7",
                        author_name="ana",
                        text="Stuck on the quiz\nQuestion 3 fails",
                        asked_at=T0 + timedelta(minutes=9),
                        rule="help_post",
                    )
                )
        finally:
            await engine.dispose()

    asyncio.run(help_post())
    assert main_ok(["questions", "list", "--program", "data-basics"])
    [line] = capsys.readouterr().out.splitlines()
    assert line.endswith("data-basics (no lesson yet)  ana: Stuck on the quiz Question 3 fails")
    assert main_ok(["questions", "list", "--program", "data-basics", "--json"])
    [record] = json.loads(capsys.readouterr().out)
    assert (record["lesson"], record["program"], record["rule"]) == ("", "data-basics", "help_post")


def test_list_says_when_there_are_none(capsys: Capture) -> None:
    assert main_ok(["questions", "list", "--program", "nothing"])
    out, err = capsys.readouterr()
    assert out == "" and "No questions." in err


def main_ok(argv: list[str]) -> bool:
    from bot.cli import main

    return main(argv) == 0


def test_stats_prints_the_share_met_per_program_language_and_lesson(capsys: Capture) -> None:
    # One question answered a minute after it was asked; two never answered, long past
    # the 24 hours (T0 is over a day before any run of this test).
    assert main_ok(["questions", "stats", "--since", "all"])
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "First replies: target 80% within 1 day"
    assert lines[1] == "Period: all time"
    assert lines[2] == ("Replied in time: 33% (1 of 3), below target · still within the window: 0")
    assert lines[3].startswith("Answered: 1 of 3 · unanswered: 2 (66%) · median time")
    assert "Lessons missing the target most" in out
    table = {
        line.split()[0]: line.split()[1:6] for line in lines if line.startswith(("demo", "intro"))
    }
    # Per program: demo met 1 and missed 1; intro missed its one. Worst lessons: both.
    assert table["demo"] == ["50%", "1", "1", "0", "1"]
    assert table["intro"] == ["0%", "0", "1", "0", "1"]
    assert table["demo/pipes"][2] == "1" and table["intro/hello"][2] == "1"
    assert "Spanish" in out and "English" in out


def test_stats_as_json_with_filters(capsys: Capture) -> None:
    assert main_ok(["questions", "stats", "--since", "all", "--json"])
    record = json.loads(capsys.readouterr().out)
    assert record["target"] == {"share": 0.8, "window_seconds": 86400}
    assert record["met_target"] is False
    overall = record["overall"]
    assert (overall["met"], overall["missed"], overall["pending"]) == (1, 2, 0)
    assert overall["share_met"] == 0.3333 and overall["unanswered"] == 2
    assert overall["median_first_reply_seconds"] == 60
    assert [p["program"] for p in record["programs"]] == ["demo", "intro"]
    # Ties go by program, then lesson.
    assert [(w["lesson"], w["missed"]) for w in record["worst_lessons"]] == [
        ("pipes", 1),
        ("hello", 1),
    ]

    assert main_ok(["questions", "stats", "--since", "all", "--locale", "es", "--json"])
    record = json.loads(capsys.readouterr().out)
    assert [loc["locale"] for loc in record["locales"]] == ["es"]
    assert record["overall"]["missed"] == 1 and record["overall"]["met"] == 0

    assert main_ok(["questions", "stats", "--since", "all", "--program", "intro", "--json"])
    record = json.loads(capsys.readouterr().out)
    assert [p["program"] for p in record["programs"]] == ["intro"]


def test_stats_in_arabic_and_when_empty(capsys: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LESSONBOT_LOCALE", "ar")
    assert main_ok(["questions", "stats", "--since", "all"])
    out = capsys.readouterr().out
    assert "الردود الأولى" in out and "الإسبانية" in out
    assert "reply_target." not in out and "Replied" not in out
    monkeypatch.setenv("LESSONBOT_LOCALE", "en")
    assert main_ok(["questions", "stats", "--program", "nothing"])
    assert "No questions in this period." in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (
            ["--since", "a month"],
            "--since takes a duration such as 30d, 12h or 90m, not “a month”.",
        ),
        (["--since", "0d"], "not “0d”"),
        (["--locale", "es%"], "--locale takes a language code such as es or pt-BR, not “es%”."),
    ],
)
def test_stats_refuses_bad_options_in_one_line(argv: list[str], said: str, capsys: Capture) -> None:
    from bot.cli import main

    assert main(["questions", "stats", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and said in err and len(err.strip().splitlines()) == 1
