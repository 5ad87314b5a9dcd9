"""A ticket's fingerprint is its integration's: tickets.integration_id, and one open ticket
per integration and fingerprint

PagerDuty applies a dedup_key only to events sent with the same routing key. Fireline kept
one open ticket per organisation and fingerprint, so two teams' integrations of one kind
sending the same key (or Alertmanager's same labels) shared a ticket: the second team's
trigger became a repeat of the first's, and nobody on it was paged. Existing tickets take
the integration of the first alert they gathered.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "fk_tickets_integration_id_integrations"
INDEX = "uq_tickets_open_fingerprint"


def _unique(columns: list[str]) -> None:
    op.drop_index(INDEX, table_name="tickets")
    op.create_index(
        INDEX,
        "tickets",
        columns,
        unique=True,
        sqlite_where=sa.text("is_open = 1 AND fingerprint IS NOT NULL"),
        postgresql_where=sa.text("is_open AND fingerprint IS NOT NULL"),
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # In place: rebuilding `tickets` would cascade the old table's DROP to its rows.
        op.execute(
            f"ALTER TABLE tickets ADD COLUMN integration_id INTEGER "
            f"CONSTRAINT {FK} REFERENCES integrations (id)"
        )
    else:
        op.add_column("tickets", sa.Column("integration_id", sa.Integer(), nullable=True))
        op.create_foreign_key(FK, "tickets", "integrations", ["integration_id"], ["id"])
    op.execute(
        "UPDATE tickets SET integration_id = (SELECT alerts.integration_id FROM alerts "
        "WHERE alerts.ticket_id = tickets.id ORDER BY alerts.id LIMIT 1) "
        "WHERE fingerprint IS NOT NULL"
    )
    _unique(["integration_id", "fingerprint"])


def downgrade() -> None:
    # Fails on a unique violation once two integrations of one organisation hold open
    # tickets of one fingerprint, which 0010 allows: close one of them first.
    _unique(["org_id", "fingerprint"])
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(FK, "tickets", type_="foreignkey")
    op.drop_column("tickets", "integration_id")
