"""Remember which Discord messages go with each comment on a lesson's issue, both ways.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "bridged_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("github_comment_id", sa.BigInteger(), nullable=False),
        sa.Column("github_issue_number", sa.Integer(), nullable=False),
        sa.Column("discord_thread_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "discord_message_ids",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("discord_source_message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bridged_comments")),
        sa.UniqueConstraint(
            "github_comment_id", name=op.f("uq_bridged_comments_github_comment_id")
        ),
        sa.UniqueConstraint(
            "discord_source_message_id",
            name=op.f("uq_bridged_comments_discord_source_message_id"),
        ),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("bridged_comments")
