"""Contact methods, the per-ticket notification log, and a person's inbox."""

from __future__ import annotations

import secrets
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from fireline.auth.actor import Actor, Role
from fireline.auth.models import User
from fireline.clock.now import Clock
from fireline.errors import Conflict, Forbidden, Invalid, NotFound
from fireline.notify.channels import apprise_channel
from fireline.notify.models import ContactMethod, InboxMessage, NotificationRule, OutboxMessage
from fireline.notify.schemas import (
    ContactMethodView,
    InboxView,
    NewContactMethod,
    NotificationView,
)
from fireline.store.db import Database


def _person(session: Session, actor: Actor, handle: str) -> User:
    user = session.scalar(select(User).where(User.org_id == actor.org_id, User.handle == handle))
    if user is None:
        raise NotFound(f"no user {handle!r}")
    if user.id != actor.user_id and actor.role is not Role.admin:
        raise Forbidden("only admins change other people's contact methods")
    return user


WEBHOOK_SECRET_PREFIX = "whsec_"


def new_webhook_secret() -> str:
    """A webhook's own HMAC-SHA256 key: 256 random bits, URL-safe."""
    return WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)


def _signed_with(method: ContactMethod) -> Literal["own-secret", "deployment-secret"] | None:
    if method.kind != "webhook":
        return None
    return "own-secret" if method.signing_secret else "deployment-secret"


def _views(
    session: Session, user_id: int, new: ContactMethod | None = None
) -> list[ContactMethodView]:
    """The person's contact methods; `new`, just made, shows its webhook secret this once."""
    methods = session.scalars(
        select(ContactMethod).where(ContactMethod.user_id == user_id).order_by(ContactMethod.id)
    ).all()
    delays: dict[int, list[int]] = {}
    for method_id, delay in session.execute(
        select(NotificationRule.contact_method_id, NotificationRule.delay_seconds).where(
            NotificationRule.user_id == user_id
        )
    ).all():
        delays.setdefault(method_id, []).append(delay // 60)
    return [
        ContactMethodView(
            id=m.id,
            name=m.name,
            kind=m.kind,
            target=m.target,
            delay_minutes=sorted(delays.get(m.id, [])),
            signed_with=_signed_with(m),
            secret=m.signing_secret if new is not None and m.id == new.id else None,
        )
        for m in methods
    ]


def add_contact_method(
    db: Database, clock: Clock, actor: Actor, handle: str, new: NewContactMethod
) -> list[ContactMethodView]:
    """A way to reach someone, and the rule to use it `delay_minutes` into a page. A webhook
    gets its own signing secret, shown in this answer only."""
    actor.require(Role.responder)
    if new.kind == "webhook" and not new.target.startswith(("http://", "https://")):
        raise Invalid("target", "a webhook target is an http(s) URL")
    if new.kind == "email" and "@" not in new.target:
        raise Invalid("target", "an email target is an address")
    if new.kind == "apprise" and not apprise_channel.understands(new.target):
        raise Invalid("target", "not an Apprise URL (e.g. slack://…, tgram://…, json://…)")
    with db.transaction() as session:
        user = _person(session, actor, handle)
        if (
            session.scalar(
                select(ContactMethod.id).where(
                    ContactMethod.user_id == user.id, ContactMethod.name == new.name
                )
            )
            is not None
        ):
            raise Conflict(f"{handle} already has a contact method {new.name!r}")
        method = ContactMethod(
            user_id=user.id,
            name=new.name,
            kind=new.kind,
            target=new.target,
            signing_secret=new_webhook_secret() if new.kind == "webhook" else None,
            created_at=clock.now(),
        )
        session.add(method)
        session.flush()
        session.add(
            NotificationRule(
                user_id=user.id, contact_method_id=method.id, delay_seconds=new.delay_minutes * 60
            )
        )
        session.flush()
        return _views(session, user.id, method)


def remove_contact_method(
    db: Database, actor: Actor, handle: str, method_id: int
) -> list[ContactMethodView]:
    """Stop reaching someone this way. Pages already queued for it still go to the address
    they were queued with; the notification log keeps their kind and target."""
    actor.require(Role.responder)
    with db.transaction() as session:
        user = _person(session, actor, handle)
        method = session.scalar(
            select(ContactMethod).where(
                ContactMethod.id == method_id, ContactMethod.user_id == user.id
            )
        )
        if method is None:
            raise NotFound(f"{handle} has no contact method {method_id}")
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.contact_method_id == method.id)
            .values(contact_method_id=None)
        )
        session.execute(
            delete(NotificationRule).where(NotificationRule.contact_method_id == method.id)
        )
        session.delete(method)
        session.flush()
        return _views(session, user.id)


def cancel_pages_to(session: Session, user_id: int) -> int:
    """Cancel every page still waiting to reach a person (they were deactivated), in the
    caller's transaction; return how many. The log keeps them, marked cancelled."""
    cancelled = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.user_id == user_id, OutboxMessage.status == "pending")
        .values(status="cancelled", lease_until=None)
    )
    return int(cancelled.rowcount)  # type: ignore[attr-defined]


def contact_methods(db: Database, actor: Actor, handle: str) -> list[ContactMethodView]:
    with db.reading() as session:
        return _views(session, _person(session, actor, handle).id)


def ticket_notifications(db: Database, actor: Actor, ticket_id: int) -> list[NotificationView]:
    """Every notification a ticket caused: to whom, how, and what became of it."""
    with db.reading() as session:
        rows = session.execute(
            select(OutboxMessage, User.handle)
            .join(User, User.id == OutboxMessage.user_id, isouter=True)
            .where(OutboxMessage.ticket_id == ticket_id, OutboxMessage.org_id == actor.org_id)
            .order_by(OutboxMessage.id)
        ).all()
        return [
            NotificationView(
                id=m.id,
                person=handle,
                kind=m.kind,
                target=m.target,
                subject=m.subject,
                status=m.status,
                attempts=m.attempts,
                last_error=m.last_error,
                deliver_after=m.deliver_after,
                sent_at=m.sent_at,
                idempotency_key=m.idempotency_key,
            )
            for m, handle in rows
        ]


def inbox(db: Database, actor: Actor, limit: int = 50) -> list[InboxView]:
    with db.reading() as session:
        rows = session.scalars(
            select(InboxMessage)
            .where(InboxMessage.user_id == actor.user_id)
            .order_by(InboxMessage.id.desc())
            .limit(limit)
        ).all()
        return [
            InboxView(id=r.id, subject=r.subject, body=r.body, created_at=r.created_at)
            for r in rows
        ]
