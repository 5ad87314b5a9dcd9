"""PostgreSQL: drop the foreign keys that each alert taken in had checked

An alert that opens a ticket inserts a ticket (its team, policy version and integration), a
timeline event (its ticket) and an alert record (its integration and ticket); a repeat, an
alert record and a comment (its ticket). PostgreSQL checked each of those references with
a lookup and a row lock of the row referred to: half of its work for each alert taken in
(`benchmarks/intake_writer.py`, unique alerts in batches of 128: 85-92 µs of its CPU an
alert with the keys, 41 µs without). The code keeps them instead: the ids come from rows
inserted or locked in the same transaction, and none of the rows referred to is ever
deleted (`fireline.store.loose_keys`, whose `orphans` the test suite runs after every test
on PostgreSQL). SQLite keeps the constraints, as with 0013.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28 08:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (constraint, table, column, table referred to); kept on SQLite.
DROPPED = [
    ("fk_tickets_team_id_teams", "tickets", "team_id", "teams"),
    (
        "fk_tickets_policy_version_id_policy_versions",
        "tickets",
        "policy_version_id",
        "policy_versions",
    ),
    ("fk_tickets_integration_id_integrations", "tickets", "integration_id", "integrations"),
    ("fk_alerts_integration_id_integrations", "alerts", "integration_id", "integrations"),
    ("fk_alerts_ticket_id_tickets", "alerts", "ticket_id", "tickets"),
    ("fk_timeline_events_ticket_id_tickets", "timeline_events", "ticket_id", "tickets"),
    ("fk_ticket_comments_ticket_id_tickets", "ticket_comments", "ticket_id", "tickets"),
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for name, table, _, _ in DROPPED:
        op.drop_constraint(name, table, type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for name, table, column, referred in DROPPED:
        op.create_foreign_key(name, table, referred, [column], ["id"])
