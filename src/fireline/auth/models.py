"""People who use Fireline, the API tokens they hold and their browser sessions (hashed at rest)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fireline.store.base import Base


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("org_id", "handle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    handle: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # The person's own working hours, in their zone: who may lead, when to page.
    working_days: Mapped[list[int]] = mapped_column(default=lambda: [0, 1, 2, 3, 4])
    work_starts: Mapped[str] = mapped_column(String(5), default="09:00")
    work_ends: Mapped[str] = mapped_column(String(5), default="17:00")
    password_hash: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime]
    # Deactivated people keep their history but are never paged, never on duty, never chosen.
    deactivated_at: Mapped[datetime | None]


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class WebSession(Base):
    """A signed-in browser: the cookie holds a random token, the table only its hash."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # Forms carry this value back; a cross-site page cannot read it, so it cannot forge a post.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
