"""Templates and the small display rules they share: local times, countdowns, the chart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from fireline.auth.sessions import SignedIn
from fireline.store.db import Database
from fireline.timeline.service import latest_event_id

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _query_without(query: dict[str, str], name: str) -> str:
    """The query string minus `name`, ready for one more parameter: 'team=a&' or ''."""
    kept = urlencode({k: v for k, v in query.items() if k != name and v})
    return kept + "&" if kept else ""


templates.env.filters["urlencode_without"] = _query_without


LOCAL = "%a %d %b %H:%M %Z"


def local(moment: datetime | None, zone: str, pattern: str = LOCAL) -> str:
    """An instant as the reader's wall clock shows it (the zone's abbreviation says which)."""
    if moment is None:
        return "—"
    return moment.astimezone(ZoneInfo(zone)).strftime(pattern)


def duration(delta: timedelta) -> str:
    """'3 d 4 h', '2 h 5 min', '40 s': the two largest units are enough for a clock."""
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{seconds} s"


@dataclass(frozen=True, slots=True)
class Countdown:
    """How much of a target's time is used: the bar's width, its words and its urgency."""

    used: float
    words: str
    state: str  # "ok", "soon" (three quarters used), "late"


def countdown(start: datetime, due: datetime | None, now: datetime) -> Countdown | None:
    if due is None:
        return None
    whole = (due - start).total_seconds()
    used = 1.0 if whole <= 0 else min(max((now - start).total_seconds() / whole, 0.0), 1.0)
    if now >= due:
        return Countdown(1.0, f"{duration(now - due)} late", "late")
    return Countdown(used, f"{duration(due - now)} left", "soon" if used >= 0.75 else "ok")


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    height: float
    level: str
    count: int


def stacked_bars(
    series: list[tuple[str, dict[str, int]]], levels: list[str], width: float, height: float
) -> tuple[list[Bar], int]:
    """Pure layout of a stacked bar chart: one column per day, one block per level."""
    peak = max((sum(counts.values()) for _, counts in series), default=0) or 1
    column = width / max(len(series), 1)
    bars = []
    for n, (_, counts) in enumerate(series):
        y = height
        for level in levels:
            count = counts.get(level, 0)
            if count:
                block = height * count / peak
                y -= block
                bars.append(Bar(n * column, y, block, level, count))
    return bars, peak


def newest_event(db: Database, org_id: int) -> int:
    """The organisation's newest timeline event: what a live page has shown, and what its
    stream compares against."""
    with db.reading() as session:
        return latest_event_id(session, org_id)


def page(
    request: Request,
    name: str,
    user: SignedIn | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page with what every page needs: who is signed in and the flash message, if any,
    and for a signed-in reader the newest timeline event it shows (its live stream tells of
    anything newer)."""
    zone = user.timezone if user else "UTC"
    live_since = None if user is None else newest_event(request.app.state.db, user.actor.org_id)
    return templates.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "zone": zone,
            "local": lambda moment, pattern=LOCAL: local(moment, zone, pattern),
            "live_since": live_since,
            "flash": request.query_params.get("flash"),
            "error": request.query_params.get("error"),
            **context,
        },
        status_code=status_code,
    )
