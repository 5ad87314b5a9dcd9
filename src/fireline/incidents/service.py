"""Incident use cases: declare, move, hand off roles, update, link; one transaction each."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from fireline.auth.actor import Actor, Role
from fireline.auth.models import User
from fireline.auth.service import user_by_handle
from fireline.clock.now import Clock
from fireline.errors import Conflict, Invalid, NotFound
from fireline.incidents import roles, workflow
from fireline.incidents.models import Incident, IncidentMember, RoleAssignment
from fireline.incidents.schemas import (
    IncidentPage,
    IncidentSummary,
    IncidentView,
    NewIncident,
    RoleHolder,
    RoleSpell,
)
from fireline.notify.outbox import Page, enqueue
from fireline.oncall.service import choose_lead
from fireline.orgs.models import Team
from fireline.orgs.service import PolicyInForce, policy_in_force, policy_of_version, team_by_slug
from fireline.policy.schema import IncidentType, UnknownLevel
from fireline.store.db import Database
from fireline.tickets import service as tickets
from fireline.tickets.models import Ticket
from fireline.tickets.schemas import DeclareFromTicket
from fireline.timeline.schemas import EventView
from fireline.timeline.service import event_views, events_of, record


def _person(session: Session, actor: Actor, handle: str, field: str) -> User:
    try:
        return user_by_handle(session, actor.org_id, handle)
    except NotFound:
        raise Invalid(field, f"no user {handle!r}") from None


def _severity(judged: PolicyInForce, requested: str | None, field: str) -> str:
    chosen = requested or judged.policy.incidents.default_severity
    if chosen is None:
        raise Invalid(
            field,
            "give a severity; levels: " + ", ".join(level.name for level in judged.policy.levels),
        )
    try:
        return judged.policy.level(chosen).name
    except UnknownLevel as error:
        raise Invalid(field, str(error), known=error.known) from None


def _incident_type(judged: PolicyInForce, name: str | None) -> IncidentType:
    try:
        return roles.incident_type(judged.policy, name)
    except roles.UnknownIncidentType as error:
        raise Invalid("type", str(error), known=error.known) from None


def _holders(session: Session, incident_id: int) -> dict[str, int]:
    rows = session.execute(
        select(RoleAssignment.role, RoleAssignment.user_id).where(
            RoleAssignment.incident_id == incident_id, RoleAssignment.relieved_at.is_(None)
        )
    )
    return {row.role: row.user_id for row in rows}


def _add_member(session: Session, incident_id: int, user_id: int, now: datetime) -> None:
    exists = session.scalar(
        select(IncidentMember.id).where(
            IncidentMember.incident_id == incident_id, IncidentMember.user_id == user_id
        )
    )
    if exists is None:
        session.add(IncidentMember(incident_id=incident_id, user_id=user_id, added_at=now))


def _assign(
    session: Session,
    actor: Actor,
    now: datetime,
    incident: Incident,
    judged: PolicyInForce,
    role: str,
    person: User | None,
    note: str = "",
) -> None:
    """Give `role` to `person` (or leave it vacant), relieving the holder: a hand-off."""
    kind = _incident_type(judged, incident.type)
    holders = _holders(session, incident.id)
    handles = (
        {
            uid: h
            for uid, h in session.execute(
                select(User.id, User.handle).where(User.id.in_(set(holders.values())))
            )
        }
        if holders
        else {}
    )
    if person is not None:
        others = {r: handles[u] for r, u in holders.items() if r != role}
        try:
            roles.check_assignment(judged.policy, kind, others, role, person.handle)
        except roles.UnknownRole as error:
            raise Invalid("role", str(error), known=error.known) from None
        except roles.RoleConstraintBroken as error:
            raise Conflict(str(error), role=error.role, conflicting=error.conflicting) from None
    elif role not in kind.roles:
        raise Invalid("role", f"unknown role {role!r}", known=list(kind.roles))
    previous = holders.get(role)
    if person is not None and previous == person.id:
        return
    if previous is not None:
        current = session.scalar(
            select(RoleAssignment).where(
                RoleAssignment.incident_id == incident.id,
                RoleAssignment.role == role,
                RoleAssignment.relieved_at.is_(None),
            )
        )
        assert current is not None
        current.relieved_at = now
    if person is not None:
        session.add(
            RoleAssignment(
                incident_id=incident.id,
                role=role,
                user_id=person.id,
                assigned_at=now,
                assigned_by_id=actor.user_id,
                relieved_at=None,
            )
        )
        _add_member(session, incident.id, person.id, now)
    before = handles.get(previous) if previous is not None else None
    after = person.handle if person is not None else None
    if before and after:
        summary = f"{role} handed off from {before} to {after}"
    elif after:
        summary = f"{after} is {role}"
    else:
        summary = f"{before} tagged out of {role}; the role is vacant"
    record(
        session,
        actor,
        now,
        "incident.role",
        summary + (f": {note}" if note else ""),
        incident_id=incident.id,
        role=role,
        source=before,
        target=after,
        note=note,
    )


def _page_lead(
    session: Session, actor: Actor, now: datetime, incident: Incident, role: str, lead: User
) -> None:
    """The lead of a new incident is paged at once, unless they declared it: they may be
    anyone the policy chose (2i2c: whoever is on call and in working hours), and a page that
    waits for the ticket's own paging hours would leave them untold."""
    if lead.id == actor.user_id:
        return
    subject = f"[{incident.severity}] Incident #{incident.id} {incident.title}: you are its {role}"
    enqueue(
        session,
        now,
        Page(
            org_id=incident.org_id,
            user_id=lead.id,
            key=f"incident.i{incident.id}.{role}.u{lead.id}",
            subject=subject[:300],
            body=f"{subject}\nDeclared by {actor.handle}. {incident.summary}".strip(),
            ticket_id=None,
            escalation_id=None,
        ),
    )
    record(
        session,
        actor,
        now,
        "incident.lead_paged",
        f"{lead.handle} paged as {role}",
        incident_id=incident.id,
        lead=lead.handle,
    )


def declare(session: Session, clock: Clock, actor: Actor, new: NewIncident) -> Incident:
    """Declare inside the caller's transaction (a ticket's escalation shares it)."""
    now = clock.now()
    try:
        team = team_by_slug(session, actor.org_id, new.team)
    except NotFound as error:
        raise Invalid("team", error.detail, **error.extensions) from None
    judged = policy_in_force(session, team.id)
    kind = _incident_type(judged, new.type)
    severity = _severity(judged, new.severity, "severity")
    try:
        state = workflow.initial_state(judged.policy.workflows.incident, new.status)
    except workflow.UnknownState as error:
        raise Invalid("status", str(error), known=error.known) from None
    commander = _person(session, actor, new.commander, "commander") if new.commander else None
    members = [_person(session, actor, h, "members") for h in new.members]
    incident = Incident(
        org_id=actor.org_id,
        team_id=team.id,
        policy_version_id=judged.version_id,
        title=new.title,
        summary=new.summary,
        type=kind.name,
        severity=severity,
        status=state.name,
        is_open=state.open,
        private=kind.private if new.private is None else new.private,
        declared_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
        resolved_at=None if state.open else now,
    )
    session.add(incident)
    session.flush()
    record(
        session,
        actor,
        now,
        "incident.declared",
        f"declared {kind.name} incident at {severity}, {state.name}"
        + (" (private)" if incident.private else ""),
        incident_id=incident.id,
        severity=severity,
        status=state.name,
        policy_version=judged.version,
    )
    if actor.user_id is not None:
        _add_member(session, incident.id, actor.user_id, now)
        if kind.declarer_role is not None:
            declarer = session.get(User, actor.user_id)
            assert declarer is not None
            _assign(session, actor, now, incident, judged, kind.declarer_role, declarer)
    lead_role = roles.lead_role(kind)
    if commander is not None:
        _assign(session, actor, now, incident, judged, lead_role, commander)
        _page_lead(session, actor, now, incident, lead_role, commander)
    elif lead_role != kind.declarer_role and (
        found := choose_lead(
            session, actor.org_id, team.id, lead_role, now, judged.policy.incidents.lead_window_days
        )
    ):
        chosen, why = found
        record(
            session,
            actor,
            now,
            "incident.lead_chosen",
            f"{chosen.handle if chosen else 'nobody'} leads: {why}",
            incident_id=incident.id,
            lead=chosen.handle if chosen else None,
            why=why,
        )
        if chosen is not None:
            try:
                _assign(session, actor, now, incident, judged, lead_role, chosen)
                _page_lead(session, actor, now, incident, lead_role, chosen)
            except Conflict as refused:  # e.g. the chosen one is the declaring steward
                record(
                    session,
                    actor,
                    now,
                    "incident.role",
                    f"{lead_role} left vacant: {refused.detail}",
                    incident_id=incident.id,
                    role=lead_role,
                )
    for role, handle in kind.assignees.items():
        person = session.scalar(
            select(User).where(User.org_id == actor.org_id, User.handle == handle)
        )
        if person is None:
            record(
                session,
                actor,
                now,
                "incident.role",
                f"the policy names {handle} as {role}, but there is no such user",
                incident_id=incident.id,
                role=role,
                target=handle,
            )
        else:
            _assign(session, actor, now, incident, judged, role, person)
    for member in members:
        _add_member(session, incident.id, member.id, now)
    for ticket_id in new.tickets:
        _link_ticket(session, actor, now, incident, ticket_id)
    session.flush()
    return incident


def _link_ticket(
    session: Session, actor: Actor, now: datetime, incident: Incident, ticket_id: int
) -> None:
    try:
        tickets.attach_to_incident(session, actor, now, ticket_id, incident.id)
    except NotFound as error:
        raise Invalid("tickets", error.detail) from None
    record(
        session,
        actor,
        now,
        "incident.ticket_linked",
        f"ticket {ticket_id} linked",
        incident_id=incident.id,
        ticket_id=ticket_id,
    )


def _visible(actor: Actor) -> ColumnElement[bool]:
    members = select(IncidentMember.incident_id).where(IncidentMember.user_id == actor.user_id)
    return or_(Incident.private.is_(False), Incident.id.in_(members))


def _load(session: Session, actor: Actor, incident_id: int, *, lock: bool = False) -> Incident:
    query = select(Incident).where(
        Incident.id == incident_id, Incident.org_id == actor.org_id, _visible(actor)
    )
    if lock:
        query = query.with_for_update(of=Incident, key_share=True)
    incident = session.scalar(query)
    if incident is None:
        # A private incident answers exactly as a missing one: its existence is private too.
        raise NotFound(f"no incident {incident_id}")
    return incident


def load_incident(
    session: Session, actor: Actor, incident_id: int, *, lock: bool = False
) -> Incident:
    """An incident the actor may see (locked when another capability changes it); a private
    one they may not see is not found."""
    return _load(session, actor, incident_id, lock=lock)


def view_incident(session: Session, incident: Incident) -> IncidentView:
    judged = policy_of_version(session, incident.policy_version_id)
    kind = _incident_type(judged, incident.type)
    spells = list(
        session.scalars(
            select(RoleAssignment)
            .where(RoleAssignment.incident_id == incident.id)
            .order_by(RoleAssignment.id)
        )
    )
    member_ids = list(
        session.scalars(
            select(IncidentMember.user_id)
            .where(IncidentMember.incident_id == incident.id)
            .order_by(IncidentMember.id)
        )
    )
    ids = {s.user_id for s in spells} | set(member_ids) | {incident.declared_by_id}
    handles = dict(
        session.execute(
            select(User.id, User.handle).where(User.id.in_({i for i in ids if i is not None}))
        ).all()
    )
    current = {s.role: s for s in spells if s.relieved_at is None}
    slug = session.scalar(select(Team.slug).where(Team.id == incident.team_id))
    return IncidentView(
        id=incident.id,
        team=slug or "",
        title=incident.title,
        summary=incident.summary,
        type=incident.type,
        severity=incident.severity,
        status=incident.status,
        open=incident.is_open,
        private=incident.private,
        allowed_next=workflow.allowed_next(judged.policy.workflows.incident, incident.status),
        lead_role=roles.lead_role(kind),
        roles=[
            RoleHolder(
                role=r,
                person=handles.get(current[r].user_id) if r in current else None,
                since=current[r].assigned_at if r in current else None,
            )
            for r in kind.roles
        ],
        role_history=[
            RoleSpell(
                role=s.role,
                person=handles[s.user_id],
                assigned_at=s.assigned_at,
                relieved_at=s.relieved_at,
            )
            for s in spells
        ],
        members=[handles[m] for m in member_ids],
        tickets=tickets.ids_in_incident(session, incident.id),
        declared_by=handles.get(incident.declared_by_id) if incident.declared_by_id else None,
        created_at=incident.created_at,
        updated_at=incident.updated_at,
        resolved_at=incident.resolved_at,
        policy_version=judged.version,
    )


def declare_incident(db: Database, clock: Clock, actor: Actor, new: NewIncident) -> IncidentView:
    actor.require(Role.responder)
    with db.transaction() as session:
        return view_incident(session, declare(session, clock, actor, new))


def get_incident(db: Database, actor: Actor, incident_id: int) -> IncidentView:
    with db.reading() as session:
        return view_incident(session, _load(session, actor, incident_id))


def list_incidents(
    db: Database,
    actor: Actor,
    *,
    team: str | None = None,
    status: str | None = None,
    severity: str | None = None,
    open: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> IncidentPage:
    with db.reading() as session:
        query = (
            select(Incident, Team.slug)
            .join(Team, Team.id == Incident.team_id)
            .where(Incident.org_id == actor.org_id, _visible(actor))
        )
        if team is not None:
            query = query.where(Team.slug == team)
        if status is not None:
            query = query.where(Incident.status == status)
        if severity is not None:
            query = query.where(Incident.severity == severity)
        if open is not None:
            query = query.where(Incident.is_open == open)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.execute(query.order_by(Incident.id.desc()).limit(limit).offset(offset))
        items = [_summary(i, slug) for i, slug in rows]
        return IncidentPage(items=items, total=total, limit=limit, offset=offset)


def search_incidents(db: Database, actor: Actor, q: str, limit: int) -> list[IncidentSummary]:
    """Incidents the actor may see whose title or summary mentions `q`, newest first."""
    pattern = f"%{q}%"
    with db.reading() as session:
        rows = session.execute(
            select(Incident, Team.slug)
            .join(Team, Team.id == Incident.team_id)
            .where(
                Incident.org_id == actor.org_id,
                _visible(actor),
                or_(Incident.title.ilike(pattern), Incident.summary.ilike(pattern)),
            )
            .order_by(Incident.id.desc())
            .limit(limit)
        )
        return [_summary(i, slug) for i, slug in rows]


def _summary(incident: Incident, team: str) -> IncidentSummary:
    return IncidentSummary(
        id=incident.id,
        team=team,
        title=incident.title,
        type=incident.type,
        severity=incident.severity,
        status=incident.status,
        open=incident.is_open,
        private=incident.private,
        created_at=incident.created_at,
    )


def move_incident(
    db: Database, clock: Clock, actor: Actor, incident_id: int, to: str, note: str = ""
) -> IncidentView:
    """Move through the policy's incident workflow; a refused move names the allowed ones."""
    actor.require(Role.responder)
    now = clock.now()
    with db.transaction() as session:
        incident = _load(session, actor, incident_id, lock=True)
        flow = policy_of_version(session, incident.policy_version_id).policy.workflows.incident
        try:
            target = workflow.check_move(flow, incident.status, to)
        except workflow.UnknownState as error:
            raise Invalid("to", str(error), known=error.known) from None
        source = incident.status
        incident.status = target.name
        incident.is_open = target.open
        incident.resolved_at = None if target.open else now
        incident.updated_at = now
        record(
            session,
            actor,
            now,
            "incident.moved",
            f"{source} → {target.name}" + (f": {note}" if note else ""),
            incident_id=incident.id,
            source=source,
            target=target.name,
            note=note,
        )
        session.flush()
        return view_incident(session, incident)


def assign_role(
    db: Database,
    clock: Clock,
    actor: Actor,
    incident_id: int,
    role: str,
    person: str | None,
    note: str = "",
) -> IncidentView:
    """Give a role to someone, handing it off from its holder; `None` tags the holder out."""
    actor.require(Role.responder)
    now = clock.now()
    with db.transaction() as session:
        incident = _load(session, actor, incident_id, lock=True)
        judged = policy_of_version(session, incident.policy_version_id)
        user = _person(session, actor, person, "person") if person else None
        _assign(session, actor, now, incident, judged, role, user, note)
        incident.updated_at = now
        session.flush()
        return view_incident(session, incident)


def post_update(
    db: Database, clock: Clock, actor: Actor, incident_id: int, body: str
) -> IncidentView:
    """An internal update for responders; public status updates come with the status page."""
    actor.require(Role.responder)
    now = clock.now()
    with db.transaction() as session:
        incident = _load(session, actor, incident_id, lock=True)
        incident.updated_at = now
        record(session, actor, now, "incident.update", body, incident_id=incident.id)
        session.flush()
        return view_incident(session, incident)


def add_member(
    db: Database, clock: Clock, actor: Actor, incident_id: int, person: str
) -> IncidentView:
    actor.require(Role.responder)
    now = clock.now()
    with db.transaction() as session:
        incident = _load(session, actor, incident_id, lock=True)
        user = _person(session, actor, person, "person")
        _add_member(session, incident.id, user.id, now)
        record(
            session,
            actor,
            now,
            "incident.member",
            f"{person} added",
            incident_id=incident.id,
            person=person,
        )
        session.flush()
        return view_incident(session, incident)


def link_ticket(
    db: Database, clock: Clock, actor: Actor, incident_id: int, ticket_id: int
) -> IncidentView:
    actor.require(Role.responder)
    with db.transaction() as session:
        incident = _load(session, actor, incident_id, lock=True)
        _link_ticket(session, actor, clock.now(), incident, ticket_id)
        session.flush()
        return view_incident(session, incident)


def change_severity(
    db: Database, clock: Clock, actor: Actor, incident_id: int, to: str, note: str
) -> IncidentView:
    actor.require(Role.responder)
    now = clock.now()
    with db.transaction() as session:
        incident = _load(session, actor, incident_id, lock=True)
        judged = policy_of_version(session, incident.policy_version_id)
        severity = _severity(judged, to, "to")
        source = incident.severity
        incident.severity = severity
        incident.updated_at = now
        record(
            session,
            actor,
            now,
            "incident.severity",
            f"severity {source} → {severity}: {note}",
            incident_id=incident.id,
            source=source,
            target=severity,
            note=note,
        )
        session.flush()
        return view_incident(session, incident)


def incident_timeline(db: Database, actor: Actor, incident_id: int) -> list[EventView]:
    with db.reading() as session:
        incident = _load(session, actor, incident_id)
        return event_views(session, events_of(session, incident_id=incident.id))


def declare_from_ticket(
    db: Database, clock: Clock, actor: Actor, ticket_id: int, request: DeclareFromTicket
) -> IncidentView:
    """Escalate a ticket into an incident; the ticket is answered naming it and its lead."""
    actor.require(Role.responder)
    with db.transaction() as session:
        ticket = tickets.load_for_update(session, actor, ticket_id)
        return declare_for_ticket(session, clock, actor, ticket, request)


def declare_for_ticket(
    session: Session, clock: Clock, actor: Actor, ticket: Ticket, request: DeclareFromTicket
) -> IncidentView:
    """Declare in the caller's transaction, for a ticket locked by the caller."""
    ticket_id = ticket.id
    if ticket.incident_id is not None:
        raise Conflict(
            f"ticket {ticket_id} is part of incident {ticket.incident_id} already",
            incident=ticket.incident_id,
        )
    team = session.scalar(select(Team.slug).where(Team.id == ticket.team_id))
    assert team is not None
    criteria = ticket.incident_criteria
    incident = declare(
        session,
        clock,
        actor,
        NewIncident(
            team=team,
            title=request.title or ticket.title,
            summary=ticket.description,
            severity=request.severity
            or _criteria_severity(session, ticket.team_id, criteria)
            or ticket.priority,
            type=request.type,
            private=request.private,
            commander=request.commander,
            tickets=[ticket.id],
        ),
    )
    view = view_incident(session, incident)
    lead = next(h.person for h in view.roles if h.role == view.lead_role)
    # A private incident's title stays private; the ticket only learns that one exists.
    headline = (
        f"Declared private incident #{incident.id}; only its members can see it. "
        if incident.private
        else f"Declared incident #{incident.id} ({incident.severity}): {incident.title}. "
    )
    acknowledgement = headline + (
        f"Incident {view.lead_role.replace('_', ' ')}: @{lead}."
        if lead
        else f"No {view.lead_role.replace('_', ' ')} yet; one will be assigned."
    )
    tickets.add_comment(session, actor, clock.now(), ticket, acknowledgement)
    return view


def _criteria_severity(session: Session, team_id: int, met: list[str]) -> str | None:
    policy = policy_in_force(session, team_id).policy
    severities = [c.severity for c in policy.incidents.criteria if c.name in met and c.severity]
    ranked = sorted(severities, key=lambda name: policy.level(name).rank)
    return ranked[0] if ranked else None
