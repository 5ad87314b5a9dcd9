"""public notices on the status page that follow a ticket (Meltano's upstream outages)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fireline.store.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = fireline.store.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "status_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("opened_at", UTC, nullable=False),
        sa.Column("closed_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_status_notices_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_status_notices_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_notices")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_status_notices_ticket_id")),
    )
    op.create_index("ix_status_notices_org_opened", "status_notices", ["org_id", "opened_at"])


def downgrade() -> None:
    op.drop_index("ix_status_notices_org_opened", table_name="status_notices")
    op.drop_table("status_notices")
