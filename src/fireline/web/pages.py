"""Server-rendered pages. For now the front door; the full web app builds on it."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select

from fireline.incidents.models import Incident
from fireline.orgs.models import Organisation, Team
from fireline.policy.load import preset_names
from fireline.store.db import Database
from fireline.tickets.models import Ticket

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def front_door(request: Request) -> HTMLResponse:
    db: Database = request.app.state.db
    with db.transaction() as session:
        organisations = session.execute(
            select(Organisation.name, func.count(Team.id))
            .join(Team, Team.org_id == Organisation.id, isouter=True)
            .group_by(Organisation.id, Organisation.name)
            .order_by(Organisation.name)
        ).all()
        open_tickets = (
            session.scalar(select(func.count()).select_from(Ticket).where(Ticket.is_open.is_(True)))
            or 0
        )
        open_incidents = (
            session.scalar(
                select(func.count())
                .select_from(Incident)
                .where(Incident.is_open.is_(True), Incident.private.is_(False))
            )
            or 0
        )
    return templates.TemplateResponse(
        request,
        "front_door.html",
        {
            "organisations": organisations,
            "open_tickets": open_tickets,
            "open_incidents": open_incidents,
            "presets": preset_names(),
        },
    )
