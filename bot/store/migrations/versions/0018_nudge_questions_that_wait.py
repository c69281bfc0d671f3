"""Nudge questions that wait: a claim per nudge, and a question's reopenings.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("questions") as batch:
        batch.add_column(sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("reopen_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("first_answered_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "question_nudges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("post", sa.String(length=100), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("skipped", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questions.id"],
            name=op.f("fk_question_nudges_question_id_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_nudges")),
        sa.UniqueConstraint(
            "question_id", "kind", "round", name=op.f("uq_question_nudges_question_id_kind_round")
        ),
        sa.UniqueConstraint("post", "day", "slot", name=op.f("uq_question_nudges_post_day_slot")),
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("question_nudges")
    with op.batch_alter_table("questions") as batch:
        batch.drop_column("first_answered_at")
        batch.drop_column("reopen_count")
        batch.drop_column("reopened_at")
