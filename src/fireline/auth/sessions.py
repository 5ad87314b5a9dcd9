"""Browser sign-in: a password exchanged for a session cookie, and a CSRF token bound to it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from fireline.auth.actor import Actor, Via
from fireline.auth.models import User, WebSession
from fireline.auth.service import actor_for, token_digest, verify_password
from fireline.clock.now import Clock
from fireline.errors import Unauthorized
from fireline.orgs.models import Organisation
from fireline.store.db import Database

SESSION_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who a browser session stands for, with what a page needs to know about them."""

    actor: Actor
    name: str
    timezone: str
    organisation: str
    csrf_token: str


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str
    csrf_token: str


def sign_in(
    db: Database, clock: Clock, organisation: str, handle: str, password: str
) -> NewSession:
    """A new session for a correct password; the same answer for every kind of wrong one."""
    with db.transaction() as session:
        user = session.scalar(
            select(User)
            .join(Organisation, Organisation.id == User.org_id)
            .where(Organisation.slug == organisation, User.handle == handle)
        )
        # Hash even for an unknown person, so the answer's timing does not tell who exists.
        stored = user.password_hash if user is not None else None
        valid = verify_password(password, stored or "scrypt$00$00")
        if user is None or not valid or user.deactivated_at is not None:
            raise Unauthorized("wrong organisation, handle or password")
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = clock.now()
        session.add(
            WebSession(
                user_id=user.id,
                token_sha256=token_digest(token),
                csrf_token=csrf,
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
        return NewSession(token, csrf)


def signed_in(db: Database, clock: Clock, token: str) -> SignedIn:
    """The person behind a session cookie; an unknown, ended or expired one is refused."""
    with db.reading() as session:
        found = session.execute(
            select(User, WebSession, Organisation.slug)
            .join(WebSession, WebSession.user_id == User.id)
            .join(Organisation, Organisation.id == User.org_id)
            .where(WebSession.token_sha256 == token_digest(token))
        ).one_or_none()
        if found is None:
            raise Unauthorized("not signed in")
        user, row, organisation = found
        if row.ended_at is not None or row.expires_at <= clock.now():
            raise Unauthorized("the session has ended; sign in again")
        return SignedIn(
            actor=actor_for(user, Via.web),
            name=user.name,
            timezone=user.timezone,
            organisation=organisation,
            csrf_token=row.csrf_token,
        )


def sign_out(db: Database, clock: Clock, token: str) -> None:
    with db.transaction() as session:
        session.execute(
            update(WebSession)
            .where(WebSession.token_sha256 == token_digest(token), WebSession.ended_at.is_(None))
            .values(ended_at=clock.now())
        )
