"""Engine step: silences that have ended release the alerts they kept silent that still
fire; each silence's alerts, and the mark that it was released, commit together."""

from __future__ import annotations

from fireline.clock.now import Clock
from fireline.intake.silence_ends import ended_silences_due, release_ended_silences
from fireline.store.db import Database


def run(db: Database, clock: Clock, batch: int) -> int:
    # Looked for first without SQLite's write lock: nearly every cycle finds nothing, and
    # in an alert storm each wait for the lock lasts one of the intake writer's batches.
    with db.reading() as session:
        if not ended_silences_due(session, clock.now()):
            return 0
    with db.transaction() as session:
        return release_ended_silences(session, clock, batch)
