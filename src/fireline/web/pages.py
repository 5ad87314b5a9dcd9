"""Server-rendered pages for responders: read-only views; the forms post to `actions.py`."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from fireline.auth.models import User as AuthUser
from fireline.auth.service import list_users
from fireline.auth.sessions import SignedIn
from fireline.context import DB, ClockDep
from fireline.escalation import service as escalation
from fireline.incidents import service as incidents
from fireline.incidents.models import Incident
from fireline.intake import service as intake
from fireline.intake.recent import recent_alerts
from fireline.notify import service as notify
from fireline.oncall import service as oncall
from fireline.orgs import service as orgs
from fireline.orgs.models import Organisation, Team
from fireline.policy.load import preset_names
from fireline.statuspage import service as statuspage
from fireline.storable import INTEGER_MAX
from fireline.tickets import board
from fireline.tickets import service as tickets
from fireline.tickets.models import Ticket
from fireline.tickets.schemas import COMMENTS_SHOWN, CommentPage
from fireline.web.render import countdown, page, stacked_bars
from fireline.web.session import User

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25


@router.get("/", response_class=HTMLResponse)
def front_door(request: Request, db: DB) -> HTMLResponse:
    with db.reading() as session:
        organisations = session.execute(
            select(Organisation.name, Organisation.slug, func.count(Team.id))
            .join(Team, Team.org_id == Organisation.id, isouter=True)
            .group_by(Organisation.id, Organisation.name, Organisation.slug)
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
    return page(
        request,
        "front_door.html",
        None,
        organisations=organisations,
        open_tickets=open_tickets,
        open_incidents=open_incidents,
        presets=preset_names(),
    )


def _ranks(db: DB, user: SignedIn) -> dict[str, int]:
    """Every level name across the organisation's teams and its rank (1 most severe), in
    order; a name two policies rank differently takes the more severe rank."""
    ranked: dict[str, int] = {}
    for _, judged in orgs.teams_with_policies(db, user.actor):
        for level in judged.policy.levels:
            ranked[level.name] = min(ranked.get(level.name, level.rank), level.rank)
    ordered = sorted(ranked, key=lambda name: (ranked[name], name))
    return {**{name: ranked[name] for name in ordered}, board.UNLEVELLED: 0}


@router.get("/app", response_class=HTMLResponse)
def dashboard(request: Request, db: DB, clock: ClockDep, user: User) -> HTMLResponse:
    now = clock.now()
    actor = user.actor
    ranks = _ranks(db, user)
    levels = list(ranks)
    urgent = board.most_urgent(db, actor)
    days = board.open_each_day(db, actor, now)
    bars, peak = stacked_bars([(d.day.isoformat(), d.by_level) for d in days], levels, 560, 120)
    return page(
        request,
        "dashboard.html",
        user,
        now=now,
        levels=levels,
        ranks=ranks,
        open_by_level=board.open_by_level(db, actor),
        incidents=incidents.list_incidents(db, actor, open=True, limit=20),
        urgent=[(t, countdown(t.started_at, t.due_at, now)) for t in urgent],
        on_call=oncall.who_is_on_call(db, actor, now),
        alerts=recent_alerts(db, actor),
        days=days,
        bars=bars,
        peak=peak,
    )


def _offset(request: Request) -> int:
    try:
        return max(int(request.query_params.get("offset", "0")), 0)
    except ValueError:
        return 0


def _choice(request: Request, name: str) -> str | None:
    return request.query_params.get(name) or None


@router.get("/app/incidents", response_class=HTMLResponse)
def incident_list(request: Request, db: DB, user: User) -> HTMLResponse:
    state = _choice(request, "open")
    found = incidents.list_incidents(
        db,
        user.actor,
        team=_choice(request, "team"),
        status=_choice(request, "status"),
        severity=_choice(request, "severity"),
        open=None if state is None else state == "yes",
        limit=PAGE_SIZE,
        offset=_offset(request),
    )
    return page(
        request,
        "incidents.html",
        user,
        found=found,
        teams=orgs.teams(db, user.actor),
        query=dict(request.query_params),
    )


@router.get("/app/incidents/new", response_class=HTMLResponse)
def incident_form(request: Request, db: DB, user: User) -> HTMLResponse:
    found = orgs.teams_with_policies(db, user.actor)
    teams = [team for team, _ in found]
    policies = {team.slug: judged.policy for team, judged in found}
    return page(request, "incident_new.html", user, teams=teams, policies=policies)


@router.get("/app/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(
    incident_id: int, request: Request, db: DB, clock: ClockDep, user: User
) -> HTMLResponse:
    incident = incidents.get_incident(db, user.actor, incident_id)
    policy = orgs.team_policy(db, user.actor, incident.team).policy
    return page(
        request,
        "incident.html",
        user,
        incident=incident,
        events=incidents.incident_timeline(db, user.actor, incident_id),
        updates=statuspage.status_updates(db, user.actor, incident_id),
        components=statuspage.list_components(db, user.actor),
        people=[u.handle for u in _people(db, user)],
        states={s.name: s for s in policy.workflows.incident.states},
        linked=[tickets.get_ticket(db, user.actor, t) for t in incident.tickets],
        now=clock.now(),
    )


def _people(db: DB, user: SignedIn) -> list[AuthUser]:
    return list_users(db, user.actor)


@router.get("/app/tickets", response_class=HTMLResponse)
def ticket_list(request: Request, db: DB, clock: ClockDep, user: User) -> HTMLResponse:
    state = _choice(request, "open")
    found = tickets.list_tickets(
        db,
        user.actor,
        team=_choice(request, "team"),
        status=_choice(request, "status"),
        priority=_choice(request, "priority"),
        open=None if state is None else state == "yes",
        q=_choice(request, "q"),
        limit=PAGE_SIZE,
        offset=_offset(request),
    )
    return page(
        request,
        "tickets.html",
        user,
        found=found,
        teams=orgs.teams(db, user.actor),
        query=dict(request.query_params),
        now=clock.now(),
    )


@router.get("/app/tickets/{ticket_id}", response_class=HTMLResponse)
def ticket_page(
    ticket_id: int,
    request: Request,
    db: DB,
    clock: ClockDep,
    user: User,
    comments_before: Annotated[int | None, Query(ge=1, le=INTEGER_MAX)] = None,
) -> HTMLResponse:
    ticket = tickets.get_ticket(db, user.actor, ticket_id)
    if comments_before is None:
        comments = CommentPage(items=ticket.comments, older=ticket.older_comments)
    else:  # paging back through a storm's occurrence comments
        comments = tickets.ticket_comments(
            db, user.actor, ticket_id, comments_before, COMMENTS_SHOWN
        )
    now = clock.now()
    policy = orgs.team_policy(db, user.actor, ticket.team).policy
    return page(
        request,
        "ticket.html",
        user,
        ticket=ticket,
        comments=comments,
        comments_before=comments_before,
        levels=policy.levels,
        mitigation=policy.mitigation,
        events=tickets.ticket_timeline(db, user.actor, ticket_id),
        notifications=notify.ticket_notifications(db, user.actor, ticket_id),
        response=countdown(ticket.clock_started_at, ticket.response_due_at, now),
        resolution=countdown(ticket.clock_started_at, ticket.resolution_due_at, now),
        now=now,
    )


@router.get("/app/oncall", response_class=HTMLResponse)
def schedules(request: Request, db: DB, clock: ClockDep, user: User) -> HTMLResponse:
    now = clock.now()
    return page(
        request,
        "schedules.html",
        user,
        schedules=oncall.list_schedules(db, user.actor),
        on_call={a.schedule: a for a in oncall.who_is_on_call(db, user.actor, now)},
    )


CALENDAR_DAYS = 14


@router.get("/app/oncall/{slug}", response_class=HTMLResponse)
def schedule_page(slug: str, request: Request, db: DB, clock: ClockDep, user: User) -> HTMLResponse:
    now = clock.now()
    zone = ZoneInfo(user.timezone)
    # From the reader's midnight today: days are the reader's days, 23 or 25 hours across DST.
    midnight = datetime.combine(now.astimezone(zone).date(), time(), zone)
    first = midnight.astimezone(UTC)
    last = datetime.combine(midnight.date() + timedelta(days=CALENDAR_DAYS), time(), zone)
    whole = (last - first).total_seconds()

    def left(moment: datetime) -> float:
        return min(max(100 * (moment - first).total_seconds() / whole, 0.0), 100.0)

    spans = oncall.schedule_spans(db, user.actor, slug, first, last)
    layers: dict[str, list[dict[str, object]]] = {}
    for span in spans:
        layers.setdefault(span.layer, []).append(
            {"span": span, "left": left(span.starts), "width": left(span.ends) - left(span.starts)}
        )
    days = [
        datetime.combine(midnight.date() + timedelta(days=n), time(), zone)
        for n in range(CALENDAR_DAYS)
    ]
    return page(
        request,
        "schedule.html",
        user,
        schedule=oncall.get_schedule(db, user.actor, slug),
        now_on_call=oncall.who_is_on_call(db, user.actor, now, slug)[0],
        layers=layers,
        days=[(d, left(d)) for d in days],
        now_left=left(now),
        overrides=oncall.list_overrides(db, user.actor, slug, now, last),
        people=[u.handle for u in _people(db, user)],
        now=now,
    )


@router.get("/app/escalation", response_class=HTMLResponse)
def escalation_policies(request: Request, db: DB, user: User) -> HTMLResponse:
    return page(
        request,
        "escalation.html",
        user,
        policies=escalation.list_policies(db, user.actor),
    )


@router.get("/app/silences", response_class=HTMLResponse)
def silences(request: Request, db: DB, clock: ClockDep, user: User) -> HTMLResponse:
    return page(
        request,
        "silences.html",
        user,
        silences=intake.list_silences(db, clock, user.actor, include_expired=True),
        now=clock.now(),
    )


@router.get("/app/policies", response_class=HTMLResponse)
def policies(request: Request, db: DB, user: User) -> HTMLResponse:
    teams = orgs.teams(db, user.actor)
    chosen = _choice(request, "team") or (teams[0].slug if teams else None)
    judged = orgs.team_policy(db, user.actor, chosen) if chosen else None
    return page(request, "policy.html", user, teams=teams, chosen=chosen, judged=judged)


@router.get("/app/search", response_class=HTMLResponse)
def search(request: Request, db: DB, user: User) -> HTMLResponse:
    q = (request.query_params.get("q") or "").strip()
    found_tickets = tickets.list_tickets(db, user.actor, q=q, limit=PAGE_SIZE) if q else None
    found_incidents = incidents.search_incidents(db, user.actor, q, PAGE_SIZE) if q else []
    return page(
        request,
        "search.html",
        user,
        q=q,
        tickets=found_tickets,
        incidents=found_incidents,
    )
