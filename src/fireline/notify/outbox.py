"""Putting pages into the outbox: once per idempotency key, per the person's notification
rules, without repeating a page for a ticket that is still waiting to go out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fireline.notify.models import ContactMethod, NotificationRule, OutboxMessage

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


Reach = tuple[int | None, str, str, int]  # contact method id, kind, target, delay seconds


def reach_by(session: Session, user_id: int) -> list[Reach]:
    """(contact method id, kind, target, delay seconds) for a person, in the order their rules
    reach them; the inbox when they have none."""
    return reach_many(session, {user_id})[user_id]


def reach_many(session: Session, user_ids: Iterable[int]) -> dict[int, list[Reach]]:
    """`reach_by` for several people in one query."""
    wanted = set(user_ids)
    found: dict[int, list[Reach]] = {}
    if wanted:
        for user_id, method_id, kind, target, delay in session.execute(
            select(
                NotificationRule.user_id,
                ContactMethod.id,
                ContactMethod.kind,
                ContactMethod.target,
                NotificationRule.delay_seconds,
            )
            .join(NotificationRule, NotificationRule.contact_method_id == ContactMethod.id)
            .where(NotificationRule.user_id.in_(wanted))
            .order_by(NotificationRule.user_id, NotificationRule.delay_seconds, ContactMethod.id)
        ):
            found.setdefault(user_id, []).append((method_id, kind, target, delay))
    return {user_id: found.get(user_id) or [(None, INBOX, str(user_id), 0)] for user_id in wanted}


def impact_key_prefix(ticket_id: int) -> str:
    """The start of every impact page's key for a ticket: paged at once beside its
    escalation (Caseflow's data corruption), and stopped with it."""
    return f"impact.t{ticket_id}."


def enqueue(session: Session, now: datetime, page: Page) -> int:
    """Write the page's outbox rows in the caller's transaction; return how many are new
    (-1 where the driver cannot count an executemany: psycopg)."""
    return enqueue_many(session, now, [page])


def enqueue_many(session: Session, now: datetime, pages: Sequence[Page]) -> int:
    """`enqueue` for many pages, in three statements whatever their number: who is reached
    how, what is still waiting to go out, and one multi-row insert. A page is not repeated
    by a method its ticket is already waiting to reach the person by."""
    if not pages:
        return 0
    tickets = {page.ticket_id for page in pages if page.ticket_id is not None}
    waiting: set[tuple[int | None, int | None, int | None]] = (
        {
            (user_id, ticket_id, method_id)
            for user_id, ticket_id, method_id in session.execute(
                select(
                    OutboxMessage.user_id,
                    OutboxMessage.ticket_id,
                    OutboxMessage.contact_method_id,
                ).where(
                    OutboxMessage.ticket_id.in_(tickets),
                    OutboxMessage.user_id.in_({page.user_id for page in pages}),
                    OutboxMessage.status == "pending",
                )
            )
        }
        if tickets
        else set()
    )
    reach = reach_many(session, {page.user_id for page in pages})
    rows: list[dict[str, Any]] = []
    for page in pages:
        for method_id, kind, target, delay in reach[page.user_id]:
            if page.ticket_id is not None:
                channel = (page.user_id, page.ticket_id, method_id)
                if channel in waiting:
                    continue  # the same ticket is already on its way to this person this way
                waiting.add(channel)
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
    return insert_pages(session, rows)


def insert_pages(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert outbox rows whose idempotency key is not stored yet; return how many went in.
    One executemany for a batch (pipelined by psycopg), compiled once."""
    if not rows:
        return 0
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = module.insert(OutboxMessage).on_conflict_do_nothing(
        index_elements=["idempotency_key"]
    )
    result = session.connection().execute(statement, rows)
    return int(result.rowcount)
