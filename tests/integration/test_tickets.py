"""Tickets against a real database: classification, due-bys, priority changes, workflow, lists.

Every test runs on SQLite and on PostgreSQL (the `db` fixture). The clock starts on
Wednesday 2026-11-25 at 10:00 in New York, the day before Thanksgiving.
Seeds: shared/seeds/000_04b531ca64567d27.txt (Hail), 002_8c93dbe06ffd41bb.txt (2i2c).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from fireline.auth.actor import Actor
from fireline.clock.now import ManualClock
from fireline.errors import Conflict, Forbidden, Invalid
from fireline.incidents.workflow import TransitionRefused
from fireline.orgs.service import apply_policy
from fireline.policy.load import preset_text
from fireline.store.db import Database
from fireline.tickets.schemas import NewTicket, TicketView
from fireline.tickets.service import (
    assign_ticket,
    comment_on,
    escalate,
    get_ticket,
    list_tickets,
    mitigate,
    move_ticket,
    open_ticket,
    ticket_timeline,
)

if TYPE_CHECKING:
    from conftest import World

NEW_YORK = ZoneInfo("America/New_York")


def new_york(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def hail(actor: Actor, db: Database, clock: ManualClock, **fields: object) -> TicketView:
    fields.setdefault("title", "Production issue")
    return open_ticket(db, clock, actor, NewTicket(team="hail", **fields))  # type: ignore[arg-type]


# -- opening: classification -----------------------------------------------------------------


def test_cost_of_720_usd_a_day_opens_a_p1_by_the_daily_cost_rule(
    db: Database, clock: ManualClock, world: World
) -> None:
    """Hail seed: "Hail team is incurring unexpected cost 100 USD/hour or 500 USD/day" is a P1."""
    opened = hail(world.responder, db, clock, signals={"cost_usd_per_day": 720})

    stored = get_ticket(db, world.viewer, opened.id)
    assert (stored.priority, stored.priority_source, stored.classification_rule) == (
        "P1",
        "policy",
        "cost-daily-critical",
    )
    assert stored.reporter == "ada"
    opened_event = ticket_timeline(db, world.viewer, opened.id)[0]
    assert opened_event.kind == "ticket.opened"
    assert opened_event.data["rule"] == "cost-daily-critical"
    assert opened_event.data["priority"] == "P1"


def test_a_persons_priority_wins_over_the_rules(
    db: Database, clock: ManualClock, world: World
) -> None:
    opened = hail(world.responder, db, clock, signals={"cost_usd_per_day": 720}, priority="P3")

    stored = get_ticket(db, world.responder, opened.id)
    assert (stored.priority, stored.priority_source, stored.classification_rule) == (
        "P3",
        "person",
        None,
    )


def test_a_priority_the_policy_does_not_know_is_invalid(
    db: Database, clock: ManualClock, world: World
) -> None:
    with pytest.raises(Invalid) as refused:
        hail(world.responder, db, clock, priority="P0")
    assert refused.value.field == "priority"
    assert list_tickets(db, world.admin).total == 0


def test_users_who_cannot_log_in_meet_2i2cs_incident_criteria(
    db: Database, clock: ManualClock, world: World
) -> None:
    """2i2c seed: "An incident is when ... users can't log-in to the hub"."""
    ticket = open_ticket(
        db,
        clock,
        world.responder,
        NewTicket(team="2i2c", title="Nobody can log in", labels=["symptom=cannot-log-in"]),
    )
    plain = open_ticket(
        db,
        clock,
        world.responder,
        NewTicket(team="2i2c", title="Add numpy", labels=["type=request"]),
    )

    stored = get_ticket(db, world.responder, ticket.id)
    assert stored.incident_criteria == ["users-cannot-log-in"]
    assert (stored.priority, stored.classification_rule) == ("urgent", "users-cannot-log-in")
    kinds = [e.kind for e in ticket_timeline(db, world.responder, ticket.id)]
    assert kinds == ["ticket.opened", "ticket.incident_criteria"]
    assert get_ticket(db, world.responder, plain.id).incident_criteria == []
    assert [e.kind for e in ticket_timeline(db, world.responder, plain.id)] == ["ticket.opened"]


# -- opening: due-bys ------------------------------------------------------------------------


def test_p2_opened_before_thanksgiving_is_due_next_tuesday_and_stored_in_utc(
    db: Database, clock: ManualClock, world: World
) -> None:
    """Hail seed: "A developer should address a P2 issue within three business days."

    Thursday is Thanksgiving; Friday, Monday and Tuesday are the three business days.
    """
    opened = hail(world.responder, db, clock, priority="P2")

    # The view a write returns and the one read back agree, offsets included (JSON shows them).
    assert opened.response_due_at is not None
    assert opened.response_due_at.utcoffset() == timedelta(0)
    stored = get_ticket(db, world.responder, opened.id)
    assert stored == opened
    assert stored.clock_started_at == new_york(2026, 11, 25, 10)
    assert stored.response_due_at == new_york(2026, 12, 1, 10)
    assert stored.resolution_due_at is None
    assert stored.response_due_at is not None
    assert stored.response_due_at.utcoffset() == timedelta(0)
    with db.engine.connect() as connection:
        if db.dialect == "postgresql":
            raw = connection.execute(
                sa.text("SELECT response_due_at AT TIME ZONE 'UTC' FROM tickets WHERE id = :id"),
                {"id": opened.id},
            ).scalar_one()
            assert raw == datetime(2026, 12, 1, 15, 0)
        else:
            raw = connection.execute(
                sa.text("SELECT response_due_at FROM tickets WHERE id = :id"), {"id": opened.id}
            ).scalar_one()
            assert str(raw).startswith("2026-12-01 15:00:00")


def test_a_working_hours_level_opened_at_night_starts_its_clock_next_working_morning(
    db: Database, clock: ManualClock, world: World
) -> None:
    """Hail's P2 pages in working hours (09:00-17:00 New York); opened at 22:00 on the eve of
    Thanksgiving its three business days count from Friday 09:00: due Wednesday 09:00."""
    clock.set(new_york(2026, 11, 25, 22))
    opened = hail(world.responder, db, clock, priority="P2")

    stored = get_ticket(db, world.responder, opened.id)
    assert stored.created_at == new_york(2026, 11, 25, 22)
    assert stored.response_due_at == new_york(2026, 12, 2, 9)


def test_an_interrupting_level_is_due_at_once_even_at_night(
    db: Database, clock: ManualClock, world: World
) -> None:
    """Hail seed: "A developer should immediately interrupt their daily work to address a P1"."""
    clock.set(new_york(2026, 11, 25, 22))
    opened = hail(world.responder, db, clock, priority="P1")

    assert get_ticket(db, world.responder, opened.id).response_due_at == new_york(2026, 11, 25, 22)


# -- mitigation ------------------------------------------------------------------------------


def test_mitigating_p1_to_p2_restarts_the_clock_and_records_who_when_why(
    db: Database, clock: ManualClock, world: World
) -> None:
    """Hail seed: "P1 issues can be mitigated such that they are re-characterized as a P2
    issue"; the P2's three business days count from the mitigation, not the opening."""
    opened = hail(world.responder, db, clock, signals={"cost_usd_per_day": 720})
    clock.advance(timedelta(hours=2))

    mitigated = mitigate(db, clock, world.other, opened.id, "P2", "scaled the cluster down")

    stored = get_ticket(db, world.viewer, opened.id)
    assert mitigated.model_dump_json() == stored.model_dump_json()
    assert stored.priority == "P2"
    assert stored.priority_source == "person"
    assert stored.classification_rule is None
    assert stored.clock_started_at == new_york(2026, 11, 25, 12)
    assert stored.response_due_at == new_york(2026, 12, 1, 12)
    [change] = stored.priority_changes
    assert (change.kind, change.from_level, change.to_level) == ("mitigate", "P1", "P2")
    assert (change.actor, change.at, change.note) == (
        "grace",
        new_york(2026, 11, 25, 12),
        "scaled the cluster down",
    )
    last = ticket_timeline(db, world.viewer, opened.id)[-1]
    assert (last.kind, last.actor, last.at) == ("ticket.mitigated", "grace", clock.now())


def test_mitigation_cannot_raise_a_priority(db: Database, clock: ManualClock, world: World) -> None:
    opened = hail(world.responder, db, clock, priority="P2")

    with pytest.raises(Conflict) as refused:
        mitigate(db, clock, world.responder, opened.id, "P1", "it got worse")
    assert refused.value.extensions["allowed"] == ["P3"]
    assert get_ticket(db, world.responder, opened.id).priority == "P2"


def test_mitigation_without_a_note_is_invalid_and_writes_nothing(
    db: Database, clock: ManualClock, world: World
) -> None:
    """Hail's policy requires a note saying how the issue was mitigated."""
    opened = hail(world.responder, db, clock, priority="P1")
    before = get_ticket(db, world.responder, opened.id)
    events_before = ticket_timeline(db, world.responder, opened.id)
    clock.advance(timedelta(hours=1))

    with pytest.raises(Invalid) as refused:
        mitigate(db, clock, world.responder, opened.id, "P2", "   ")
    assert refused.value.field == "note"

    assert get_ticket(db, world.responder, opened.id) == before
    assert ticket_timeline(db, world.responder, opened.id) == events_before


# -- escalation ------------------------------------------------------------------------------


def test_escalation_only_raises_a_priority(db: Database, clock: ManualClock, world: World) -> None:
    opened = hail(world.responder, db, clock, priority="P2")

    for lower_or_same in ("P2", "P3"):
        with pytest.raises(Conflict) as refused:
            escalate(db, clock, world.responder, opened.id, lower_or_same, "why not")
        assert refused.value.extensions["allowed"] == ["P1"]
    with pytest.raises(Invalid) as no_reason:
        escalate(db, clock, world.responder, opened.id, "P1", "")
    assert no_reason.value.field == "note"
    assert get_ticket(db, world.responder, opened.id).priority_changes == []

    clock.advance(timedelta(hours=1))
    escalated = escalate(db, clock, world.responder, opened.id, "P1", "every batch fails now")
    assert escalated.priority == "P1"
    stored = get_ticket(db, world.responder, opened.id)
    assert stored.response_due_at == new_york(2026, 11, 25, 11)
    [change] = stored.priority_changes
    assert (change.kind, change.from_level, change.to_level) == ("escalate", "P2", "P1")


def test_escalation_never_moves_a_deadline_later(
    db: Database, clock: ManualClock, world: World
) -> None:
    """2i2c: `low` is answered within 5 business days, `normal` within 2. Escalated on the
    fourth business day, the new level's response due-by would fall later than the old one:
    the old one stands, and the resolution due-by the new level brings is set."""
    opened = open_ticket(
        db, clock, world.responder, NewTicket(team="2i2c", title="A question", priority="low")
    )
    assert get_ticket(db, world.responder, opened.id).response_due_at == utc(2026, 12, 2, 15)
    clock.set(utc(2026, 12, 1, 15))

    escalate(db, clock, world.responder, opened.id, "normal", "the hub needs a change after all")

    stored = get_ticket(db, world.responder, opened.id)
    assert stored.priority == "normal"
    assert stored.response_due_at == utc(2026, 12, 2, 15)
    assert stored.resolution_due_at == utc(2026, 12, 22, 15)


# -- workflow --------------------------------------------------------------------------------


def test_workflow_moves_close_and_reopen_a_ticket(
    db: Database, clock: ManualClock, world: World
) -> None:
    opened = hail(world.responder, db, clock, priority="P3")
    assert (opened.status, opened.open, opened.allowed_next) == (
        "open",
        True,
        ["in_progress", "resolved"],
    )

    move_ticket(db, clock, world.responder, opened.id, "in_progress")
    clock.advance(timedelta(hours=3))
    resolved = move_ticket(db, clock, world.responder, opened.id, "resolved", "fixed")
    assert (resolved.open, resolved.resolved_at) == (False, clock.now())
    assert get_ticket(db, world.responder, opened.id).resolved_at == clock.now()

    clock.advance(timedelta(hours=1))
    reopened = move_ticket(db, clock, world.responder, opened.id, "open", "it came back")
    assert (reopened.status, reopened.open, reopened.resolved_at) == ("open", True, None)
    assert get_ticket(db, world.responder, opened.id).resolved_at is None
    moves = [
        (e.data["source"], e.data["target"])
        for e in ticket_timeline(db, world.responder, opened.id)
        if e.kind == "ticket.moved"
    ]
    assert moves == [("open", "in_progress"), ("in_progress", "resolved"), ("resolved", "open")]


def test_a_refused_move_names_the_allowed_ones_and_writes_nothing(
    db: Database, clock: ManualClock, world: World
) -> None:
    opened = hail(world.responder, db, clock, priority="P3")
    move_ticket(db, clock, world.responder, opened.id, "resolved")
    before = get_ticket(db, world.responder, opened.id)
    events_before = ticket_timeline(db, world.responder, opened.id)
    clock.advance(timedelta(hours=1))

    with pytest.raises(TransitionRefused) as refused:
        move_ticket(db, clock, world.responder, opened.id, "in_progress")
    assert refused.value.allowed == ["open"]

    assert get_ticket(db, world.responder, opened.id) == before
    assert ticket_timeline(db, world.responder, opened.id) == events_before


def test_moving_to_a_state_the_workflow_does_not_have_is_invalid(
    db: Database, clock: ManualClock, world: World
) -> None:
    opened = hail(world.responder, db, clock, priority="P3")

    with pytest.raises(Invalid) as refused:
        move_ticket(db, clock, world.responder, opened.id, "closed")
    assert refused.value.field == "to"
    assert refused.value.extensions["known"] == ["open", "in_progress", "resolved"]
    assert get_ticket(db, world.responder, opened.id).status == "open"


# -- policy versions -------------------------------------------------------------------------


def test_old_tickets_are_judged_by_the_policy_version_they_were_opened_under(
    db: Database, clock: ManualClock, world: World
) -> None:
    old = hail(world.responder, db, clock, priority="P1")
    slower = preset_text("hail").replace("response: 3 business days", "response: 5 business days")
    version = apply_policy(db, clock, world.admin, "hail", slower, "hail.yaml")
    assert version.version == 2

    new = hail(world.responder, db, clock, priority="P2")
    assert get_ticket(db, world.responder, new.id).policy_version == 2
    assert get_ticket(db, world.responder, new.id).response_due_at == new_york(2026, 12, 3, 10)

    clock.advance(timedelta(hours=1))
    mitigate(db, clock, world.responder, old.id, "P2", "rolled back")
    stored = get_ticket(db, world.responder, old.id)
    assert stored.policy_version == 1
    assert stored.response_due_at == new_york(2026, 12, 1, 11)
    listed = {t.id: t.policy_version for t in list_tickets(db, world.viewer).items}
    assert listed == {old.id: 1, new.id: 2}


# -- permissions -----------------------------------------------------------------------------


def test_a_viewer_may_read_but_not_write(db: Database, clock: ManualClock, world: World) -> None:
    opened = hail(world.responder, db, clock, priority="P1")
    events_before = ticket_timeline(db, world.viewer, opened.id)

    writes = [
        lambda: hail(world.viewer, db, clock, priority="P1"),
        lambda: mitigate(db, clock, world.viewer, opened.id, "P2", "note"),
        lambda: escalate(db, clock, world.viewer, opened.id, "P1", "note"),
        lambda: move_ticket(db, clock, world.viewer, opened.id, "in_progress"),
        lambda: comment_on(db, clock, world.viewer, opened.id, "hello"),
        lambda: assign_ticket(db, clock, world.viewer, opened.id, "vic"),
    ]
    for write in writes:
        with pytest.raises(Forbidden):
            write()

    assert get_ticket(db, world.viewer, opened.id).priority == "P1"
    assert ticket_timeline(db, world.viewer, opened.id) == events_before
    assert list_tickets(db, world.viewer).total == 1


# -- lists -----------------------------------------------------------------------------------


def test_lists_filter_by_team_status_priority_open_label_and_text(
    db: Database, clock: ManualClock, world: World
) -> None:
    costly = hail(world.responder, db, clock, signals={"cost_usd_per_day": 720}, title="Cost spike")
    slow = hail(world.responder, db, clock, priority="P2", title="UI is SLOW", labels=["area=ui"])
    closed = hail(world.responder, db, clock, priority="P3", title="Old warning")
    move_ticket(db, clock, world.responder, closed.id, "resolved")
    login = open_ticket(
        db,
        clock,
        world.responder,
        NewTicket(team="2i2c", title="Cannot log in", labels=["symptom=cannot-log-in"]),
    )

    def ids(**filters: object) -> list[int]:
        page = list_tickets(db, world.viewer, **filters)  # type: ignore[arg-type]
        assert page.total == len(page.items)
        return [t.id for t in page.items]

    assert ids() == [login.id, closed.id, slow.id, costly.id]
    assert ids(team="hail") == [closed.id, slow.id, costly.id]
    assert ids(team="2i2c") == [login.id]
    assert ids(status="resolved") == [closed.id]
    assert ids(priority="P1") == [costly.id]
    assert ids(open=False) == [closed.id]
    assert ids(open=True, team="hail") == [slow.id, costly.id]
    assert ids(label="symptom=cannot-log-in") == [login.id]
    assert ids(label="area=ui") == [slow.id]
    assert ids(label="area") == []
    assert ids(q="slow") == [slow.id]
    assert ids(q="log in", team="hail") == []
    with pytest.raises(Invalid) as unknown:
        ids(team="nope")
    assert unknown.value.field == "team"


def test_pages_carry_the_total_of_all_matches(
    db: Database, clock: ManualClock, world: World
) -> None:
    opened = [hail(world.responder, db, clock, priority="P3", title=f"n{i}").id for i in range(5)]

    first = list_tickets(db, world.viewer, limit=2)
    second = list_tickets(db, world.viewer, limit=2, offset=2)
    last = list_tickets(db, world.viewer, limit=2, offset=4)
    beyond = list_tickets(db, world.viewer, limit=2, offset=10)

    assert [p.total for p in (first, second, last, beyond)] == [5, 5, 5, 5]
    pages = [[t.id for t in p.items] for p in (first, second, last, beyond)]
    assert pages == [opened[4:2:-1], opened[2:0:-1], opened[0:1], []]
    assert (second.limit, second.offset) == (2, 2)
