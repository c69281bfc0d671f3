"""Run the Alembic migrations that ship inside the package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from bot.store.engine import check_writable, make_sync_engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    """Return an Alembic config pointing at our migrations and this database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Kept out of the ini options: a password in the URL must not reach Alembic's logging.
    config.attributes["database_url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> str:
    """Migrate the database to a revision (head by default); return where it now is."""
    # Even with nothing to migrate, a caller upgrading means to write: fail now, not later.
    check_writable(url)
    command.upgrade(alembic_config(url), revision)
    return current_revision(url) or "base"


def downgrade(url: str, revision: str) -> None:
    """Migrate the database down to a revision."""
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    """Return the database's current revision, or None before the first migration."""
    engine = make_sync_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    """Return the newest revision the package ships."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head
