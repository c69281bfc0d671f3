"""Remember each program's Discord forum and what a lesson's links were last synced with.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "program_forums",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program", sa.String(length=100), nullable=False),
        sa.Column("discord_guild_id", sa.BigInteger(), nullable=False),
        sa.Column("discord_forum_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "tag_ids",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_forums")),
        sa.UniqueConstraint("program", name=op.f("uq_program_forums_program")),
        sa.UniqueConstraint("discord_forum_id", name=op.f("uq_program_forums_discord_forum_id")),
    )
    with op.batch_alter_table("lesson_links") as batch:
        batch.add_column(sa.Column("github_issue_url", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("synced_digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("lesson_links") as batch:
        batch.drop_column("synced_digest")
        batch.drop_column("github_issue_url")
    op.drop_table("program_forums")
