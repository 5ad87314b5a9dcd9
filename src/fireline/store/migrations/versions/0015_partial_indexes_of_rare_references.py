"""Index a ticket's incident, an alert's silence and an event's incident only where there is one

Nearly every ticket has no incident, nearly every alert no silence, and nearly every
timeline event no incident, yet each new row went into these indexes under NULL: three of
the fifteen index entries PostgreSQL wrote for each alert that opens a ticket. Every
lookup by them names a value (`= :id`), which the partial indexes serve as before, on both
databases.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28 06:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (index, table, columns, the column that is mostly NULL)
INDEXES = [
    ("ix_tickets_incident_id", "tickets", ["incident_id"], "incident_id"),
    ("ix_alerts_silence_id", "alerts", ["silence_id"], "silence_id"),
    ("ix_timeline_incident", "timeline_events", ["incident_id", "id"], "incident_id"),
]


def upgrade() -> None:
    for name, table, columns, sparse in INDEXES:
        op.drop_index(name, table_name=table)
        where = sa.text(f"{sparse} IS NOT NULL")
        op.create_index(name, table, columns, postgresql_where=where, sqlite_where=where)


def downgrade() -> None:
    for name, table, columns, _ in INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns)
