"""Bulk inserts: `copy_rows` (COPY on PostgreSQL, executemany on SQLite) stores exactly what
the ORM would, and fails as any other statement does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, StatementError

from fireline.store.bulk import copy_rows
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


def test_copied_rows_read_back_as_written(db: Database, world: World) -> None:
    berlin = timezone(timedelta(hours=1))
    at = datetime(2026, 11, 25, 16, 0, 0, 123456, tzinfo=berlin)
    data = {"text": AWKWARD, "nested": {"list": [1, 2.5, None, True]}, "none": None}
    rows = [event(world.org_id, AWKWARD, data, at), event(world.org_id, "", {}, at)]
    with db.transaction() as session:
        copy_rows(session, Event, rows)
    with db.transaction() as session:
        stored = session.scalars(
            select(Event).where(Event.kind == "test.copied").order_by(Event.id)
        ).all()
        assert [(e.summary, e.data) for e in stored] == [(AWKWARD, data), ("", {})]
        assert all(e.at == at and e.at.tzinfo is not None for e in stored)
        assert stored[0].at.astimezone(UTC).hour == 15


def test_a_naive_datetime_is_refused_and_nothing_is_stored(db: Database, world: World) -> None:
    naive = datetime(2026, 11, 25, 15, 0)
    # SQLAlchemy wraps the type's ValueError in a StatementError; COPY raises it as is.
    with pytest.raises((ValueError, StatementError), match="naive"), db.transaction() as session:
        copy_rows(session, Event, [event(world.org_id, "naive", {}, naive)])
    with db.transaction() as session:
        assert session.scalars(select(Event).where(Event.summary == "naive")).all() == []


def test_a_refused_row_fails_the_whole_copy_as_an_integrity_error(
    db: Database, world: World
) -> None:
    at = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    rows = [event(world.org_id, "fine", {}, at), event(world.org_id + 999, "no such org", {}, at)]
    with pytest.raises(IntegrityError), db.transaction() as session:
        copy_rows(session, Event, rows)
    with db.transaction() as session:
        assert session.scalars(select(Event).where(Event.kind == "test.copied")).all() == []


def test_rows_that_name_different_columns_are_refused(db: Database, world: World) -> None:
    at = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    rows = [event(world.org_id, "a", {}, at), {**event(world.org_id, "b", {}, at), "extra": 1}]
    with pytest.raises(ValueError, match="same columns"), db.transaction() as session:
        copy_rows(session, Event, rows)
