"""Schedules, their layers (rotations), overrides, and people's absences."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fireline.store.base import Base


class ScheduleRow(Base):
    __tablename__ = "schedules"
    __table_args__ = (UniqueConstraint("org_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    fallback_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # A random token, new whenever the layers are written: processes key what they built of
    # a schedule by it (a time could repeat on a clock that stands still, an id in another
    # database).
    revision: Mapped[str] = mapped_column(
        String(32), default=lambda: uuid4().hex, server_default=""
    )


class LayerRow(Base):
    """One layer of a schedule (position 0 is the primary) and its rotation."""

    __tablename__ = "schedule_layers"
    __table_args__ = (UniqueConstraint("schedule_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(80))
    member_ids: Mapped[list[int]]
    rotation_start: Mapped[datetime]
    shift_unit: Mapped[str] = mapped_column(String(8))
    shift_length: Mapped[int]
    business_hours_only: Mapped[bool]


class OverrideRow(Base):
    __tablename__ = "schedule_overrides"
    __table_args__ = (
        Index("ix_schedule_overrides_span", "schedule_id", "ends_at", "starts_at"),
        # Who is on call across an organisation: the overrides not yet ended, without reading
        # every schedule's past ones (PostgreSQL scanned the whole table for them).
        Index("ix_schedule_overrides_ends", "ends_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    layer: Mapped[str | None] = mapped_column(String(80))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class AbsenceRow(Base):
    """A person away from every schedule for a while: PTO, an appointment, a no-laptop meeting."""

    __tablename__ = "absences"
    __table_args__ = (Index("ix_absences_span", "org_id", "ends_at", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
