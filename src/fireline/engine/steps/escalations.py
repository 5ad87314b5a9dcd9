"""Engine step: run due escalation timers. Each timer is one transaction that pages a step's
people (into the outbox), writes the decision to the ticket's timeline, and sets the next
timer; a timer from an older epoch (ack, resolve, reopen since) does nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_

from fireline.auth.actor import Actor, Role, Via
from fireline.clock.now import Clock
from fireline.engine.lease import Claim, Fenced, claim, hold
from fireline.escalation import plan
from fireline.escalation.models import Escalation, Timer
from fireline.escalation.service import load_plan, resolve_targets
from fireline.notify.outbox import Page, enqueue
from fireline.store.db import Database
from fireline.tickets.service import page_facts
from fireline.timeline.service import record


def _engine_actor(org_id: int) -> Actor:
    return Actor(None, "fireline", org_id, Role.admin, Via.engine)


def run(db: Database, clock: Clock, instance: str, lease: timedelta, batch: int) -> int:
    """Claim due timers and run each; return how many were finished here."""
    now = clock.now()
    ready = and_(Timer.done_at.is_(None), Timer.due_at <= now)
    done = 0
    for work in claim(db, Timer, ready, Timer.due_at, now, instance, lease, batch):
        try:
            _fire(db, clock, instance, work)
            done += 1
        except Fenced:
            continue
    return done


def _label(position: plan.Position) -> str:
    return f"step {position.step + 1}" + (f", round {position.cycle + 1}" if position.cycle else "")


def _fire(db: Database, clock: Clock, instance: str, work: Claim) -> None:
    now = clock.now()
    with db.transaction() as session:
        timer: Timer = hold(session, Timer, work, instance)
        timer.done_at = now
        escalation = session.get(
            Escalation, timer.escalation_id, with_for_update={"key_share": True}
        )
        assert escalation is not None
        if escalation.epoch != timer.epoch or escalation.state != "active":
            timer.outcome = f"stale: escalation is {escalation.state} at epoch {escalation.epoch}"
            return
        actor = _engine_actor(escalation.org_id)
        facts = page_facts(session, escalation.ticket_id)
        steps = load_plan(session, escalation.policy_id)
        position = plan.Position(timer.step, timer.cycle)
        if position.step >= len(steps.steps):
            # The policy was rewritten with fewer steps since this escalation began.
            timer.outcome = "ended: the policy no longer has this step"
            record(
                session,
                actor,
                now,
                "escalation.ended",
                f"step {position.step + 1} no longer exists in the escalation policy; "
                "escalation ended",
                ticket_id=facts.id,
            )
            return
        step = steps.steps[position.step]
        found = resolve_targets(
            session, escalation.org_id, step.targets, facts.judged.policy, facts.service, now
        )
        label = _label(position)
        if found.held_until is not None:
            session.add(
                Timer(
                    kind=timer.kind,
                    escalation_id=escalation.id,
                    epoch=timer.epoch,
                    step=timer.step,
                    cycle=timer.cycle,
                    due_at=found.held_until,
                    claimed_by=None,
                    lease_until=None,
                    fence=0,
                    done_at=None,
                    outcome=None,
                    created_at=now,
                )
            )
            timer.outcome = f"held until {found.held_until.isoformat()}"
            record(
                session,
                actor,
                now,
                "escalation.held",
                f"{label}: {'; '.join(found.notes)}",
                ticket_id=facts.id,
                until=found.held_until.isoformat(),
            )
            return
        for skipped in found.skipped:
            record(
                session,
                actor,
                now,
                "escalation.skipped",
                skipped.note(label),
                ticket_id=facts.id,
                step=position.step,
                cycle=position.cycle,
                person=skipped.handle,
            )
        subject = f"[{facts.priority or 'untriaged'}] #{facts.id} {facts.title}"
        for person in found.recipients:
            enqueue(
                session,
                now,
                Page(
                    org_id=escalation.org_id,
                    user_id=person.user_id,
                    key=f"esc{escalation.id}.e{escalation.epoch}.c{position.cycle}"
                    f".s{position.step}.u{person.user_id}",
                    subject=subject,
                    body=f"{subject}\nservice: {facts.service or '-'} · status: {facts.status}\n"
                    f"You are paged because {person.why} ({label}).",
                    ticket_id=facts.id,
                    escalation_id=escalation.id,
                ),
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
        record(
            session,
            actor,
            now,
            "escalation.paged",
            f"{label}: paged {paged}{notes}{following}",
            ticket_id=facts.id,
            step=position.step,
            cycle=position.cycle,
            people=[p.handle for p in found.recipients],
        )
        timer.outcome = f"paged {len(found.recipients)}"
        if decision.next_position is None or next_at is None:
            return
        escalation.step, escalation.cycle = (
            decision.next_position.step,
            decision.next_position.cycle,
        )
        escalation.updated_at = now
        session.add(
            Timer(
                kind=timer.kind,
                escalation_id=escalation.id,
                epoch=escalation.epoch,
                step=escalation.step,
                cycle=escalation.cycle,
                due_at=next_at,
                claimed_by=None,
                lease_until=None,
                fence=0,
                done_at=None,
                outcome=None,
                created_at=now,
            )
        )
