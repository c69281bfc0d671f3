"""Follow suggested edits to their pull requests: credits, events, conflicts, app secrets.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
OLD_STATUSES = ("queued", "open", "changes_requested", "approved", "merged", "closed", "failed")
NEW_STATUSES = (*OLD_STATUSES[:-1], "conflict", "withdrawn", "failed")


def _status_check(statuses: Sequence[str]) -> str:
    return "status IN (" + ", ".join(f"'{status}'" for status in statuses) + ")"


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("suggestions") as batch:
        batch.drop_constraint(op.f("ck_suggestions_suggestion_status"), type_="check")
        batch.create_check_constraint("suggestion_status", _status_check(NEW_STATUSES))
        batch.add_column(sa.Column("path", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("base_sha", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("head_sha", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("pr_url", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=True))
        batch.create_index("ix_suggestions_fingerprint", ["fingerprint"], unique=False)

    op.create_table(
        "suggestion_credits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("suggestion_id", sa.Integer(), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "discord",
                "web",
                "api",
                "cli",
                name="credit_source",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("person", sa.String(length=400), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("discord_user_id", sa.BigInteger(), nullable=True),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["suggestion_id"],
            ["suggestions.id"],
            name=op.f("fk_suggestion_credits_suggestion_id_suggestions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestion_credits")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_suggestion_credits_idempotency_key")),
        sa.UniqueConstraint(
            "suggestion_id", "person", name=op.f("uq_suggestion_credits_suggestion_id_person")
        ),
    )
    with op.batch_alter_table("suggestion_credits") as batch:
        batch.create_index(
            batch.f("ix_suggestion_credits_suggestion_id"), ["suggestion_id"], unique=False
        )

    op.create_table(
        "suggestion_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("suggestion_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["suggestion_id"],
            ["suggestions.id"],
            name=op.f("fk_suggestion_events_suggestion_id_suggestions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestion_events")),
    )
    with op.batch_alter_table("suggestion_events") as batch:
        batch.create_index(
            batch.f("ix_suggestion_events_suggestion_id"), ["suggestion_id"], unique=False
        )

    op.create_table(
        "app_secrets",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_app_secrets")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("app_secrets")
    op.drop_table("suggestion_events")
    op.drop_table("suggestion_credits")
    # Statuses the old schema does not know become the nearest it does.
    op.execute("UPDATE suggestions SET status = 'failed' WHERE status = 'conflict'")
    op.execute("UPDATE suggestions SET status = 'closed' WHERE status = 'withdrawn'")
    with op.batch_alter_table("suggestions") as batch:
        batch.drop_index("ix_suggestions_fingerprint")
        batch.drop_column("fingerprint")
        batch.drop_column("pr_url")
        batch.drop_column("head_sha")
        batch.drop_column("base_sha")
        batch.drop_column("path")
        batch.drop_constraint(op.f("ck_suggestions_suggestion_status"), type_="check")
        batch.create_check_constraint("suggestion_status", _status_check(OLD_STATUSES))
