"""What the responders' dashboard shows about tickets: open ones by level, the most urgent
clocks, and how many were open each day. Read-only; each query stays on indexed open rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, func, or_, select

from fireline.auth.actor import Actor
from fireline.orgs.models import Team
from fireline.store.db import Database
from fireline.tickets.models import Ticket

UNLEVELLED = "untriaged"


@dataclass(frozen=True, slots=True)
class Clocked:
    """An open ticket and the clock that runs out next on it (response, else resolution)."""

    id: int
    team: str
    title: str
    priority: str | None
    status: str
    started_at: datetime
    due_at: datetime | None
    due_kind: str
    paused: bool


@dataclass(frozen=True, slots=True)
class DailyOpen:
    day: datetime
    by_level: dict[str, int]


def _next_due() -> ColumnElement[datetime | None]:
    return case(
        (Ticket.responded_at.is_(None), Ticket.response_due_at),
        else_=Ticket.resolution_due_at,
    )


def open_by_level(db: Database, actor: Actor) -> dict[str, int]:
    with db.transaction() as session:
        rows = session.execute(
            select(Ticket.priority, func.count())
            .where(Ticket.org_id == actor.org_id, Ticket.is_open.is_(True))
            .group_by(Ticket.priority)
        ).all()
        return {(level or UNLEVELLED): count for level, count in rows}


def most_urgent(db: Database, actor: Actor, limit: int = 15) -> list[Clocked]:
    """Open tickets whose next clock runs out first; those without a clock come last."""
    due = _next_due()
    with db.transaction() as session:
        rows = session.execute(
            select(Ticket, Team.slug, due.label("due"))
            .join(Team, Team.id == Ticket.team_id)
            .where(Ticket.org_id == actor.org_id, Ticket.is_open.is_(True))
            .order_by(due.is_(None), due, Ticket.id)
            .limit(limit)
        ).all()
        return [
            Clocked(
                id=t.id,
                team=slug,
                title=t.title,
                priority=t.priority,
                status=t.status,
                started_at=t.clock_started_at,
                due_at=t.response_due_at if t.responded_at is None else t.resolution_due_at,
                due_kind="response" if t.responded_at is None else "resolution",
                paused=t.paused_at is not None,
            )
            for t, slug, _ in rows
        ]


def open_each_day(db: Database, actor: Actor, now: datetime, days: int = 14) -> list[DailyOpen]:
    """Tickets open at the end of each of the last `days` days (UTC), by level: the chart."""
    first = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    with db.transaction() as session:
        rows = session.execute(
            select(Ticket.priority, Ticket.created_at, Ticket.resolved_at).where(
                Ticket.org_id == actor.org_id,
                Ticket.created_at <= now,
                or_(Ticket.is_open.is_(True), Ticket.resolved_at >= first),
            )
        ).all()
    return daily_counts(rows, first, now, days)


def daily_counts(
    rows: Sequence[tuple[str | None, datetime, datetime | None]],
    first: datetime,
    now: datetime,
    days: int,
) -> list[DailyOpen]:
    """Pure: open at each day's end (or at `now` for today), counted by level."""
    series = []
    for n in range(days):
        end = min(first + timedelta(days=n + 1), now)
        counts = Counter(
            level or UNLEVELLED
            for level, created, resolved in rows
            if created <= end and (resolved is None or resolved > end)
        )
        series.append(DailyOpen(first + timedelta(days=n), dict(counts)))
    return series
