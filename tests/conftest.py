"""Shared test helpers: fixture paths, the optional real corpus, one database per test, and
the e2e/browser/live marks the fast target leaves out.

Database fixtures run every test on SQLite, and on PostgreSQL too when
LESSONBOT_TEST_DATABASE_URL names a server (each test in a schema of its own).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route
from psycopg import sql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.store.engine import make_engine, make_session_factory
from bot.store.migrate import upgrade

TESTS = Path(__file__).parent
FIXTURES = TESTS / "fixtures"
PROJECT = TESTS.parent
# What lies beside the clone (the real corpus and the official specs); CI runs the suite once
# with LESSONBOT_TEST_SHARED pointing nowhere, as a fresh clone would.
SHARED = Path(os.environ.get("LESSONBOT_TEST_SHARED") or PROJECT.parent / "shared")
CORPUS = SHARED / "corpus" / "ai-courses"

# Folders whose tests drive servers over HTTP or the gateway: the sandboxes' own tests and the
# end-to-end ones.
END_TO_END_FOLDERS = frozenset({"e2e", "sandboxes"})


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by these marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by where they are and what they use, so `-m` can leave the slow kinds out."""
    for item in items:
        if not item.path.is_relative_to(TESTS):
            continue
        relative = item.path.relative_to(TESTS)
        if relative.parts[0] in END_TO_END_FOLDERS:
            item.add_marker(pytest.mark.e2e)
        if relative.name.endswith("_live.py"):
            item.add_marker(pytest.mark.live)
        if "browser" in item.fixturenames:
            item.add_marker(pytest.mark.browser)


# Here, not in tests/discord: the live tests in tests/e2e/discord create bots too.
@pytest.fixture(autouse=True)
def restore_discord_endpoints() -> Iterator[None]:
    """Put discord.py's REST base and gateway back: create_bot changes them process-wide."""
    base, gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    yield
    Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = base, gateway


@pytest.fixture
def corpus() -> Path:
    """Return the real lesson corpus, skipping where a fresh clone has none."""
    if not (CORPUS / "programs").is_dir():
        pytest.skip(f"real corpus not present at {CORPUS} (a fresh clone has no ../shared)")
    return CORPUS


def write_lesson(root: Path, relative: str, text: str | bytes) -> Path:
    """Write a lesson file under a content root, creating its folders."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


POSTGRES_ENV = "LESSONBOT_TEST_DATABASE_URL"

# PostgreSQL joins the matrix only when a server is named: no skipped tests otherwise.
BACKENDS = ["sqlite", *(["postgresql"] if os.environ.get(POSTGRES_ENV) else [])]


def _libpq_url(url: str) -> str:
    """Return the URL as plain `postgresql://` (no SQLAlchemy driver suffix), for psycopg."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """Return the URL of a fresh SQLite file."""
    return f"sqlite:///{tmp_path}/test.db"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of an empty database: a SQLite file, or a private PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/test.db"
        return
    base = _libpq_url(os.environ[POSTGRES_ENV])
    schema = f"t_{secrets.token_hex(8)}"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        # libpq's `options` sets search_path for every connection, so the tables and
        # Alembic's version table are all created in (and found in) the test's schema.
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(base, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            )


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a SQLite file migrated to the newest revision, once per test process."""
    path = tmp_path_factory.mktemp("migrated") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def migrated_url(database_url: str, migrated_sqlite_template: Path) -> str:
    """Return the URL of a database migrated to the newest revision."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        # A copy of the migrated file: migrating again takes ~0.3 s, times some 700 tests.
        shutil.copyfile(migrated_sqlite_template, url.database)
    else:
        upgrade(database_url)
    return database_url


@pytest.fixture
async def session_factory(migrated_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Yield an async session factory on a migrated database; dispose the engine after."""
    engine = make_engine(migrated_url)
    try:
        yield make_session_factory(engine)
    finally:
        await engine.dispose()


def rsa_key_pair() -> tuple[str, str]:
    """Return a fresh RSA private key and its public key, as PEM text."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public
