"""Two first triggers of one fingerprint racing in two transactions make one open ticket: the
unique index lets one in, and the other joins it as a repeat (the issue's durability rule)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from sqlalchemy import func, select, text

from fireline.clock.now import ManualClock
from fireline.intake import service
from fireline.intake.schemas import AlertOutcome, NewIntegration
from fireline.intake.sources import generic
from fireline.store.db import Database
from fireline.tickets.models import Ticket

if TYPE_CHECKING:
    from conftest import World


def waiting_for_a_lock(db: Database) -> bool:
    with db.engine.connect() as connection:
        waiting = connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
        ).scalar_one()
    return bool(waiting)


def test_two_first_triggers_racing_open_one_ticket(
    db: Database, clock: ManualClock, world: World
) -> None:
    created = service.create_integration(
        db, clock, world.admin, NewIntegration(team="meltano", kind="generic", name="race")
    )
    source = service.source_for_key(db, created.key, "generic")
    alerts = generic.parse({"title": "disk full", "service": "hub", "dedup_key": "race"})
    second: list[list[AlertOutcome]] = []
    racer = threading.Thread(
        target=lambda: second.extend(service.accept_many(db, clock, [(source, alerts)]))
    )
    with db.transaction() as session:
        (first,) = service.accept_in(session, clock, [(source, alerts)])
        racer.start()
        if db.dialect == "postgresql":
            # The racer did not see the uncommitted ticket and now waits on the unique index.
            deadline = time.monotonic() + 30
            while not waiting_for_a_lock(db):
                assert time.monotonic() < deadline, "the racer never waited for the first"
                time.sleep(0.01)
    racer.join(timeout=30)
    assert [o.outcome for o in first] == ["opened"]
    assert [o.outcome for o in second[0]] == ["repeat"]
    assert second[0][0].ticket_id == first[0].ticket_id
    with db.transaction() as session:
        tickets = session.execute(
            select(func.count(), func.max(Ticket.alert_count)).where(
                Ticket.fingerprint == first[0].fingerprint, Ticket.is_open
            )
        ).one()
    assert tuple(tickets) == (1, 2)
