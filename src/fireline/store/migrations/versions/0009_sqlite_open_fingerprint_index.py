"""SQLite: the open-fingerprint index says `is_open = 1`, as the queries do

SQLite uses a partial index only when the query's WHERE names the index's own terms, and
SQLAlchemy writes an open ticket as `is_open = 1` there. With `is_open` in the index, the
fingerprint lookup of every intake batch read all the open tickets of the organisation by
another index instead. PostgreSQL proves the two equal and is left as it is.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 18:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _recreate(sqlite_where: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.drop_index("uq_tickets_open_fingerprint", table_name="tickets")
    op.create_index(
        "uq_tickets_open_fingerprint",
        "tickets",
        ["org_id", "fingerprint"],
        unique=True,
        sqlite_where=sa.text(sqlite_where),
    )


def upgrade() -> None:
    _recreate("is_open = 1 AND fingerprint IS NOT NULL")


def downgrade() -> None:
    _recreate("is_open AND fingerprint IS NOT NULL")
