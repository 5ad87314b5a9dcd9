"""How people are reached (contact methods, notification rules), the outbox every page goes
through exactly once, and the local inbox channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fireline.store.base import Base


class ContactMethod(Base):
    __tablename__ = "contact_methods"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(2000))
    # A webhook's own HMAC key; None (methods made before 0005) signs with the deployment's.
    signing_secret: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class NotificationRule(Base):
    """Reach a person through `contact_method` `delay_seconds` after a page starts."""

    __tablename__ = "notification_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    contact_method_id: Mapped[int] = mapped_column(
        ForeignKey("contact_methods.id", ondelete="CASCADE")
    )
    delay_seconds: Mapped[int]


class OutboxMessage(Base):
    """A notification to deliver. The idempotency key makes its entry exactly-once; the lease
    and fence make its delivery at-least-once without two instances racing on it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "deliver_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    contact_method_id: Mapped[int | None] = mapped_column(ForeignKey("contact_methods.id"))
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(2000))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id"))
    status: Mapped[str] = mapped_column(String(16))
    deliver_after: Mapped[datetime]
    attempts: Mapped[int]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    fence: Mapped[int]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class InboxMessage(Base):
    """The local inbox channel: what the demo and tests read instead of a phone."""

    __tablename__ = "inbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
