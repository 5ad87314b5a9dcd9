"""Engine, sessions and the unit of work: one transaction per use case."""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(busy_timeout_ms: int) -> Callable[[Any, Any], None]:
    def set_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, say when a transaction begins (`_begin_immediate`).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return set_pragmas


def _begin_immediate(busy_timeout_ms: int) -> Callable[[Any], None]:
    def begin(connection: Any) -> None:
        # Take the write lock up front: a deferred transaction that later writes can fail
        # with "database is locked" at once instead of waiting out busy_timeout. A reading
        # transaction takes no lock: in WAL mode it reads beside the writer rather than
        # queueing behind it (in an alert storm the intake's writer holds the lock nearly
        # all the time).
        # A reading transaction refuses writes (`query_only`), so that one which wrote
        # fails in every test rather than wait for the lock it did not take. The setting
        # outlives the transaction: the connection's record says when it is on.
        raw = connection.connection.driver_connection
        record = connection.connection.info
        if connection.get_execution_options().get(_READING, False):
            if not record.get(_QUERY_ONLY):
                raw.execute("PRAGMA query_only=ON")
                record[_QUERY_ONLY] = True
            connection.exec_driver_sql("BEGIN")
        else:
            if record.pop(_QUERY_ONLY, False):
                raw.execute("PRAGMA query_only=OFF")
            _take_write_lock(connection, busy_timeout_ms)

    return begin


_READING = "fireline_reading"
_QUERY_ONLY = "fireline_query_only"
# How long SQLite waits for its write lock, unless a statement timeout says otherwise.
BUSY_TIMEOUT_MS = 5000


def lock_pauses(first: float = 0.0002, longest: float = 0.002) -> Iterator[float]:
    """The pauses between tries for SQLite's write lock: doubling from `first`, then
    `longest` for as long as it takes."""
    pause = first
    while True:
        yield pause
        pause = min(pause * 2, longest)


def _take_write_lock(connection: Any, busy_timeout_ms: int) -> None:
    """BEGIN IMMEDIATE, asking again every 2 ms at most until `busy_timeout_ms` (the
    connection's busy timeout) has passed.

    SQLite's own busy handler sleeps 25, 50, then 100 ms between tries: under an alert
    storm the intake's writer takes the lock again within a millisecond of each commit, so
    the engine, sleeping that long, mostly found it taken and a new ticket's first page
    waited a second or more (p99 1.0-2.1 s at 1,000 alerts/s; 0.11-0.14 s asking this way).
    """
    raw = connection.connection.driver_connection
    raw.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + busy_timeout_ms / 1000
        for pause in lock_pauses():
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                    break
            if time.monotonic() + pause > deadline:
                break
            time.sleep(pause)
        # Once more through SQLAlchemy, which raises what it would have ("database is
        # locked" as an OperationalError, an outage to intake).
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        raw.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")


def make_engine(
    url: str,
    idle_in_transaction_seconds: float | None = None,
    pre_ping: bool = True,
    statement_timeout_seconds: float | None = None,
) -> Engine:
    """An engine for `url`. On PostgreSQL, `idle_in_transaction_seconds` ends the session of a
    process frozen inside a transaction, so its row locks cannot block other instances;
    `pre_ping` tests each connection as it leaves the pool (a round trip), for callers that
    could not simply run again a transaction that met a dead connection;
    `statement_timeout_seconds` cancels a statement that has run (or waited for a lock) that
    long, for callers that must answer within it (intake); on SQLite, it is how long a
    transaction waits for the write lock (else BUSY_TIMEOUT_MS)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        busy_timeout_ms = (
            math.ceil(statement_timeout_seconds * 1000)
            if statement_timeout_seconds
            else BUSY_TIMEOUT_MS
        )
        event.listen(engine, "connect", _sqlite_pragmas(busy_timeout_ms))
        event.listen(engine, "begin", _begin_immediate(busy_timeout_ms))
        return engine
    # An unreachable server fails fast, so intake can answer 503 while senders still wait;
    # a server that vanished without closing (its host lost) is noticed within a minute or
    # so, rather than when the kernel gives up on the connection (about a quarter of an hour).
    options: dict[str, Any] = {
        "connect_timeout": 5,
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }
    settings = []
    if idle_in_transaction_seconds:
        milliseconds = int(idle_in_transaction_seconds * 1000)
        settings.append(f"-c idle_in_transaction_session_timeout={milliseconds}")
    if statement_timeout_seconds:
        settings.append(f"-c statement_timeout={math.ceil(statement_timeout_seconds * 1000)}")
    if settings:
        options["options"] = " ".join(settings)
    return create_engine(
        url, pool_pre_ping=pre_ping, pool_size=10, max_overflow=10, connect_args=options
    )


def is_outage(error: BaseException) -> bool:
    """Whether `error` says the database could not be reached (rather than refused what
    was asked of it): a reason to answer 503 and have the sender retry."""
    return isinstance(error, DBAPIError) and (
        error.connection_invalidated or isinstance(error, OperationalError | InterfaceError)
    )


def in_memory(url: str) -> bool:
    """Whether `url` names a database that lives in one process's memory (SQLite's)."""
    return url.startswith("sqlite") and (url.partition("://")[2] in ("", "/") or ":memory:" in url)


class Database:
    """The one entry point to storage; services open a transaction per use case."""

    def __init__(
        self,
        url: str,
        idle_in_transaction_seconds: float | None = None,
        pre_ping: bool = True,
        statement_timeout_seconds: float | None = None,
    ) -> None:
        self.url = url
        self.engine = make_engine(
            url, idle_in_transaction_seconds, pre_ping, statement_timeout_seconds
        )
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # PostgreSQL's reading transactions are READ ONLY (no round trip more: psycopg says
        # so in its BEGIN), and refuse writes as SQLite's do.
        readonly = {"postgresql_readonly": True} if self.dialect == "postgresql" else {}
        readers = self.engine.execution_options(**{_READING: True}, **readonly)
        self._readers = sessionmaker(readers, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Everything inside commits together or not at all."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A transaction that only reads, and refuses to write (on both databases). On
        SQLite it takes no lock up front, so it reads beside a writer (the intake's, in an
        alert storm) instead of queueing behind it; write through `transaction()`."""
        with self._readers.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
