"""Integrations (one key per alert source), the alerts they sent, and silences."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fireline.store.base import Base, index_where_present


class Integration(Base):
    """A source allowed to send alerts to one team; its key is stored only as a hash."""

    __tablename__ = "integrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Sentry signs its hooks with the integration's client secret: we must keep it to verify.
    signing_secret: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Heartbeat(Base):
    """A monitor that must check in every `interval_seconds`; silence past `due_at` raises an
    alert (and the next check-in resolves it). Its key is its integration's key."""

    __tablename__ = "heartbeats"
    __table_args__ = (Index("ix_heartbeats_late_due", "late", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id"), unique=True)
    interval_seconds: Mapped[int]
    last_seen_at: Mapped[datetime | None]
    due_at: Mapped[datetime]
    late: Mapped[bool] = mapped_column(default=False)


class AlertRow(Base):
    """Every alert received, whatever became of it: the audit trail and the occurrence count."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_org_fingerprint", "org_id", "fingerprint"),
        # Only silenced alerts (migration 0015): few, looked up by silence.
        index_where_present("ix_alerts_silence_id", "silence_id", present="silence_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # org_id, integration_id, ticket_id: no foreign keys on PostgreSQL (migrations 0013,
    # 0016; `fireline.store.loose_keys`).
    org_id: Mapped[int]
    integration_id: Mapped[int]
    fingerprint: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    service: Mapped[str | None] = mapped_column(String(200))
    ticket_id: Mapped[int | None] = mapped_column(index=True)
    silence_id: Mapped[int | None] = mapped_column(ForeignKey("silences.id"))
    details: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]


class SilenceRow(Base):
    """Matchers with a start and an end; maintenance windows are silences planned ahead."""

    __tablename__ = "silences"
    __table_args__ = (Index("ix_silences_org_ends", "org_id", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(String(16))
    matchers: Mapped[list[dict[str, Any]]]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    # When the engine, after the silence ended, opened tickets for the alerts it kept
    # silent that still fire.
    released_at: Mapped[datetime | None]


__all__ = ["AlertRow", "Heartbeat", "Integration", "SilenceRow"]
