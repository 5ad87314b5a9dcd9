"""A silence's end restores notifications: silences.released_at, timers.silence_id

An alert that first arrived during a silence opened no ticket; Sentry, PagerDuty and generic
senders never send it again, so the engine opens its ticket when the silence ends, if it still
fires, and marks the silence released. An escalation whose ticket a silence covers waits for
the silence's end; its timer names the silence, so ending the silence early fires it at once.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 03:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from fireline.store.base import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "fk_timers_silence_id_silences"
INDEX = "ix_timers_silence_id"


def upgrade() -> None:
    op.add_column("silences", sa.Column("released_at", UTCDateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # In place: rebuilding `timers` would cost a copy of every timer.
        op.execute(
            f"ALTER TABLE timers ADD COLUMN silence_id INTEGER "
            f"CONSTRAINT {FK} REFERENCES silences (id)"
        )
    else:
        op.add_column("timers", sa.Column("silence_id", sa.Integer(), nullable=True))
        op.create_foreign_key(FK, "timers", "silences", ["silence_id"], ["id"])
    op.create_index(
        INDEX,
        "timers",
        ["silence_id"],
        sqlite_where=sa.text("silence_id IS NOT NULL"),
        postgresql_where=sa.text("silence_id IS NOT NULL"),
    )
    # Silences that ended before this revision are not released again: their alerts were
    # left as they were, and opening tickets for them now would page for old news.
    silences = sa.table(
        "silences", sa.column("ends_at", UTCDateTime()), sa.column("released_at", UTCDateTime())
    )
    op.execute(
        silences.update()
        .where(silences.c.ends_at <= datetime.now(UTC))
        .values(released_at=silences.c.ends_at)
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="timers")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(FK, "timers", type_="foreignkey")
    op.drop_column("timers", "silence_id")
    op.drop_column("silences", "released_at")
