"""What the responders' dashboard shows about tickets: open ones by level, the most urgent
clocks, and how many were open each day. Read-only; each query stays on indexed open rows.

Open tickets are selected with the bare column (`WHERE is_open`, `= 1` on SQLite), the form
the partial indexes' predicates are written in: `IS true` would not match them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, select

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
    day: date  # the UTC day, counted at its end (today: now)
    by_level: dict[str, int]


def _next_due() -> ColumnElement[datetime | None]:
    return case(
        (Ticket.responded_at.is_(None), Ticket.response_due_at),
        else_=Ticket.resolution_due_at,
    )


def open_by_level(db: Database, actor: Actor) -> dict[str, int]:
    with db.reading() as session:
        rows = session.execute(
            select(Ticket.priority, func.count())
            .where(Ticket.org_id == actor.org_id, Ticket.is_open)
            .group_by(Ticket.priority)
        ).all()
        return {(level or UNLEVELLED): count for level, count in rows}


def most_urgent(db: Database, actor: Actor, limit: int = 15) -> list[Clocked]:
    """Open tickets whose next clock runs out first; those without a clock come last."""
    due = _next_due()
    with db.reading() as session:
        rows = session.execute(
            select(Ticket, Team.slug, due.label("due"))
            .join(Team, Team.id == Ticket.team_id)
            .where(Ticket.org_id == actor.org_id, Ticket.is_open)
            .order_by(due.asc().nulls_last(), Ticket.id)
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


def _day_ends(now: datetime, days: int) -> list[datetime]:
    """The end of each of the last `days` UTC days; today's is now."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return [today - timedelta(days=days - 2 - n) for n in range(days - 1)] + [now]


def _day_of(end: datetime) -> date:
    return (end - timedelta(microseconds=1)).date()


def _by_bucket(column: Any, ends: list[datetime]) -> Any:
    """Which day an instant after the first day's end falls in: k for (ends[k-1], ends[k]]."""
    return case(*((column <= end, k) for k, end in enumerate(ends[1:], start=1)), else_=len(ends))


def open_each_day(db: Database, actor: Actor, now: datetime, days: int = 14) -> list[DailyOpen]:
    """Tickets open at the end of each of the last `days` UTC days, by level: the chart.

    Counted backwards from today's open tickets, so only the window's openings and resolutions
    are read, not the history: open(t) = open now + resolved since t - opened since t."""
    ends = _day_ends(now, days)
    with db.reading() as session:
        mine = Ticket.org_id == actor.org_id
        open_now = session.execute(
            select(Ticket.priority, func.count())
            .where(mine, Ticket.is_open)
            .group_by(Ticket.priority)
        ).all()
        moves = []
        for column in (Ticket.created_at, Ticket.resolved_at):
            bucket = _by_bucket(column, ends)
            moves.append(
                session.execute(
                    select(bucket, Ticket.priority, func.count())
                    .where(mine, column > ends[0], column <= now)
                    .group_by(bucket, Ticket.priority)
                ).all()
            )
    return daily_counts(open_now, moves[0], moves[1], ends)


def daily_counts(
    open_now: Sequence[tuple[str | None, int]],
    opened: Sequence[tuple[int, str | None, int]],
    resolved: Sequence[tuple[int, str | None, int]],
    ends: list[datetime],
) -> list[DailyOpen]:
    """Pure: open at each day's end from today's open count and, per later day (bucket k),
    how many tickets opened and were resolved then."""
    running = Counter({(level or UNLEVELLED): n for level, n in open_now})
    series = [DailyOpen(_day_of(ends[-1]), {k: v for k, v in running.items() if v})]
    for day in range(len(ends) - 1, 0, -1):
        for bucket, level, n in resolved:
            if bucket == day:
                running[level or UNLEVELLED] += n
        for bucket, level, n in opened:
            if bucket == day:
                running[level or UNLEVELLED] -= n
        series.append(DailyOpen(_day_of(ends[day - 1]), {k: v for k, v in running.items() if v}))
    return series[::-1]
