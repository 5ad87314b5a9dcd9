"""The one background loop. Each cycle runs every step once, each claiming its due rows under
a fenced lease and committing unit by unit; a restart loses nothing, since all state is in the
database. Any number of engines may share one PostgreSQL database; SQLite runs one. An idle
engine waits for a wake-up (a commit that added work, in this process or, on PostgreSQL, in
any) or for its interval, the sweep that finds what no wake-up announced."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from fireline.clock.now import Clock
from fireline.engine.listen import WakeListener
from fireline.engine.models import EngineInstance
from fireline.engine.steps import escalations, heartbeats, outbox, silence_ends
from fireline.notify.channels.registry import Channels
from fireline.store.db import Database

log = logging.getLogger("fireline.engine")
# How often an engine notes its cycles in its instance's row (`last_cycle_at`, which the
# health check reads and SQLite's one-engine rule compares with `alive_for`).
NOTE_EVERY = timedelta(seconds=1)


class EngineRefused(RuntimeError):
    """This engine may not start (a second engine on SQLite)."""


@dataclass(frozen=True, slots=True)
class CycleReport:
    at: datetime
    timers: int
    deliveries: int  # pages dealt with: sent, failed, or held back in a storm
    heartbeats: int = 0
    silences: int = 0  # ended silences whose still-firing alerts were released


class Engine:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        channels: Channels,
        *,
        instance: str | None = None,
        lease: timedelta = timedelta(seconds=60),
        batch: int = 200,
        alive_for: timedelta = timedelta(seconds=30),
    ) -> None:
        self.db, self.clock, self.channels = db, clock, channels
        self.instance = instance or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.lease, self.batch, self.alive_for = lease, batch, alive_for
        self._woken = threading.Event()
        self._noted_at: datetime | None = None  # when the instance's row last noted a cycle
        self._unnoted = 0

    def register(self) -> None:
        """Announce this instance; on SQLite, refuse when another engine is alive."""
        now = self.clock.now()
        with self.db.transaction() as session:
            if self.db.dialect == "sqlite":
                other = session.scalar(
                    select(EngineInstance).where(
                        EngineInstance.id != self.instance,
                        func.coalesce(EngineInstance.last_cycle_at, EngineInstance.started_at)
                        > now - self.alive_for,
                    )
                )
                if other is not None:
                    raise EngineRefused(
                        f"SQLite runs one engine, and {other.id} is running (last seen "
                        f"{(other.last_cycle_at or other.started_at).isoformat()}). Stop it, "
                        "or use PostgreSQL to run several."
                    )
                session.execute(delete(EngineInstance).where(EngineInstance.id != self.instance))
            if session.get(EngineInstance, self.instance) is None:
                session.add(
                    EngineInstance(id=self.instance, started_at=now, last_cycle_at=None, cycles=0)
                )

    def cycle(self) -> CycleReport:
        """Run each step once: silent heartbeats, ended silences, due escalation timers, then
        the outbox."""
        # A failing step must not stop the paging behind it: each is tried again next cycle.
        late = self._step("heartbeats", heartbeats.run)
        released = self._step("silence ends", silence_ends.run)
        timers = escalations.run(self.db, self.clock, self.instance, self.lease, self.batch)
        deliveries = outbox.run(
            self.db, self.clock, self.instance, self.lease, self.batch, self.channels
        )
        now = self.clock.now()
        self._unnoted += 1
        # Noted once a second at most: on SQLite each note waits for the write lock, in an
        # alert storm as long as one of the intake writer's batches.
        if self._noted_at is None or not now - NOTE_EVERY < self._noted_at <= now:
            with self.db.transaction() as session:
                me = session.get(EngineInstance, self.instance)
                if me is None:
                    me = EngineInstance(id=self.instance, started_at=now, cycles=0)
                    session.add(me)
                me.last_cycle_at, me.cycles = now, me.cycles + self._unnoted
            self._noted_at, self._unnoted = now, 0
        return CycleReport(now, timers, deliveries, late, released)

    def _step(self, name: str, run: Callable[[Database, Clock, int], int]) -> int:
        try:
            return run(self.db, self.clock, self.batch)
        except Exception:
            log.exception("engine step %s failed; tried again next cycle", name)
            return 0

    def wake(self) -> None:
        """Cycle now rather than at the next interval: work was just committed (a new
        ticket's first page). In-process callers (intake) call it after their commit; on
        PostgreSQL, commits in any process reach it through LISTEN/NOTIFY (`engine.listen`)."""
        self._woken.set()

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Cycle until `stop` is set; a failing cycle is logged and retried next time."""
        self.register()

        def wake_on_stop() -> None:
            stop.wait()
            self._woken.set()

        stop_waking = threading.Thread(target=wake_on_stop, daemon=True, name="fireline-stop")
        stop_waking.start()
        # SQLite has one engine, woken in-process; PostgreSQL's engines hear every process.
        listener = WakeListener(self.db.url, self.wake) if self.db.dialect == "postgresql" else None
        if listener is not None:
            listener.start()
        try:
            while not stop.is_set():
                try:
                    report = self.cycle()
                    busy = any(
                        (report.timers, report.deliveries, report.heartbeats, report.silences)
                    )
                except Exception:
                    log.exception("engine cycle failed; retrying")
                    busy = False
                if not busy:
                    self._woken.wait(interval)
                    self._woken.clear()
        finally:
            if listener is not None:
                listener.stop()
            with self.db.transaction() as session:
                session.execute(delete(EngineInstance).where(EngineInstance.id == self.instance))


def last_cycle(db: Database) -> datetime | None:
    """When any engine last completed a full cycle."""
    with db.reading() as session:
        return session.scalar(select(func.max(EngineInstance.last_cycle_at)))
