"""Engine step: deliver the outbox. Claim under a lease, deliver outside any transaction,
record the outcome only if the claim still holds. Failures retry with back-off; after the last
try the page goes to the person's next contact method. Over the storm limit, pages are held
back and one summary per window says how many."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import repeat
from typing import Any

from sqlalchemy import and_, bindparam, false, func, or_, select, update
from sqlalchemy.orm import Session

from fireline.clock.now import Clock
from fireline.engine import throttle
from fireline.engine.lease import Claim, claim, hold_many
from fireline.notify.channels.delivery import Delivery, DeliveryFailed
from fireline.notify.channels.registry import Channels
from fireline.notify.models import ContactMethod, OutboxMessage
from fireline.notify.outbox import INBOX, reach_by
from fireline.policy.schema import PageLimits
from fireline.store.db import Database
from fireline.store.upsert import insert_new
from fireline.tickets.service import page_facts

MAX_ATTEMPTS = 5
BACK_OFF = (10, 30, 90, 270)

Channel = tuple[int | None, int | None]  # (person, contact method): what storm limits count


def run(
    db: Database, clock: Clock, instance: str, lease: timedelta, batch: int, channels: Channels
) -> int:
    """Deliver one claimed batch: prepare it in one transaction, send its pages concurrently,
    then record the outcomes in one transaction. A crash between sending and recording can
    repeat, at most, the pages of the batch it held (the documented duplicate)."""
    now = clock.now()
    ready = and_(OutboxMessage.status == "pending", OutboxMessage.deliver_after <= now)
    claims = claim(
        db, OutboxMessage, ready, OutboxMessage.deliver_after, now, instance, lease, batch
    )
    if not claims:
        return 0
    deliveries: list[Delivery] = []
    with db.transaction() as session:
        messages = hold_many(session, OutboxMessage, claims, instance)
        limits = _limits(session, messages)
        sent_before = _sent_before(session, messages, limits, now)
        secrets = _webhook_secrets(session, messages)
        sent_now: Counter[Channel] = Counter()
        for message in messages:
            delivery = _prepare(session, message, now, limits[message.id], sent_now, sent_before)
            if delivery is not None:
                deliveries.append(replace(delivery, secret=secrets.get(message.contact_method_id)))
    sent = _SENDERS.map(_send, repeat(channels), deliveries)
    outcomes = {delivery.id: outcome for delivery, outcome in zip(deliveries, sent, strict=True)}
    if not outcomes:
        return 0
    with db.transaction() as session:
        # Rows taken over after our lease are left out: their new holder records them.
        recorded_at = clock.now()
        delivered = [c for c in claims if c.id in outcomes and outcomes[c.id] is None]
        _record_sent(session, delivered, instance, recorded_at)
        failed = [c for c in claims if outcomes.get(c.id) is not None]
        for message in hold_many(session, OutboxMessage, failed, instance):
            _record(session, message, outcomes[message.id], recorded_at)
    return len(outcomes)


# Sends are I/O-bound: a batch goes out over a few connections at once, so one slow
# receiver does not hold the rest of the batch back.
_SENDERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fireline-send")


def _send(channels: Channels, delivery: Delivery) -> DeliveryFailed | None:
    try:
        channels.send(delivery)
    except DeliveryFailed as failure:
        return failure
    return None


def _limits(session: Session, messages: list[OutboxMessage]) -> dict[int, PageLimits]:
    """Each page's storm limits: those of its ticket's policy, looked up once per ticket."""
    by_ticket: dict[int, PageLimits] = {}
    for ticket_id in {m.ticket_id for m in messages if m.ticket_id is not None}:
        by_ticket[ticket_id] = page_facts(session, ticket_id).judged.policy.page_limits
    return {m.id: PageLimits() if m.ticket_id is None else by_ticket[m.ticket_id] for m in messages}


def _webhook_secrets(session: Session, messages: list[OutboxMessage]) -> dict[int | None, str]:
    """Each webhook contact method's own signing secret, in one query per batch. Methods made
    before they had one, and removed ones, are left out: the deployment's secret signs."""
    ids = {m.contact_method_id for m in messages if m.kind == "webhook"} - {None}
    if not ids:
        return {}
    rows = session.execute(
        select(ContactMethod.id, ContactMethod.signing_secret).where(
            ContactMethod.id.in_(ids), ContactMethod.signing_secret.is_not(None)
        )
    )
    return {method_id: secret for method_id, secret in rows if secret}


def _channel(message: OutboxMessage) -> Channel:
    return message.user_id, message.contact_method_id


def _sent_before(
    session: Session, messages: list[OutboxMessage], limits: dict[int, PageLimits], now: datetime
) -> dict[tuple[Channel, datetime], int]:
    """Pages already sent in the current window, per channel: one query per window length."""
    people_by_start: dict[datetime, set[int | None]] = {}
    for message in messages:
        start, _ = throttle.window_of(now, limits[message.id])
        people_by_start.setdefault(start, set()).add(message.user_id)
    counted: dict[tuple[Channel, datetime], int] = {}
    for start, people in people_by_start.items():
        rows = session.execute(
            select(OutboxMessage.user_id, OutboxMessage.contact_method_id, func.count())
            .where(
                or_(
                    OutboxMessage.user_id.in_(people - {None}),
                    OutboxMessage.user_id.is_(None) if None in people else false(),
                ),
                OutboxMessage.status == "sent",
                OutboxMessage.sent_at >= start,
            )
            .group_by(OutboxMessage.user_id, OutboxMessage.contact_method_id)
        )
        for user_id, method_id, count in rows:
            counted[(user_id, method_id), start] = count
    return counted


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
    limits: PageLimits,
    sent_now: Counter[Channel],
    sent_before: dict[tuple[Channel, datetime], int],
) -> Delivery | None:
    """The delivery to make, or None when the page is held back and bundled instead.
    `sent_before` counts what was sent earlier in the window, `sent_now` what this batch is
    about to send, per person and method."""
    channel = _channel(message)
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
        if throttle.over_limit(sent_before.get((channel, start), 0) + sent_now[channel], limits):
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


def _record_sent(session: Session, delivered: list[Claim], instance: str, now: datetime) -> None:
    """Mark delivered pages sent in one statement, each only if our claim on it still holds."""
    if not delivered:
        return
    # Core executemany on the connection: an ORM bulk update would load and track the rows.
    session.connection().execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == bindparam("claimed_id"),
            OutboxMessage.fence == bindparam("claimed_fence"),
            OutboxMessage.claimed_by == instance,
        )
        .values(
            status="sent",
            sent_at=now,
            attempts=OutboxMessage.attempts + 1,
            lease_until=None,
            last_error=None,
        ),
        [{"claimed_id": c.id, "claimed_fence": c.fence} for c in delivered],
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
