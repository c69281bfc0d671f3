"""Let a suggestion be answered: the suggester took a proposed text or revised it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = (
    "queued",
    "open",
    "changes_requested",
    "approved",
    "merged",
    "closed",
    "conflict",
    "withdrawn",
    "failed",
)
NEW_STATUSES = (*OLD_STATUSES[:3], "answered", *OLD_STATUSES[3:])


def _status_check(statuses: Sequence[str]) -> str:
    return "status IN (" + ", ".join(f"'{status}'" for status in statuses) + ")"


def upgrade() -> None:
    """Apply this revision."""
    # The status is a string with a CHECK constraint (no native enum): widen the check.
    with op.batch_alter_table("suggestions") as batch:
        batch.drop_constraint(op.f("ck_suggestions_suggestion_status"), type_="check")
        batch.create_check_constraint("suggestion_status", _status_check(NEW_STATUSES))


def downgrade() -> None:
    """Revert this revision."""
    # The old schema has no `answered`: the reviewer had asked for changes, so say that.
    op.execute("UPDATE suggestions SET status = 'changes_requested' WHERE status = 'answered'")
    with op.batch_alter_table("suggestions") as batch:
        batch.drop_constraint(op.f("ck_suggestions_suggestion_status"), type_="check")
        batch.create_check_constraint("suggestion_status", _status_check(OLD_STATUSES))
