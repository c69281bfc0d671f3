"""Let outbox jobs wait out a rate limit visibly, and find old webhook deliveries quickly.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("outbox_jobs") as batch:
        batch.add_column(sa.Column("wait_reason", sa.String(length=200), nullable=True))
    op.create_index(
        "ix_webhook_deliveries_received_at", "webhook_deliveries", ["received_at"], unique=False
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index("ix_webhook_deliveries_received_at", table_name="webhook_deliveries")
    with op.batch_alter_table("outbox_jobs") as batch:
        batch.drop_column("wait_reason")
