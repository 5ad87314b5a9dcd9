"""A step that runs only when something is due, looked for first without SQLite's write
lock: nearly every cycle finds nothing, and in an alert storm each wait for the lock lasts
one of the intake writer's batches."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from fireline.clock.now import Clock
from fireline.store.db import Database


def run_if_due(
    db: Database,
    clock: Clock,
    batch: int,
    due: Callable[[Session, datetime], bool],
    work: Callable[[Session, Clock, int], int],
) -> int:
    """`work` in a transaction of its own if `due` finds anything; what it returns, else 0."""
    with db.reading() as session:
        if not due(session, clock.now()):
            return 0
    with db.transaction() as session:
        return work(session, clock, batch)
