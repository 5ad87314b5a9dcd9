"""Engine step: silences that have ended release the alerts they kept silent that still
fire; each silence's alerts, and the mark that it was released, commit together."""

from __future__ import annotations

from fireline.clock.now import Clock
from fireline.intake.silence_ends import release_ended_silences
from fireline.store.db import Database


def run(db: Database, clock: Clock, batch: int) -> int:
    with db.transaction() as session:
        return release_ended_silences(session, clock, batch)
