"""Tickets (production issues, bugs, support requests) and what hangs off them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from fireline.store.base import Base, index_where_present

# The clock that runs out next on an open ticket: response until responded, then resolution.
NEXT_DUE = "(CASE WHEN responded_at IS NULL THEN response_due_at ELSE resolution_due_at END)"


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_team_open_priority", "team_id", "is_open", "priority"),
        Index("ix_tickets_org_created", "org_id", "created_at"),
        # The dashboard: resolutions in its chart's window, and the open tickets by level.
        Index("ix_tickets_org_resolved", "org_id", "resolved_at"),
        # Only tickets in an incident (migration 0015): nearly none, looked up by incident.
        index_where_present("ix_tickets_incident_id", "incident_id", present="incident_id"),
        Index(
            "ix_tickets_org_open_priority",
            "org_id",
            "priority",
            sqlite_where=text("is_open = 1"),
            postgresql_where=text("is_open"),
        ),
        # One open ticket per alert fingerprint of an integration, also under concurrent
        # first triggers. Per integration, as PagerDuty keeps a dedup_key per routing key:
        # two teams' integrations sending the same key never share a ticket.
        Index(
            "uq_tickets_open_fingerprint",
            "integration_id",
            "fingerprint",
            unique=True,
            # SQLite uses a partial index only for queries naming its own terms.
            sqlite_where=text("is_open = 1 AND fingerprint IS NOT NULL"),
            postgresql_where=text("is_open AND fingerprint IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # org_id, team_id, policy_version_id, integration_id: no foreign keys on PostgreSQL
    # (migrations 0013, 0016; `fireline.store.loose_keys`).
    org_id: Mapped[int]
    team_id: Mapped[int]
    policy_version_id: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    service: Mapped[str | None] = mapped_column(String(200))
    type: Mapped[str | None] = mapped_column(String(80))
    priority: Mapped[str | None] = mapped_column(String(80))
    priority_source: Mapped[str] = mapped_column(String(16))
    classification_rule: Mapped[str | None] = mapped_column(String(80))
    signals: Mapped[dict[str, float]]
    labels: Mapped[list[str]]
    status: Mapped[str] = mapped_column(String(80))
    is_open: Mapped[bool]
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    incident_criteria: Mapped[list[str]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    clock_started_at: Mapped[datetime]
    response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    responded_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    fingerprint: Mapped[str | None] = mapped_column(String(300))
    # The integration whose alert opened it (intake's tickets only).
    integration_id: Mapped[int | None]
    alert_count: Mapped[int] = mapped_column(default=0, server_default="0")
    last_alert_at: Mapped[datetime | None]


class Comment(Base):
    __tablename__ = "ticket_comments"
    # A ticket's latest comments first, paging back by id (migration 0017).
    __table_args__ = (Index("ix_ticket_comments_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key on PostgreSQL (migration 0016; `fireline.store.loose_keys`).
    ticket_id: Mapped[int]
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    via: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


class Link(Base):
    __tablename__ = "ticket_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    title: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime]


class PriorityChange(Base):
    """Who changed a ticket's priority, when, why: mitigation (down) or escalation (up)."""

    __tablename__ = "ticket_priority_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    from_level: Mapped[str | None] = mapped_column(String(80))
    to_level: Mapped[str] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime]


class GroupedAlert(Base):
    """A fingerprint that joined another's open ticket in a storm, and, once one has
    joined, that ticket's own: its repeats, acknowledgements and resolutions reach the
    ticket, and the ticket resolves when the last of them still firing resolves. A closed
    ticket's group is over: its rows are never looked up, and go if the ticket reopens."""

    __tablename__ = "grouped_alerts"
    __table_args__ = (
        Index("ix_grouped_alerts_integration_fingerprint", "integration_id", "fingerprint"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id"))
    fingerprint: Mapped[str] = mapped_column(String(300))
    firing: Mapped[bool]
    joined_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


__all__ = ["Comment", "GroupedAlert", "Link", "PriorityChange", "Ticket"]
