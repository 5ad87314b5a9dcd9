"""Writing to and reading the timeline; events are only ever appended."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fireline.auth.actor import Actor
from fireline.auth.models import User
from fireline.store.bulk import copy_rows
from fireline.timeline.models import Event
from fireline.timeline.schemas import EventView


def event_row(
    actor: Actor,
    at: datetime,
    kind: str,
    summary: str,
    *,
    ticket_id: int | None = None,
    incident_id: int | None = None,
    **data: Any,
) -> dict[str, Any]:
    """One event's columns: who, what, when, through which interface, about what."""
    return {
        "org_id": actor.org_id,
        "ticket_id": ticket_id,
        "incident_id": incident_id,
        "kind": kind,
        "summary": summary,
        "data": data,
        "actor_id": actor.user_id,
        "via": actor.via.value,
        "at": at,
    }


def record(
    session: Session,
    actor: Actor,
    at: datetime,
    kind: str,
    summary: str,
    *,
    ticket_id: int | None = None,
    incident_id: int | None = None,
    **data: Any,
) -> Event:
    """Append one event in the caller's transaction, so it commits with the change it tells."""
    event = Event(
        **event_row(actor, at, kind, summary, ticket_id=ticket_id, incident_id=incident_id, **data)
    )
    session.add(event)
    return event


def record_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Append many events in one statement (rows from `event_row`)."""
    if rows:
        # Pending objects first (events may name a row added a moment ago), then the rows
        # as plain values (COPY on PostgreSQL), with none of the ORM's bulk bookkeeping.
        session.flush()
        copy_rows(session, Event, rows)


def events_of(
    session: Session, *, ticket_id: int | None = None, incident_id: int | None = None
) -> list[Event]:
    query = select(Event).order_by(Event.at, Event.id)
    if ticket_id is not None:
        query = query.where(Event.ticket_id == ticket_id)
    if incident_id is not None:
        query = query.where(Event.incident_id == incident_id)
    return list(session.scalars(query))


def event_views(session: Session, events: list[Event]) -> list[EventView]:
    ids = {e.actor_id for e in events if e.actor_id is not None}
    handles: dict[int, str] = {}
    if ids:
        handles = dict(session.execute(select(User.id, User.handle).where(User.id.in_(ids))).all())
    return [
        EventView(
            id=e.id,
            kind=e.kind,
            summary=e.summary,
            data=e.data,
            actor=handles.get(e.actor_id) if e.actor_id else None,
            via=e.via,
            at=e.at,
            ticket_id=e.ticket_id,
            incident_id=e.incident_id,
        )
        for e in events
    ]


def latest_event_id(session: Session, org_id: int) -> int:
    """The newest event of an organisation: live pages reload when it changes."""
    return session.scalar(select(func.max(Event.id)).where(Event.org_id == org_id)) or 0
