"""Give outbox jobs a priority, claimed before when they are due.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# bot/domain/priorities.py, as of this revision (a migration must not change with the code).
URGENT, NORMAL = 0, 2
URGENT_KINDS = ("suggestion", "suggestion_notify", "digest")

JOBS = sa.table(
    "outbox_jobs",
    sa.column("kind", sa.String),
    sa.column("priority", sa.SmallInteger),
)


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("outbox_jobs") as batch:
        batch.add_column(
            sa.Column("priority", sa.SmallInteger(), nullable=False, server_default=str(NORMAL))
        )
        batch.drop_index("ix_outbox_jobs_due")
        batch.create_index(
            "ix_outbox_jobs_claim", ["status", "priority", "run_after", "id"], unique=False
        )
    # Jobs already recorded take their kind's priority: a pending PR or notice goes first.
    op.execute(sa.update(JOBS).where(JOBS.c.kind.in_(URGENT_KINDS)).values(priority=URGENT))


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("outbox_jobs") as batch:
        batch.drop_index("ix_outbox_jobs_claim")
        batch.create_index("ix_outbox_jobs_due", ["status", "run_after"], unique=False)
        batch.drop_column("priority")
