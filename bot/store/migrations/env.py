"""Alembic environment: migrate the database the caller names, with our models' metadata."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from bot.store.engine import make_sync_engine
from bot.store.models import Base, UTCDateTime

# The advisory lock key migrations take on PostgreSQL ("lessonbot migrate").
MIGRATION_LOCK = 0x6C6573736F6E6D67
config = context.config
url = config.attributes["database_url"]


def render_item(type_: str, item: object, autogen_context: object) -> str | bool:
    """Render our column types as plain SQLAlchemy, so migrations never import models."""
    if type_ == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_offline() -> None:
    """Emit SQL for the migrations without a database connection."""
    context.configure(
        url=url, target_metadata=Base.metadata, literal_binds=True, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Apply the migrations over a connection, one transaction."""
    engine = make_sync_engine(url)
    try:
        with engine.connect() as connection:
            # Processes started together (roles, replicas) all migrate at start: on
            # PostgreSQL they take turns, and the later ones find the work done. The lock
            # is the session's, so it is committed at once and outlives the transaction.
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
                connection.commit()
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                # SQLite cannot ALTER most things: batch mode rebuilds tables instead.
                render_as_batch=True,
                compare_type=True,
                render_item=render_item,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
