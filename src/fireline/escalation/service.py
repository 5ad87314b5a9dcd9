"""Escalation use cases: policies, starting, acknowledging and stopping escalations, and
turning a step's targets into the people to page, each with the reason."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from fireline.auth.actor import Actor, Role
from fireline.auth.models import User
from fireline.auth.service import PersonDeactivated
from fireline.clock.business import BusinessCalendar
from fireline.clock.now import Clock
from fireline.errors import Conflict, Invalid, NotFound
from fireline.escalation import plan
from fireline.escalation.models import Escalation, EscalationPolicyRow, StepRow, Timer
from fireline.escalation.schemas import (
    EscalationPolicyView,
    EscalationView,
    NewEscalationPolicy,
    StepSpec,
    TargetSpec,
)
from fireline.notify.models import OutboxMessage
from fireline.notify.outbox import impact_key_prefix
from fireline.oncall.models import ScheduleRow
from fireline.oncall.rotation import OnCall
from fireline.oncall.service import on_call
from fireline.orgs.models import Team
from fireline.policy.schema import TECH_LEAD, Level, Paging, Policy
from fireline.store.bulk import copy_rows, insert_with_ids
from fireline.store.db import Database
from fireline.timeline.service import event_row, record, record_rows
from fireline.triage.route import owner_of

STEP = "escalation.step"
NAMED = "named in the escalation policy"


def _policy_row(session: Session, org_id: int, slug: str) -> EscalationPolicyRow:
    row = session.scalar(
        select(EscalationPolicyRow).where(
            EscalationPolicyRow.org_id == org_id, EscalationPolicyRow.slug == slug
        )
    )
    if row is None:
        raise NotFound(f"no escalation policy {slug!r}")
    return row


def _check_targets(session: Session, org_id: int, spec: NewEscalationPolicy) -> None:
    schedules = set(session.scalars(select(ScheduleRow.slug).where(ScheduleRow.org_id == org_id)))
    people = dict(
        session.execute(select(User.handle, User.deactivated_at).where(User.org_id == org_id)).all()
    )
    for index, step in enumerate(spec.steps):
        for target in step.targets:
            field = f"steps.{index}.targets"
            if target.kind is plan.TargetKind.schedule and target.name not in schedules:
                raise Invalid(field, f"no schedule {target.name!r}", known=sorted(schedules))
            if target.kind is plan.TargetKind.person and target.name not in people:
                raise Invalid(field, f"no user {target.name!r}")
            if target.kind is plan.TargetKind.person and people[target.name] is not None:
                raise PersonDeactivated(field, [target.name], "paged")
            if target.kind is plan.TargetKind.group and not target.name:
                raise Invalid(field, "a group target names an impact category")


def create_policy(
    db: Database, clock: Clock, actor: Actor, spec: NewEscalationPolicy
) -> EscalationPolicyView:
    actor.require(Role.admin)
    with db.transaction() as session:
        if (
            session.scalar(
                select(EscalationPolicyRow.id).where(
                    EscalationPolicyRow.org_id == actor.org_id,
                    EscalationPolicyRow.slug == spec.slug,
                )
            )
            is not None
        ):
            raise Conflict(f"escalation policy {spec.slug!r} exists already")
        _check_targets(session, actor.org_id, spec)
        row = EscalationPolicyRow(
            org_id=actor.org_id,
            slug=spec.slug,
            name=spec.name,
            repeat=spec.repeat,
            created_at=clock.now(),
        )
        session.add(row)
        session.flush()
        _write_steps_and_teams(session, actor, row, spec)
        session.flush()
        return _policy_view(session, row)


def _write_steps_and_teams(
    session: Session, actor: Actor, row: EscalationPolicyRow, spec: NewEscalationPolicy
) -> None:
    session.execute(delete(StepRow).where(StepRow.policy_id == row.id))
    session.flush()
    for position, step in enumerate(spec.steps):
        session.add(
            StepRow(
                policy_id=row.id,
                position=position,
                delay_seconds=step.delay_minutes * 60,
                targets=[t.model_dump(mode="json") for t in step.targets],
            )
        )
    teams = {
        team.slug: team for team in session.scalars(select(Team).where(Team.org_id == actor.org_id))
    }
    for slug in spec.teams:
        if slug not in teams:
            raise Invalid("teams", f"no team {slug!r}", known=sorted(teams))
    for slug, team in teams.items():
        if slug in spec.teams:
            team.escalation_policy_id = row.id
        elif team.escalation_policy_id == row.id:
            team.escalation_policy_id = None


def replace_policy(
    db: Database, clock: Clock, actor: Actor, slug: str, spec: NewEscalationPolicy
) -> EscalationPolicyView:
    """Rewrite a policy's steps, repeat and teams. Escalations under way follow the new steps
    from their current position; one past the new last step ends there."""
    actor.require(Role.admin)
    if spec.slug != slug:
        raise Invalid("slug", "an escalation policy's slug cannot change")
    with db.transaction() as session:
        row = _policy_row(session, actor.org_id, slug)
        _check_targets(session, actor.org_id, spec)
        row.name, row.repeat = spec.name, spec.repeat
        _write_steps_and_teams(session, actor, row, spec)
        session.flush()
        return _policy_view(session, row)


def delete_policy(db: Database, actor: Actor, slug: str) -> None:
    """Delete a policy nothing is escalating by; its teams page nobody until given another.
    Its past escalations keep it, archived under a freed slug, for their history."""
    actor.require(Role.admin)
    with db.transaction() as session:
        row = _policy_row(session, actor.org_id, slug)
        active = (
            session.scalar(
                select(func.count())
                .select_from(Escalation)
                .where(Escalation.policy_id == row.id, Escalation.state == "active")
            )
            or 0
        )
        if active:
            raise Conflict(
                f"{active} ticket(s) are being escalated by {slug!r}; acknowledge or resolve "
                "them first",
                active=active,
            )
        for team in session.scalars(select(Team).where(Team.escalation_policy_id == row.id)):
            team.escalation_policy_id = None
        if session.scalar(select(Escalation.id).where(Escalation.policy_id == row.id).limit(1)):
            row.slug = f"~{row.id}-{row.slug}"[:64]  # archived: history keeps it, slug is free
        else:
            session.delete(row)


def _steps(session: Session, policy_id: int) -> list[StepRow]:
    return list(
        session.scalars(
            select(StepRow).where(StepRow.policy_id == policy_id).order_by(StepRow.position)
        )
    )


def _policy_view(session: Session, row: EscalationPolicyRow) -> EscalationPolicyView:
    teams = session.scalars(
        select(Team.slug).where(Team.escalation_policy_id == row.id).order_by(Team.slug)
    ).all()
    return EscalationPolicyView(
        slug=row.slug,
        name=row.name,
        repeat=row.repeat,
        teams=list(teams),
        steps=[
            StepSpec(
                delay_minutes=s.delay_seconds // 60,
                targets=[TargetSpec.model_validate(t) for t in s.targets],
            )
            for s in _steps(session, row.id)
        ],
    )


def list_policies(db: Database, actor: Actor) -> list[EscalationPolicyView]:
    with db.reading() as session:
        rows = session.scalars(
            select(EscalationPolicyRow)
            .where(
                EscalationPolicyRow.org_id == actor.org_id,
                EscalationPolicyRow.slug.not_like("~%"),
            )
            .order_by(EscalationPolicyRow.slug)
        ).all()
        return [_policy_view(session, row) for row in rows]


def get_policy(db: Database, actor: Actor, slug: str) -> EscalationPolicyView:
    with db.reading() as session:
        return _policy_view(session, _policy_row(session, actor.org_id, slug))


def load_plans(session: Session, policy_ids: Iterable[int]) -> dict[int, plan.Plan]:
    """The plans of several escalation policies, in two queries."""
    wanted = set(policy_ids)
    if not wanted:
        return {}
    repeats = dict(
        session.execute(
            select(EscalationPolicyRow.id, EscalationPolicyRow.repeat).where(
                EscalationPolicyRow.id.in_(wanted)
            )
        ).all()
    )
    assert set(repeats) == wanted, f"no escalation policies {sorted(wanted - set(repeats))}"
    steps: dict[int, list[plan.Step]] = {policy_id: [] for policy_id in wanted}
    for policy_id, delay_seconds, targets in session.execute(
        select(StepRow.policy_id, StepRow.delay_seconds, StepRow.targets)
        .where(StepRow.policy_id.in_(wanted))
        .order_by(StepRow.policy_id, StepRow.position)
    ):
        steps[policy_id].append(
            plan.Step(
                tuple(
                    plan.Target(plan.TargetKind(t["kind"]), t.get("name", ""), t.get("layer"))
                    for t in targets
                ),
                timedelta(seconds=delay_seconds),
            )
        )
    return {
        policy_id: plan.Plan(tuple(steps[policy_id]), repeat)
        for policy_id, repeat in repeats.items()
    }


def _timer(escalation: Escalation, due: datetime, now: datetime) -> Timer:
    epoch, step, cycle = escalation.epoch, escalation.step, escalation.cycle
    return Timer(**timer_row(escalation.id, epoch, step, cycle, due, now))


def timer_row(
    escalation_id: int,
    epoch: int,
    step: int,
    cycle: int,
    due: datetime,
    now: datetime,
    kind: str = STEP,
    silence_id: int | None = None,
) -> dict[str, Any]:
    """A new, unclaimed timer's columns, for inserting many at once."""
    return {
        "kind": kind,
        "escalation_id": escalation_id,
        "epoch": epoch,
        "step": step,
        "cycle": cycle,
        "due_at": due,
        "claimed_by": None,
        "lease_until": None,
        "fence": 0,
        "done_at": None,
        "outcome": None,
        "created_at": now,
        "silence_id": silence_id,
    }


def _first_due(level: Level, calendar: BusinessCalendar, now: datetime) -> datetime:
    """P1 interrupts now; a level paged in working hours waits for the next working start."""
    if level.paging is Paging.working_hours:
        return calendar.next_working_start(now)
    return now


@dataclass(frozen=True, slots=True)
class Start:
    """A new ticket to escalate by its team's escalation policy, at its level."""

    ticket_id: int
    policy_id: int
    level: Level
    calendar: BusinessCalendar


def start_many(session: Session, actor: Actor, now: datetime, starts: Sequence[Start]) -> None:
    """Begin escalating new tickets, in the caller's transaction, with a statement per table
    however many (an alert storm opens hundreds of tickets a batch). Each first timer is
    written with its escalation: there is no commit-then-schedule gap."""
    if not starts:
        return
    rows = [
        {
            "org_id": actor.org_id,
            "ticket_id": new.ticket_id,
            "policy_id": new.policy_id,
            "state": "active",
            "epoch": 1,
            "step": 0,
            "cycle": 0,
            "created_at": now,
            "updated_at": now,
            "acknowledged_at": None,
            "acknowledged_by_id": None,
        }
        for new in starts
    ]
    session.flush()  # the tickets they name, if added as objects
    ids = insert_with_ids(session, Escalation, rows)
    timers, held = [], []
    for new, escalation_id in zip(starts, ids, strict=True):
        due = _first_due(new.level, new.calendar, now)
        timers.append(timer_row(escalation_id, 1, 0, 0, due, now))
        if due > now:
            held.append(
                event_row(
                    actor,
                    now,
                    "escalation.held",
                    f"{new.level.name} pages in working hours: held until {due.isoformat()}",
                    ticket_id=new.ticket_id,
                    until=due.isoformat(),
                )
            )
    copy_rows(session, Timer, timers)
    record_rows(session, held)


def _escalation(
    session: Session, org_id: int, ticket_id: int, *, lock: bool = True
) -> Escalation | None:
    query = select(Escalation).where(Escalation.ticket_id == ticket_id, Escalation.org_id == org_id)
    return session.scalar(query.with_for_update(key_share=True) if lock else query)


def _view(session: Session, escalation: Escalation) -> EscalationView:
    slug = session.scalar(
        select(EscalationPolicyRow.slug).where(EscalationPolicyRow.id == escalation.policy_id)
    )
    by = (
        session.scalar(select(User.handle).where(User.id == escalation.acknowledged_by_id))
        if escalation.acknowledged_by_id
        else None
    )
    return EscalationView(
        ticket_id=escalation.ticket_id,
        policy=slug or "",
        state=escalation.state,
        epoch=escalation.epoch,
        step=escalation.step,
        cycle=escalation.cycle,
        acknowledged_at=escalation.acknowledged_at,
        acknowledged_by=by,
    )


def acknowledge(session: Session, actor: Actor, now: datetime, ticket_id: int) -> EscalationView:
    """Stop escalating: the epoch moves on, so every timer already written does nothing."""
    escalation = _escalation(session, actor.org_id, ticket_id)
    if escalation is None:
        raise NotFound(f"ticket {ticket_id} is not being escalated")
    if escalation.state != "active":
        raise Conflict(
            f"the escalation of ticket {ticket_id} is {escalation.state}",
            state=escalation.state,
        )
    escalation.state, escalation.epoch = "acknowledged", escalation.epoch + 1
    escalation.acknowledged_at, escalation.acknowledged_by_id = now, actor.user_id
    escalation.updated_at = now
    _cancel_pending(session, escalation.id, now)
    cancel_impact_pages(session, ticket_id, now)
    record(
        session,
        actor,
        now,
        "escalation.acknowledged",
        f"acknowledged by {actor.handle}; escalation stopped",
        ticket_id=ticket_id,
    )
    return _view(session, escalation)


def acknowledge_if_active(session: Session, actor: Actor, now: datetime, ticket_id: int) -> None:
    """`acknowledge`, when the ticket is being escalated: a workflow move that means
    someone is aware (Meltano's 👀) stops the paging as an acknowledgement does."""
    escalation = _escalation(session, actor.org_id, ticket_id)
    if escalation is not None and escalation.state == "active":
        acknowledge(session, actor, now, ticket_id)
    else:
        cancel_impact_pages(session, ticket_id, now)


def cancel_impact_pages(session: Session, ticket_id: int, now: datetime) -> None:
    """A ticket's impact pages not yet delivered are not sent once it is acknowledged or
    closed (a contact's later notification rules), with or without an escalation."""
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.ticket_id == ticket_id,
            OutboxMessage.escalation_id.is_(None),
            OutboxMessage.idempotency_key.startswith(impact_key_prefix(ticket_id)),
            OutboxMessage.status == "pending",
            OutboxMessage.deliver_after > now,
        )
        .values(status="cancelled")
    )


def _cancel_pending(session: Session, escalation_id: int, now: datetime) -> None:
    """Pages not yet delivered for a stopped escalation are not sent (delayed rules, repeats)."""
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.escalation_id == escalation_id,
            OutboxMessage.status == "pending",
            OutboxMessage.deliver_after > now,
        )
        .values(status="cancelled")
    )


def stop(
    session: Session,
    actor: Actor,
    now: datetime,
    ticket_id: int,
    why: str = "resolved; escalation stopped",
) -> None:
    """The ticket closed (or needs nobody paged): everything stops."""
    cancel_impact_pages(session, ticket_id, now)
    escalation = _escalation(session, actor.org_id, ticket_id)
    if escalation is None or escalation.state == "resolved":
        return
    escalation.state, escalation.epoch, escalation.updated_at = (
        "resolved",
        escalation.epoch + 1,
        now,
    )
    _cancel_pending(session, escalation.id, now)
    record(
        session,
        actor,
        now,
        "escalation.resolved",
        why,
        ticket_id=ticket_id,
    )


def restart(
    session: Session,
    actor: Actor,
    now: datetime,
    ticket_id: int,
    level: Level,
    calendar: BusinessCalendar,
) -> None:
    """The ticket reopened: escalate again from the first step, under a new epoch."""
    escalation = _escalation(session, actor.org_id, ticket_id)
    if escalation is None:
        return
    escalation.state = "active"
    escalation.acknowledged_at = escalation.acknowledged_by_id = None
    _from_step_one(session, actor, now, escalation, level, calendar, "reopened")


def _from_step_one(
    session: Session,
    actor: Actor,
    now: datetime,
    escalation: Escalation,
    level: Level,
    calendar: BusinessCalendar,
    why: str,
) -> None:
    """Escalate again from the first step under a new epoch (timers already written do
    nothing), its first page timed by `level` from now."""
    escalation.epoch, escalation.step, escalation.cycle = escalation.epoch + 1, 0, 0
    escalation.updated_at = now
    session.add(_timer(escalation, _first_due(level, calendar, now), now))
    record(
        session,
        actor,
        now,
        "escalation.restarted",
        f"{why}; escalating from step 1",
        ticket_id=escalation.ticket_id,
    )


def follow_raise(
    session: Session,
    actor: Actor,
    now: datetime,
    ticket_id: int,
    policy_id: int | None,
    level: Level,
    calendar: BusinessCalendar,
) -> None:
    """The ticket's priority went up: a page still to come is timed by the new level's
    paging hours from now (escalating again from step 1, under a new epoch), and a ticket
    nobody was being paged for starts paging by `policy_id`. An acknowledged or resolved
    escalation is left as it is: someone is on it."""
    escalation = _escalation(session, actor.org_id, ticket_id)
    if escalation is None:
        if policy_id is not None:
            start_many(session, actor, now, [Start(ticket_id, policy_id, level, calendar)])
        return
    if escalation.state != "active":
        return
    _cancel_pending(session, escalation.id, now)
    _from_step_one(
        session, actor, now, escalation, level, calendar, f"priority raised to {level.name}"
    )


def escalation_of(db: Database, actor: Actor, ticket_id: int) -> EscalationView:
    with db.reading() as session:
        escalation = _escalation(session, actor.org_id, ticket_id, lock=False)
        if escalation is None:
            raise NotFound(f"ticket {ticket_id} is not being escalated")
        return _view(session, escalation)


@dataclass(frozen=True, slots=True)
class Recipient:
    user_id: int
    handle: str
    why: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """Someone a step would page who was deactivated; `named`: the step names them itself."""

    handle: str
    why: str
    named: bool

    def note(self, step: str | None = None) -> str:
        if self.named and step is not None:
            return f"{step} names {self.handle}, who was deactivated; skipped"
        return f"{self.handle} ({self.why}) was deactivated; skipped"


@dataclass(frozen=True, slots=True)
class Resolved:
    recipients: list[Recipient]
    held_until: datetime | None
    notes: list[str]
    skipped: list[Skipped]

    def remarks(self) -> list[str]:
        """Everything the timeline should say besides who was paged."""
        return [s.note() for s in self.skipped] + self.notes


def _owning_lead(policy: Policy, service: str | None) -> tuple[str | None, str]:
    owner = owner_of(policy, service)
    return owner.tech_lead, owner.why


def resolve_targets(
    session: Session,
    org_id: int,
    targets: tuple[plan.Target, ...],
    policy: Policy,
    service: str | None,
    now: datetime,
) -> Resolved:
    """The people a step pages, each with why; schedules that are off duty hold the step."""
    return resolve_many(session, now, [Ask(org_id, targets, policy, service)])[0]


@dataclass(frozen=True, slots=True)
class Ask:
    """One step's targets to resolve: whose organisation, under which team policy and service."""

    org_id: int
    targets: tuple[plan.Target, ...]
    policy: Policy
    service: str | None


def resolve_many(session: Session, now: datetime, asks: Sequence[Ask]) -> list[Resolved]:
    """`resolve_targets` for many steps at once: one on-call answer per organisation for every
    schedule the steps name, and one query (and lock) for every person they page."""
    slugs: dict[int, set[str]] = {}
    for ask in asks:
        for target in ask.targets:
            if target.kind is plan.TargetKind.schedule:
                slugs.setdefault(ask.org_id, set()).add(target.name)
    answers = {
        (org_id, answer.schedule): answer
        for org_id, names in slugs.items()
        for answer in on_call(session, org_id, now, sorted(names))
    }
    wanted = [_wanted(ask, answers) for ask in asks]
    handles = {handle for handles, _, _ in wanted for handle, _ in handles}
    # FOR KEY SHARE: a deactivation (FOR UPDATE) committing meanwhile is seen, not raced.
    users = (
        {
            (row.org_id, row.handle): row
            for row in session.execute(
                select(User.org_id, User.handle, User.id, User.deactivated_at)
                .where(User.org_id.in_({ask.org_id for ask in asks}), User.handle.in_(handles))
                .order_by(User.id)
                .with_for_update(read=True, key_share=True)
            )
        }
        if handles
        else {}
    )
    return [
        _chosen(ask.org_id, handles, notes, held, users)
        for ask, (handles, notes, held) in zip(asks, wanted, strict=True)
    ]


def _wanted(
    ask: Ask, answers: dict[tuple[int, str], OnCall]
) -> tuple[list[tuple[str, str]], list[str], list[datetime]]:
    """Whom a step's targets name (handle, why), notes on those that name nobody, and the
    times off-duty schedules hold the step until."""
    policy, service = ask.policy, ask.service
    handles: list[tuple[str, str]] = []
    notes: list[str] = []
    held: list[datetime] = []
    for target in ask.targets:
        if target.kind is plan.TargetKind.person:
            handles.append((target.name, NAMED))
        elif target.kind is plan.TargetKind.schedule:
            answer = answers.get((ask.org_id, target.name))
            if answer is None:
                notes.append(f"schedule {target.name} no longer exists")
                continue
            if target.layer is not None:
                duty = next((d for d in answer.duties if d.layer == target.layer), None)
                if duty is not None and duty.person is not None:
                    handles.append((duty.person, f"{target.name}/{duty.layer}: {duty.detail}"))
                else:
                    notes.append(f"{target.name}/{target.layer}: nobody on duty")
            elif answer.responder is not None:
                handles.append((answer.responder, f"{target.name}: {answer.detail}"))
            elif answer.held_until is not None:
                held.append(answer.held_until)
                notes.append(f"{target.name}: {answer.detail}")
            else:
                notes.append(f"{target.name}: {answer.detail}")
        elif target.kind is plan.TargetKind.tech_lead:
            lead, why = _owning_lead(policy, service)
            if lead is None:
                notes.append(why)
            else:
                handles.append((lead, why))
        else:
            category = next((c for c in policy.impact_categories if c.name == target.name), None)
            if category is None:
                notes.append(f"the team's policy has no impact category {target.name!r}")
                continue
            for contact in category.contacts:
                if contact == TECH_LEAD:
                    lead, why = _owning_lead(policy, service)
                    if lead is not None:
                        handles.append((lead, f"{category.name}: {why}"))
                    else:
                        notes.append(f"{category.name}: {why}")
                else:
                    handles.append((contact, f"{category.name} contact"))
    return handles, notes, held


def _chosen(
    org_id: int,
    handles: list[tuple[str, str]],
    notes: list[str],
    held: list[datetime],
    users: dict[tuple[int, str], Any],
) -> Resolved:
    recipients: list[Recipient] = []
    skipped: list[Skipped] = []
    for handle, why in handles:
        user = users.get((org_id, handle))
        if user is None:
            notes.append(f"{handle} ({why}) is not a user: nobody to page")
        elif user.deactivated_at is not None:
            if all(s.handle != handle for s in skipped):
                skipped.append(Skipped(handle, why, named=why == NAMED))
        elif all(r.handle != handle for r in recipients):
            recipients.append(Recipient(user.id, handle, why))
    return Resolved(recipients, min(held) if held and not recipients else None, notes, skipped)


def steps_naming(session: Session, org_id: int, handle: str) -> list[str]:
    """Where an escalation policy still names a person: its steps, numbered from 1."""
    rows = session.execute(
        select(EscalationPolicyRow.slug, StepRow.position, StepRow.targets)
        .join(StepRow, StepRow.policy_id == EscalationPolicyRow.id)
        .where(EscalationPolicyRow.org_id == org_id, EscalationPolicyRow.slug.not_like("~%"))
        .order_by(EscalationPolicyRow.slug, StepRow.position)
    ).all()
    return [
        f"escalation policy {slug}, step {position + 1}"
        for slug, position, targets in rows
        if any(t["kind"] == plan.TargetKind.person and t.get("name") == handle for t in targets)
    ]
