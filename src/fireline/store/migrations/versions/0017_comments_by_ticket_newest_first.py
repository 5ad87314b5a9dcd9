"""A ticket's comments indexed with their ids, so that its latest few are read first

A ticket shows its latest comments, and pages back through older ones by id. In an alert
storm a ticket gathers an occurrence comment for each of the intake's batches, hundreds a
second: with the ticket's comments indexed by ticket alone, its latest few meant reading
and sorting all of them.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-28 11:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_ticket_comments_ticket", "ticket_comments", ["ticket_id", "id"])
    op.drop_index("ix_ticket_comments_ticket_id", table_name="ticket_comments")


def downgrade() -> None:
    op.create_index("ix_ticket_comments_ticket_id", "ticket_comments", ["ticket_id"])
    op.drop_index("ix_ticket_comments_ticket", table_name="ticket_comments")
