"""The append-only timeline: every event on a ticket or incident, who, what, when, from where."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fireline.store.base import Base, index_where_present


class Event(Base):
    __tablename__ = "timeline_events"
    __table_args__ = (
        # Only events of an incident (migration 0015); a ticket's have none.
        index_where_present("ix_timeline_incident", "incident_id", "id", present="incident_id"),
        Index("ix_timeline_ticket", "ticket_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # org_id, ticket_id: no foreign keys on PostgreSQL (migrations 0013, 0016;
    # `fireline.store.loose_keys`).
    org_id: Mapped[int]
    ticket_id: Mapped[int | None]
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    kind: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    via: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
