"""The intake writer remembers, for a second, the open ticket of each fingerprint a batch found
or opened: a batch of repeats of those alone skips the lookup. A ticket closed meanwhile
elsewhere (a person closing it) is not counted: the batch runs again with the lookup, and
the repeat opens a new ticket, as it would have without the shortcut. On both databases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event, select

from fireline.clock.now import ManualClock
from fireline.intake import service
from fireline.intake.alert import IncomingAlert
from fireline.intake.schemas import NewIntegration
from fireline.intake.sources import generic, pagerduty
from fireline.store.db import Database
from fireline.tickets.models import Comment, Ticket
from fireline.tickets.service import mitigate, move_ticket

if TYPE_CHECKING:
    from conftest import World

Request = tuple[service.Source, list[IncomingAlert]]


def _source(
    db: Database, clock: ManualClock, world: World, kind: str, team: str = "caseflow"
) -> service.Source:
    created = service.create_integration(
        db, clock, world.admin, NewIntegration(team=team, kind=kind, name=kind)
    )
    return service.source_for_key(db, created.key, kind)


def _alert(source: service.Source, key: str) -> Request:
    return source, generic.parse({"title": f"error {key}", "dedup_key": key})


@contextmanager
def _lookups(db: Database) -> Iterator[list[str]]:
    """The lookups of open tickets (their `FOR UPDATE` selects) run meanwhile. SQLite has no
    FOR UPDATE: there the lookup is the select of open tickets by fingerprint."""
    seen: list[str] = []

    def note(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "tickets.fingerprint IN" in (
            statement
        ):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def _tickets(db: Database) -> list[tuple[str | None, bool, int]]:
    with db.reading() as session:
        rows = session.execute(
            select(Ticket.fingerprint, Ticket.is_open, Ticket.alert_count).order_by(Ticket.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def _opened(
    db: Database, clock: ManualClock, world: World
) -> tuple[service.Recall, service.Source, int]:
    """A writer's recall, and the ticket its first batch opened for alert "a"."""
    recall = service.Recall(seconds=60)
    source = _source(db, clock, world, "generic")
    (first,) = service.accept_many(db, clock, [_alert(source, "a")], recall)[0]
    assert first.ticket_id is not None
    return recall, source, first.ticket_id


def test_repeats_of_a_ticket_a_batch_opened_skip_the_lookup_and_count_exactly(
    db: Database, clock: ManualClock, world: World
) -> None:
    recall, source, _ = _opened(db, clock, world)
    with _lookups(db) as lookups:
        outcomes = service.accept_many(
            db, clock, [_alert(source, "a"), _alert(source, "a"), _alert(source, "a")], recall
        )
    assert lookups == []
    assert [o.outcome for request in outcomes for o in request] == ["repeat"] * 3
    assert _tickets(db) == [("generic:a", True, 4)]
    with db.reading() as session:
        bodies = session.scalars(select(Comment.body)).all()
    assert len(bodies) == 1 and bodies[0].startswith("Occurrence 4 at ")


@pytest.mark.parametrize("b_known", [False, True])
def test_a_batch_with_a_new_fingerprint_or_two_known_tickets_looks_them_up(
    db: Database, clock: ManualClock, world: World, b_known: bool
) -> None:
    """A new fingerprint may have a ticket another process opened; two known tickets are
    locked by the lookup in id order, where updates could take them in another."""
    recall, source, _ = _opened(db, clock, world)
    if b_known:
        service.accept_many(db, clock, [_alert(source, "b")], recall)
        assert recall.open_tickets([(source.id, "generic:b")])
    with _lookups(db) as lookups:
        service.accept_many(db, clock, [_alert(source, "b"), _alert(source, "a")], recall)
    assert len(lookups) == 1
    assert _tickets(db) == [("generic:a", True, 2), ("generic:b", True, 1 + b_known)]


def test_what_a_rolled_back_batch_learnt_is_not_kept(
    db: Database, clock: ManualClock, world: World
) -> None:
    recall, source, _ = _opened(db, clock, world)

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), db.transaction() as session:
        service.accept_in(session, clock, [_alert(source, "b")], recall=recall)
        raise Abandoned  # "b"'s ticket is rolled back
    service.accept_many(db, clock, [_alert(source, "a")], recall)  # known: no lookup
    assert recall.open_tickets([(source.id, "generic:b")]) == {}
    with _lookups(db) as lookups:
        (b,) = service.accept_many(db, clock, [_alert(source, "b")], recall)[0]
    assert len(lookups) == 1 and b.outcome == "opened"


def _opened_then_closed_elsewhere(
    db: Database, clock: ManualClock, world: World
) -> tuple[service.Recall, service.Source, int]:
    """A writer's recall that knows alert "a"'s ticket open, which a person then closed."""
    recall, source, first = _opened(db, clock, world)
    move_ticket(db, clock, world.responder, first, "closed")
    return recall, source, first


def test_a_ticket_closed_elsewhere_is_not_counted_and_its_repeat_opens_a_new_one(
    db: Database, clock: ManualClock, world: World
) -> None:
    recall, source, first = _opened_then_closed_elsewhere(db, clock, world)
    with _lookups(db) as lookups:
        (again,) = service.accept_many(db, clock, [_alert(source, "a")], recall)[0]
    assert len(lookups) == 1  # the batch ran again, with the lookup
    assert again.outcome == "opened" and again.ticket_id != first
    assert _tickets(db) == [("generic:a", False, 1), ("generic:a", True, 1)]
    with db.reading() as session:
        assert session.scalars(select(Comment.body)).all() == []
    # The new ticket is the one remembered now.
    with _lookups(db) as lookups:
        (repeat,) = service.accept_many(db, clock, [_alert(source, "a")], recall)[0]
    assert lookups == [] and repeat.ticket_id == again.ticket_id
    assert _tickets(db) == [("generic:a", False, 1), ("generic:a", True, 2)]


def test_a_ticket_reopened_elsewhere_takes_its_repeats_again(
    db: Database, clock: ManualClock, world: World
) -> None:
    recall, source, first = _opened_then_closed_elsewhere(db, clock, world)
    move_ticket(db, clock, world.responder, first, "open")
    (repeat,) = service.accept_many(db, clock, [_alert(source, "a")], recall)[0]
    assert (repeat.outcome, repeat.ticket_id) == ("repeat", first)
    assert _tickets(db) == [("generic:a", True, 2)]


@pytest.mark.parametrize(
    ("team", "tickets"),
    [
        # Meltano: an alert that clears itself resolves its ticket; it fires again anew.
        ("meltano", [(False, 1), (True, 1)]),
        # Caseflow: a resolved alert only annotates its ticket, which takes the repeat.
        ("caseflow", [(True, 2)]),
    ],
)
def test_a_resolve_through_the_writer_leaves_its_ticket_known_as_it_is(
    db: Database, clock: ManualClock, world: World, team: str, tickets: list[tuple[bool, int]]
) -> None:
    recall = service.Recall(seconds=60)
    source = _source(db, clock, world, "pagerduty", team)

    def event(action: str) -> Request:
        body = {
            "routing_key": "k",
            "event_action": action,
            "dedup_key": "disk",
            "payload": {"summary": "disk full", "source": "db1", "severity": "error"},
        }
        return source, [pagerduty.parse(body).alert]

    service.accept_many(db, clock, [event("trigger")], recall)
    service.accept_many(db, clock, [event("resolve")], recall)
    remembered = recall.open_tickets([(source.id, "pagerduty:disk")])
    assert bool(remembered) == (team == "caseflow")  # a resolved ticket is forgotten
    with _lookups(db) as lookups:
        (again,) = service.accept_many(db, clock, [event("trigger")], recall)[0]
    still_open = tickets == [(True, 2)]
    assert (len(lookups), again.outcome) == ((0, "repeat") if still_open else (1, "opened"))
    assert [(is_open, count) for _, is_open, count in _tickets(db)] == tickets


def test_what_a_writer_remembers_lasts_its_seconds(
    db: Database, clock: ManualClock, world: World
) -> None:
    now = [0.0]
    recall = service.Recall(seconds=1.0, clock=lambda: now[0])
    source = _source(db, clock, world, "generic")
    service.accept_many(db, clock, [_alert(source, "a")], recall)
    now[0] += 1.0
    with _lookups(db) as lookups:
        service.accept_many(db, clock, [_alert(source, "a")], recall)
    assert len(lookups) == 1


def _spend(source: service.Source, usd_an_hour: float) -> Request:
    alert = {"title": "Spend", "dedup_key": "spend", "signals": {"cost_usd_per_hour": usd_an_hour}}
    return source, generic.parse(alert)


def _priority(db: Database, ticket_id: int | None) -> str | None:
    with db.reading() as session:
        return session.scalar(select(Ticket.priority).where(Ticket.id == ticket_id))


@pytest.mark.parametrize(
    ("first_spend", "opened_at", "mitigated_to", "then_spend", "priority"),
    [
        # Hail: spend rising past 100 USD/h raises a P2 to P1, also without the lookup.
        (30, "P2", None, 140, "P1"),
        # "P1 issues can be mitigated such that they are re-characterized as a P2 issue":
        # a repeat never raises a priority a person chose.
        (150, "P1", "P2", 180, "P2"),
    ],
)
def test_a_known_tickets_repeat_raises_its_priority_as_a_looked_up_one_would(
    db: Database,
    clock: ManualClock,
    world: World,
    first_spend: float,
    opened_at: str,
    mitigated_to: str | None,
    then_spend: float,
    priority: str,
) -> None:
    recall = service.Recall(seconds=60)
    source = _source(db, clock, world, "generic", "hail")
    (first,) = service.accept_many(db, clock, [_spend(source, first_spend)], recall)[0]
    assert first.ticket_id is not None and _priority(db, first.ticket_id) == opened_at
    if mitigated_to is not None:
        mitigate(db, clock, world.responder, first.ticket_id, mitigated_to, "capped")
    with _lookups(db) as lookups:
        (repeat,) = service.accept_many(db, clock, [_spend(source, then_spend)], recall)[0]
    assert lookups == [] and repeat.ticket_id == first.ticket_id
    assert _priority(db, first.ticket_id) == priority
