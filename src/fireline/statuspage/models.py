"""What the public sees: an organisation's components and the updates published on incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fireline.store.base import Base


class StatusComponent(Base):
    __tablename__ = "status_components"
    __table_args__ = (UniqueConstraint("org_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    state: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime]


class StatusUpdate(Base):
    """One public update on an incident; `components` maps component slugs to the state set."""

    __tablename__ = "status_updates"
    __table_args__ = (
        Index("ix_status_updates_org_published", "org_id", "published_at"),
        Index("ix_status_updates_incident", "incident_id", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    status: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    components: Mapped[dict[str, Any]]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime]


class StatusNotice(Base):
    """A public notice not tied to an incident: Meltano's upstream outage (PyPI, GitLab), told
    to users though nothing is ours to fix. It stays up while its ticket is open."""

    __tablename__ = "status_notices"
    __table_args__ = (Index("ix_status_notices_org_opened", "org_id", "opened_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


__all__ = ["StatusComponent", "StatusNotice", "StatusUpdate"]
