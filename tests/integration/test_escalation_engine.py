"""The engine pages people through escalation policies, exactly once into the outbox, on both
databases, with time under test control (a ManualClock; no sleeping)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select, update

from fireline.clock.now import ManualClock
from fireline.engine.cycle import Engine, EngineRefused
from fireline.engine.lease import Fenced, claim
from fireline.engine.steps import escalations
from fireline.engine.steps.outbox import SENDERS
from fireline.escalation.models import Timer
from fireline.escalation.schemas import NewEscalationPolicy
from fireline.escalation.service import create_policy, replace_policy
from fireline.notify.channels.delivery import Delivery
from fireline.notify.channels.registry import Channels
from fireline.notify.channels.webhook import SIGNATURE, sign
from fireline.notify.models import ContactMethod, OutboxMessage
from fireline.notify.schemas import NewContactMethod
from fireline.notify.service import (
    add_contact_method,
    contact_methods,
    inbox,
    ticket_notifications,
)
from fireline.oncall.schemas import LayerSpec, NewAbsence, NewSchedule
from fireline.oncall.service import add_absence, create_schedule
from fireline.store.db import Database
from fireline.tickets.schemas import NewTicket
from fireline.tickets.service import acknowledge, move_ticket, open_ticket, ticket_timeline

if TYPE_CHECKING:
    from tests.conftest import WebhookReceiver, World

NEW_YORK = ZoneInfo("America/New_York")
SECRET = "test-secret"


def engine(db: Database, clock: ManualClock, name: str = "engine-a") -> Engine:
    return Engine(db, clock, Channels(db, clock, SECRET), instance=name)


@pytest.fixture
def paging(db: Database, clock: ManualClock, world: World) -> World:
    """Hail's tickets page the prod-squad schedule (ada, then grace, daily), then admin after
    five minutes."""
    create_schedule(
        db,
        clock,
        world.admin,
        NewSchedule(
            slug="squad",
            name="Squad",
            timezone="America/New_York",
            layers=[
                LayerSpec(
                    name="primary",
                    members=["ada", "grace"],
                    start=datetime(2026, 11, 23, 9, tzinfo=NEW_YORK),
                    unit="days",
                )
            ],
        ),
    )
    create_policy(
        db,
        clock,
        world.admin,
        NewEscalationPolicy.model_validate(
            {
                "slug": "hail-default",
                "name": "Hail default",
                "teams": ["hail"],
                "steps": [
                    {"targets": [{"kind": "schedule", "name": "squad"}], "delay_minutes": 5},
                    {"targets": [{"kind": "person", "name": "admin"}], "delay_minutes": 10},
                ],
            }
        ),
    )
    return world


def p1(db: Database, clock: ManualClock, world: World, title: str = "Batch is on fire") -> int:
    return open_ticket(
        db,
        clock,
        world.other,
        NewTicket(team="hail", title=title, signals={"cost_usd_per_hour": 150}),
    ).id


def subjects(db: Database, world: World, handle: str) -> list[str]:
    actor = {"ada": world.responder, "grace": world.other, "admin": world.admin}[handle]
    return [m.subject for m in inbox(db, actor)]


def test_a_p1_pages_the_person_on_call_at_once_and_says_why(
    db: Database, clock: ManualClock, paging: World
) -> None:
    ticket = p1(db, clock, paging)

    report = engine(db, clock).cycle()

    assert (report.timers, report.deliveries) == (1, 1)
    assert subjects(db, paging, "ada") == [f"[P1] #{ticket} Batch is on fire"]
    paged = [e for e in ticket_timeline(db, paging.admin, ticket) if e.kind == "escalation.paged"]
    assert len(paged) == 1 and paged[0].via == "engine"
    assert "ada (squad: primary" in paged[0].summary and "next step at" in paged[0].summary
    [log] = ticket_notifications(db, paging.admin, ticket)
    assert (log.person, log.status, log.kind) == ("ada", "sent", "inbox")


def test_escalation_moves_to_the_next_step_after_the_delay(
    db: Database, clock: ManualClock, paging: World
) -> None:
    ticket = p1(db, clock, paging)
    worker = engine(db, clock)
    worker.cycle()
    clock.advance(timedelta(minutes=4, seconds=59))
    worker.cycle()
    assert subjects(db, paging, "admin") == []

    clock.advance(timedelta(seconds=1))
    worker.cycle()

    assert subjects(db, paging, "admin") == [f"[P1] #{ticket} Batch is on fire"]


def test_an_acknowledgement_stops_the_escalation(
    db: Database, clock: ManualClock, paging: World
) -> None:
    ticket = p1(db, clock, paging)
    worker = engine(db, clock)
    worker.cycle()
    clock.advance(timedelta(minutes=1))
    acknowledged = acknowledge(db, clock, paging.responder, ticket)
    clock.advance(timedelta(hours=1))
    worker.cycle()

    assert (acknowledged.state, acknowledged.acknowledged_by) == ("acknowledged", "ada")
    assert subjects(db, paging, "admin") == []
    with db.transaction() as session:
        outcomes = session.scalars(select(Timer.outcome).order_by(Timer.id)).all()
    assert outcomes[0] == "paged 1" and outcomes[1].startswith("stale")


def test_resolving_stops_everything_and_reopening_pages_again_under_a_new_epoch(
    db: Database, clock: ManualClock, paging: World
) -> None:
    ticket = p1(db, clock, paging)
    worker = engine(db, clock)
    worker.cycle()
    move_ticket(db, clock, paging.responder, ticket, "resolved")
    clock.advance(timedelta(minutes=30))
    worker.cycle()
    assert subjects(db, paging, "admin") == []

    move_ticket(db, clock, paging.responder, ticket, "open")
    worker.cycle()

    assert len(subjects(db, paging, "ada")) == 2
    keys = [n.idempotency_key for n in ticket_notifications(db, paging.admin, ticket)]
    assert len(keys) == len(set(keys)) == 2 and ".e1." in keys[0] and ".e3." in keys[1]


def test_a_level_paged_in_working_hours_is_held_until_the_next_working_start(
    db: Database, clock: ManualClock, paging: World
) -> None:
    """Hail's P2 pages in working hours; Wednesday 22:00 before Thanksgiving waits for Friday
    09:00 New York."""
    clock.set(datetime(2026, 11, 25, 22, tzinfo=NEW_YORK))
    ticket = open_ticket(
        db,
        clock,
        paging.other,
        NewTicket(team="hail", title="UI is slow", signals={"ui_page_latency_seconds": 8}),
    ).id
    worker = engine(db, clock)
    worker.cycle()
    clock.set(datetime(2026, 11, 27, 8, 59, tzinfo=NEW_YORK))
    worker.cycle()
    assert subjects(db, paging, "ada") + subjects(db, paging, "grace") == []

    clock.set(datetime(2026, 11, 27, 9, tzinfo=NEW_YORK))
    worker.cycle()

    assert subjects(db, paging, "ada") == [f"[P2] #{ticket} UI is slow"]  # Friday is ada's
    held = [e for e in ticket_timeline(db, paging.admin, ticket) if e.kind == "escalation.held"]
    assert "2026-11-27T09:00:00-05:00" in held[0].summary


def test_a_layer_off_duty_and_the_other_away_holds_the_page_until_the_morning(
    db: Database, clock: ManualClock, paging: World
) -> None:
    """Caseflow (seed 001): errors outside business-hours duty wait for the morning; an
    always-on secondary who is away is no reason to wake the fallback at night."""
    create_schedule(
        db,
        clock,
        paging.admin,
        NewSchedule(
            slug="split",
            name="Split",
            timezone="America/New_York",
            fallback="admin",
            layers=[
                LayerSpec(
                    name="primary",
                    members=["ada"],
                    start=datetime(2026, 11, 23, 9, tzinfo=NEW_YORK),
                    business_hours_only=True,
                ),
                LayerSpec(
                    name="secondary",
                    members=["grace"],
                    start=datetime(2026, 11, 23, 9, tzinfo=NEW_YORK),
                ),
            ],
        ),
    )
    add_absence(
        db,
        clock,
        paging.other,
        NewAbsence(
            person="grace",
            starts=datetime(2026, 11, 24, 18, tzinfo=NEW_YORK),
            ends=datetime(2026, 11, 25, 18, tzinfo=NEW_YORK),
            reason="appointment",
        ),
    )
    replace_policy(
        db,
        clock,
        paging.admin,
        "hail-default",
        NewEscalationPolicy.model_validate(
            {
                "slug": "hail-default",
                "name": "Hail default",
                "teams": ["hail"],
                "steps": [{"targets": [{"kind": "schedule", "name": "split"}], "delay_minutes": 5}],
            }
        ),
    )
    clock.set(datetime(2026, 11, 24, 22, tzinfo=NEW_YORK))  # Tuesday night
    ticket = p1(db, clock, paging)
    worker = engine(db, clock)
    worker.cycle()
    clock.set(datetime(2026, 11, 25, 8, 59, tzinfo=NEW_YORK))
    worker.cycle()
    assert subjects(db, paging, "admin") + subjects(db, paging, "ada") == []

    clock.set(datetime(2026, 11, 25, 9, tzinfo=NEW_YORK))
    worker.cycle()

    assert subjects(db, paging, "ada") == [f"[P1] #{ticket} Batch is on fire"]
    assert subjects(db, paging, "admin") == []
    [held] = [e for e in ticket_timeline(db, paging.admin, ticket) if e.kind == "escalation.held"]
    assert "primary: outside business hours" in held.summary
    assert "grace away: appointment" in held.summary


def test_a_frozen_instance_cannot_commit_a_claim_another_took_over(
    db: Database, clock: ManualClock, paging: World
) -> None:
    p1(db, clock, paging)
    frozen = engine(db, clock, "frozen")
    [stale] = claim(
        db, Timer, Timer.done_at.is_(None), Timer.due_at, clock.now(), "frozen", frozen.lease, 10
    )
    clock.advance(frozen.lease + timedelta(seconds=1))
    engine(db, clock, "healthy").cycle()

    with pytest.raises(Fenced):
        escalations._fire(db, clock, "frozen", stale)

    assert subjects(db, paging, "ada") == ["[P1] #1 Batch is on fire"]


def test_a_batch_of_timers_costs_a_few_statements_not_a_few_per_timer(
    db: Database, clock: ManualClock, paging: World
) -> None:
    for n in range(30):
        p1(db, clock, paging, f"fire {n}")
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        fired = escalations.run(db, clock, "batch", timedelta(minutes=1), 200)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)

    assert fired == 30
    assert len(statements) <= 25  # it was about 15 for each timer
    with db.transaction() as session:
        pages = session.scalar(select(func.count()).select_from(OutboxMessage))
        undone = session.scalar(
            select(func.count()).select_from(Timer).where(Timer.done_at.is_(None))
        )
    assert pages == 30 and undone == 30  # each paged ada once and set its step-2 timer
    for ticket in range(1, 31):
        [paged] = [
            e for e in ticket_timeline(db, paging.admin, ticket) if e.kind == "escalation.paged"
        ]
        assert "paged ada (squad: primary" in paged.summary and paged.via == "engine"


def test_a_failing_timer_does_not_hold_back_the_rest_of_its_batch(
    db: Database, clock: ManualClock, paging: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    tickets = [p1(db, clock, paging, f"fire {n}") for n in range(3)]
    step = escalations._step

    def failing(*args: object, **kwargs: object) -> None:
        if "fire 1" in str(args[3]):
            raise RuntimeError("a bad timer")
        step(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(escalations, "_step", failing)

    assert escalations.run(db, clock, "batch", timedelta(minutes=1), 200) == 2

    with db.transaction() as session:
        done = session.scalars(select(Timer.escalation_id).where(Timer.outcome.is_not(None)))
        assert sorted(done) == [1, 3]
    paged = {
        t
        for t in tickets
        for e in ticket_timeline(db, paging.admin, t)
        if e.kind == "escalation.paged"
    }
    assert paged == {tickets[0], tickets[2]}


def test_every_page_enters_the_outbox_once_however_often_engines_run(
    db: Database, clock: ManualClock, paging: World
) -> None:
    for n in range(3):
        p1(db, clock, paging, f"fire {n}")
    first, second = engine(db, clock, "a"), engine(db, clock, "b")
    for _ in range(3):
        first.cycle()
        second.cycle()

    with db.transaction() as session:
        keys = session.scalars(select(OutboxMessage.idempotency_key)).all()
    assert len(keys) == len(set(keys)) == 3
    assert sorted(subjects(db, paging, "ada")) == [f"[P1] #{n + 1} fire {n}" for n in range(3)]


def test_in_a_storm_the_excess_is_bundled_into_one_summary(
    db: Database, clock: ManualClock, paging: World
) -> None:
    """Hail's policy allows 5 pages per person and method per 15 minutes (the default)."""
    for n in range(8):
        p1(db, clock, paging, f"fire {n}")
    worker = engine(db, clock)
    worker.cycle()
    assert len(subjects(db, paging, "ada")) == 5

    acknowledge_all = [acknowledge(db, clock, paging.responder, n) for n in range(1, 9)]
    clock.advance(timedelta(minutes=15))
    worker.cycle()

    received = subjects(db, paging, "ada")
    assert len(acknowledge_all) == 8 and len(received) == 6
    assert received[0] == "3 more alerts held back in a storm"


class SlowChannels(Channels):
    """Each delivery takes two minutes of the clock: longer than the engine's lease."""

    def send(self, delivery: Delivery) -> None:
        super().send(delivery)
        assert isinstance(self.clock, ManualClock)
        self.clock.advance(timedelta(minutes=2))


def test_no_delivery_begins_once_the_claim_has_run_out_and_each_page_goes_out_once(
    db: Database, clock: ManualClock, paging: World
) -> None:
    for n in range(5):
        p1(db, clock, paging, f"fire {n}")
    worker = Engine(db, clock, SlowChannels(db, clock, SECRET), instance="slow")

    first = worker.cycle()
    for _ in range(5):
        worker.cycle()

    assert 1 <= first.deliveries <= SENDERS  # only those begun before the lease ran out
    assert sorted(subjects(db, paging, "ada")) == [f"[P1] #{n + 1} fire {n}" for n in range(5)]
    with db.transaction() as session:
        ada = session.execute(
            select(OutboxMessage.status, OutboxMessage.attempts).where(
                OutboxMessage.subject.like("%fire%"),
                OutboxMessage.user_id == paging.responder.user_id,
            )
        ).all()
    assert ada == [("sent", 1)] * 5


def test_webhooks_are_signed_with_their_own_secret_and_carry_the_idempotency_key(
    db: Database, clock: ManualClock, paging: World, receiver: WebhookReceiver
) -> None:
    [method] = add_contact_method(
        db,
        clock,
        paging.responder,
        "ada",
        NewContactMethod(name="hook", kind="webhook", target=receiver.url),
    )
    ticket = p1(db, clock, paging)

    engine(db, clock).cycle()

    [(headers, body)] = receiver.requests
    timestamp = int(headers[SIGNATURE].split(",")[0].removeprefix("t="))
    assert method.secret is not None and method.secret != SECRET
    assert headers[SIGNATURE] == sign(method.secret, timestamp, body)
    assert headers[SIGNATURE] != sign(SECRET, timestamp, body)
    payload = json.loads(body)
    assert headers["Idempotency-Key"] == payload["idempotency_key"]
    assert payload["ticket_id"] == ticket
    assert payload["idempotency_key"].startswith("esc1.e1.c0.s0.u")


def test_a_webhook_made_before_secrets_per_method_signs_with_the_deployments(
    db: Database, clock: ManualClock, paging: World, receiver: WebhookReceiver
) -> None:
    [method] = add_contact_method(
        db,
        clock,
        paging.responder,
        "ada",
        NewContactMethod(name="hook", kind="webhook", target=receiver.url),
    )
    with db.transaction() as session:  # as migration 0005 leaves the methods it found
        session.execute(
            update(ContactMethod).where(ContactMethod.id == method.id).values(signing_secret=None)
        )
    p1(db, clock, paging)

    engine(db, clock).cycle()

    [(headers, body)] = receiver.requests
    timestamp = int(headers[SIGNATURE].split(",")[0].removeprefix("t="))
    assert headers[SIGNATURE] == sign(SECRET, timestamp, body)
    [view] = contact_methods(db, paging.responder, "ada")
    assert (view.signed_with, view.secret) == ("deployment-secret", None)


def test_an_apprise_url_is_a_contact_method(
    db: Database, clock: ManualClock, paging: World, receiver: WebhookReceiver
) -> None:
    """Apprise's json:// service posts to a local peer: the same path as Slack or Telegram."""
    target = receiver.url.replace("http://", "json://")
    add_contact_method(
        db,
        clock,
        paging.responder,
        "ada",
        NewContactMethod(name="chat", kind="apprise", target=target),
    )
    ticket = p1(db, clock, paging)

    engine(db, clock).cycle()

    [(_, body)] = receiver.requests
    payload = json.loads(body)
    assert payload["title"] == f"[P1] #{ticket} Batch is on fire"
    [log] = ticket_notifications(db, paging.admin, ticket)
    assert (log.kind, log.status) == ("apprise", "sent")
    assert log.idempotency_key in payload["message"]


def test_a_failing_channel_retries_then_reaches_the_next_contact_method(
    db: Database, clock: ManualClock, paging: World, receiver: WebhookReceiver
) -> None:
    receiver.status = 503
    add_contact_method(
        db,
        clock,
        paging.responder,
        "ada",
        NewContactMethod(name="hook", kind="webhook", target=receiver.url),
    )
    ticket = p1(db, clock, paging)
    worker = engine(db, clock)
    for _ in range(6):
        worker.cycle()
        clock.advance(timedelta(minutes=5))
    acknowledge(db, clock, paging.responder, ticket)

    log = ticket_notifications(db, paging.admin, ticket)
    hook = next(n for n in log if n.kind == "webhook" and n.person == "ada")
    assert (hook.status, hook.attempts) == ("failed", 5)
    assert "HTTP 503" in (hook.last_error or "")
    assert len(receiver.requests) == 5
    assert len({h["Idempotency-Key"] for h, _ in receiver.requests}) == 1
    fallback = next(n for n in log if n.idempotency_key == hook.idempotency_key + ".next")
    assert (fallback.kind, fallback.status) == ("inbox", "sent")


def test_sqlite_runs_one_engine_and_says_so(db: Database, clock: ManualClock) -> None:
    engine(db, clock, "first").register()
    second = engine(db, clock, "second")
    if db.dialect != "sqlite":
        second.register()  # any number of engines share PostgreSQL
        return
    with pytest.raises(EngineRefused, match="SQLite runs one engine"):
        second.register()
