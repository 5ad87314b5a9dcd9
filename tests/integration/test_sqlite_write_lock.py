"""SQLite's write lock is asked for again every 2 ms at most, not with SQLite's own busy
handler (whose sleeps grow to 100 ms): a transaction waiting behind another process's
writer starts as soon as it can, fails as before once the busy timeout (or the database's
statement timeout) has passed, and leaves the connection's busy timeout as it found it.
SQLite only: PostgreSQL has no database-wide write lock."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from fireline.clock.now import ManualClock
from fireline.engine.cycle import Engine
from fireline.engine.models import EngineInstance
from fireline.engine.steps import heartbeats, silence_ends
from fireline.notify.channels.registry import Channels
from fireline.store import db as store
from fireline.store.db import Database, is_outage


def busy_timeout(database: Database) -> int:
    with database.reading() as session:
        return int(session.execute(text("PRAGMA busy_timeout")).scalar_one())


def test_the_pauses_double_from_a_fifth_of_a_millisecond_up_to_two() -> None:
    pauses = list(itertools.islice(store.lock_pauses(), 8))
    assert pauses == pytest.approx([0.0002, 0.0004, 0.0008, 0.0016, 0.002, 0.002, 0.002, 0.002])


def test_a_writer_waits_for_the_lock_and_then_writes(sqlite_db: Database) -> None:
    # Another process's writer: a connection of its own engine, holding the lock.
    other = Database(sqlite_db.url)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with other.transaction() as session:
            session.execute(text("UPDATE organisations SET name = name"))
            holding.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(5)
    written = threading.Event()

    def write() -> None:
        with sqlite_db.transaction() as session:
            session.execute(text("CREATE TABLE waited (n INTEGER)"))
        written.set()

    writer = threading.Thread(target=write)
    writer.start()
    assert not written.wait(0.2)  # still waiting behind the holder
    release.set()
    holder.join(5)
    writer.join(5)
    assert written.is_set()
    with sqlite_db.reading() as session:
        assert session.execute(text("SELECT count(*) FROM waited")).scalar_one() == 0
    assert busy_timeout(sqlite_db) == store.BUSY_TIMEOUT_MS
    other.dispose()


def test_a_lock_held_past_the_statement_timeout_fails_as_an_outage(sqlite_db: Database) -> None:
    hasty = Database(sqlite_db.url, statement_timeout_seconds=0.1)
    with sqlite_db.transaction() as holder:
        holder.execute(text("UPDATE organisations SET name = name"))
        with (
            pytest.raises(OperationalError, match="database is locked") as failure,
            hasty.transaction() as session,
        ):
            session.execute(text("CREATE TABLE never (n INTEGER)"))
        assert is_outage(failure.value)
    assert busy_timeout(hasty) == 100
    with hasty.reading() as session:
        tables = session.execute(text("SELECT name FROM sqlite_master")).scalars().all()
    assert "never" not in tables
    hasty.dispose()


def test_an_engine_cycle_with_nothing_due_waits_for_no_lock(sqlite_db: Database) -> None:
    """The heartbeat and silence steps look before they take the write lock: in an alert
    storm each wait for it lasted one of the intake writer's batches, twice a cycle."""
    hasty = Database(sqlite_db.url, statement_timeout_seconds=0.1)
    clock = ManualClock(datetime(2026, 11, 28, 6, 0, tzinfo=UTC))
    with sqlite_db.transaction() as holder:
        holder.execute(text("UPDATE organisations SET name = name"))  # the intake's batch
        assert heartbeats.run(hasty, clock, 100) == 0
        assert silence_ends.run(hasty, clock, 100) == 0
    hasty.dispose()


def test_an_engine_notes_its_cycles_once_a_second(sqlite_db: Database) -> None:
    clock = ManualClock(datetime(2026, 11, 28, 6, 0, tzinfo=UTC))
    engine = Engine(sqlite_db, clock, Channels(sqlite_db, clock, "secret"), instance="noting")
    engine.register()

    def noted() -> tuple[datetime | None, int]:
        with sqlite_db.reading() as session:
            me = session.get(EngineInstance, "noting")
            assert me is not None
            return me.last_cycle_at, me.cycles

    engine.cycle()
    first = clock.now()
    assert noted() == (first, 1)
    clock.advance(timedelta(milliseconds=500))
    engine.cycle()
    assert noted() == (first, 1)  # not yet a second: no write, no wait for the lock
    clock.advance(timedelta(milliseconds=500))
    engine.cycle()
    assert noted() == (clock.now(), 3)  # every cycle counted
