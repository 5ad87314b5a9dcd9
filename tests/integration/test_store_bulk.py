"""Bulk inserts: `copy_rows` (COPY on PostgreSQL, a single row as an INSERT; executemany on
SQLite) stores exactly what the ORM would, and fails as any other statement does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from fireline.clock.now import ManualClock
from fireline.orgs.service import create_organisation
from fireline.store.bulk import copy_rows, insert_with_ids
from fireline.store.db import Database
from fireline.timeline.models import Event

if TYPE_CHECKING:
    from conftest import World

AWKWARD = "tab\there, newline\nthere, backslash \\N and \\\\, quote ' \" , émoji 🔥, \u2028"


def event(org_id: int, summary: str, data: Any, at: datetime) -> dict[str, Any]:
    return {
        "org_id": org_id,
        "ticket_id": None,
        "incident_id": None,
        "kind": "test.copied",
        "summary": summary,
        "data": data,
        "actor_id": None,
        "via": "api",
        "at": at,
    }


@pytest.mark.parametrize("one_at_a_time", [False, True], ids=["together", "one row each"])
def test_copied_rows_read_back_as_written(db: Database, world: World, one_at_a_time: bool) -> None:
    berlin = timezone(timedelta(hours=1))
    at = datetime(2026, 11, 25, 16, 0, 0, 123456, tzinfo=berlin)
    data = {"text": AWKWARD, "nested": {"list": [1, 2.5, None, True]}, "none": None}
    rows = [event(world.org_id, AWKWARD, data, at), event(world.org_id, "", {}, at)]
    with db.transaction() as session:
        for part in [[row] for row in rows] if one_at_a_time else [rows]:
            copy_rows(session, Event, part)
    with db.transaction() as session:
        stored = session.scalars(
            select(Event).where(Event.kind == "test.copied").order_by(Event.id)
        ).all()
        assert [(e.summary, e.data) for e in stored] == [(AWKWARD, data), ("", {})]
        assert all(e.at == at and e.at.tzinfo is not None for e in stored)
        assert stored[0].at.astimezone(UTC).hour == 15


def test_a_single_row_inserted_with_its_id_reads_back(db: Database, world: World) -> None:
    at = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    with db.transaction() as session:
        (first,) = insert_with_ids(session, Event, [event(world.org_id, "one", {"n": 1}, at)])
        second, third = insert_with_ids(
            session, Event, [event(world.org_id, f"e{n}", {}, at) for n in (2, 3)]
        )
    with db.transaction() as session:
        found = dict(session.execute(select(Event.id, Event.summary)).all())
    assert (found[first], found[second], found[third]) == ("one", "e2", "e3")
    assert first < second < third


def test_a_naive_datetime_is_refused_and_nothing_is_stored(db: Database, world: World) -> None:
    naive = datetime(2026, 11, 25, 15, 0)
    # SQLAlchemy wraps the type's ValueError in a StatementError; COPY raises it as is.
    with pytest.raises((ValueError, StatementError), match="naive"), db.transaction() as session:
        copy_rows(session, Event, [event(world.org_id, "naive", {}, naive)])
    with db.transaction() as session:
        assert session.scalars(select(Event).where(Event.summary == "naive")).all() == []


@pytest.mark.parametrize("alone", [False, True], ids=["among others", "alone"])
def test_a_refused_row_fails_the_whole_copy_as_an_integrity_error(
    db: Database, world: World, alone: bool
) -> None:
    at = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    # An incident's key is checked on both databases (a ticket's only on SQLite: loose_keys).
    missing = {**event(world.org_id, "no such incident", {}, at), "incident_id": 10**6}
    rows = [missing] if alone else [event(world.org_id, "fine", {}, at), missing]
    with pytest.raises(IntegrityError), db.transaction() as session:
        copy_rows(session, Event, rows)
    with db.transaction() as session:
        assert session.scalars(select(Event).where(Event.kind == "test.copied")).all() == []


def test_rows_that_name_different_columns_are_refused(db: Database, world: World) -> None:
    at = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    rows = [event(world.org_id, "a", {}, at), {**event(world.org_id, "b", {}, at), "extra": 1}]
    with pytest.raises(ValueError, match="same columns"), db.transaction() as session:
        copy_rows(session, Event, rows)


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 11, 25, 16, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1))),
        datetime(2026, 3, 29, 1, 0, 0, 0, tzinfo=UTC),  # no microseconds: still written out
    ],
)
def test_sqlite_rows_are_stored_as_sqlalchemy_stores_them(
    sqlite_db: Database, clock: ManualClock, at: datetime
) -> None:
    # Byte for byte: a query comparing stored text (`at >= '…'`) must see both alike.
    with sqlite_db.transaction() as session:
        org_id = create_organisation(session, clock, "acme", "Acme").id
        data = {"text": AWKWARD, "n": [1, 2.5, None, True]}
        session.execute(insert(Event), [event(org_id, "orm", data, at)])
        copy_rows(session, Event, [event(org_id, "copied", data, at)])
        stored = session.execute(
            text("SELECT at, data, typeof(at) FROM timeline_events ORDER BY id")
        ).all()
    assert len(stored) == 2 and stored[0] == stored[1]


def test_sqlite_insert_with_ids_returns_each_rows_id(
    sqlite_db: Database, clock: ManualClock
) -> None:
    at = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    with sqlite_db.transaction() as session:
        org_id = create_organisation(session, clock, "acme", "Acme").id
        ids = insert_with_ids(session, Event, [event(org_id, f"e{n}", {}, at) for n in range(5)])
        found = dict(
            session.execute(
                select(Event.id, Event.summary).where(Event.kind == "test.copied")
            ).all()
        )
    assert [found[i] for i in ids] == [f"e{n}" for n in range(5)]
