"""Insert many rows (learning their ids, in parameter order, where asked) at the least cost
each database allows."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import JSON, Insert, bindparam, insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from fireline.store.base import Base, UTCDateTime

# One short statement whatever the count: its text is parsed and planned once.
_NEXT_IDS = text(
    "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"
).bindparams(bindparam("table"), bindparam("count"))


def insert_with_ids(
    session: Session, model: type[Base], rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert `rows` (plain column values) and return their new ids in the rows' order.

    On PostgreSQL the ids are drawn from the table's sequence first, then the rows go in as
    one COPY (`copy_rows`): a multi-row INSERT ... RETURNING would have its whole text,
    thousands of placeholders long, re-parsed by the driver on every batch (about 50 µs a
    row). A row that breaks a unique index fails the COPY as an IntegrityError, as an INSERT
    would. SQLite returns the ids from one statement.
    """
    if not rows:
        return []
    connection = session.connection()
    (key,) = model.__mapper__.primary_key
    if connection.dialect.name == "postgresql":
        count = {"table": model.__tablename__, "count": len(rows)}
        ids = list(connection.execute(_NEXT_IDS, count).scalars())
        with_ids = [{**row, key.name: id_} for row, id_ in zip(rows, ids, strict=True)]
        copy_rows(session, model, with_ids)
        return ids
    statement = _insert_of(model).returning(key, sort_by_parameter_order=True)
    return list(connection.execute(statement, list(rows)).scalars())


@cache
def _insert_of(model: type[Base]) -> Insert:
    """Built once per table: SQLAlchemy would otherwise build it and its cache key per batch."""
    return insert(model)


def copy_rows(session: Session, model: type[Base], rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (plain column values, the same columns in each), learning nothing back.

    On PostgreSQL they go in as one COPY, in the caller's transaction: psycopg's executemany
    spends about 30 µs of client CPU a row, and PostgreSQL an executor run a row; COPY about
    half the client's CPU and two thirds of the server's. SQLite takes them as one
    executemany.
    """
    if not rows:
        return
    columns = tuple(rows[0])
    if any(len(row) != len(columns) for row in rows):
        # A column only some rows name would be dropped from the others without a word.
        raise ValueError(f"copy_rows: every row must name the same columns, as {columns}")
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(_insert_of(model), rows)
        return
    statement, converters = _copy_of(model, columns)
    driver = connection.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(
                    [
                        value if convert is None else convert(value)
                        for convert, value in zip(
                            converters, (row[c] for c in columns), strict=True
                        )
                    ]
                )
    except connection.dialect.loaded_dbapi.Error as error:
        # As SQLAlchemy reports a driver error (an outage: OperationalError), so that
        # callers see the same exceptions as from any other statement.
        raise DBAPIError.instance(
            statement, None, error, connection.dialect.loaded_dbapi.Error
        ) from error


Converter = Callable[[Any], Any] | None


@cache
def _copy_of(model: type[Base], columns: tuple[str, ...]) -> tuple[str, tuple[Converter, ...]]:
    table = model.__table__
    converters = tuple(_converter(table.c[name].type) for name in columns)
    names = ", ".join(f'"{name}"' for name in columns)
    return f'COPY "{model.__tablename__}" ({names}) FROM STDIN', converters


def _converter(column_type: Any) -> Converter:
    """What the column's SQLAlchemy type would do to a value on its way to PostgreSQL."""
    if isinstance(column_type, JSON):
        return json.dumps  # None is stored as JSON null, as the JSON type does
    if isinstance(column_type, UTCDateTime):
        return _aware
    return None


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("refusing to store a naive datetime; pass an aware one")
    return value
