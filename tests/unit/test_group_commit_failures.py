"""Which failures of a group commit are run again, and which are outages answered 503 to
every request of the batch at once (the errors as the driver raises them, wrapped as
SQLAlchemy wraps them)."""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy.exc import IntegrityError, OperationalError

from fireline.intake.group_commit import _rolled_back
from fireline.store.db import is_outage


def wrapped(error: Exception) -> OperationalError:
    return OperationalError("INSERT …", {}, error)


def test_a_deadlock_or_serialization_failure_is_run_again_not_an_outage() -> None:
    for error in (psycopg.errors.DeadlockDetected(), psycopg.errors.SerializationFailure()):
        assert _rolled_back(wrapped(error))


def test_a_timeout_or_a_locked_sqlite_is_an_outage_not_a_rollback() -> None:
    for error in (psycopg.errors.QueryCanceled(), sqlite3.OperationalError("database is locked")):
        assert is_outage(wrapped(error)) and not _rolled_back(wrapped(error))
    assert not _rolled_back(IntegrityError("INSERT …", {}, psycopg.errors.UniqueViolation()))
