"""The shipped migrations build exactly the models' schema, and undo it, on every database."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from bot.store.engine import make_engine, make_sync_engine
from bot.store.migrate import current_revision, downgrade, head_revision, upgrade
from bot.store.models import Base
from tests.conftest import PROJECT

MODEL_TABLES = frozenset(Base.metadata.tables)


def _tables(url: str) -> set[str]:
    engine = make_sync_engine(url)
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def test_models_declare_the_expected_tables() -> None:
    assert set(Base.metadata.tables) == {
        "lessons",
        "lesson_files",
        "lesson_links",
        "suggestions",
        "questions",
        "digest_runs",
        "digest_deliveries",
        "outbox_jobs",
        "webhook_deliveries",
        "program_forums",
        "bridged_comments",
        "suggestion_credits",
        "suggestion_events",
        "app_secrets",
        "help_posts",
        "rate_budget_states",
        "rate_budget_spends",
        "thread_marks",
        "suggestion_moderation",
        "moderation_blocks",
        "change_notices",
        "question_nudges",
        "email_confirmations",
    }


def test_upgrade_on_an_empty_database_creates_every_table(database_url: str) -> None:
    assert current_revision(database_url) is None
    assert _tables(database_url) == set()

    assert upgrade(database_url) == head_revision()

    assert current_revision(database_url) == head_revision()
    assert _tables(database_url) == MODEL_TABLES | {"alembic_version"}


def test_migrated_schema_matches_the_models(migrated_url: str) -> None:
    engine = make_sync_engine(migrated_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_migrated_constraints_carry_the_conventional_names(migrated_url: str) -> None:
    engine = make_sync_engine(migrated_url)
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)
            foreign_keys = {fk["name"] for fk in inspector.get_foreign_keys("lesson_files")}
            uniques = {uq["name"] for uq in inspector.get_unique_constraints("suggestions")}
            checks = {ck["name"] for ck in inspector.get_check_constraints("suggestions")}
    finally:
        engine.dispose()
    assert foreign_keys == {"fk_lesson_files_lesson_id_lessons"}
    assert uniques == {
        "uq_suggestions_branch",
        "uq_suggestions_idempotency_key",
        "uq_suggestions_pr_number",
    }
    assert checks == {"ck_suggestions_suggestion_source", "ck_suggestions_suggestion_status"}


def test_upgrade_is_idempotent(database_url: str) -> None:
    assert upgrade(database_url) == head_revision()
    assert upgrade(database_url) == head_revision()

    assert current_revision(database_url) == head_revision()
    assert _tables(database_url) == MODEL_TABLES | {"alembic_version"}


def test_downgrade_to_base_removes_the_tables_and_upgrade_rebuilds_them(
    migrated_url: str,
) -> None:
    downgrade(migrated_url, "base")

    assert current_revision(migrated_url) is None
    assert _tables(migrated_url) & MODEL_TABLES == set()

    assert upgrade(migrated_url) == head_revision()
    assert _tables(migrated_url) == MODEL_TABLES | {"alembic_version"}


def test_sqlite_sync_engine_sets_wal_and_foreign_keys(sqlite_url: str) -> None:
    engine = make_sync_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            journal_mode = connection.execute(text("PRAGMA journal_mode")).scalar_one()
            foreign_keys = connection.execute(text("PRAGMA foreign_keys")).scalar_one()
            busy_timeout = connection.execute(text("PRAGMA busy_timeout")).scalar_one()
            synchronous = connection.execute(text("PRAGMA synchronous")).scalar_one()
    finally:
        engine.dispose()
    assert journal_mode == "wal"
    assert foreign_keys == 1
    assert busy_timeout == 5000
    assert synchronous == 1  # NORMAL: safe with WAL, and no fsync per commit


async def test_sqlite_async_engine_sets_wal_and_foreign_keys(sqlite_url: str) -> None:
    # A fresh file: WAL persists in the database, so it must be this engine that set it.
    engine = make_engine(sqlite_url)
    try:
        async with engine.connect() as connection:
            journal_mode = (await connection.execute(text("PRAGMA journal_mode"))).scalar_one()
            foreign_keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one()
            busy_timeout = (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one()
            synchronous = (await connection.execute(text("PRAGMA synchronous"))).scalar_one()
    finally:
        await engine.dispose()
    assert journal_mode == "wal"
    assert foreign_keys == 1
    assert busy_timeout == 5000
    assert synchronous == 1


@pytest.mark.parametrize("url", ["mysql://localhost/db", "oracle://localhost/db"])
def test_unsupported_databases_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="unsupported database"):
        make_sync_engine(url)


def test_suggestion_statuses_added_later_are_accepted_and_unknown_ones_refused(
    migrated_url: str,
) -> None:
    engine = make_sync_engine(migrated_url)
    now = "2026-11-29 00:00:00"
    insert = text(
        "INSERT INTO suggestions (source, author_id, author_name, author_locale, lesson_id,"
        " locale, edit, status, idempotency_key, created_at, updated_at)"
        " VALUES ('api', 'a', 'A', 'en', 1, 'en', '{}', :status, :key, :now, :now)"
    )
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO lessons (id, program, slug, created_at, updated_at)"
                    " VALUES (1, 'p', 's', :now, :now)"
                ),
                {"now": now},
            )
            for status in ("conflict", "withdrawn", "queued", "answered", "held", "rejected"):
                connection.execute(insert, {"status": status, "key": status, "now": now})
        with pytest.raises(Exception, match=r"(?i)check"), engine.begin() as connection:
            connection.execute(insert, {"status": "bogus", "key": "bogus", "now": now})
    finally:
        engine.dispose()


def test_linking_jobs_recorded_before_0011_name_their_operation_op(database_url: str) -> None:
    upgrade(database_url, "0010")
    engine = make_sync_engine(database_url)
    jobs = {
        "linking": ({"action": "remove", "identity": "a/b"}, {"op": "remove", "identity": "a/b"}),
        "suggestion": ({"op": "open"}, {"op": "open"}),
        # Another kind's own "action" is its business, not this migration's.
        "digest": ({"action": "send"}, {"action": "send"}),
    }
    try:
        with engine.begin() as connection:
            for kind, (payload, _) in jobs.items():
                connection.execute(
                    text(
                        "INSERT INTO outbox_jobs (kind, payload, dedupe_key, status, attempts,"
                        " max_attempts, run_after, revision, uncertain, created_at, updated_at)"
                        " VALUES (:kind, :payload, :kind, 'done', 1, 8, :now, 1, false, :now, :now)"
                    ),
                    {"kind": kind, "payload": json.dumps(payload), "now": "2026-12-06 09:00:00"},
                )
        upgrade(database_url)
        with engine.connect() as connection:
            found = dict(connection.execute(text("SELECT kind, payload FROM outbox_jobs")).all())
        assert {kind: _json(value) for kind, value in found.items()} == {
            kind: after for kind, (_, after) in jobs.items()
        }
        downgrade(database_url, "0010")
        with engine.connect() as connection:
            found = dict(connection.execute(text("SELECT kind, payload FROM outbox_jobs")).all())
        assert {kind: _json(value) for kind, value in found.items()} == {
            kind: before for kind, (before, _) in jobs.items()
        }
    finally:
        engine.dispose()


def _json(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


def test_0012_adds_the_rate_budgets_and_takes_them_away_again(database_url: str) -> None:
    upgrade(database_url, "0011")
    assert not {"rate_budget_states", "rate_budget_spends"} & _tables(database_url)
    upgrade(database_url, "0012")
    engine = make_sync_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO rate_budget_states (name, blocked_until, updated_at)"
                    " VALUES ('github.primary', 1800000000.5, :now)"
                ),
                {"now": "2026-12-08 09:00:00"},
            )
            connection.execute(
                text(
                    "INSERT INTO rate_budget_spends (budget, spent_at)"
                    " VALUES ('discord.global', 1800000000.25)"
                )
            )
        with engine.connect() as connection:
            # Sub-second times survive: the windows are a second long.
            assert connection.execute(text("SELECT spent_at FROM rate_budget_spends")).scalar() == (
                1800000000.25
            )
        downgrade(database_url, "0011")
        assert not {"rate_budget_states", "rate_budget_spends"} & _tables(database_url)
        upgrade(database_url)
        assert {"rate_budget_states", "rate_budget_spends"} <= _tables(database_url)
    finally:
        engine.dispose()


def test_jobs_recorded_before_0013_take_their_kinds_priority_and_lose_it_on_the_way_down(
    database_url: str,
) -> None:
    upgrade(database_url, "0012")
    engine = make_sync_engine(database_url)
    try:
        with engine.begin() as connection:
            for kind in ("linking", "suggestion", "suggestion_notify", "digest", "bridge"):
                connection.execute(
                    text(
                        "INSERT INTO outbox_jobs (kind, payload, dedupe_key, status, attempts,"
                        " max_attempts, run_after, revision, uncertain, created_at, updated_at)"
                        " VALUES (:kind, '{}', :kind, 'pending', 0, 8, :now, 1, false, :now, :now)"
                    ),
                    {"kind": kind, "now": "2026-12-08 09:00:00"},
                )
        upgrade(database_url, "0013")
        with engine.connect() as connection:
            found = dict(connection.execute(text("SELECT kind, priority FROM outbox_jobs")).all())
            indexes = {index["name"] for index in inspect(connection).get_indexes("outbox_jobs")}
        assert found == {
            "linking": 2,
            "suggestion": 0,
            "suggestion_notify": 0,
            "digest": 0,
            "bridge": 2,
        }
        assert "ix_outbox_jobs_claim" in indexes and "ix_outbox_jobs_due" not in indexes
        downgrade(database_url, "0012")
        with engine.connect() as connection:
            columns = {column["name"] for column in inspect(connection).get_columns("outbox_jobs")}
            indexes = {index["name"] for index in inspect(connection).get_indexes("outbox_jobs")}
            kept = connection.execute(text("SELECT count(*) FROM outbox_jobs")).scalar()
        assert "priority" not in columns and "ix_outbox_jobs_due" in indexes
        assert kept == 5
    finally:
        engine.dispose()


def test_0014_indexes_suggestion_credits_by_person_and_time_and_undoes_it(
    database_url: str,
) -> None:
    upgrade(database_url, "0014")
    assert "ix_suggestion_credits_person_created_at" in _indexes(database_url)

    downgrade(database_url, "0013")
    assert "ix_suggestion_credits_person_created_at" not in _indexes(database_url)
    assert upgrade(database_url) == head_revision()


def test_0015_keeps_a_mark_per_forum_post_and_undoes_it(database_url: str) -> None:
    upgrade(database_url, "0015")
    engine = make_sync_engine(database_url)
    try:
        with engine.begin() as connection:
            # Snowflakes exceed 2**31: the columns hold them on both databases.
            connection.execute(
                text(
                    "INSERT INTO thread_marks (discord_thread_id, last_message_id, updated_at)"
                    " VALUES (1300000000000000001, 1300000000000000099, '2026-12-06 10:00:00')"
                )
            )
            kept = connection.execute(text("SELECT last_message_id FROM thread_marks")).scalar()
    finally:
        engine.dispose()
    assert kept == 1300000000000000099

    downgrade(database_url, "0014")
    assert "thread_marks" not in _tables(database_url)
    assert upgrade(database_url) == head_revision()


def test_0017_keeps_one_change_notice_per_question_and_pull_request(database_url: str) -> None:
    upgrade(database_url, "0017")
    engine = make_sync_engine(database_url)
    insert = text(
        "INSERT INTO change_notices (question_id, pr_number, path, score, reasons,"
        " created_at, updated_at) VALUES (:question, 7, 'p.mdx', 0.5, '{}',"
        " '2026-12-06 10:00:00', '2026-12-06 10:00:00')"
    )
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO lessons (id, program, slug, created_at, updated_at)"
                    " VALUES (1, 'p', 's', '2026-12-06 10:00:00', '2026-12-06 10:00:00')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO questions (id, source, external_id, container_id, lesson_id,"
                    " author_id, author_name, text, asked_at, answered_by_staff, created_at,"
                    " updated_at) VALUES (1, 'discord', 'm1', 't1', 1, 'u', 'U', 'why?',"
                    " '2026-12-06 10:00:00', false, '2026-12-06 10:00:00',"
                    " '2026-12-06 10:00:00')"
                )
            )
            connection.execute(insert, {"question": 1})
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(insert, {"question": 1})
    finally:
        engine.dispose()

    downgrade(database_url, "0016")
    assert "change_notices" not in _tables(database_url)
    assert upgrade(database_url) == head_revision()


def _indexes(url: str) -> set[str]:
    engine = make_sync_engine(url)
    try:
        with engine.connect() as connection:
            return {
                index["name"] for index in inspect(connection).get_indexes("suggestion_credits")
            }
    finally:
        engine.dispose()


async def test_only_a_database_server_is_pinged_when_a_connection_is_taken(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        # A SQLite file's connection never drops; a server's may, after a restart.
        assert engine.sync_engine.pool._pre_ping == (engine.dialect.name != "sqlite")
    finally:
        await engine.dispose()


def test_processes_that_migrate_at_once_take_turns(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's advisory lock; a SQLite site runs one process")
    # Four processes' worth of `lessonbot run` starting together on a fresh database
    # (processes: Alembic's context is one per process).
    script = "import sys; from bot.store.migrate import upgrade; print(upgrade(sys.argv[1]))"
    started = [
        subprocess.Popen(
            [sys.executable, "-c", script, database_url],
            cwd=PROJECT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outcomes = [process.communicate(timeout=120) for process in started]
    assert [process.returncode for process in started] == [0] * 4, [err for _, err in outcomes]
    assert [out.strip() for out, _ in outcomes] == [head_revision()] * 4
