"""Users, passwords and API tokens. Tokens are random, shown once and stored as SHA-256."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from fireline.auth.actor import Actor, Role, Via
from fireline.auth.models import ApiToken, User
from fireline.clock.now import Clock
from fireline.errors import Conflict, Invalid, NotFound, Unauthorized
from fireline.store.db import Database

TOKEN_PREFIX = "fl_"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), dklen=32, **_SCRYPT)
    return hmac.compare_digest(candidate.hex(), digest)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class PersonDeactivated(Invalid):
    """A write names people who were deactivated: nobody puts them on duty or pages them."""

    title = "Person deactivated"

    def __init__(self, field: str, handles: list[str], what: str) -> None:
        names = ", ".join(handles)
        were = "was" if len(handles) == 1 else "were"
        super().__init__(
            field, f"{names} {were} deactivated and cannot be {what}", deactivated=handles
        )


@dataclass(frozen=True, slots=True)
class IssuedToken:
    id: int
    name: str
    token: str


def add_user(
    session: Session,
    clock: Clock,
    org_id: int,
    handle: str,
    name: str,
    role: Role,
    *,
    email: str | None = None,
    timezone: str = "UTC",
    password: str | None = None,
) -> User:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid("timezone", f"unknown time zone {timezone!r}") from None
    taken = session.scalar(select(User.id).where(User.org_id == org_id, User.handle == handle))
    if taken is not None:
        raise Conflict(f"a user {handle!r} exists already")
    user = User(
        org_id=org_id,
        handle=handle,
        name=name,
        email=email,
        role=role.value,
        timezone=timezone,
        password_hash=hash_password(password) if password else None,
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    return user


def issue_token(session: Session, clock: Clock, user: User, name: str) -> IssuedToken:
    """A 256-bit token; only its hash is kept, so this is the one time it is seen."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=name,
        prefix=token[:10],
        token_sha256=token_digest(token),
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return IssuedToken(row.id, name, token)


def actor_for(user: User, via: Via) -> Actor:
    """Who `user` acts as; a deactivated person no longer acts (tokens, browser sessions)."""
    if user.deactivated_at is not None:
        raise Unauthorized(f"{user.handle} was deactivated")
    return Actor(user.id, user.handle, user.org_id, Role(user.role), via)


def authenticate(db: Database, token: str, via: Via = Via.api) -> Actor:
    """The actor a bearer token stands for; one indexed lookup of its hash."""
    if not token.startswith(TOKEN_PREFIX):
        raise Unauthorized("not a Fireline API token")
    with db.reading() as session:
        found = session.execute(
            select(User, ApiToken.revoked_at)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_sha256 == token_digest(token))
        ).one_or_none()
        if found is None or found.revoked_at is not None:
            raise Unauthorized("unknown or revoked API token")
        return actor_for(found.User, via)


def user_by_handle(session: Session, org_id: int, handle: str, *, field: str = "person") -> User:
    """The active person `handle`, to give work to: `PersonDeactivated` for one who left."""
    user = session.scalar(select(User).where(User.org_id == org_id, User.handle == handle))
    if user is None:
        raise NotFound(f"no user {handle!r}")
    if user.deactivated_at is not None:
        raise PersonDeactivated(field, [handle], "given work")
    return user


def create_user(
    db: Database,
    clock: Clock,
    actor: Actor,
    handle: str,
    name: str,
    role: Role,
    email: str | None,
    timezone: str,
    password: str | None,
) -> User:
    actor.require(Role.admin)
    with db.transaction() as session:
        return add_user(
            session,
            clock,
            actor.org_id,
            handle,
            name,
            role,
            email=email,
            timezone=timezone,
            password=password,
        )


def create_token(db: Database, clock: Clock, actor: Actor, name: str) -> IssuedToken:
    if actor.user_id is None:
        raise Unauthorized("only a person may hold a token")
    with db.transaction() as session:
        user = session.get(User, actor.user_id)
        assert user is not None
        return issue_token(session, clock, user, name)


def deactivate(session: Session, now: datetime, actor: Actor, handle: str) -> User:
    """Mark `handle` deactivated, in the caller's transaction; history keeps the row. Doing it
    again changes nothing. The caller stops their pages and reports where they are named."""
    actor.require(Role.admin)
    user = session.scalar(
        select(User).where(User.org_id == actor.org_id, User.handle == handle).with_for_update()
    )
    if user is None:
        raise NotFound(f"no user {handle!r}")
    if user.id == actor.user_id:
        raise Conflict("you cannot deactivate yourself; ask another admin")
    if user.deactivated_at is None:
        user.deactivated_at = now
    return user


def list_users(db: Database, actor: Actor) -> list[User]:
    with db.reading() as session:
        return list(
            session.scalars(select(User).where(User.org_id == actor.org_id).order_by(User.handle))
        )
