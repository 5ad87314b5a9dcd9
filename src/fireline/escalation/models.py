"""Escalation policies and their steps; running escalations and the timers that drive them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fireline.store.base import Base, index_where_present


class EscalationPolicyRow(Base):
    __tablename__ = "escalation_policies"
    __table_args__ = (UniqueConstraint("org_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    repeat: Mapped[int]
    created_at: Mapped[datetime]


class StepRow(Base):
    __tablename__ = "escalation_steps"
    __table_args__ = (UniqueConstraint("policy_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("escalation_policies.id", ondelete="CASCADE"))
    position: Mapped[int]
    delay_seconds: Mapped[int]
    targets: Mapped[list[dict[str, Any]]]


class Escalation(Base):
    """One ticket being escalated. The epoch changes on ack, resolve and reopen."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("escalation_policies.id"))
    state: Mapped[str] = mapped_column(String(16))
    epoch: Mapped[int]
    step: Mapped[int]
    cycle: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Timer(Base):
    """A decision due at `due_at`, claimed under a lease; `fence` refuses a stale claim."""

    __tablename__ = "timers"
    __table_args__ = (
        Index("ix_timers_due", "done_at", "due_at"),
        index_where_present("ix_timers_silence_id", "silence_id", present="silence_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"), index=True)
    epoch: Mapped[int]
    step: Mapped[int]
    cycle: Mapped[int]
    due_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    fence: Mapped[int]
    done_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    # The silence this timer waits out: ending the silence early makes it due at once.
    silence_id: Mapped[int | None] = mapped_column(ForeignKey("silences.id"))
