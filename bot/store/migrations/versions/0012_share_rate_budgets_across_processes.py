"""Share the budgets of external rate limits (GitHub's, Discord's) across processes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "rate_budget_states",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("blocked_until", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rate_budget_states")),
    )
    op.create_table(
        "rate_budget_spends",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("budget", sa.String(length=200), nullable=False),
        sa.Column("spent_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_budget_spends")),
    )
    op.create_index(
        "ix_rate_budget_spends_budget_spent_at",
        "rate_budget_spends",
        ["budget", "spent_at"],
        unique=False,
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index("ix_rate_budget_spends_budget_spent_at", table_name="rate_budget_spends")
    op.drop_table("rate_budget_spends")
    op.drop_table("rate_budget_states")
