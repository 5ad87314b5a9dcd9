"""What the web app's forms do: each parses its form, calls one service, and redirects back
(post/redirect/get) with a flash message, or with the service's refusal in words."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from fireline.auth.sessions import sign_in, sign_out
from fireline.clock.wall import first_reading
from fireline.context import DB, ClockDep
from fireline.errors import FirelineError, Invalid, Unauthorized
from fireline.incidents import service as incidents
from fireline.incidents.roles import RoleConstraintBroken, UnknownIncidentType, UnknownRole
from fireline.incidents.schemas import NewIncident
from fireline.incidents.workflow import TransitionRefused, UnknownState
from fireline.intake import service as intake
from fireline.intake.schemas import MatcherSpec, NewSilence
from fireline.oncall import service as oncall
from fireline.oncall.schemas import NewOverride
from fireline.orgs.service import organisation_slugs
from fireline.policy.schema import UnknownLevel
from fireline.statuspage import service as statuspage
from fireline.statuspage.schemas import ComponentState, NewStatusUpdate
from fireline.tickets import service as tickets
from fireline.web.render import page
from fireline.web.session import COOKIE, Form, User, set_cookie, storable_form

router = APIRouter(include_in_schema=False)

REFUSALS = (
    FirelineError,
    TransitionRefused,
    RoleConstraintBroken,
    UnknownState,
    UnknownLevel,
    UnknownRole,
    UnknownIncidentType,
    ValidationError,
)


def _words(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
    if isinstance(error, TransitionRefused):
        return f"{error} (allowed next: {', '.join(error.allowed) or 'none'})"
    return str(error)


def _act(back: str, done: str, work: Callable[[], Any]) -> RedirectResponse:
    """Run one use case; back to `back` with `done`, or with the refusal in words."""
    try:
        work()
    except REFUSALS as error:
        return RedirectResponse(f"{back}?error={quote(_words(error))}", status_code=303)
    return RedirectResponse(f"{back}?flash={quote(done)}", status_code=303)


def _safe_then(then: str | None) -> str:
    # Only a path on this site: "//evil.example" or "https://…" would be an open redirect.
    if then and then.startswith("/") and not then.startswith("//") and "\\" not in then:
        return then
    return "/app"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, db: DB) -> HTMLResponse:
    return page(
        request,
        "login.html",
        None,
        organisations=organisation_slugs(db),
        then=_safe_then(request.query_params.get("then")),
    )


@router.post("/login", response_model=None)
async def login(request: Request, db: DB, clock: ClockDep) -> Response:
    form = storable_form(await request.form())
    then = _safe_then(str(form.get("then") or ""))
    try:
        started = sign_in(
            db,
            clock,
            str(form.get("organisation") or ""),
            str(form.get("handle") or "").strip(),
            str(form.get("password") or ""),
        )
    except Unauthorized as error:
        return page(
            request,
            "login.html",
            None,
            status_code=401,
            organisations=organisation_slugs(db),
            then=then,
            failed=str(error),
            handle=str(form.get("handle") or ""),
        )
    response = RedirectResponse(then, status_code=303)
    set_cookie(response, started.token, secure=request.url.scheme == "https")
    return response


@router.post("/logout")
def logout(request: Request, db: DB, clock: ClockDep, form: Form) -> RedirectResponse:
    token = request.cookies.get(COOKIE)
    if token:
        sign_out(db, clock, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _local_time(value: str, zone: str, field: str) -> datetime:
    """A `datetime-local` field, read on the person's own clock: a time DST skips is the
    gap's end, one it repeats its first pass (as rotations read hand-offs)."""
    try:
        wall = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(field, f"{value!r} is not a date and time") from None
    if wall.tzinfo is not None:
        return wall
    return first_reading(wall.date(), wall.time(), ZoneInfo(zone))


@router.post("/app/incidents")
def declare(db: DB, clock: ClockDep, user: User, form: Form) -> RedirectResponse:
    try:
        declared = incidents.declare_incident(
            db,
            clock,
            user.actor,
            NewIncident(
                team=form.get("team", ""),
                title=form.get("title", ""),
                summary=form.get("summary", ""),
                severity=form.get("severity") or None,
                type=form.get("type") or None,
                private=True if form.get("private") else None,
            ),
        )
    except REFUSALS as error:
        return RedirectResponse(f"/app/incidents/new?error={quote(_words(error))}", status_code=303)
    return RedirectResponse(
        f"/app/incidents/{declared.id}?flash={quote('Incident declared')}", status_code=303
    )


@router.post("/app/incidents/{incident_id}/move")
def move_incident(
    incident_id: int, db: DB, clock: ClockDep, user: User, form: Form
) -> RedirectResponse:
    to = form.get("to", "")
    return _act(
        f"/app/incidents/{incident_id}",
        f"Moved to {to}",
        lambda: incidents.move_incident(
            db, clock, user.actor, incident_id, to, form.get("note", "")
        ),
    )


@router.post("/app/incidents/{incident_id}/roles")
def hand_off(incident_id: int, db: DB, clock: ClockDep, user: User, form: Form) -> RedirectResponse:
    role, person = form.get("role", ""), form.get("person") or None
    return _act(
        f"/app/incidents/{incident_id}",
        f"{role} handed to {person}" if person else f"{role} tagged out",
        lambda: incidents.assign_role(
            db, clock, user.actor, incident_id, role, person, form.get("note", "")
        ),
    )


@router.post("/app/incidents/{incident_id}/updates")
def internal_update(
    incident_id: int, db: DB, clock: ClockDep, user: User, form: Form
) -> RedirectResponse:
    return _act(
        f"/app/incidents/{incident_id}",
        "Update posted",
        lambda: incidents.post_update(db, clock, user.actor, incident_id, form.get("body", "")),
    )


_COMPONENT_FIELD = re.compile(r"^component:(?P<slug>[a-z0-9][a-z0-9-]{0,63})$")


@router.post("/app/incidents/{incident_id}/publish")
def publish(incident_id: int, db: DB, clock: ClockDep, user: User, form: Form) -> RedirectResponse:
    def work() -> None:
        changes = {
            match["slug"]: ComponentState(value)
            for key, value in form.items()
            if (match := _COMPONENT_FIELD.match(key)) and value
        }
        statuspage.publish_update(
            db,
            clock,
            user.actor,
            incident_id,
            NewStatusUpdate(body=form.get("body", ""), components=changes),
        )

    return _act(f"/app/incidents/{incident_id}", "Published on the status page", work)


@router.post("/app/tickets/{ticket_id}/move")
def move_ticket(
    ticket_id: int, db: DB, clock: ClockDep, user: User, form: Form
) -> RedirectResponse:
    to = form.get("to", "")
    return _act(
        f"/app/tickets/{ticket_id}",
        f"Moved to {to}",
        lambda: tickets.move_ticket(db, clock, user.actor, ticket_id, to, form.get("note", "")),
    )


@router.post("/app/tickets/{ticket_id}/level")
def change_level(
    ticket_id: int, db: DB, clock: ClockDep, user: User, form: Form
) -> RedirectResponse:
    """Mitigate (lower, as the policy's mitigation allows) or escalate (raise), with a note."""
    to, note = form.get("to", ""), form.get("note", "")
    change = tickets.escalate if form.get("kind") == "escalate" else tickets.mitigate
    return _act(
        f"/app/tickets/{ticket_id}",
        f"Level now {to}",
        lambda: change(db, clock, user.actor, ticket_id, to, note),
    )


@router.post("/app/tickets/{ticket_id}/acknowledge")
def acknowledge(
    ticket_id: int, db: DB, clock: ClockDep, user: User, form: Form
) -> RedirectResponse:
    return _act(
        f"/app/tickets/{ticket_id}",
        "Acknowledged: escalation stopped",
        lambda: tickets.acknowledge(db, clock, user.actor, ticket_id),
    )


@router.post("/app/tickets/{ticket_id}/comments")
def comment(ticket_id: int, db: DB, clock: ClockDep, user: User, form: Form) -> RedirectResponse:
    return _act(
        f"/app/tickets/{ticket_id}",
        "Comment added",
        lambda: tickets.comment_on(db, clock, user.actor, ticket_id, form.get("body", "")),
    )


@router.post("/app/oncall/{slug}/overrides")
def add_override(slug: str, db: DB, clock: ClockDep, user: User, form: Form) -> RedirectResponse:
    def work() -> None:
        oncall.add_override(
            db,
            clock,
            user.actor,
            slug,
            NewOverride(
                person=form.get("person", ""),
                starts=_local_time(form.get("starts", ""), user.timezone, "starts"),
                ends=_local_time(form.get("ends", ""), user.timezone, "ends"),
                reason=form.get("reason", ""),
                layer=form.get("layer") or None,
            ),
        )

    return _act(f"/app/oncall/{slug}", "Override added", work)


_MATCHER = re.compile(r"^\s*(?P<name>[A-Za-z_][\w.-]*)\s*(?P<op>=~|!~|!=|=)\s*(?P<value>.*?)\s*$")


def _matchers(text: str) -> list[MatcherSpec]:
    """'service=api, severity=~crit.*': Alertmanager's matcher words, comma separated."""
    found = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = _MATCHER.match(part)
        if match is None:
            raise Invalid("matchers", f"{part!r} is not a matcher like service=api")
        found.append(MatcherSpec(name=match["name"], op=match["op"], value=match["value"]))
    return found


@router.post("/app/silences")
def add_silence(db: DB, clock: ClockDep, user: User, form: Form) -> RedirectResponse:
    def work() -> None:
        try:
            hours = float(form.get("hours", "2"))
        except ValueError:
            raise Invalid("hours", "give the silence's length in hours") from None
        starts_text = form.get("starts", "").strip()
        starts = _local_time(starts_text, user.timezone, "starts") if starts_text else None
        intake.create_silence(
            db,
            clock,
            user.actor,
            NewSilence(
                matchers=_matchers(form.get("matchers", "")),
                starts_at=starts,
                ends_at=(starts or clock.now()) + timedelta(hours=hours),
                reason=form.get("reason", ""),
                kind="maintenance" if form.get("kind") == "maintenance" else "silence",
            ),
        )

    return _act("/app/silences", "Silence added", work)


@router.post("/app/silences/{silence_id}/expire")
def expire_silence(
    silence_id: int, db: DB, clock: ClockDep, user: User, form: Form
) -> RedirectResponse:
    return _act(
        "/app/silences",
        "Silence expired",
        lambda: intake.expire_silence(db, clock, user.actor, silence_id),
    )
