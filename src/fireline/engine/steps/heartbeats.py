"""Engine step: heartbeats silent past their due time raise their alert, once each; the
alert, and the mark that it was raised, commit together."""

from __future__ import annotations

from fireline.clock.now import Clock
from fireline.engine.steps.looked_for import run_if_due
from fireline.intake.service import late_heartbeats_due, raise_late_heartbeats
from fireline.store.db import Database


def run(db: Database, clock: Clock, batch: int) -> int:
    return run_if_due(db, clock, batch, late_heartbeats_due, raise_late_heartbeats)
