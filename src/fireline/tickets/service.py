"""Ticket use cases; each is one transaction with its timeline events."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import TextClause, delete, func, or_, select, text
from sqlalchemy.orm import Session

from fireline.auth.actor import Actor, Role
from fireline.auth.models import User
from fireline.auth.service import user_by_handle
from fireline.clock.now import Clock
from fireline.clock.targets import level_due_bys
from fireline.errors import Conflict, Invalid, NotFound
from fireline.escalation import service as escalation
from fireline.escalation.schemas import EscalationView
from fireline.incidents import workflow
from fireline.orgs.models import Team
from fireline.orgs.service import PolicyInForce, policy_of_version, team_and_policy, team_by_slug
from fireline.policy.schema import UnknownLevel
from fireline.statuspage.notices import close_notices, open_upstream_notice
from fireline.store.bulk import insert_with_ids
from fireline.store.db import Database
from fireline.tickets.models import Comment, GroupedAlert, Link, PriorityChange, Ticket
from fireline.tickets.schemas import (
    COMMENTS_SHOWN,
    CommentPage,
    CommentView,
    LinkView,
    NewTicket,
    PriorityChangeView,
    TicketPage,
    TicketView,
)
from fireline.timeline.schemas import EventView
from fireline.timeline.service import event_row, event_views, events_of, record, record_rows
from fireline.triage.classify import (
    classify,
    incident_criteria_met,
    labels_from_list,
    level_from_labels,
)


def _due_fields(judged: PolicyInForce, priority: str | None, start: datetime) -> dict[str, Any]:
    """Targets of a level, counted from `start` on the team's calendar."""
    fields: dict[str, Any] = {
        "clock_started_at": start,
        "response_due_at": None,
        "resolution_due_at": None,
    }
    if priority is not None:
        due = level_due_bys(judged.calendar, judged.policy.level(priority), start)
        # Stored and shown in UTC, whichever path built the view.
        fields["response_due_at"] = due.response.astimezone(UTC) if due.response else None
        fields["resolution_due_at"] = due.resolution.astimezone(UTC) if due.resolution else None
    return fields


def _set_due_bys(ticket: Ticket, judged: PolicyInForce, start: datetime) -> None:
    for name, value in _due_fields(judged, ticket.priority, start).items():
        setattr(ticket, name, value)


def _choose_priority(
    judged: PolicyInForce, new: NewTicket, triage: Triage | None = None
) -> tuple[str | None, str, str | None]:
    """(level, source, rule): a person's choice, else a label naming a level, else the rules,
    else the issue type's level, else the alert's severity, else the policy's default."""
    policy = judged.policy
    if new.priority is not None:
        try:
            policy.level(new.priority)
        except UnknownLevel as error:
            raise Invalid("priority", str(error), known=error.known) from None
        return new.priority, "person", None
    labelled = level_from_labels(policy, new.labels)
    if labelled is not None:
        return labelled, "label", None
    verdict = classify(policy, new.signals, labels_from_list(new.labels))
    if verdict.level is not None:
        return verdict.level, "policy", verdict.rule
    if new.type is not None:
        for issue_type in policy.issue_types:
            if issue_type.name == new.type and issue_type.default_level is not None:
                return issue_type.default_level, "type", None
    if triage is not None and triage.severity_level is not None:
        return triage.severity_level, "severity", None
    if policy.classification.default_level is not None:
        return policy.classification.default_level, "default", None
    if triage is not None and triage.untriaged_ok:
        return None, "untriaged", None
    raise Invalid(
        "priority",
        "the policy needs a priority: give one, or signals or labels that match a rule",
        known=[level.name for level in policy.levels],
    )


def _check_type(judged: PolicyInForce, kind: str | None) -> None:
    known = [t.name for t in judged.policy.issue_types]
    if kind is not None and kind not in known:
        raise Invalid(
            "type", f"unknown issue type {kind!r}; types: {', '.join(known) or '-'}", known=known
        )


def _user_id(session: Session, actor: Actor, handle: str | None, field: str) -> int | None:
    if handle is None:
        return None
    try:
        return user_by_handle(session, actor.org_id, handle, field=field).id
    except NotFound:
        raise Invalid(field, f"no user {handle!r}") from None


def open_ticket(db: Database, clock: Clock, actor: Actor, new: NewTicket) -> TicketView:
    """Open a ticket judged by its team's policy in force: priority, due-bys, incident criteria."""
    return open_tickets(db, clock, actor, [new])[0]


def open_tickets(
    db: Database, clock: Clock, actor: Actor, batch: Sequence[NewTicket]
) -> list[TicketView]:
    """Open several tickets in one transaction, all or none: one commit for a burst of alerts."""
    actor.require(Role.responder)
    with db.transaction() as session:
        opened = open_in(session, actor, clock.now(), batch)
        handles = {actor.user_id: actor.handle} if actor.user_id is not None else {}
        handles |= _handles(session, [item.row["assignee_id"] for item in opened])
        views = []
        for item in opened:
            links = _links_of(session, item.row["id"]) if item.new.links else []
            views.append(_view_of(item.row, item.judged, item.team_slug, handles, links=links))
        return views


def open_in(
    session: Session,
    actor: Actor,
    now: datetime,
    batch: Sequence[NewTicket],
    extra: Sequence[dict[str, Any]] | None = None,
    triage: Sequence[Triage] | None = None,
    judged: dict[str, tuple[Team, PolicyInForce]] | None = None,
    origin: Callable[[Opened], tuple[str, dict[str, Any]]] | None = None,
) -> list[Opened]:
    """Open tickets in the caller's transaction; `extra` adds columns per ticket (intake's
    fingerprint), `judged` the teams and policies the caller has already read, by slug, and
    `origin` where each ticket came from (intake: its alert), told in its opening event as a
    phrase and data. Paging starts with them."""
    judges = dict(judged or {})
    opened: list[Opened] = []
    for index, new in enumerate(batch):
        try:
            if new.team not in judges:
                judges[new.team] = _team_and_policy(session, actor, new.team)
            how = triage[index] if triage is not None else None
            opened.append(_build(session, actor, now, *judges[new.team], new, how))
        except Invalid as error:
            if len(batch) == 1:
                raise
            raise Invalid(f"{index}.{error.field}", error.detail) from None
    for item, columns in zip(opened, extra or [{}] * len(opened), strict=True):
        item.row.update(columns)
    # Core-level bulk insert: one statement for the burst, ids back in parameter order.
    ids = insert_with_ids(session, Ticket, [item.row for item in opened])
    events: list[dict[str, Any]] = []
    for item, ticket_id in zip(opened, ids, strict=True):
        item.row["id"] = ticket_id
        told = origin(item) if origin is not None else None
        events.extend(_opening_events(actor, now, item, told))
        for url in item.new.links:
            session.add(Link(ticket_id=ticket_id, url=url, title="", created_at=now))
    record_rows(session, events)
    starts = [start for item in opened if (start := _paging_start(item)) is not None]
    escalation.start_many(session, actor, now, starts)
    session.flush()
    return opened


@dataclass(frozen=True, slots=True)
class Triage:
    """How intake wants a ticket judged beyond the policy's rules: the level its source's
    severity maps to, and whether an alert nothing classifies may open untriaged rather
    than be refused (an alert is never dropped)."""

    severity_level: str | None = None
    untriaged_ok: bool = False


@dataclass(frozen=True, slots=True)
class Opened:
    row: dict[str, Any]
    judged: PolicyInForce
    team_slug: str
    new: NewTicket
    escalation_policy_id: int | None


def _paging_start(item: Opened) -> escalation.Start | None:
    """An open ticket with a priority pages by its team's escalation policy, if it has one."""
    row = item.row
    if item.escalation_policy_id is None or row["priority"] is None or not row["is_open"]:
        return None
    return escalation.Start(
        row["id"],
        item.escalation_policy_id,
        item.judged.policy.level(row["priority"]),
        item.judged.calendar,
    )


def _build(
    session: Session,
    actor: Actor,
    now: datetime,
    team: Team,
    judged: PolicyInForce,
    new: NewTicket,
    triage: Triage | None = None,
) -> Opened:
    _check_type(judged, new.type)
    priority, source, rule = _choose_priority(judged, new, triage)
    try:
        state = workflow.initial_state(judged.policy.workflows.ticket, new.status)
    except workflow.UnknownState as error:
        raise Invalid("status", str(error), known=error.known) from None
    criteria = [
        c.name
        for c in incident_criteria_met(judged.policy, new.signals, labels_from_list(new.labels))
    ]
    row: dict[str, Any] = {
        "org_id": actor.org_id,
        "team_id": team.id,
        "policy_version_id": judged.version_id,
        "title": new.title,
        "description": new.description,
        "service": new.service,
        "type": new.type,
        "priority": priority,
        "priority_source": source,
        "classification_rule": rule,
        "signals": dict(new.signals),
        "labels": list(dict.fromkeys(new.labels)),
        "status": state.name,
        "is_open": state.open,
        "reporter_id": actor.user_id,
        "assignee_id": _user_id(session, actor, new.assignee, "assignee"),
        "incident_id": None,
        "incident_criteria": criteria,
        "created_at": now,
        "updated_at": now,
        "responded_at": None,
        "resolved_at": None if state.open else now,
        "paused_at": now if state.stops_clock else None,
        **_due_fields(judged, priority, now),
    }
    return Opened(row, judged, team.slug, new, team.escalation_policy_id)


def _opening_events(
    actor: Actor, now: datetime, item: Opened, origin: tuple[str, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    row = item.row
    rule, source = row["classification_rule"], row["priority_source"]
    why = f"by rule {rule!r}" if rule else f"({source})"
    summary = f"opened at {row['priority'] or 'no priority'} {why} in state {row['status']}"
    phrase, data = origin if origin is not None else ("", {})
    events = [
        event_row(
            actor,
            now,
            "ticket.opened",
            f"{summary} {phrase}" if phrase else summary,
            ticket_id=row["id"],
            priority=row["priority"],
            rule=rule,
            source=source,
            policy_version=item.judged.version,
            **data,
        )
    ]
    criteria = row["incident_criteria"]
    if criteria:
        events.append(
            event_row(
                actor,
                now,
                "ticket.incident_criteria",
                f"meets the policy's incident criteria ({', '.join(criteria)}): "
                "declare an incident",
                ticket_id=row["id"],
                criteria=criteria,
            )
        )
    return events


def _team_and_policy(session: Session, actor: Actor, slug: str) -> tuple[Team, PolicyInForce]:
    try:
        return team_and_policy(session, actor.org_id, slug)
    except NotFound as error:
        raise Invalid("team", error.detail, **error.extensions) from None


def _team(session: Session, actor: Actor, slug: str) -> Team:
    try:
        return team_by_slug(session, actor.org_id, slug)
    except NotFound as error:
        raise Invalid("team", error.detail, **error.extensions) from None


def _load(session: Session, actor: Actor, ticket_id: int, *, lock: bool = False) -> Ticket:
    query = select(Ticket).where(Ticket.id == ticket_id, Ticket.org_id == actor.org_id)
    if lock:
        # NO KEY UPDATE: rows that merely reference the ticket (outbox, timeline) need not wait,
        # and the engine, which inserts them while holding an escalation, cannot deadlock us.
        query = query.with_for_update(key_share=True)
    ticket = session.scalar(query)
    if ticket is None:
        raise NotFound(f"no ticket {ticket_id}")
    return ticket


def _handles(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.handle).where(User.id.in_(wanted)))
    return {row.id: row.handle for row in rows}


def _links_of(session: Session, ticket_id: int) -> list[Link]:
    return list(session.scalars(select(Link).where(Link.ticket_id == ticket_id).order_by(Link.id)))


_COLUMNS = tuple(column.key for column in Ticket.__table__.columns)


def _view(
    session: Session,
    ticket: Ticket,
    judged: PolicyInForce,
    team_slug: str,
    *,
    handles: dict[int, str] | None = None,
    detail: bool = True,
) -> TicketView:
    """A stored ticket as the API shows it; `detail` adds comments, links and priority changes."""
    comments: list[Comment] = []
    older_comments = False
    links: list[Link] = []
    changes: list[PriorityChange] = []
    if detail:
        comments, older_comments = _comments_before(session, ticket.id, None, COMMENTS_SHOWN)
        links = _links_of(session, ticket.id)
        changes = list(
            session.scalars(
                select(PriorityChange)
                .where(PriorityChange.ticket_id == ticket.id)
                .order_by(PriorityChange.id)
            )
        )
    if handles is None:
        handles = _handles(
            session,
            [
                ticket.reporter_id,
                ticket.assignee_id,
                *(c.author_id for c in comments),
                *(c.actor_id for c in changes),
            ],
        )
    row = {name: getattr(ticket, name) for name in _COLUMNS}
    return _view_of(
        row,
        judged,
        team_slug,
        handles,
        comments=comments,
        older_comments=older_comments,
        links=links,
        changes=changes,
    )


def _comments_before(
    session: Session, ticket_id: int, before: int | None, limit: int
) -> tuple[list[Comment], bool]:
    """The ticket's latest `limit` comments before comment `before` (or the latest of
    all), oldest first, and whether older ones exist. In an alert storm a ticket gathers
    hundreds of occurrence comments a second: it shows a page of them, never all."""
    query = select(Comment).where(Comment.ticket_id == ticket_id)
    if before is not None:
        query = query.where(Comment.id < before)
    newest_first = list(session.scalars(query.order_by(Comment.id.desc()).limit(limit + 1)))
    return newest_first[:limit][::-1], len(newest_first) > limit


def ticket_comments(
    db: Database, actor: Actor, ticket_id: int, before: int | None, limit: int
) -> CommentPage:
    """A page of the ticket's comments before comment `before`, oldest first."""
    with db.reading() as session:
        ticket = _load(session, actor, ticket_id)
        comments, older = _comments_before(session, ticket.id, before, limit)
        handles = _handles(session, [c.author_id for c in comments])
        return CommentPage(items=[_comment_view(c, handles) for c in comments], older=older)


def _comment_view(comment: Comment, handles: dict[int, str]) -> CommentView:
    author = handles.get(comment.author_id) if comment.author_id is not None else None
    return CommentView(
        id=comment.id,
        author=author,
        body=comment.body,
        via=comment.via,
        created_at=comment.created_at,
    )


def _view_of(
    row: dict[str, Any],
    judged: PolicyInForce,
    team_slug: str,
    handles: dict[int, str],
    *,
    comments: Sequence[Comment] = (),
    older_comments: bool = False,
    links: Sequence[Link] = (),
    changes: Sequence[PriorityChange] = (),
) -> TicketView:
    def handle(user_id: int | None) -> str | None:
        return handles.get(user_id) if user_id is not None else None

    return TicketView(
        id=row["id"],
        team=team_slug,
        title=row["title"],
        description=row["description"],
        service=row["service"],
        type=row["type"],
        priority=row["priority"],
        priority_source=row["priority_source"],
        classification_rule=row["classification_rule"],
        signals=row["signals"],
        labels=row["labels"],
        status=row["status"],
        open=row["is_open"],
        allowed_next=workflow.allowed_next(judged.policy.workflows.ticket, row["status"]),
        reporter=handle(row["reporter_id"]),
        assignee=handle(row["assignee_id"]),
        incident_id=row["incident_id"],
        incident_criteria=row["incident_criteria"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        clock_started_at=row["clock_started_at"],
        response_due_at=row["response_due_at"],
        resolution_due_at=row["resolution_due_at"],
        responded_at=row["responded_at"],
        resolved_at=row["resolved_at"],
        paused_at=row["paused_at"],
        policy_version=judged.version,
        fingerprint=row.get("fingerprint"),
        alert_count=row.get("alert_count") or 0,
        last_alert_at=row.get("last_alert_at"),
        comments=[_comment_view(c, handles) for c in comments],
        older_comments=older_comments,
        links=[LinkView(id=link.id, url=link.url, title=link.title) for link in links],
        priority_changes=[
            PriorityChangeView(
                kind=c.kind,
                from_level=c.from_level,
                to_level=c.to_level,
                note=c.note,
                actor=handle(c.actor_id),
                at=c.at,
            )
            for c in changes
        ],
    )


def _team_slug(session: Session, team_id: int) -> str:
    slug = session.scalar(select(Team.slug).where(Team.id == team_id))
    assert slug is not None
    return slug


def view_ticket(session: Session, ticket: Ticket) -> TicketView:
    """A ticket as the API shows it, judged by the policy version it was opened under."""
    return _view(
        session,
        ticket,
        policy_of_version(session, ticket.policy_version_id),
        _team_slug(session, ticket.team_id),
    )


def get_ticket(db: Database, actor: Actor, ticket_id: int) -> TicketView:
    with db.reading() as session:
        return view_ticket(session, _load(session, actor, ticket_id))


def list_tickets(
    db: Database,
    actor: Actor,
    *,
    team: str | None = None,
    status: str | None = None,
    priority: str | None = None,
    open: bool | None = None,
    label: str | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> TicketPage:
    """A filtered page of tickets, newest first; a constant number of queries per page."""
    with db.reading() as session:
        query = select(Ticket).where(Ticket.org_id == actor.org_id)
        if team is not None:
            query = query.where(Ticket.team_id == _team(session, actor, team).id)
        if status is not None:
            query = query.where(Ticket.status == status)
        if priority is not None:
            query = query.where(Ticket.priority == priority)
        if open is not None:
            query = query.where(Ticket.is_open == open)
        if q:
            pattern = f"%{q}%"
            query = query.where(or_(Ticket.title.ilike(pattern), Ticket.description.ilike(pattern)))
        if label is not None:
            query = query.where(_has_label(db.dialect, label))
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        page = list(session.scalars(query.order_by(Ticket.id.desc()).limit(limit).offset(offset)))
        teams = dict(
            session.execute(select(Team.id, Team.slug).where(Team.org_id == actor.org_id)).all()
        )
        versions = {v: policy_of_version(session, v) for v in {t.policy_version_id for t in page}}
        handles = _handles(session, [i for t in page for i in (t.reporter_id, t.assignee_id)])
        items = [
            _view(
                session,
                t,
                versions[t.policy_version_id],
                teams[t.team_id],
                handles=handles,
                detail=False,
            )
            for t in page
        ]
        return TicketPage(items=items, total=total, limit=limit, offset=offset)


def _has_label(dialect: str, label: str) -> TextClause:
    if dialect == "postgresql":
        clause = text("tickets.labels @> jsonb_build_array(CAST(:label AS text))")
    else:
        clause = text("EXISTS (SELECT 1 FROM json_each(tickets.labels) WHERE value = :label)")
    return clause.bindparams(label=label)


def _current_policy(session: Session, ticket: Ticket) -> PolicyInForce:
    return policy_of_version(session, ticket.policy_version_id)


def _require_open(ticket: Ticket, verb: str) -> None:
    if not ticket.is_open:
        raise Conflict(
            f"ticket {ticket.id} is {ticket.status}; reopen it to {verb} it", status=ticket.status
        )


def _change_priority(
    db: Database, clock: Clock, actor: Actor, ticket_id: int, to: str, note: str, kind: str
) -> TicketView:
    actor.require(Role.responder)
    now = clock.now()
    with db.transaction() as session:
        ticket = _load(session, actor, ticket_id, lock=True)
        judged = _current_policy(session, ticket)
        policy = judged.policy
        _require_open(ticket, kind)
        try:
            policy.level(to)
        except UnknownLevel as error:
            raise Invalid("to", str(error), known=error.known) from None
        current = ticket.priority
        if kind == "mitigate":
            allowed = policy.downgrades_from(current) if current else []
            if to not in allowed:
                raise Conflict(
                    f"the policy does not let {current} be mitigated to {to}"
                    + (
                        "; raising a priority is 'escalate'"
                        if current and policy.level(to).rank < policy.level(current).rank
                        else ""
                    ),
                    current=current,
                    requested=to,
                    allowed=allowed,
                )
            if policy.mitigation.note_required and not note.strip():
                raise Invalid("note", "the policy requires a note saying how it was mitigated")
        else:
            rank = policy.level(current).rank if current else None
            allowed = [
                lv.name
                for lv in sorted(policy.levels, key=lambda lv: lv.rank)
                if rank is None or lv.rank < rank
            ]
            if to not in allowed:
                raise Conflict(
                    f"escalating {current} to {to} does not raise it; "
                    "lowering a priority is 'mitigate'",
                    current=current,
                    requested=to,
                    allowed=allowed,
                )
            if not note.strip():
                raise Invalid("note", "say why the priority goes up")
        if kind == "mitigate":
            _set_priority(session, actor, now, ticket, judged, to, note, kind)
        else:
            raise_priority_in(session, actor, now, ticket, judged, to, note)
        session.flush()
        return view_ticket(session, ticket)


def raise_priority_in(
    session: Session,
    actor: Actor,
    now: datetime,
    ticket: Ticket,
    judged: PolicyInForce,
    to: str,
    note: str,
    rule: str | None = None,
) -> None:
    """Raise a locked open ticket's priority, in the caller's transaction: its deadlines
    move closer (never later), and its paging follows the new level at once (Hail: spend
    past 100 USD/h is P1, and interrupts now). `rule`: the policy's rule that raised it,
    for a raise by intake; else a person raised it."""
    _set_priority(session, actor, now, ticket, judged, to, note, "escalate", rule)
    level = judged.policy.level(to)
    team = session.get(Team, ticket.team_id)
    assert team is not None
    escalation.follow_raise(
        session, actor, now, ticket.id, team.escalation_policy_id, level, judged.calendar
    )


def _set_priority(
    session: Session,
    actor: Actor,
    now: datetime,
    ticket: Ticket,
    judged: PolicyInForce,
    to: str,
    note: str,
    kind: str,
    rule: str | None = None,
) -> None:
    current = ticket.priority
    ticket.priority = to
    ticket.priority_source = "person" if rule is None else "policy"
    ticket.classification_rule = rule
    ticket.updated_at = now
    if kind == "mitigate":
        if judged.policy.mitigation.restart_clock:
            _set_due_bys(ticket, judged, now)
    else:
        old_response, old_resolution = ticket.response_due_at, ticket.resolution_due_at
        _set_due_bys(ticket, judged, now)
        # Escalating may only bring a deadline closer, never push one out.
        ticket.response_due_at = _earliest(old_response, ticket.response_due_at)
        ticket.resolution_due_at = _earliest(old_resolution, ticket.resolution_due_at)
    session.add(
        PriorityChange(
            ticket_id=ticket.id,
            kind=kind,
            from_level=current,
            to_level=to,
            note=note,
            actor_id=actor.user_id,
            at=now,
        )
    )
    verb = "mitigated" if kind == "mitigate" else "escalated"
    record(
        session,
        actor,
        now,
        f"ticket.{verb}",
        f"{verb} from {current} to {to}: {note}",
        ticket_id=ticket.id,
        from_level=current,
        to_level=to,
        note=note,
    )


def _earliest(first: datetime | None, second: datetime | None) -> datetime | None:
    present = [d for d in (first, second) if d is not None]
    return min(present) if present else None


def mitigate(
    db: Database, clock: Clock, actor: Actor, ticket_id: int, to: str, note: str
) -> TicketView:
    """Lower a priority as the policy allows, with a note; targets then count from now."""
    return _change_priority(db, clock, actor, ticket_id, to, note, "mitigate")


def escalate(
    db: Database, clock: Clock, actor: Actor, ticket_id: int, to: str, note: str
) -> TicketView:
    """Raise a priority; deadlines move closer, never later."""
    return _change_priority(db, clock, actor, ticket_id, to, note, "escalate")


def move_ticket(
    db: Database, clock: Clock, actor: Actor, ticket_id: int, to: str, note: str = ""
) -> TicketView:
    """Move through the ticket workflow; closed states stop the clocks, stop-states pause them."""
    actor.require(Role.responder)
    with db.transaction() as session:
        ticket = _load(session, actor, ticket_id, lock=True)
        move_in(session, actor, clock.now(), ticket, to, note)
        session.flush()
        return view_ticket(session, ticket)


def move_in(
    session: Session,
    actor: Actor,
    now: datetime,
    ticket: Ticket,
    to: str,
    note: str = "",
    acknowledging: bool = True,
) -> None:
    """Move a locked ticket, in the caller's transaction. `acknowledging=False`: the caller
    has just acknowledged the ticket itself."""
    judged = _current_policy(session, ticket)
    flow = judged.policy.workflows.ticket
    try:
        target = workflow.check_move(flow, ticket.status, to)
    except workflow.UnknownState as error:
        raise Invalid("to", str(error), known=error.known) from None
    previous = workflow.state(flow, ticket.status)
    if previous.stops_clock and not target.stops_clock and ticket.paused_at is not None:
        _resume_clocks(ticket, judged, now)
    if target.stops_clock and not previous.stops_clock:
        ticket.paused_at = now
    if ticket.responded_at is None:
        ticket.responded_at = now
    if previous.open and not target.open:
        escalation.stop(session, actor, now, ticket.id)
        if UPSTREAM in ticket.labels:  # only an upstream ticket has a notice (labels only grow)
            close_notices(session, now, ticket.id)
    if target.open and not previous.open:
        # A storm's group ended with its ticket (a closed ticket's group is never looked
        # up): reopened, the ticket stands for its own alert alone.
        session.execute(delete(GroupedAlert).where(GroupedAlert.ticket_id == ticket.id))
    if target.open and not previous.open and ticket.priority is not None:
        escalation.restart(
            session,
            actor,
            now,
            ticket.id,
            judged.policy.level(ticket.priority),
            judged.calendar,
        )
    if acknowledging and target.open and target.acknowledges and not previous.acknowledges:
        # After a reopening's restart: a ticket moved into an acknowledging state pages nobody.
        escalation.acknowledge_if_active(session, actor, now, ticket.id)
    ticket.is_open = target.open
    ticket.resolved_at = None if target.open else now
    ticket.status = target.name
    ticket.updated_at = now
    record(
        session,
        actor,
        now,
        "ticket.moved",
        f"{previous.name} → {target.name}" + (f": {note}" if note else ""),
        ticket_id=ticket.id,
        source=previous.name,
        target=target.name,
        note=note,
    )


def _resume_clocks(ticket: Ticket, judged: PolicyInForce, now: datetime) -> None:
    assert ticket.paused_at is not None and ticket.priority is not None
    level = judged.policy.level(ticket.priority)
    if ticket.response_due_at is not None and level.response and ticket.responded_at is None:
        ticket.response_due_at = judged.calendar.extend_for_pause(
            level.response, ticket.response_due_at, ticket.paused_at, now
        ).astimezone(UTC)
    if ticket.resolution_due_at is not None and level.resolution:
        ticket.resolution_due_at = judged.calendar.extend_for_pause(
            level.resolution, ticket.resolution_due_at, ticket.paused_at, now
        ).astimezone(UTC)
    ticket.paused_at = None


def acknowledge(db: Database, clock: Clock, actor: Actor, ticket_id: int) -> EscalationView:
    """Acknowledge a page: the escalation stops, and the ticket counts as responded to."""
    actor.require(Role.responder)
    with db.transaction() as session:
        ticket = _load(session, actor, ticket_id, lock=True)
        return acknowledge_in(session, actor, clock.now(), ticket)


def acknowledge_in(session: Session, actor: Actor, now: datetime, ticket: Ticket) -> EscalationView:
    """Acknowledge a locked ticket's page, in the caller's transaction."""
    if ticket.responded_at is None:
        ticket.responded_at = now
    ticket.updated_at = now
    acknowledged = escalation.acknowledge(session, actor, now, ticket.id)
    move_to_acknowledged(session, actor, now, ticket)
    return acknowledged


def move_to_acknowledged(session: Session, actor: Actor, now: datetime, ticket: Ticket) -> None:
    """An acknowledged ticket moves into its workflow's acknowledging state (Meltano's 👀),
    when the workflow has one and allows the move from where the ticket is."""
    flow = _current_policy(session, ticket).policy.workflows.ticket
    if workflow.state(flow, ticket.status).acknowledges:
        return
    allowed = workflow.allowed_next(flow, ticket.status)
    into = next((s for s in flow.states if s.acknowledges and s.open and s.name in allowed), None)
    if into is not None:
        move_in(session, actor, now, ticket, into.name, "acknowledged", acknowledging=False)


UPSTREAM = "upstream"


def mark_upstream(
    db: Database, clock: Clock, actor: Actor, ticket_id: int, upstream: str, note: str = ""
) -> TicketView:
    actor.require(Role.responder)
    with db.transaction() as session:
        ticket = _load(session, actor, ticket_id, lock=True)
        _require_open(ticket, "mark as an upstream outage")
        mark_upstream_in(session, actor, clock.now(), ticket, upstream, note)
        session.flush()
        return view_ticket(session, ticket)


def mark_upstream_in(
    session: Session, actor: Actor, now: datetime, ticket: Ticket, upstream: str, note: str = ""
) -> None:
    """Meltano's upstream failure (a PyPI or GitLab outage): nobody is paged for what needs no
    action from us, but the ticket stays open, and users are told when the policy says its
    type notifies them."""
    ticket.labels = list(dict.fromkeys([*ticket.labels, UPSTREAM, f"{UPSTREAM}={upstream}"]))
    ticket.updated_at = now
    escalation.stop(
        session, actor, now, ticket.id, f"upstream outage ({upstream}): nobody is paged"
    )
    policy = _current_policy(session, ticket).policy
    notify = any(t.notify_users for t in policy.issue_types if t.name == ticket.type)
    if notify:
        open_upstream_notice(session, now, ticket.org_id, ticket.id, upstream, ticket.service, note)
    record(
        session,
        actor,
        now,
        "ticket.upstream",
        f"marked an upstream outage ({upstream})"
        + ("; users are told on the status page" if notify else "")
        + (f": {note}" if note else ""),
        ticket_id=ticket.id,
        upstream=upstream,
        notify_users=notify,
        note=note,
    )


def assign_ticket(
    db: Database, clock: Clock, actor: Actor, ticket_id: int, assignee: str | None
) -> TicketView:
    actor.require(Role.responder)
    now = clock.now()
    with db.transaction() as session:
        ticket = _load(session, actor, ticket_id, lock=True)
        ticket.assignee_id = _user_id(session, actor, assignee, "assignee")
        if ticket.responded_at is None and assignee is not None:
            ticket.responded_at = now
        ticket.updated_at = now
        record(
            session,
            actor,
            now,
            "ticket.assigned",
            f"assigned to {assignee}" if assignee else "unassigned",
            ticket_id=ticket.id,
            assignee=assignee,
        )
        session.flush()
        return view_ticket(session, ticket)


def add_comment(
    session: Session, actor: Actor, now: datetime, ticket: Ticket, body: str
) -> Comment:
    comment = Comment(
        ticket_id=ticket.id, author_id=actor.user_id, body=body, via=actor.via.value, created_at=now
    )
    session.add(comment)
    ticket.updated_at = now
    record(session, actor, now, "ticket.commented", body[:200], ticket_id=ticket.id)
    return comment


def comment_on(db: Database, clock: Clock, actor: Actor, ticket_id: int, body: str) -> TicketView:
    actor.require(Role.responder)
    if not body.strip():
        raise Invalid("body", "a comment needs some text")
    with db.transaction() as session:
        ticket = _load(session, actor, ticket_id)
        add_comment(session, actor, clock.now(), ticket, body)
        session.flush()
        return view_ticket(session, ticket)


def add_link(
    db: Database, clock: Clock, actor: Actor, ticket_id: int, url: str, title: str
) -> TicketView:
    actor.require(Role.responder)
    now = clock.now()
    with db.transaction() as session:
        ticket = _load(session, actor, ticket_id)
        session.add(Link(ticket_id=ticket.id, url=url, title=title, created_at=now))
        ticket.updated_at = now
        record(
            session,
            actor,
            now,
            "ticket.linked",
            f"link: {title or url}",
            ticket_id=ticket.id,
            url=url,
        )
        session.flush()
        return view_ticket(session, ticket)


def load_for_update(session: Session, actor: Actor, ticket_id: int) -> Ticket:
    """For other capabilities' services acting on a ticket inside their own transaction."""
    return _load(session, actor, ticket_id, lock=True)


def attach_to_incident(
    session: Session, actor: Actor, now: datetime, ticket_id: int, incident_id: int
) -> Ticket:
    ticket = _load(session, actor, ticket_id, lock=True)
    if ticket.incident_id not in (None, incident_id):
        raise Conflict(
            f"ticket {ticket_id} belongs to incident {ticket.incident_id} already",
            incident=ticket.incident_id,
        )
    ticket.incident_id = incident_id
    ticket.updated_at = now
    record(
        session,
        actor,
        now,
        "ticket.incident",
        f"part of incident #{incident_id}",
        ticket_id=ticket_id,
        incident=incident_id,
    )
    return ticket


def ids_in_incident(session: Session, incident_id: int) -> list[int]:
    return list(
        session.scalars(
            select(Ticket.id).where(Ticket.incident_id == incident_id).order_by(Ticket.id)
        )
    )


def ticket_timeline(db: Database, actor: Actor, ticket_id: int) -> list[EventView]:
    with db.reading() as session:
        ticket = _load(session, actor, ticket_id)
        return event_views(session, events_of(session, ticket_id=ticket.id))


def count_tickets(db: Database, actor: Actor) -> int:
    with db.reading() as session:
        return (
            session.scalar(
                select(func.count()).select_from(Ticket).where(Ticket.org_id == actor.org_id)
            )
            or 0
        )


@dataclass(frozen=True, slots=True)
class PageFacts:
    """What a page says about its ticket, and the policy it is judged by."""

    id: int
    title: str
    service: str | None
    priority: str | None
    status: str
    judged: PolicyInForce


def page_facts(session: Session, ticket_id: int) -> PageFacts:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"no ticket {ticket_id}")
    return PageFacts(
        ticket.id,
        ticket.title,
        ticket.service,
        ticket.priority,
        ticket.status,
        policy_of_version(session, ticket.policy_version_id),
    )
