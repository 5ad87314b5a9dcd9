"""A reading transaction does not queue behind a writer: on SQLite, where every other
transaction takes the write lock up front, an integration key is still looked up, a token
checked and tickets listed while the intake's writer holds the lock (under a storm it holds
it nearly all the time). And it refuses to write, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from fireline.auth.service import authenticate
from fireline.clock.now import ManualClock
from fireline.intake import service
from fireline.intake.schemas import NewIntegration
from fireline.orgs.service import create_organisation
from fireline.store.db import Database
from fireline.tickets.service import list_tickets

if TYPE_CHECKING:
    from conftest import World


def test_a_key_is_looked_up_while_a_writer_holds_the_database(
    db: Database, clock: ManualClock, world: World
) -> None:
    created = service.create_integration(
        db, clock, world.admin, NewIntegration(team="meltano", kind="generic", name="storm")
    )
    service._known_keys.clear()  # the lookup must go to the database
    with db.engine.connect() as writer, writer.begin():
        writer.execute(
            text("UPDATE integrations SET name = 'renamed' WHERE id = :id"), {"id": created.id}
        )
        # Before, on SQLite: "database is locked" once busy_timeout (5 s) ran out.
        source = service.source_for_key(db, created.key, "generic")
        assert source.id == created.id
        assert source.name == "storm"  # the writer's change is not committed yet


def test_a_reading_transaction_refuses_to_write_on_both_databases(db: Database) -> None:
    # SQLite: "attempt to write a readonly database"; PostgreSQL: "cannot execute INSERT in
    # a read-only transaction".
    with pytest.raises(DBAPIError, match=r"(?i)read-?only"), db.reading() as session:
        session.execute(
            text("INSERT INTO organisations (slug, name, created_at) VALUES ('x', 'X', :now)"),
            {"now": datetime(2026, 11, 28, tzinfo=UTC)},
        )
    with db.reading() as session:
        assert session.scalar(text("SELECT count(*) FROM organisations")) == 0


def test_a_connection_that_read_writes_again(db: Database, clock: ManualClock) -> None:
    for _ in range(3):  # the pool hands the same connection back each time
        with db.reading() as session:
            session.execute(text("SELECT count(*) FROM organisations"))
        with db.transaction() as session:
            create_organisation(session, clock, f"org{_}", "Org")
    with db.reading() as session:
        assert session.scalar(text("SELECT count(*) FROM organisations")) == 3


def test_tickets_are_listed_and_tokens_checked_while_a_writer_holds_the_database(
    db: Database, clock: ManualClock, world: World
) -> None:
    with db.engine.connect() as writer, writer.begin():
        writer.execute(text("UPDATE organisations SET name = 'renamed'"))
        # Before, on SQLite: each waited for the write lock (in a storm, between the
        # intake's batches; here, until busy_timeout ran out).
        actor = authenticate(db, world.tokens["ada"])
        page = list_tickets(db, actor)
        assert actor.org_id == world.org_id and page.total == 0
