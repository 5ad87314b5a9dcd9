"""Incidents, who holds which role (with hand-off history), and who may see a private one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fireline.store.base import Base


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_org_open", "org_id", "is_open", "severity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    policy_version_id: Mapped[int] = mapped_column(ForeignKey("policy_versions.id"))
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(80))
    severity: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(80))
    is_open: Mapped[bool]
    private: Mapped[bool]
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class RoleAssignment(Base):
    """One person holding one role for a while; a hand-off ends one row and starts another."""

    __tablename__ = "incident_roles"
    __table_args__ = (Index("ix_incident_roles_current", "incident_id", "relieved_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    role: Mapped[str] = mapped_column(String(80))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime]
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    relieved_at: Mapped[datetime | None]


class IncidentMember(Base):
    """People named on an incident; for a private incident, the only ones who may see it."""

    __tablename__ = "incident_members"
    __table_args__ = (UniqueConstraint("incident_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime]


__all__ = ["Incident", "IncidentMember", "RoleAssignment"]
