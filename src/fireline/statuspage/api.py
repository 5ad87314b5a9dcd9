"""HTTP: status page components, publishing updates, and the public JSON and Atom views."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import Response

from fireline.context import DB, ActorDep, ClockDep, RowId
from fireline.openapi import refusals
from fireline.statuspage import atom, service
from fireline.statuspage.schemas import (
    ComponentView,
    NewComponent,
    NewStatusUpdate,
    PublicStatus,
    StatusUpdateView,
)

router = APIRouter(tags=["status page"])


@router.get("/api/v1/status/components")
def components(db: DB, actor: ActorDep) -> list[ComponentView]:
    return service.list_components(db, actor)


@router.post(
    "/api/v1/status/components",
    status_code=status.HTTP_201_CREATED,
    responses=refusals(401, 403, 409),
)
def add_component(body: NewComponent, db: DB, clock: ClockDep, actor: ActorDep) -> ComponentView:
    return service.add_component(db, clock, actor, body)


@router.get("/api/v1/incidents/{incident_id}/status-updates")
def status_updates(incident_id: RowId, db: DB, actor: ActorDep) -> list[StatusUpdateView]:
    return service.status_updates(db, actor, incident_id)


@router.post("/api/v1/incidents/{incident_id}/status-updates", status_code=status.HTTP_201_CREATED)
def publish(
    incident_id: RowId, body: NewStatusUpdate, db: DB, clock: ClockDep, actor: ActorDep
) -> StatusUpdateView:
    """Publish an update on a public incident; a private one is refused (409)."""
    return service.publish_update(db, clock, actor, incident_id, body)


@router.get("/api/v1/public/status/{organisation}")
def public_status(organisation: str, db: DB, clock: ClockDep) -> PublicStatus:
    """The public status page as JSON; needs no token."""
    return service.public_status(db, clock, organisation)


@router.get("/status/{organisation}/feed.atom", response_class=Response)
def feed(organisation: str, request: Request, db: DB, clock: ClockDep) -> Response:
    """Every published update as an Atom feed, newest first; needs no token."""
    name, updates = service.latest_updates(db, organisation)
    page = str(request.url_for("status_page", organisation=organisation))
    entries = [
        atom.Entry(
            id=f"{page}#update-{u.id}",
            title=f"{title}: {u.status}",
            summary=u.body,
            link=f"{page}#incident-{u.incident_id}",
            updated=u.published_at,
        )
        for u, title in updates
    ]
    entries += [
        atom.Entry(
            id=f"{page}#notice-{n.id}" + ("-over" if n.closed_at else ""),
            title=n.title + (" (over)" if n.closed_at else ""),
            summary=n.body,
            link=f"{page}#notice-{n.id}",
            updated=n.closed_at or n.opened_at,
        )
        for n in service.public_notices(db, clock, organisation)
    ]
    entries.sort(key=lambda entry: entry.updated, reverse=True)
    document = atom.render(
        feed_id=page,
        title=f"{name} status",
        link=page,
        updated=entries[0].updated if entries else clock.now(),
        entries=entries,
    )
    return Response(document, media_type="application/atom+xml")
