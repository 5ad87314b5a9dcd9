"""Alert intake use cases. One request's alerts are accepted in one transaction: each is
recorded, then opens a ticket, joins the open ticket of its fingerprint, acknowledges or
resolves it, or is silenced, and the answer goes out only after the commit."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fireline.auth.actor import Actor, Role, Via
from fireline.auth.models import User
from fireline.auth.service import token_digest
from fireline.clock.now import Clock
from fireline.errors import Conflict, Invalid, NotFound
from fireline.escalation import plan
from fireline.escalation.models import Escalation
from fireline.escalation.service import resolve_targets
from fireline.incidents.service import declare_for_ticket
from fireline.incidents.workflow import TransitionRefused
from fireline.intake.alert import Action, IncomingAlert
from fireline.intake.fingerprint import fingerprint
from fireline.intake.models import AlertRow, Integration, SilenceRow
from fireline.intake.schemas import (
    AlertOutcome,
    IntegrationCreated,
    IntegrationView,
    NewIntegration,
    NewSilence,
    SilenceView,
)
from fireline.notify.outbox import Page, enqueue
from fireline.orgs.models import Team
from fireline.orgs.service import PolicyInForce, team_and_policy, team_by_slug
from fireline.store.db import Database
from fireline.tickets.models import Comment, Ticket
from fireline.tickets.schemas import DeclareFromTicket, NewTicket
from fireline.tickets.service import Triage, acknowledge_in, move_in, open_in
from fireline.timeline.service import record
from fireline.triage.route import owner_of
from fireline.triage.silence import Matcher, MatcherInvalid, Op, Silence, facts_of, silencing

KINDS = ("alertmanager", "sentry", "pagerduty", "generic")


@dataclass(frozen=True, slots=True)
class Source:
    """An authenticated integration: who sent the alerts, for which team."""

    id: int
    org_id: int
    team_slug: str
    kind: str
    name: str
    signing_secret: str | None

    @property
    def actor(self) -> Actor:
        return Actor(None, f"integration:{self.name}", self.org_id, Role.responder, Via.integration)


def new_key() -> str:
    """128 random bits as 32 hex characters: the length PagerDuty's clients expect."""
    return secrets.token_hex(16)


def create_integration(
    db: Database, clock: Clock, actor: Actor, new: NewIntegration
) -> IntegrationCreated:
    actor.require(Role.admin)
    if new.kind == "sentry" and not new.signing_secret:
        raise Invalid("signing_secret", "a Sentry integration needs its client secret")
    key = new_key()
    with db.transaction() as session:
        team = team_by_slug(session, actor.org_id, new.team)
        row = Integration(
            org_id=actor.org_id,
            team_id=team.id,
            kind=new.kind,
            name=new.name,
            key_hash=token_digest(key),
            signing_secret=new.signing_secret,
            created_by_id=actor.user_id,
            created_at=clock.now(),
            revoked_at=None,
        )
        session.add(row)
        session.flush()
        view = _integration_view(row, team.slug)
    return IntegrationCreated(**view.model_dump(), key=key)


def _integration_view(row: Integration, team_slug: str) -> IntegrationView:
    return IntegrationView(
        id=row.id,
        team=team_slug,
        kind=row.kind,
        name=row.name,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def list_integrations(db: Database, actor: Actor) -> list[IntegrationView]:
    with db.transaction() as session:
        rows = session.execute(
            select(Integration, Team.slug)
            .join(Team, Team.id == Integration.team_id)
            .where(Integration.org_id == actor.org_id)
            .order_by(Integration.id)
        ).all()
        return [_integration_view(row, slug) for row, slug in rows]


def revoke_integration(
    db: Database, clock: Clock, actor: Actor, integration_id: int
) -> IntegrationView:
    actor.require(Role.admin)
    with db.transaction() as session:
        found = session.execute(
            select(Integration, Team.slug)
            .join(Team, Team.id == Integration.team_id)
            .where(Integration.org_id == actor.org_id, Integration.id == integration_id)
        ).one_or_none()
        if found is None:
            raise NotFound(f"no integration {integration_id}")
        row, slug = found
        if row.revoked_at is None:
            row.revoked_at = clock.now()
        return _integration_view(row, slug)


def source_for_key(db: Database, key: str, kind: str) -> Source:
    """The integration a key opens, by one indexed lookup of the key's hash; NotFound for an
    unknown, revoked or other-kind key alike, so a probe learns nothing."""
    with db.transaction() as session:
        found = session.execute(
            select(Integration, Team.slug)
            .join(Team, Team.id == Integration.team_id)
            .where(Integration.key_hash == token_digest(key))
        ).one_or_none()
    if found is None or found.Integration.revoked_at is not None:
        raise NotFound("no integration has this key")
    row = found.Integration
    if row.kind != kind:
        raise NotFound("no integration has this key")
    return Source(row.id, row.org_id, found.slug, row.kind, row.name, row.signing_secret)


def accept(
    db: Database, clock: Clock, source: Source, alerts: Sequence[IncomingAlert]
) -> list[AlertOutcome]:
    """Take in one request's alerts, all or nothing."""
    now = clock.now()
    actor = source.actor
    with db.transaction() as session:
        team, judged = team_and_policy(session, source.org_id, source.team_slug)
        silences = _active_silences(session, source.org_id, now)
        outcomes = [
            _take(session, clock, actor, now, source, team, judged, silences, alert)
            for alert in alerts
        ]
        rows = [outcome.pop("row") for outcome in outcomes]
        if rows:
            session.execute(insert(AlertRow), rows)
        return [AlertOutcome(**outcome) for outcome in outcomes]


def _active_silences(session: Session, org_id: int, now: datetime) -> list[Silence]:
    rows = session.scalars(
        select(SilenceRow).where(
            SilenceRow.org_id == org_id, SilenceRow.starts_at <= now, SilenceRow.ends_at > now
        )
    ).all()
    return [_silence(row) for row in rows]


def _silence(row: SilenceRow) -> Silence:
    matchers = tuple(Matcher(m["name"], Op(m["op"]), m["value"]) for m in row.matchers)
    return Silence(row.id, matchers, row.starts_at, row.ends_at)


def _open_ticket(session: Session, org_id: int, print_: str) -> Ticket | None:
    return session.scalar(
        select(Ticket)
        .where(Ticket.org_id == org_id, Ticket.fingerprint == print_, Ticket.is_open)
        .with_for_update()
    )


def _take(
    session: Session,
    clock: Clock,
    actor: Actor,
    now: datetime,
    source: Source,
    team: Team,
    judged: PolicyInForce,
    silences: list[Silence],
    alert: IncomingAlert,
) -> dict[str, Any]:
    policy = judged.policy
    print_ = fingerprint(alert, policy.alerts.fingerprint)
    facts = facts_of(alert.labels, alert.service, print_, alert.title, alert.source)
    silence = silencing(silences, facts, now)
    ticket = _open_ticket(session, source.org_id, print_)
    ticket_id: int | None = ticket.id if ticket is not None else None
    if alert.action is Action.trigger:
        if ticket is not None:
            outcome = _repeat(session, actor, now, ticket, alert)
        elif silence is not None:
            outcome = "silenced"
        else:
            ticket_id, outcome = _first(
                session, clock, actor, now, source, team, judged, alert, print_
            )
    elif ticket is None:
        # PagerDuty's rule: an ack or resolve for an unknown or closed key is accepted, dropped.
        outcome = "dropped"
    elif alert.action is Action.acknowledge:
        outcome = _acknowledge(session, actor, now, ticket)
    else:
        outcome = _resolve(session, actor, now, ticket, judged, alert)
    return {
        "fingerprint": print_,
        "action": alert.action.value,
        "outcome": outcome,
        "ticket_id": ticket_id,
        "silence_id": silence.id if silence is not None else None,
        "row": {
            "org_id": source.org_id,
            "integration_id": source.id,
            "fingerprint": print_,
            "action": alert.action.value,
            "outcome": outcome,
            "title": alert.title[:300],
            "service": alert.service,
            "ticket_id": ticket_id,
            "silence_id": silence.id if silence is not None else None,
            "details": _details(alert),
            "received_at": now,
        },
    }


def _details(alert: IncomingAlert) -> dict[str, Any]:
    return {
        "source": alert.source,
        "key": alert.key,
        "severity": alert.severity,
        "labels": alert.labels,
        "signals": alert.signals,
        "links": list(alert.links),
        "description": alert.description[:2000],
        "occurred_at": alert.occurred_at.isoformat() if alert.occurred_at else None,
    }


def _ticket_labels(judged: PolicyInForce, alert: IncomingAlert) -> list[str]:
    labels = list(judged.policy.alerts.labels)
    labels += [f"{name}={value}" if value else name for name, value in alert.labels.items()]
    if alert.severity and "severity" not in alert.labels:
        labels.append(f"severity={alert.severity}")
    return list(dict.fromkeys(label[:200] for label in labels))


def _first(
    session: Session,
    clock: Clock,
    actor: Actor,
    now: datetime,
    source: Source,
    team: Team,
    judged: PolicyInForce,
    alert: IncomingAlert,
    print_: str,
) -> tuple[int, str]:
    """Open the fingerprint's ticket. Two first triggers racing: the unique index lets one
    in; the other finds its ticket and joins it as a repeat."""
    owner = owner_of(judged.policy, alert.service)
    assignee = _existing_handle(session, source.org_id, owner.tech_lead)
    new = NewTicket(
        team=team.slug,
        title=alert.title[:300] or "alert",
        description=alert.description,
        service=alert.service,
        signals=alert.signals,
        labels=_ticket_labels(judged, alert),
        assignee=assignee,
        links=list(alert.links),
    )
    extra = {"fingerprint": print_, "alert_count": 1, "last_alert_at": now}
    by_severity = judged.policy.alerts.levels_by_severity
    triage = Triage(by_severity.get(alert.severity or ""), untriaged_ok=True)
    try:
        with session.begin_nested():
            opened = open_in(session, actor, now, [new], [extra], [triage])[0]
    except IntegrityError:
        ticket = _open_ticket(session, source.org_id, print_)
        if ticket is None:
            raise
        return ticket.id, _repeat(session, actor, now, ticket, alert)
    ticket_id: int = opened.row["id"]
    record(
        session,
        actor,
        now,
        "alert.opened",
        f"opened from a {alert.source} alert ({print_}); owner: {owner.why}",
        ticket_id=ticket_id,
        fingerprint=print_,
        owner=owner.team,
        tech_lead=owner.tech_lead,
    )
    _page_impact_contacts(session, actor, now, judged, alert, ticket_id, opened.row["title"])
    if opened.row["incident_criteria"]:
        # 2i2c: users can't log in → an incident, declared now, its lead chosen by the policy.
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        declare_for_ticket(session, clock, actor, ticket, DeclareFromTicket())
    return ticket_id, "opened"


def _existing_handle(session: Session, org_id: int, handle: str | None) -> str | None:
    if handle is None:
        return None
    found = session.scalar(select(User.handle).where(User.org_id == org_id, User.handle == handle))
    return found


def _page_impact_contacts(
    session: Session,
    actor: Actor,
    now: datetime,
    judged: PolicyInForce,
    alert: IncomingAlert,
    ticket_id: int,
    title: str,
) -> None:
    """An impact category named by the alert's `impact` label pages its contacts at once
    (Caseflow: data corruption → tech lead, DevOps lead, project lead, product support)."""
    policy = judged.policy
    category = next(
        (c for c in policy.impact_categories if c.name == alert.labels.get("impact")), None
    )
    if category is None:
        return
    target = plan.Target(plan.TargetKind.group, category.name)
    found = resolve_targets(session, actor.org_id, (target,), policy, alert.service, now)
    subject = f"[{category.title or category.name}] #{ticket_id} {title}"
    for person in found.recipients:
        enqueue(
            session,
            now,
            Page(
                org_id=actor.org_id,
                user_id=person.user_id,
                key=f"impact.t{ticket_id}.{category.name}.u{person.user_id}",
                subject=subject,
                body=f"{subject}\nservice: {alert.service or '-'}\n"
                f"You are paged because you are a {person.why}.",
                ticket_id=ticket_id,
                escalation_id=None,
            ),
        )
    paged = ", ".join(f"{p.handle} ({p.why})" for p in found.recipients) or "nobody"
    notes = f"; {'; '.join(found.notes)}" if found.notes else ""
    record(
        session,
        actor,
        now,
        "alert.impact_paged",
        f"impact {category.name}: paged {paged} at once{notes}",
        ticket_id=ticket_id,
        category=category.name,
        people=[p.handle for p in found.recipients],
    )


def _repeat(
    session: Session, actor: Actor, now: datetime, ticket: Ticket, alert: IncomingAlert
) -> str:
    """Caseflow: when a ticket exists, comment on it with a link to the latest occurrence."""
    ticket.alert_count += 1
    ticket.last_alert_at = now
    ticket.updated_at = now
    link = alert.links[0] if alert.links else None
    body = f"Occurrence {ticket.alert_count} at {now.isoformat()}" + (f": {link}" if link else "")
    session.add(
        Comment(ticket_id=ticket.id, author_id=None, body=body, via=actor.via.value, created_at=now)
    )
    return "repeat"


def _acknowledge(session: Session, actor: Actor, now: datetime, ticket: Ticket) -> str:
    active = session.scalar(
        select(Escalation.id).where(Escalation.ticket_id == ticket.id, Escalation.state == "active")
    )
    if active is None:
        ticket.responded_at = ticket.responded_at or now
        record(
            session,
            actor,
            now,
            "alert.acknowledged",
            "acknowledged at the source",
            ticket_id=ticket.id,
        )
        return "acknowledged"
    acknowledge_in(session, actor, now, ticket)
    return "acknowledged"


def _resolve(
    session: Session,
    actor: Actor,
    now: datetime,
    ticket: Ticket,
    judged: PolicyInForce,
    alert: IncomingAlert,
) -> str:
    handling = judged.policy.alerts
    note = f"the {alert.source} alert resolved at the source"
    if handling.on_resolved == "resolve" and handling.resolve_to is not None:
        try:
            with session.begin_nested():
                move_in(session, actor, now, ticket, handling.resolve_to, note)
            return "resolved"
        except TransitionRefused as refused:
            note += f" (not moved: {refused})"
    session.add(
        Comment(
            ticket_id=ticket.id,
            author_id=None,
            body=note.capitalize(),
            via=actor.via.value,
            created_at=now,
        )
    )
    ticket.updated_at = now
    return "annotated"


def create_silence(db: Database, clock: Clock, actor: Actor, new: NewSilence) -> SilenceView:
    actor.require(Role.responder)
    now = clock.now()
    starts = new.starts_at or now
    if new.ends_at <= starts:
        raise Invalid("ends_at", "a silence must end after it starts")
    for index, matcher in enumerate(new.matchers):
        try:
            Matcher(matcher.name, Op(matcher.op), matcher.value)
        except MatcherInvalid as error:
            raise Invalid(f"matchers.{index}", str(error)) from None
    with db.transaction() as session:
        row = SilenceRow(
            org_id=actor.org_id,
            kind=new.kind,
            matchers=[m.model_dump() for m in new.matchers],
            starts_at=starts,
            ends_at=new.ends_at,
            reason=new.reason,
            created_by_id=actor.user_id,
            created_at=now,
        )
        session.add(row)
        session.flush()
        return _silence_view(session, row, now)


def _silence_view(session: Session, row: SilenceRow, now: datetime) -> SilenceView:
    hits = (
        session.scalar(
            select(func.count()).select_from(AlertRow).where(AlertRow.silence_id == row.id)
        )
        or 0
    )
    creator = (
        session.scalar(select(User.handle).where(User.id == row.created_by_id))
        if row.created_by_id
        else None
    )
    state = "pending" if now < row.starts_at else "active" if now < row.ends_at else "expired"
    return SilenceView(
        id=row.id,
        kind=row.kind,
        matchers=row.matchers,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        reason=row.reason,
        created_by=creator,
        state=state,
        alerts_silenced=hits,
    )


def list_silences(
    db: Database, clock: Clock, actor: Actor, *, include_expired: bool = False
) -> list[SilenceView]:
    now = clock.now()
    with db.transaction() as session:
        query = select(SilenceRow).where(SilenceRow.org_id == actor.org_id)
        if not include_expired:
            query = query.where(SilenceRow.ends_at > now)
        rows = session.scalars(query.order_by(SilenceRow.starts_at)).all()
        return [_silence_view(session, row, now) for row in rows]


def expire_silence(db: Database, clock: Clock, actor: Actor, silence_id: int) -> SilenceView:
    """End a silence now: notifications resume for what it matched."""
    actor.require(Role.responder)
    now = clock.now()
    with db.transaction() as session:
        row = session.scalar(
            select(SilenceRow).where(SilenceRow.org_id == actor.org_id, SilenceRow.id == silence_id)
        )
        if row is None:
            raise NotFound(f"no silence {silence_id}")
        if row.ends_at <= now:
            raise Conflict(f"silence {silence_id} has already ended")
        session.execute(
            update(SilenceRow)
            .where(SilenceRow.id == row.id)
            .values(ends_at=max(now, row.starts_at))
        )
        session.refresh(row)
        return _silence_view(session, row, now)
