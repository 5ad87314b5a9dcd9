"""HTTP: contact methods, a ticket's notification log, and your inbox."""

from __future__ import annotations

from fastapi import APIRouter, status

from fireline.context import DB, ActorDep, ClockDep, RowId
from fireline.notify import service
from fireline.notify.schemas import (
    ContactMethodView,
    InboxView,
    NewContactMethod,
    NotificationView,
)
from fireline.openapi import refusals

router = APIRouter(prefix="/api/v1", tags=["notifications"])


@router.post("/people/{handle}/contact-methods", status_code=status.HTTP_201_CREATED)
def add_contact_method(
    handle: str, body: NewContactMethod, db: DB, clock: ClockDep, actor: ActorDep
) -> list[ContactMethodView]:
    return service.add_contact_method(db, clock, actor, handle, body)


@router.delete("/people/{handle}/contact-methods/{method_id}")
def remove_contact_method(
    handle: str, method_id: RowId, db: DB, actor: ActorDep
) -> list[ContactMethodView]:
    return service.remove_contact_method(db, actor, handle, method_id)


@router.get("/people/{handle}/contact-methods", responses=refusals(401, 403, 404, 422))
def contact_methods(handle: str, db: DB, actor: ActorDep) -> list[ContactMethodView]:
    return service.contact_methods(db, actor, handle)


@router.get("/tickets/{ticket_id}/notifications")
def notifications(ticket_id: RowId, db: DB, actor: ActorDep) -> list[NotificationView]:
    """The notification log: every page a ticket caused and what became of it."""
    return service.ticket_notifications(db, actor, ticket_id)


@router.get("/me/inbox")
def inbox(db: DB, actor: ActorDep) -> list[InboxView]:
    return service.inbox(db, actor)
