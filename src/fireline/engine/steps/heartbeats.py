"""Engine step: heartbeats silent past their due time raise their alert, once each; the
alert, and the mark that it was raised, commit together."""

from __future__ import annotations

from fireline.clock.now import Clock
from fireline.intake.service import late_heartbeats_due, raise_late_heartbeats
from fireline.store.db import Database


def run(db: Database, clock: Clock, batch: int) -> int:
    # Looked for first without SQLite's write lock: nearly every cycle finds nothing, and
    # in an alert storm each wait for the lock lasts one of the intake writer's batches.
    with db.reading() as session:
        if not late_heartbeats_due(session, clock.now()):
            return 0
    with db.transaction() as session:
        return raise_late_heartbeats(session, clock, batch)
