"""Insert many rows (learning their ids, in parameter order, where asked) at the least cost
each database allows."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import JSON, Boolean, Connection, Integer, String, Text, bindparam, text
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
    would. A single row is an INSERT ... RETURNING (one round trip, not three). On SQLite
    each row's id is the row id it was given.
    """
    if not rows:
        return []
    connection = session.connection()
    (key,) = model.__mapper__.primary_key
    if connection.dialect.name == "postgresql" and len(rows) == 1:
        (row,) = rows
        return [_insert_one(connection, model, row, returning=key.name)]
    if connection.dialect.name == "postgresql":
        count = {"table": model.__tablename__, "count": len(rows)}
        ids = list(connection.execute(_NEXT_IDS, count).scalars())
        with_ids = [{**row, key.name: id_} for row, id_ in zip(rows, ids, strict=True)]
        copy_rows(session, model, with_ids)
        return ids
    return _sqlite_insert(session, model, rows, with_ids=True)


def copy_rows(session: Session, model: type[Base], rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (plain column values, the same columns in each), learning nothing back.

    On PostgreSQL they go in as one COPY, in the caller's transaction: psycopg's executemany
    spends about 30 µs of client CPU a row, and PostgreSQL an executor run a row; COPY about
    half the client's CPU and two thirds of the server's. A single row goes in as an INSERT
    (`_insert_one`: one round trip, where a COPY takes two). SQLite takes them as one
    executemany (`_sqlite_insert`).
    """
    if not rows:
        return
    columns = tuple(rows[0])
    if any(len(row) != len(columns) for row in rows):
        # A column only some rows name would be dropped from the others without a word.
        raise ValueError(f"copy_rows: every row must name the same columns, as {columns}")
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        _sqlite_insert(session, model, rows)
        return
    if len(rows) == 1:
        _insert_one(connection, model, rows[0])
        return
    statement, converters = _copy_of(model, columns)
    driver = connection.connection.driver_connection
    assert driver is not None
    with (
        _as_sqlalchemy_errors(connection, statement),
        driver.cursor() as cursor,
        cursor.copy(statement) as copy,
    ):
        for row in rows:
            copy.write_row(
                [
                    value if convert is None else convert(value)
                    for convert, value in zip(converters, (row[c] for c in columns), strict=True)
                ]
            )


def _insert_one(
    connection: Connection, model: type[Base], row: dict[str, Any], returning: str | None = None
) -> int:
    """PostgreSQL: one row as an INSERT (its statement prepared once by the driver): a
    round trip, where a COPY takes two, and most batches' comments are a single row."""
    statement, converters = _insert_of(model, tuple(row), returning)
    driver = connection.connection.driver_connection
    assert driver is not None
    values = [
        value if convert is None else convert(value)
        for convert, value in zip(converters, row.values(), strict=True)
    ]
    with _as_sqlalchemy_errors(connection, statement), driver.cursor() as cursor:
        cursor.execute(statement, values)
        if returning is None:
            return 0
        found = cursor.fetchone()
        assert found is not None  # an INSERT ... RETURNING returns its row
        return int(found[0])


@cache
def _insert_of(
    model: type[Base], columns: tuple[str, ...], returning: str | None
) -> tuple[str, tuple[Converter, ...]]:
    names, converters = _postgres_columns(model, columns)
    marks = ", ".join("%s" for _ in columns)
    back = f' RETURNING "{returning}"' if returning else ""
    return f'INSERT INTO "{model.__tablename__}" ({names}) VALUES ({marks}){back}', converters


@contextmanager
def _as_sqlalchemy_errors(connection: Connection, statement: str) -> Iterator[None]:
    """A driver error raised as SQLAlchemy raises it (an outage as OperationalError, a broken
    unique index as IntegrityError), so callers see what any other statement raises."""
    driver_error = connection.dialect.loaded_dbapi.Error
    try:
        yield
    except driver_error as error:
        raise DBAPIError.instance(statement, None, error, driver_error) from error


def _sqlite_insert(
    session: Session, model: type[Base], rows: Sequence[dict[str, Any]], with_ids: bool = False
) -> list[int]:
    """SQLite: the rows straight to the driver, their values converted as SQLAlchemy's types
    would (`_sqlite_converter`), one execute a row when the ids are wanted (the row id of
    each, exact whatever the table), else one executemany. SQLAlchemy's own per-parameter
    processing cost more than SQLite's work: a third of the intake writer's CPU."""
    columns = tuple(rows[0])
    statement, converters = _sqlite_insert_of(model, columns)
    values = [
        tuple(
            value if convert is None else convert(value)
            for convert, value in zip(converters, (row[c] for c in columns), strict=True)
        )
        for row in rows
    ]
    connection = session.connection()
    driver = connection.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    try:
        with _as_sqlalchemy_errors(connection, statement):
            if not with_ids:
                cursor.executemany(statement, values)
                return []
            ids = []
            for row in values:
                cursor.execute(statement, row)
                assert cursor.lastrowid is not None
                ids.append(cursor.lastrowid)
            return ids
    finally:
        cursor.close()


@cache
def _sqlite_insert_of(
    model: type[Base], columns: tuple[str, ...]
) -> tuple[str, tuple[Converter, ...]]:
    table = model.__table__
    converters = tuple(_sqlite_converter(table.c[name].type) for name in columns)
    names = ", ".join(f'"{name}"' for name in columns)
    marks = ", ".join("?" for _ in columns)
    return f'INSERT INTO "{model.__tablename__}" ({names}) VALUES ({marks})', converters


def _sqlite_converter(column_type: Any) -> Converter:
    """What the column's SQLAlchemy type would store on SQLite; a type not known here is
    refused, rather than stored differently from how SQLAlchemy would store it."""
    if isinstance(column_type, JSON):
        return json.dumps
    if isinstance(column_type, UTCDateTime):
        return _utc_text
    if isinstance(column_type, Integer | String | Text | Boolean):
        return None  # the driver stores these as SQLAlchemy would (a bool as 0 or 1)
    raise TypeError(f"no SQLite conversion for a {column_type!r} column")


# A batch's rows share a few instants (its `now`, due-bys): each is written out once.
@lru_cache(maxsize=1024)
def _utc_text(value: datetime | None) -> str | None:
    """As UTCDateTime and SQLite's DATETIME store an instant: UTC, microseconds always."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("refusing to store a naive datetime; pass an aware one")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


Converter = Callable[[Any], Any] | None


@cache
def _copy_of(model: type[Base], columns: tuple[str, ...]) -> tuple[str, tuple[Converter, ...]]:
    names, converters = _postgres_columns(model, columns)
    return f'COPY "{model.__tablename__}" ({names}) FROM STDIN', converters


def _postgres_columns(
    model: type[Base], columns: tuple[str, ...]
) -> tuple[str, tuple[Converter, ...]]:
    """The columns' quoted names, as a statement lists them, and each one's converter."""
    table = model.__table__
    converters = tuple(_converter(table.c[name].type) for name in columns)
    return ", ".join(f'"{name}"' for name in columns), converters


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
