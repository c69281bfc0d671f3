"""Track questions: the rule that caught each, its answer, who resolved it, and drops.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STRINGS = (
    ("rule", 40),
    ("cue", 200),
    ("locale", 16),
    ("answer_id", 100),
    ("answered_how", 32),
    ("resolved_by", 200),
    ("resolved_how", 32),
    ("drop_reason", 32),
)


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("questions") as batch:
        for name, length in _STRINGS:
            batch.add_column(sa.Column(name, sa.String(length=length), nullable=True))
        batch.add_column(
            sa.Column("answered_by_staff", sa.Boolean(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("dropped_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("questions") as batch:
        batch.drop_column("dropped_at")
        batch.drop_column("answered_by_staff")
        for name, _ in reversed(_STRINGS):
            batch.drop_column(name)
