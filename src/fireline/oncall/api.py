"""HTTP: schedules, overrides, absences, who is on call, and iCalendar feeds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import AwareDatetime

from fireline.context import DB, ActorDep, ClockDep, RowId
from fireline.oncall import ical, service
from fireline.oncall.rotation import RESPONDER
from fireline.oncall.schemas import (
    AbsenceView,
    NewAbsence,
    NewOverride,
    NewSchedule,
    OnCallView,
    OverrideView,
    ScheduleView,
    SpanView,
)

router = APIRouter(prefix="/api/v1", tags=["on-call"])

FEED_PAST = timedelta(days=14)
FEED_AHEAD = timedelta(days=90)
Instant = Annotated[AwareDatetime | None, Query(description="ISO 8601 with offset; default now")]


@router.post("/schedules", status_code=status.HTTP_201_CREATED)
def create_schedule(body: NewSchedule, db: DB, clock: ClockDep, actor: ActorDep) -> ScheduleView:
    return service.create_schedule(db, clock, actor, body)


@router.get("/schedules")
def list_schedules(db: DB, actor: ActorDep) -> list[ScheduleView]:
    return service.list_schedules(db, actor)


@router.get("/schedules/{slug}")
def get_schedule(slug: str, db: DB, actor: ActorDep) -> ScheduleView:
    return service.get_schedule(db, actor, slug)


@router.put("/schedules/{slug}")
def replace_schedule(
    slug: str, body: NewSchedule, db: DB, clock: ClockDep, actor: ActorDep
) -> ScheduleView:
    return service.replace_schedule(db, clock, actor, slug, body)


@router.get("/oncall")
def on_call(
    db: DB, clock: ClockDep, actor: ActorDep, at: Instant = None, schedule: str | None = None
) -> list[OnCallView]:
    """Who is on call at `at` (default: now) on every schedule or one, with the reason."""
    return service.who_is_on_call(db, actor, at or clock.now(), schedule)


@router.post("/schedules/{slug}/overrides", status_code=status.HTTP_201_CREATED)
def add_override(
    slug: str, body: NewOverride, db: DB, clock: ClockDep, actor: ActorDep
) -> OverrideView:
    return service.add_override(db, clock, actor, slug, body)


@router.get("/schedules/{slug}/overrides")
def list_overrides(
    slug: str,
    db: DB,
    clock: ClockDep,
    actor: ActorDep,
    since: Instant = None,
    until: Instant = None,
) -> list[OverrideView]:
    first = since or clock.now() - FEED_PAST
    return service.list_overrides(db, actor, slug, first, until or first + FEED_AHEAD)


@router.delete("/schedules/{slug}/overrides/{override_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_override(slug: str, override_id: RowId, db: DB, actor: ActorDep) -> Response:
    service.remove_override(db, actor, slug, override_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/absences", status_code=status.HTTP_201_CREATED)
def add_absence(body: NewAbsence, db: DB, clock: ClockDep, actor: ActorDep) -> AbsenceView:
    return service.add_absence(db, clock, actor, body)


@router.get("/schedules/{slug}/spans")
def spans(
    slug: str,
    db: DB,
    clock: ClockDep,
    actor: ActorDep,
    since: Instant = None,
    until: Instant = None,
) -> list[SpanView]:
    """The on-call calendar: each layer's holder and the responder, as unbroken stretches."""
    first = since or clock.now()
    return service.schedule_spans(db, actor, slug, first, until or first + timedelta(days=14))


def _feed_window(now: datetime) -> tuple[datetime, datetime]:
    # Whole UTC days, so the first event (and its UID) is stable between refreshes.
    first = (now.astimezone(UTC) - FEED_PAST).replace(hour=0, minute=0, second=0, microsecond=0)
    return first, first + FEED_PAST + FEED_AHEAD


def _ics(body: bytes) -> Response:
    return Response(body, media_type="text/calendar; charset=utf-8")


@router.get("/schedules/{slug}/calendar.ics", response_class=Response)
def schedule_feed(slug: str, db: DB, clock: ClockDep, actor: ActorDep) -> Response:
    now = clock.now()
    found = service.schedule_spans(db, actor, slug, *_feed_window(now))
    return _ics(
        ical.feed(f"On call: {slug}", ((slug, s) for s in found if s.layer != RESPONDER), now)
    )


@router.get("/people/{handle}/calendar.ics", response_class=Response)
def person_feed(handle: str, db: DB, clock: ClockDep, actor: ActorDep) -> Response:
    now = clock.now()
    found = service.person_spans(db, actor, handle, *_feed_window(now))
    return _ics(ical.feed(f"On call: {handle}", found, now))
