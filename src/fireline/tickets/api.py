"""HTTP: tickets. Parse, call one service function, return its view."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from fireline.context import DB, ActorDep, ClockDep, RowId
from fireline.escalation.schemas import EscalationView
from fireline.escalation.service import escalation_of
from fireline.incidents import service as incidents
from fireline.incidents.schemas import IncidentView
from fireline.storable import INTEGER_MAX
from fireline.tickets import service
from fireline.tickets.schemas import (
    COMMENTS_SHOWN,
    AssignRequest,
    CommentPage,
    CommentRequest,
    DeclareFromTicket,
    LinkRequest,
    MoveRequest,
    NewTicket,
    PriorityChangeRequest,
    TicketPage,
    TicketView,
    UpstreamRequest,
)
from fireline.timeline.schemas import EventView

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])


@router.post("", status_code=status.HTTP_201_CREATED)
def open_ticket(body: NewTicket, db: DB, clock: ClockDep, actor: ActorDep) -> TicketView:
    return service.open_ticket(db, clock, actor, body)


@router.get("")
def list_tickets(
    db: DB,
    actor: ActorDep,
    team: str | None = None,
    status: str | None = None,
    priority: str | None = None,
    open: bool | None = None,
    label: str | None = None,
    q: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=INTEGER_MAX)] = 0,
) -> TicketPage:
    return service.list_tickets(
        db,
        actor,
        team=team,
        status=status,
        priority=priority,
        open=open,
        label=label,
        q=q,
        limit=limit,
        offset=offset,
    )


@router.get("/{ticket_id}")
def get_ticket(ticket_id: RowId, db: DB, actor: ActorDep) -> TicketView:
    return service.get_ticket(db, actor, ticket_id)


@router.get("/{ticket_id}/timeline")
def ticket_timeline(ticket_id: RowId, db: DB, actor: ActorDep) -> list[EventView]:
    return service.ticket_timeline(db, actor, ticket_id)


@router.post("/{ticket_id}/mitigate")
def mitigate(
    ticket_id: RowId, body: PriorityChangeRequest, db: DB, clock: ClockDep, actor: ActorDep
) -> TicketView:
    """Lower the priority as the policy's mitigation allows; needs a note if the policy says."""
    return service.mitigate(db, clock, actor, ticket_id, body.to, body.note)


@router.post("/{ticket_id}/escalate")
def escalate(
    ticket_id: RowId, body: PriorityChangeRequest, db: DB, clock: ClockDep, actor: ActorDep
) -> TicketView:
    return service.escalate(db, clock, actor, ticket_id, body.to, body.note)


@router.post("/{ticket_id}/transitions")
def move(
    ticket_id: RowId, body: MoveRequest, db: DB, clock: ClockDep, actor: ActorDep
) -> TicketView:
    """Move the ticket; 409 with the allowed next states when the workflow refuses."""
    return service.move_ticket(db, clock, actor, ticket_id, body.to, body.note)


@router.post("/{ticket_id}/acknowledge")
def acknowledge(ticket_id: RowId, db: DB, clock: ClockDep, actor: ActorDep) -> EscalationView:
    """Acknowledge the page: escalation stops (a later step's timer does nothing)."""
    return service.acknowledge(db, clock, actor, ticket_id)


@router.get("/{ticket_id}/escalation")
def escalation(ticket_id: RowId, db: DB, actor: ActorDep) -> EscalationView:
    return escalation_of(db, actor, ticket_id)


@router.post("/{ticket_id}/upstream")
def mark_upstream(
    ticket_id: RowId, body: UpstreamRequest, db: DB, clock: ClockDep, actor: ActorDep
) -> TicketView:
    """An upstream failure (Meltano: PyPI, GitLab): stop paging, keep the ticket open."""
    return service.mark_upstream(db, clock, actor, ticket_id, body.upstream, body.note)


@router.post("/{ticket_id}/assignee")
def assign(
    ticket_id: RowId, body: AssignRequest, db: DB, clock: ClockDep, actor: ActorDep
) -> TicketView:
    return service.assign_ticket(db, clock, actor, ticket_id, body.assignee)


@router.get("/{ticket_id}/comments")
def comments(
    ticket_id: RowId,
    db: DB,
    actor: ActorDep,
    before: Annotated[int | None, Query(ge=1, le=INTEGER_MAX)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = COMMENTS_SHOWN,
) -> CommentPage:
    """The ticket's comments before comment `before` (or its latest), oldest first: a ticket
    shows its latest few, and in an alert storm gathers hundreds a second."""
    return service.ticket_comments(db, actor, ticket_id, before, limit)


@router.post("/{ticket_id}/comments", status_code=status.HTTP_201_CREATED)
def comment(
    ticket_id: RowId, body: CommentRequest, db: DB, clock: ClockDep, actor: ActorDep
) -> TicketView:
    return service.comment_on(db, clock, actor, ticket_id, body.body)


@router.post("/{ticket_id}/links", status_code=status.HTTP_201_CREATED)
def link(
    ticket_id: RowId, body: LinkRequest, db: DB, clock: ClockDep, actor: ActorDep
) -> TicketView:
    return service.add_link(db, clock, actor, ticket_id, body.url, body.title)


@router.post("/{ticket_id}/incident", status_code=status.HTTP_201_CREATED)
def declare(
    ticket_id: RowId, body: DeclareFromTicket, db: DB, clock: ClockDep, actor: ActorDep
) -> IncidentView:
    """Escalate the ticket into an incident; the ticket gets an acknowledgement naming it."""
    return incidents.declare_from_ticket(db, clock, actor, ticket_id, body)
