"""Engine step: run due escalation timers, a batch at a time. One transaction claims a batch
of due timers, locks their escalations, reads what the steps need with a few set-based
queries (tickets, policies, on-call answers, people and how to reach them), decides each
timer in pure code, and writes the pages (into the outbox), the timeline entries, the next
timers, the escalations' positions and the timers' outcomes with a statement or a few per
table. A timer from an older epoch (ack, resolve, reopen since) does nothing.

The batch does not wait for an escalation another transaction holds (an acknowledgement
committing, say): that timer stays claimed, and is fired after the batch, alone, once the
lock is free. So a batch never waits while holding many locks, and an acknowledgement that
commits first is always seen; one that comes later waits for the page to commit. A batch
that fails (one bad timer) is claimed again and fired one timer at a time, so the others go
ahead of it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.orm import Session

from fireline.auth.actor import Actor, Role, Via
from fireline.clock.now import Clock
from fireline.engine.facts import page_facts_of
from fireline.engine.lease import Claim, Fenced, claim, claim_rows, hold_rows
from fireline.escalation import plan
from fireline.escalation.models import Escalation, Timer
from fireline.escalation.service import Ask, Resolved, load_plans, resolve_many, timer_row
from fireline.intake.silence_ends import silences_covering
from fireline.notify.outbox import Page, enqueue_many
from fireline.store.db import Database
from fireline.tickets.service import PageFacts
from fireline.timeline.models import Event
from fireline.timeline.service import event_row

log = logging.getLogger("fireline.engine")
# How often an escalation held by a silence looks again whether it still is.
SILENCE_RECHECK = timedelta(minutes=5)


def _engine_actor(org_id: int) -> Actor:
    return Actor(None, "fireline", org_id, Role.admin, Via.engine)


def run(db: Database, clock: Clock, instance: str, lease: timedelta, batch: int) -> int:
    """Claim due timers and fire them; return how many were finished here."""
    now = clock.now()
    ready = and_(Timer.done_at.is_(None), Timer.due_at <= now)
    try:
        with db.transaction() as session:
            timers = claim_rows(
                session, Timer, ready, Timer.due_at, now, instance, lease, batch, *_TIMER_COLUMNS
            )
            fired, busy = _fire_held(session, now, timers, wait=False)
    except Exception:
        # Nothing was claimed. One bad timer (or a deadlock with another writer) must not
        # hold the rest back: claim them apart, and fire each in a transaction of its own.
        log.exception("a batch of escalation timers failed; firing them one by one")
        fired, busy = 0, claim(db, Timer, ready, Timer.due_at, now, instance, lease, batch)
    for work in busy:
        try:
            _fire(db, clock, instance, work)
            fired += 1
        except Fenced:
            continue
        except Exception:
            log.exception("escalation timer %d failed; tried again after its lease", work.id)
    return fired


def _fire(db: Database, clock: Clock, instance: str, work: Claim) -> None:
    """Fire one claimed timer alone, waiting for its escalation if another transaction holds
    it; `Fenced` if another instance has taken the claim over."""
    with db.transaction() as session:
        timers = hold_rows(session, Timer, [work], instance, *_TIMER_COLUMNS)
        if not timers:
            raise Fenced(f"timers {work.id}: claim {work.fence} was taken over")
        _fire_held(session, clock.now(), timers, wait=True)


def _label(position: plan.Position) -> str:
    return f"step {position.step + 1}" + (f", round {position.cycle + 1}" if position.cycle else "")


@dataclass
class _Writes:
    """Everything a batch decided, written at the end with a statement or a few per table."""

    now: datetime
    outcomes: dict[str, list[int]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)
    timers: list[dict[str, Any]] = field(default_factory=list)
    positions: dict[int, plan.Position] = field(default_factory=dict)

    def done(self, timer: Any, outcome: str) -> None:
        self.outcomes.setdefault(outcome, []).append(timer.id)

    def event(self, org_id: int, kind: str, summary: str, ticket_id: int, **data: Any) -> None:
        actor = _engine_actor(org_id)
        self.events.append(event_row(actor, self.now, kind, summary, ticket_id=ticket_id, **data))

    def timer(
        self,
        timer: Any,
        epoch: int,
        position: plan.Position,
        due: datetime,
        silence_id: int | None = None,
    ) -> None:
        self.timers.append(
            timer_row(
                timer.escalation_id,
                epoch,
                position.step,
                position.cycle,
                due,
                self.now,
                timer.kind,
                silence_id,
            )
        )

    def write(self, session: Session) -> None:
        connection = session.connection()
        enqueue_many(session, self.now, self.pages)
        if self.events:
            connection.execute(insert(Event), self.events)
        if self.timers:
            connection.execute(insert(Timer), self.timers)
        # Updates go by value, one statement per outcome or position (a batch has a few).
        moved: dict[plan.Position, list[int]] = {}
        for escalation_id, position in self.positions.items():
            moved.setdefault(position, []).append(escalation_id)
        for position, escalations in moved.items():
            connection.execute(
                update(Escalation)
                .where(Escalation.id.in_(escalations))
                .values(step=position.step, cycle=position.cycle, updated_at=self.now)
            )
        for outcome, timers in self.outcomes.items():
            connection.execute(
                update(Timer).where(Timer.id.in_(timers)).values(done_at=self.now, outcome=outcome)
            )


# What firing reads of a timer, besides the id and fence a claim returns.
_TIMER_COLUMNS = (
    Timer.kind,
    Timer.escalation_id,
    Timer.epoch,
    Timer.step,
    Timer.cycle,
    Timer.due_at,
    Timer.silence_id,
)
_ESCALATION_COLUMNS = (
    Escalation.id,
    Escalation.org_id,
    Escalation.ticket_id,
    Escalation.policy_id,
    Escalation.state,
    Escalation.epoch,
)


def _fire_held(
    session: Session, now: datetime, timers: Sequence[Any], *, wait: bool
) -> tuple[int, list[Claim]]:
    """Fire timers this transaction holds: (how many were finished, the claims whose
    escalation another transaction held, left for later; none when `wait`)."""
    if not timers:
        return 0, []
    # NO KEY UPDATE, as an acknowledgement locks it: whichever commits first wins. In id
    # order, and skipping those held, so that batches never wait for each other in a cycle.
    escalations = {
        row.id: row
        for row in session.execute(
            select(*_ESCALATION_COLUMNS)
            .where(Escalation.id.in_({timer.escalation_id for timer in timers}))
            .order_by(Escalation.id)
            .with_for_update(key_share=True, skip_locked=not wait)
        )
    }
    busy = [Claim(t.id, t.fence) for t in timers if t.escalation_id not in escalations]
    due = sorted(
        (t for t in timers if t.escalation_id in escalations), key=lambda t: (t.due_at, t.id)
    )
    writes = _Writes(now)
    _decide(session, now, due, escalations, writes)
    writes.write(session)
    return len(due), busy


def _decide(
    session: Session, now: datetime, timers: list[Any], escalations: dict[int, Any], writes: _Writes
) -> None:
    live = []
    for timer in timers:
        escalation = escalations[timer.escalation_id]
        if escalation.epoch != timer.epoch or escalation.state != "active":
            state, epoch = escalation.state, escalation.epoch
            writes.done(timer, f"stale: escalation is {state} at epoch {epoch}")
        else:
            live.append(timer)
    if not live:
        return
    facts = page_facts_of(session, {escalations[t.escalation_id].ticket_id for t in live})
    silenced = silences_covering(
        session,
        now,
        {escalations[t.escalation_id].ticket_id: escalations[t.escalation_id].org_id for t in live},
    )
    plans = load_plans(session, {escalations[t.escalation_id].policy_id for t in live})
    steps: list[tuple[Any, Any, PageFacts, plan.Plan, plan.Position]] = []
    for timer in live:
        escalation = escalations[timer.escalation_id]
        ticket, steps_of = facts[escalation.ticket_id], plans[escalation.policy_id]
        position = plan.Position(timer.step, timer.cycle)
        if position.step >= len(steps_of.steps):
            # The policy was rewritten with fewer steps since this escalation began.
            writes.done(timer, "ended: the policy no longer has this step")
            writes.event(
                escalation.org_id,
                "escalation.ended",
                f"step {position.step + 1} no longer exists in the escalation policy; "
                "escalation ended",
                ticket.id,
            )
            continue
        silence = silenced.get(ticket.id)
        if silence is not None:
            # A silenced alert notifies nobody: the step waits for the silence's end, looking
            # again every SILENCE_RECHECK (the silence ended early, the alerts it covered
            # changed); ending a silence also makes the timers naming it due at once.
            again = min(silence.ends_at, now + SILENCE_RECHECK)
            writes.timer(timer, timer.epoch, position, again, silence_id=silence.id)
            writes.done(timer, f"silenced by silence {silence.id} until {again.isoformat()}")
            if timer.silence_id != silence.id:
                writes.event(
                    escalation.org_id,
                    "escalation.silenced",
                    f"{_label(position)}: silence {silence.id} covers this ticket's alerts; "
                    f"paging waits for its end at {silence.ends_at.isoformat()}",
                    ticket.id,
                    silence=silence.id,
                    until=silence.ends_at.isoformat(),
                )
            continue
        steps.append((timer, escalation, ticket, steps_of, position))
    found = resolve_many(
        session,
        now,
        [
            Ask(e.org_id, p.steps[at.step].targets, t.judged.policy, t.service)
            for _, e, t, p, at in steps
        ],
    )
    for (timer, escalation, ticket, steps_of, position), resolved in zip(steps, found, strict=True):
        _step(now, timer, escalation, ticket, steps_of, position, resolved, writes)


def _step(
    now: datetime,
    timer: Any,
    escalation: Any,
    facts: PageFacts,
    steps: plan.Plan,
    position: plan.Position,
    found: Resolved,
    writes: _Writes,
) -> None:
    """What one live timer does: page its step's people, or wait for an off-duty schedule."""
    org_id, label = escalation.org_id, _label(position)
    if found.held_until is not None:
        writes.timer(timer, timer.epoch, position, found.held_until)
        writes.done(timer, f"held until {found.held_until.isoformat()}")
        writes.event(
            org_id,
            "escalation.held",
            f"{label}: {'; '.join(found.notes)}",
            facts.id,
            until=found.held_until.isoformat(),
        )
        return
    for skipped in found.skipped:
        writes.event(
            org_id,
            "escalation.skipped",
            skipped.note(label),
            facts.id,
            step=position.step,
            cycle=position.cycle,
            person=skipped.handle,
        )
    subject = f"[{facts.priority or 'untriaged'}] #{facts.id} {facts.title}"
    for person in found.recipients:
        writes.pages.append(
            Page(
                org_id=org_id,
                user_id=person.user_id,
                key=f"esc{escalation.id}.e{escalation.epoch}.c{position.cycle}"
                f".s{position.step}.u{person.user_id}",
                subject=subject,
                body=f"{subject}\nservice: {facts.service or '-'} · status: {facts.status}\n"
                f"You are paged because {person.why} ({label}).",
                ticket_id=facts.id,
                escalation_id=escalation.id,
            )
        )
    paged = ", ".join(f"{p.handle} ({p.why})" for p in found.recipients) or "nobody"
    notes = f"; {'; '.join(found.notes)}" if found.notes else ""
    decision = plan.decide(steps, position, now)
    # A step with nobody to page (everyone deactivated, a gap, no tech lead) does not make
    # the next step wait out its delay: that would only delay the first page.
    next_at = now if not found.recipients else decision.next_at
    if decision.next_position is None or next_at is None:
        following = "; last step"
    elif next_at == now:
        following = f"; nobody to page, so {_label(decision.next_position)} at once"
    else:
        following = f"; next step at {next_at.isoformat()}"
    writes.event(
        org_id,
        "escalation.paged",
        f"{label}: paged {paged}{notes}{following}",
        facts.id,
        step=position.step,
        cycle=position.cycle,
        people=[p.handle for p in found.recipients],
    )
    writes.done(timer, f"paged {len(found.recipients)}")
    if decision.next_position is None or next_at is None:
        return
    writes.positions[escalation.id] = decision.next_position
    writes.timer(timer, escalation.epoch, decision.next_position, next_at)
