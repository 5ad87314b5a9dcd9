"""A reading transaction does not queue behind a writer: on SQLite, where every other
transaction takes the write lock up front, an integration key is still looked up while the
intake's writer holds the lock (under a storm it holds it nearly all the time)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text

from fireline.clock.now import ManualClock
from fireline.intake import service
from fireline.intake.schemas import NewIntegration
from fireline.store.db import Database

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


def test_a_reading_transaction_refuses_to_write_on_sqlite(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as writer, writer.begin():
        writer.exec_driver_sql("UPDATE organisations SET name = name")
        with pytest.raises(Exception, match="locked"), sqlite_db.reading() as session:
            session.connection().exec_driver_sql("PRAGMA busy_timeout=100")
            session.execute(text("UPDATE organisations SET name = name"))
