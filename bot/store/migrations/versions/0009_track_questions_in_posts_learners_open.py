"""Track questions in posts learners open in a program's forum: help posts, and questions
of a program whose lesson is not known yet.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "help_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("discord_thread_id", sa.BigInteger(), nullable=False),
        sa.Column("discord_forum_id", sa.BigInteger(), nullable=False),
        sa.Column("program", sa.String(length=100), nullable=False),
        sa.Column("author_id", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("lesson_id", sa.Integer(), nullable=True),
        sa.Column("linked_how", sa.String(length=32), nullable=True),
        sa.Column("picker_message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lesson_id"], ["lessons.id"], name=op.f("fk_help_posts_lesson_id_lessons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_help_posts")),
        sa.UniqueConstraint("discord_thread_id", name=op.f("uq_help_posts_discord_thread_id")),
    )
    with op.batch_alter_table("questions") as batch:
        batch.add_column(sa.Column("program", sa.String(length=100), nullable=True))
        batch.alter_column("lesson_id", existing_type=sa.Integer(), nullable=True)
        batch.create_check_constraint(
            op.f("ck_questions_lesson_or_program"),
            "lesson_id IS NOT NULL OR program IS NOT NULL",
        )


def downgrade() -> None:
    """Undo this revision: questions without a lesson go with it."""
    op.execute("DELETE FROM questions WHERE lesson_id IS NULL")
    with op.batch_alter_table("questions") as batch:
        batch.drop_constraint(op.f("ck_questions_lesson_or_program"), type_="check")
        batch.alter_column("lesson_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("program")
    op.drop_table("help_posts")
