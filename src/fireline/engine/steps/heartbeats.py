"""Engine step: heartbeats silent past their due time raise their alert, once each; the
alert, and the mark that it was raised, commit together."""

from __future__ import annotations

from fireline.clock.now import Clock
from fireline.intake.service import raise_late_heartbeats
from fireline.store.db import Database


def run(db: Database, clock: Clock, batch: int) -> int:
    with db.transaction() as session:
        return raise_late_heartbeats(session, clock, batch)
