"""Index suggestion credits by person and time: the hourly limit counts them per submission.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_suggestion_credits_person_created_at"


def upgrade() -> None:
    op.create_index(INDEX, "suggestion_credits", ["person", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="suggestion_credits")
