"""Engine step: deliver the outbox. Claim under a lease, deliver outside any transaction,
record the outcome only if the claim still holds. Failures retry with back-off; after the last
try the page goes to the person's next contact method. Over the storm limit, pages are held
back and one summary per window says how many."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from queue import Empty, SimpleQueue
from typing import Any

from sqlalchemy import and_, bindparam, false, func, or_, select, tuple_, update
from sqlalchemy.orm import Session

from fireline.clock.now import Clock
from fireline.engine import throttle
from fireline.engine.facts import page_facts_of
from fireline.engine.lease import Claim, claim_rows, hold_many
from fireline.notify.channels.delivery import Delivery, DeliveryFailed
from fireline.notify.channels.registry import Channels
from fireline.notify.models import ContactMethod, OutboxMessage
from fireline.notify.outbox import INBOX, insert_pages, reach_by
from fireline.policy.schema import PageLimits
from fireline.store.db import Database

MAX_ATTEMPTS = 5
BACK_OFF = (10, 30, 90, 270)

Channel = tuple[int | None, int | None]  # (person, contact method): what storm limits count

# Every column of a claimed page but the id and fence, which a claim returns anyway.
_COLUMNS = tuple(c for c in OutboxMessage.__table__.c if c.key not in ("id", "fence"))


def run(
    db: Database, clock: Clock, instance: str, lease: timedelta, batch: int, channels: Channels
) -> int:
    """Deliver one claimed batch: claim and prepare it in one transaction, send its pages
    concurrently, then record the outcomes in one transaction; return how many pages were
    dealt with (sent, failed or bundled). A crash between sending and recording can repeat,
    at most, the pages of the batch it held (the documented duplicate)."""
    now = clock.now()
    ready = and_(OutboxMessage.status == "pending", OutboxMessage.deliver_after <= now)
    with db.transaction() as session:
        order = OutboxMessage.deliver_after
        claimed = claim_rows(
            session, OutboxMessage, ready, order, now, instance, lease, batch, *_COLUMNS
        )
        messages = sorted(claimed, key=lambda message: message.id)  # the oldest go out first
        deliveries = _prepare(session, messages, now)
    # Past its lease a claim may be another instance's: no delivery is begun after that (a
    # frozen process that wakes up sends nothing more; what it had in flight may repeat).
    deadline = now + lease
    outcomes = _send_all(channels, clock, deadline, deliveries)
    if outcomes:
        claims = {message.id: Claim(message.id, message.fence) for message in messages}
        with db.transaction() as session:
            # Rows taken over after our lease are left out: their new holder records them.
            recorded_at = clock.now()
            delivered = [claims[i] for i, outcome in outcomes.items() if outcome is None]
            _record_sent(session, delivered, instance, recorded_at)
            failed = [claims[i] for i, outcome in outcomes.items() if outcome is not None]
            for message in hold_many(session, OutboxMessage, failed, instance) if failed else []:
                _record(session, message, outcomes[message.id], recorded_at)
    return len(messages) - len(deliveries) + len(outcomes)


# Sends are I/O-bound: a batch goes out over a few connections at once, so one slow
# receiver does not hold the rest of the batch back.
SENDERS = 4
_SENDERS = ThreadPoolExecutor(max_workers=SENDERS, thread_name_prefix="fireline-send")


def _send_all(
    channels: Channels, clock: Clock, deadline: datetime, deliveries: list[Delivery]
) -> dict[int, DeliveryFailed | None]:
    """Each delivery's outcome (None: sent), but for those not begun before `deadline`. The
    senders take the next delivery from one queue as they finish the last: a task per
    sender, not per page."""
    todo: SimpleQueue[Delivery] = SimpleQueue()
    for delivery in deliveries:
        todo.put(delivery)
    outcomes: dict[int, DeliveryFailed | None] = {}

    def sender() -> None:
        while not todo.empty():
            try:
                delivery = todo.get_nowait()
            except Empty:
                return
            if clock.now() >= deadline:
                continue
            try:
                channels.send(delivery)
                outcomes[delivery.id] = None
            except DeliveryFailed as failure:
                outcomes[delivery.id] = failure

    tasks = [_SENDERS.submit(sender) for _ in range(min(SENDERS, len(deliveries)))]
    wait(tasks)  # all of them, before any failure is raised: none goes on sending unrecorded
    for task in tasks:
        task.result()
    return outcomes


def _limits(session: Session, messages: Sequence[Any]) -> dict[int, PageLimits]:
    """Each page's storm limits: those of its ticket's policy, for all tickets at once."""
    facts = page_facts_of(session, {m.ticket_id for m in messages if m.ticket_id is not None})
    return {
        m.id: PageLimits() if m.ticket_id is None else facts[m.ticket_id].judged.policy.page_limits
        for m in messages
    }


def _webhook_secrets(session: Session, messages: Sequence[Any]) -> dict[int | None, str]:
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


def _channel(message: Any) -> Channel:
    return message.user_id, message.contact_method_id


def _sent_before(
    session: Session, messages: Sequence[Any], limits: dict[int, PageLimits], now: datetime
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


def _same_channel(message: Any) -> Any:
    return and_(
        OutboxMessage.user_id == message.user_id,
        OutboxMessage.contact_method_id.is_(None)
        if message.contact_method_id is None
        else OutboxMessage.contact_method_id == message.contact_method_id,
    )


def _prepare(session: Session, messages: Sequence[Any], now: datetime) -> list[Delivery]:
    """The deliveries to make of a claimed batch. Pages over their channel's storm limit are
    held back (bundled) instead, and a summary of the window is queued for each channel."""
    if not messages:
        return []
    limits = _limits(session, messages)
    # What was sent earlier in the window, and what this batch is about to send, per channel.
    sent_before = _sent_before(session, messages, limits, now)
    sent_now: Counter[Channel] = Counter()
    secrets = _webhook_secrets(session, messages)
    bundled: list[int] = []
    summaries: dict[str, dict[str, Any]] = {}
    retold: list[dict[str, Any]] = []
    deliveries: list[Delivery] = []
    for message in messages:
        channel, page_limits = _channel(message), limits[message.id]
        subject, body = message.subject, message.body
        if message.idempotency_key.startswith(throttle.BUNDLE):
            opened = throttle.summary_window(message.idempotency_key)
            held_back = session.scalars(
                select(OutboxMessage.subject).where(
                    _same_channel(message),
                    OutboxMessage.status == "bundled",
                    OutboxMessage.sent_at >= opened,
                    OutboxMessage.sent_at < opened + timedelta(minutes=page_limits.window_minutes),
                )
            )
            subject, body = throttle.summary_text(list(held_back))
            retold.append({"summary_id": message.id, "summary": subject, "said": body})
        else:
            start, end = throttle.window_of(now, page_limits)
            sent = sent_before.get((channel, start), 0) + sent_now[channel]
            if throttle.over_limit(sent, page_limits):
                bundled.append(message.id)
                key = throttle.summary_key(message.user_id, message.contact_method_id, start)
                if key not in summaries:
                    summaries[key] = _fresh_copy(
                        message,
                        now,
                        idempotency_key=key,
                        deliver_after=end,
                        ticket_id=None,
                        escalation_id=None,
                    )
                continue
        sent_now[channel] += 1
        deliveries.append(
            Delivery(
                message.id,
                message.idempotency_key,
                message.kind,
                message.target,
                subject,
                body,
                message.user_id,
                message.ticket_id,
                secrets.get(message.contact_method_id),
            )
        )
    connection = session.connection()
    if bundled:
        connection.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(bundled))
            .values(status="bundled", sent_at=now, lease_until=None)
        )
    insert_pages(session, list(summaries.values()))
    if retold:
        connection.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == bindparam("summary_id"))
            .values(subject=bindparam("summary"), body=bindparam("said")),
            retold,
        )
    return deliveries


def _record_sent(session: Session, delivered: list[Claim], instance: str, now: datetime) -> None:
    """Mark delivered pages sent in one statement, each only if our claim on it still holds."""
    if not delivered:
        return
    session.connection().execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_([c.id for c in delivered]),
            tuple_(OutboxMessage.id, OutboxMessage.fence).in_([(c.id, c.fence) for c in delivered]),
            OutboxMessage.claimed_by == instance,
        )
        .values(
            status="sent",
            sent_at=now,
            attempts=OutboxMessage.attempts + 1,
            lease_until=None,
            last_error=None,
        )
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
    insert_pages(session, [row])


def _fresh_copy(message: Any, now: datetime, **changes: Any) -> dict[str, Any]:
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
