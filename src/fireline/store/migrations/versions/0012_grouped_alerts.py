"""grouped_alerts: the fingerprints a storm joined to one ticket, each firing or resolved

An alert grouped into a storm's ticket kept no identity: its acknowledgement or resolution
was dropped, it opened a ticket of its own when it repeated after the storm's window, and the
storm's first alert resolving resolved the whole group while the others still fired.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 03:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from fireline.store.base import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "grouped_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=300), nullable=False),
        sa.Column("firing", sa.Boolean(), nullable=False),
        sa.Column("joined_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_grouped_alerts_integration_id_integrations"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_grouped_alerts_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grouped_alerts")),
    )
    op.create_index(
        "ix_grouped_alerts_integration_fingerprint",
        "grouped_alerts",
        ["integration_id", "fingerprint"],
    )
    op.create_index(op.f("ix_grouped_alerts_ticket_id"), "grouped_alerts", ["ticket_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_grouped_alerts_ticket_id"), table_name="grouped_alerts")
    op.drop_index("ix_grouped_alerts_integration_fingerprint", table_name="grouped_alerts")
    op.drop_table("grouped_alerts")
