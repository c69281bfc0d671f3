"""Hold suggestions for moderators: held and rejected statuses, verdicts, a block list.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
OLD_STATUSES = (
    "queued",
    "open",
    "changes_requested",
    "answered",
    "approved",
    "merged",
    "closed",
    "conflict",
    "withdrawn",
    "failed",
)
NEW_STATUSES = (*OLD_STATUSES, "held", "rejected")
TEXT_INDEX = "ix_suggestions_text_hash_created_at"


def _status_check(statuses: Sequence[str]) -> str:
    return "status IN (" + ", ".join(f"'{status}'" for status in statuses) + ")"


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("suggestions") as batch:
        batch.drop_constraint(op.f("ck_suggestions_suggestion_status"), type_="check")
        batch.create_check_constraint("suggestion_status", _status_check(NEW_STATUSES))
        batch.add_column(sa.Column("text_hash", sa.String(length=64), nullable=True))
        batch.create_index(TEXT_INDEX, ["text_hash", "created_at"], unique=False)
    op.create_table(
        "suggestion_moderation",
        sa.Column("suggestion_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("signals", JSON, nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["suggestion_id"],
            ["suggestions.id"],
            name=op.f("fk_suggestion_moderation_suggestion_id_suggestions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("suggestion_id", name=op.f("pk_suggestion_moderation")),
    )
    op.create_table(
        "moderation_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_blocks")),
        sa.UniqueConstraint("kind", "value", name=op.f("uq_moderation_blocks_kind_value")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("moderation_blocks")
    op.drop_table("suggestion_moderation")
    # The old schema has neither status: what waited for a moderator, or was turned down,
    # never reached GitHub, so it ends as closed there.
    op.execute("UPDATE suggestions SET status = 'closed' WHERE status IN ('held', 'rejected')")
    with op.batch_alter_table("suggestions") as batch:
        batch.drop_index(TEXT_INDEX)
        batch.drop_column("text_hash")
        batch.drop_constraint(op.f("ck_suggestions_suggestion_status"), type_="check")
        batch.create_check_constraint("suggestion_status", _status_check(OLD_STATUSES))
