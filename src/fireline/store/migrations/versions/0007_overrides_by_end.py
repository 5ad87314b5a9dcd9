"""schedule overrides by their end, for who is on call across an organisation

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 15:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_schedule_overrides_ends", "schedule_overrides", ["ends_at", "starts_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_schedule_overrides_ends", table_name="schedule_overrides")
