"""Name every job's operation `op`: linking jobs said `action`, the others `op`.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOBS = sa.table(
    "outbox_jobs",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("payload", sa.JSON),
)


def _renamed(old: str, new: str) -> None:
    # Rewritten row by row in Python: JSON key renames are spelled differently in SQLite
    # and PostgreSQL, and linking jobs number one per lesson, not millions.
    connection = op.get_bind()
    rows = connection.execute(sa.select(JOBS.c.id, JOBS.c.payload).where(JOBS.c.kind == "linking"))
    for job_id, payload in rows.all():
        if not isinstance(payload, dict) or old not in payload:
            continue
        changed: dict[str, Any] = {
            (new if key == old else key): value for key, value in payload.items()
        }
        connection.execute(sa.update(JOBS).where(JOBS.c.id == job_id).values(payload=changed))


def upgrade() -> None:
    """Apply this revision."""
    _renamed("action", "op")


def downgrade() -> None:
    """Revert this revision."""
    _renamed("op", "action")
