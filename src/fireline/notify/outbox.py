"""Putting pages into the outbox: once per idempotency key, per the person's notification
rules, without repeating a page for a ticket that is still waiting to go out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fireline.notify.models import ContactMethod, NotificationRule, OutboxMessage
from fireline.store.upsert import insert_new

INBOX = "inbox"


@dataclass(frozen=True, slots=True)
class Page:
    org_id: int
    user_id: int
    key: str
    subject: str
    body: str
    ticket_id: int | None
    escalation_id: int | None


def reach_by(session: Session, user_id: int) -> list[tuple[int | None, str, str, int]]:
    """(contact method id, kind, target, delay seconds) for a person, in the order their rules
    reach them; the inbox when they have none."""
    rows = session.execute(
        select(
            ContactMethod.id,
            ContactMethod.kind,
            ContactMethod.target,
            NotificationRule.delay_seconds,
        )
        .join(NotificationRule, NotificationRule.contact_method_id == ContactMethod.id)
        .where(NotificationRule.user_id == user_id)
        .order_by(NotificationRule.delay_seconds, ContactMethod.id)
    ).all()
    if not rows:
        return [(None, INBOX, str(user_id), 0)]
    return [(row[0], row[1], row[2], row[3]) for row in rows]


def enqueue(session: Session, now: datetime, page: Page) -> int:
    """Write the page's outbox rows in the caller's transaction; return how many are new."""
    waiting = (
        set(
            session.scalars(
                select(OutboxMessage.contact_method_id).where(
                    OutboxMessage.user_id == page.user_id,
                    OutboxMessage.ticket_id == page.ticket_id,
                    OutboxMessage.status == "pending",
                )
            )
        )
        if page.ticket_id is not None
        else set()
    )
    rows: list[dict[str, Any]] = []
    for method_id, kind, target, delay in reach_by(session, page.user_id):
        if method_id in waiting:
            continue  # the same ticket is already on its way to this person by this method
        rows.append(
            {
                "org_id": page.org_id,
                "idempotency_key": f"{page.key}.m{method_id or 0}",
                "user_id": page.user_id,
                "contact_method_id": method_id,
                "kind": kind,
                "target": target,
                "subject": page.subject,
                "body": page.body,
                "ticket_id": page.ticket_id,
                "escalation_id": page.escalation_id,
                "status": "pending",
                "deliver_after": now + timedelta(seconds=delay),
                "attempts": 0,
                "claimed_by": None,
                "lease_until": None,
                "fence": 0,
                "last_error": None,
                "created_at": now,
                "sent_at": None,
            }
        )
    return insert_new(session, OutboxMessage, rows, "idempotency_key")
