"""Waking engines in other processes (PostgreSQL): a commit that adds timers or outbox rows
sends `NOTIFY fireline_engine` (a trigger, migration 0005), and each engine LISTENs on a
connection of its own and cycles when told. PostgreSQL delivers a notification only when its
transaction commits, so an engine never looks for work it cannot see yet. The periodic sweep
stays as the backup: a lost connection is re-made, and the engine cycles once it is back, in
case work was committed meanwhile.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import make_url

CHANNEL = "fireline_engine"
APPLICATION_NAME = "fireline-engine-wake"
# How often the listening thread looks up from waiting to see whether it should stop.
POLL_SECONDS = 1.0
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)

log = logging.getLogger("fireline.engine")


def libpq_url(database_url: str) -> str:
    """`postgresql+psycopg://…` (SQLAlchemy's form) as psycopg itself takes it."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class WakeListener:
    """A thread that calls `wake` whenever a commit in any process adds engine work."""

    def __init__(self, database_url: str, wake: Callable[[], None]) -> None:
        self.url = libpq_url(database_url)
        self.wake = wake
        self.connections = 0  # how many times it has (re)connected: for tests and logs
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fireline-engine-wake", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=POLL_SECONDS * 5)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._listen()
                failures = 0
            except psycopg.Error as error:
                delay = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                failures += 1
                log.warning("engine wake-up listener lost (%s); again in %.1f s", error, delay)
                self._stop.wait(delay)

    def _listen(self) -> None:
        with psycopg.connect(
            self.url,
            autocommit=True,
            application_name=APPLICATION_NAME,
            connect_timeout=5,
            # A peer that vanished without closing is noticed within a minute or so.
            keepalives=1,
            keepalives_idle=30,
            keepalives_interval=10,
            keepalives_count=3,
        ) as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            self.connections += 1
            # Work may have been committed while no connection was listening.
            self.wake()
            while not self._stop.is_set():
                for _ in connection.notifies(timeout=POLL_SECONDS):
                    self.wake()
