"""web sessions, the public status page, dashboard indexes, schedule revisions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import fireline.store.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEXT_DUE = "(CASE WHEN responded_at IS NULL THEN response_due_at ELSE resolution_due_at END)"
UTC = fireline.store.base.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("ended_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_web_sessions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_web_sessions_token_sha256")),
    )
    op.create_index(op.f("ix_web_sessions_user_id"), "web_sessions", ["user_id"], unique=False)
    op.create_table(
        "status_components",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_status_components_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_components")),
        sa.UniqueConstraint("org_id", "slug", name=op.f("uq_status_components_org_id_slug")),
    )
    op.create_index(
        op.f("ix_status_components_org_id"), "status_components", ["org_id"], unique=False
    )
    op.create_table(
        "status_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("components", JSON, nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.Column("published_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_status_updates_incident_id_incidents")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_status_updates_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"], ["users.id"], name=op.f("fk_status_updates_published_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_updates")),
    )
    op.create_index("ix_status_updates_org_published", "status_updates", ["org_id", "published_at"])
    op.create_index("ix_status_updates_incident", "status_updates", ["incident_id", "published_at"])
    op.create_index("ix_tickets_org_resolved", "tickets", ["org_id", "resolved_at"])
    op.create_index(
        "ix_tickets_org_open_priority",
        "tickets",
        ["org_id", "priority"],
        sqlite_where=sa.text("is_open = 1"),
        postgresql_where=sa.text("is_open"),
    )
    op.create_index(
        "ix_tickets_org_open_next_due",
        "tickets",
        ["org_id", sa.text(NEXT_DUE), "id"],
        sqlite_where=sa.text("is_open = 1"),
        postgresql_where=sa.text("is_open"),
    )

    # Every schedule gets its own random revision (see ScheduleRow.revision). Added in place,
    # not by copying the table: SQLite would cascade the copy's DROP to the schedules' layers.
    op.add_column(
        "schedules",
        sa.Column("revision", sa.String(length=32), nullable=False, server_default=""),
    )
    random_token = (
        "lower(hex(randomblob(16)))"
        if op.get_bind().dialect.name == "sqlite"
        else "md5(random()::text || id::text)"
    )
    op.execute(f"UPDATE schedules SET revision = {random_token}")


def downgrade() -> None:
    op.drop_column("schedules", "revision")
    op.drop_index("ix_tickets_org_open_next_due", table_name="tickets")
    op.drop_index("ix_tickets_org_open_priority", table_name="tickets")
    op.drop_index("ix_tickets_org_resolved", table_name="tickets")
    op.drop_index("ix_status_updates_incident", table_name="status_updates")
    op.drop_index("ix_status_updates_org_published", table_name="status_updates")
    op.drop_table("status_updates")
    op.drop_index(op.f("ix_status_components_org_id"), table_name="status_components")
    op.drop_table("status_components")
    op.drop_index(op.f("ix_web_sessions_user_id"), table_name="web_sessions")
    op.drop_table("web_sessions")
