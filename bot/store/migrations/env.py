"""Alembic environment: migrate the database the caller names, with our models' metadata."""

from __future__ import annotations

from alembic import context

from bot.store.engine import make_sync_engine
from bot.store.models import Base, UTCDateTime

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
