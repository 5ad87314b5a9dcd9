"""Engine step: deliver the outbox. Claim under a lease, deliver outside any transaction,
record the outcome only if the claim still holds. Failures retry with back-off; after the last
try the page goes to the person's next contact method. Over the storm limit, pages are held
back and one summary per window says how many."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from fireline.clock.now import Clock
from fireline.engine import throttle
from fireline.engine.lease import claim, hold_many
from fireline.notify.channels.delivery import Delivery, DeliveryFailed
from fireline.notify.channels.registry import Channels
from fireline.notify.models import OutboxMessage
from fireline.notify.outbox import INBOX, reach_by
from fireline.policy.schema import PageLimits
from fireline.store.db import Database
from fireline.store.upsert import insert_new
from fireline.tickets.service import page_facts

MAX_ATTEMPTS = 5
BACK_OFF = (10, 30, 90, 270)


def run(
    db: Database, clock: Clock, instance: str, lease: timedelta, batch: int, channels: Channels
) -> int:
    """Deliver one claimed batch: prepare it in one transaction, send each page, then record
    the outcomes in one transaction. A crash between sending and recording can repeat, at most,
    the pages of the batch it held (the documented duplicate)."""
    now = clock.now()
    ready = and_(OutboxMessage.status == "pending", OutboxMessage.deliver_after <= now)
    claims = claim(
        db, OutboxMessage, ready, OutboxMessage.deliver_after, now, instance, lease, batch
    )
    if not claims:
        return 0
    deliveries: list[Delivery] = []
    with db.transaction() as session:
        sent_now: Counter[tuple[int | None, int | None]] = Counter()
        for message in hold_many(session, OutboxMessage, claims, instance):
            delivery = _prepare(session, message, now, sent_now)
            if delivery is not None:
                deliveries.append(delivery)
    outcomes: dict[int, DeliveryFailed | None] = {}
    for delivery in deliveries:
        try:
            channels.send(delivery)
            outcomes[delivery.id] = None
        except DeliveryFailed as failure:
            outcomes[delivery.id] = failure
    if not outcomes:
        return 0
    with db.transaction() as session:
        # Rows taken over after our lease are left out: their new holder records them.
        held = hold_many(session, OutboxMessage, [c for c in claims if c.id in outcomes], instance)
        for message in held:
            _record(session, message, outcomes[message.id], clock.now())
    return len(held)


def _limits(session: Session, message: OutboxMessage) -> PageLimits:
    if message.ticket_id is None:
        return PageLimits()
    return page_facts(session, message.ticket_id).judged.policy.page_limits


def _same_channel(message: OutboxMessage) -> Any:
    return and_(
        OutboxMessage.user_id == message.user_id,
        OutboxMessage.contact_method_id.is_(None)
        if message.contact_method_id is None
        else OutboxMessage.contact_method_id == message.contact_method_id,
    )


def _prepare(
    session: Session,
    message: OutboxMessage,
    now: datetime,
    sent_now: Counter[tuple[int | None, int | None]],
) -> Delivery | None:
    """The delivery to make, or None when the page is held back and bundled instead.
    `sent_now` counts what this batch is about to send, per person and method."""
    limits = _limits(session, message)
    channel = (message.user_id, message.contact_method_id)
    if message.idempotency_key.startswith(throttle.BUNDLE):
        opened = throttle.summary_window(message.idempotency_key)
        subjects = list(
            session.scalars(
                select(OutboxMessage.subject).where(
                    _same_channel(message),
                    OutboxMessage.status == "bundled",
                    OutboxMessage.sent_at >= opened,
                    OutboxMessage.sent_at < opened + timedelta(minutes=limits.window_minutes),
                )
            )
        )
        message.subject, message.body = throttle.summary_text(subjects)
    else:
        start, end = throttle.window_of(now, limits)
        sent = (
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    _same_channel(message),
                    OutboxMessage.status == "sent",
                    OutboxMessage.sent_at >= start,
                )
            )
            or 0
        )
        if throttle.over_limit(sent + sent_now[channel], limits):
            message.status, message.sent_at, message.lease_until = "bundled", now, None
            summary = _fresh_copy(
                message,
                now,
                idempotency_key=throttle.summary_key(
                    message.user_id, message.contact_method_id, start
                ),
                deliver_after=end,
                ticket_id=None,
                escalation_id=None,
            )
            insert_new(session, OutboxMessage, [summary], "idempotency_key")
            return None
    sent_now[channel] += 1
    return Delivery(
        message.id,
        message.idempotency_key,
        message.kind,
        message.target,
        message.subject,
        message.body,
        message.user_id,
        message.ticket_id,
    )


def _record(
    session: Session, message: OutboxMessage, error: DeliveryFailed | None, now: datetime
) -> None:
    message.attempts += 1
    message.lease_until = None
    if error is None:
        message.status, message.sent_at, message.last_error = "sent", now, None
        return
    message.last_error = str(error)
    if error.retry and message.attempts < MAX_ATTEMPTS:
        message.deliver_after = now + timedelta(seconds=BACK_OFF[message.attempts - 1])
        return
    message.status = "failed"
    _next_method(session, message, now)


def _next_method(session: Session, failed: OutboxMessage, now: datetime) -> None:
    """After the last try, reach the person another way: their next contact method, or the
    inbox, which cannot fail."""
    if failed.user_id is None or failed.kind == INBOX:
        return
    methods = reach_by(session, failed.user_id)
    ids = [method_id for method_id, *_ in methods]
    later = (
        ids[ids.index(failed.contact_method_id) + 1 :] if failed.contact_method_id in ids else []
    )
    method_id, kind, target = next(
        ((m[0], m[1], m[2]) for m in methods if m[0] in later), (None, INBOX, str(failed.user_id))
    )
    row = _fresh_copy(
        failed,
        now,
        idempotency_key=f"{failed.idempotency_key}.next",
        contact_method_id=method_id,
        kind=kind,
        target=target,
        deliver_after=now,
        body=f"{failed.body}\n(sent here because {failed.kind} failed: {failed.last_error})",
    )
    insert_new(session, OutboxMessage, [row], "idempotency_key")


def _fresh_copy(message: OutboxMessage, now: datetime, **changes: Any) -> dict[str, Any]:
    """A new, unclaimed, undelivered outbox row like `message`, with `changes`."""
    row = {c.key: getattr(message, c.key) for c in OutboxMessage.__table__.columns if c.key != "id"}
    row.update(
        status="pending",
        attempts=0,
        claimed_by=None,
        lease_until=None,
        fence=0,
        last_error=None,
        sent_at=None,
        created_at=now,
    )
    row.update(changes)
    return row
