"""Insert many rows and learn their ids, in parameter order, at the least cost each database
allows."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Insert, bindparam, insert, text
from sqlalchemy.orm import Session

from fireline.store.base import Base

# One short statement whatever the count: its text is parsed and planned once.
_NEXT_IDS = text(
    "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"
).bindparams(bindparam("table"), bindparam("count"))


def insert_with_ids(
    session: Session, model: type[Base], rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert `rows` (plain column values) and return their new ids in the rows' order.

    On PostgreSQL the ids are drawn from the table's sequence first, then the rows go in as
    one prepared single-row statement executed per row in a pipeline: a multi-row INSERT ...
    RETURNING would have its whole text, thousands of placeholders long, re-parsed by the
    driver on every batch (about 50 µs a row). SQLite returns them from one statement.
    """
    if not rows:
        return []
    connection = session.connection()
    (key,) = model.__mapper__.primary_key
    if connection.dialect.name == "postgresql":
        count = {"table": model.__tablename__, "count": len(rows)}
        ids = list(connection.execute(_NEXT_IDS, count).scalars())
        with_ids = [{**row, key.name: id_} for row, id_ in zip(rows, ids, strict=True)]
        connection.execute(_insert_of(model), with_ids)
        return ids
    statement = insert(model).returning(key, sort_by_parameter_order=True)
    return list(connection.execute(statement, list(rows)).scalars())


@cache
def _insert_of(model: type[Base]) -> Insert:
    """Built once per table: SQLAlchemy would otherwise build it and its cache key per batch."""
    return insert(model)
