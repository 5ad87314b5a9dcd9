"""PostgreSQL: drop the foreign keys of org_id on tickets, alerts and timeline_events

These org_id columns copy what another foreign key already ties (a ticket's team, an
alert's integration, an event's ticket or incident), kept for the organisation's indexes.
Their checks cost PostgreSQL about a tenth of its work for each alert taken in (a lookup
and a row lock of the one organisation row per inserted row), and guarded nothing the
other keys do not: organisations are never deleted. SQLite keeps them: dropping a
constraint there means rebuilding the table, and rebuilding `tickets` with foreign keys
enforced would cascade the old table's DROP to its rows.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 06:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Kept on SQLite (see above); the schema comparison in the tests knows.
DROPPED = {
    "tickets": "fk_tickets_org_id_organisations",
    "alerts": "fk_alerts_org_id_organisations",
    "timeline_events": "fk_timeline_events_org_id_organisations",
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, name in DROPPED.items():
        op.drop_constraint(name, table, type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, name in DROPPED.items():
        op.create_foreign_key(name, table, "organisations", ["org_id"], ["id"])
