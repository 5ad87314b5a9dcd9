"""The public status page: no sign-in, no private incidents, readable without JavaScript."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from fireline.context import DB, ClockDep
from fireline.statuspage import service as statuspage
from fireline.statuspage.schemas import ComponentState
from fireline.web.render import page

router = APIRouter(include_in_schema=False)

_WORST_FIRST = [
    ComponentState.major_outage,
    ComponentState.partial_outage,
    ComponentState.degraded_performance,
    ComponentState.under_maintenance,
    ComponentState.operational,
]


@router.get("/status/{organisation}", response_class=HTMLResponse)
def status_page(organisation: str, request: Request, db: DB, clock: ClockDep) -> HTMLResponse:
    status = statuspage.public_status(db, clock, organisation)
    states = {c.state for c in status.components}
    overall = next((s for s in _WORST_FIRST if s in states), ComponentState.operational)
    return page(request, "status.html", None, status=status, overall=overall)
