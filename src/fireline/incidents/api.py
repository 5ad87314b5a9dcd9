"""HTTP: incidents, their workflow, roles, updates and timeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from fireline.context import DB, ActorDep, ClockDep, RowId
from fireline.incidents import service
from fireline.incidents.schemas import (
    IncidentPage,
    IncidentView,
    LinkTicketRequest,
    MemberRequest,
    NewIncident,
    RoleRequest,
    SeverityRequest,
    UpdateRequest,
)
from fireline.storable import INTEGER_MAX
from fireline.tickets.schemas import MoveRequest
from fireline.timeline.schemas import EventView

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


@router.post("", status_code=status.HTTP_201_CREATED)
def declare(body: NewIncident, db: DB, clock: ClockDep, actor: ActorDep) -> IncidentView:
    return service.declare_incident(db, clock, actor, body)


@router.get("")
def list_incidents(
    db: DB,
    actor: ActorDep,
    team: str | None = None,
    status: str | None = None,
    severity: str | None = None,
    open: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=INTEGER_MAX)] = 0,
) -> IncidentPage:
    return service.list_incidents(
        db,
        actor,
        team=team,
        status=status,
        severity=severity,
        open=open,
        limit=limit,
        offset=offset,
    )


@router.get("/{incident_id}")
def get_incident(incident_id: RowId, db: DB, actor: ActorDep) -> IncidentView:
    return service.get_incident(db, actor, incident_id)


@router.post("/{incident_id}/transitions")
def move(
    incident_id: RowId, body: MoveRequest, db: DB, clock: ClockDep, actor: ActorDep
) -> IncidentView:
    """Move the incident; 409 with the allowed next states when the workflow refuses."""
    return service.move_incident(db, clock, actor, incident_id, body.to, body.note)


@router.put("/{incident_id}/roles/{role}")
def assign_role(
    incident_id: RowId, role: str, body: RoleRequest, db: DB, clock: ClockDep, actor: ActorDep
) -> IncidentView:
    """Give a role to someone (a hand-off from its holder), or `null` to tag out."""
    return service.assign_role(db, clock, actor, incident_id, role, body.person, body.note)


@router.post("/{incident_id}/severity")
def change_severity(
    incident_id: RowId, body: SeverityRequest, db: DB, clock: ClockDep, actor: ActorDep
) -> IncidentView:
    return service.change_severity(db, clock, actor, incident_id, body.to, body.note)


@router.post("/{incident_id}/updates", status_code=status.HTTP_201_CREATED)
def post_update(
    incident_id: RowId, body: UpdateRequest, db: DB, clock: ClockDep, actor: ActorDep
) -> IncidentView:
    return service.post_update(db, clock, actor, incident_id, body.body)


@router.post("/{incident_id}/members", status_code=status.HTTP_201_CREATED)
def add_member(
    incident_id: RowId, body: MemberRequest, db: DB, clock: ClockDep, actor: ActorDep
) -> IncidentView:
    return service.add_member(db, clock, actor, incident_id, body.person)


@router.post("/{incident_id}/tickets", status_code=status.HTTP_201_CREATED)
def link_ticket(
    incident_id: RowId, body: LinkTicketRequest, db: DB, clock: ClockDep, actor: ActorDep
) -> IncidentView:
    return service.link_ticket(db, clock, actor, incident_id, body.ticket)


@router.get("/{incident_id}/timeline")
def timeline(incident_id: RowId, db: DB, actor: ActorDep) -> list[EventView]:
    return service.incident_timeline(db, actor, incident_id)
