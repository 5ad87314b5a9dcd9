"""Keep PostgreSQL's planner statistics up to date while a storm grows the tables.

Autovacuum analyzes a table once a tenth of it has changed, and checks at most once a minute
(`autovacuum_naptime`). A storm of new alerts grows the open tickets from a handful to
thousands within seconds. Until the statistics catch up, the planner takes the table for
tiny and finds a batch's fingerprints by reading every open ticket: 46 ms a batch at 10,000
open tickets, against 1 ms once analyzed. So the intake counts the rows it writes here, and
each doubling of that count analyzes the tables at once, in the background. That is one
ANALYZE per doubling, a few in all, after which autovacuum keeps up again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError

from fireline.store.db import Database

log = logging.getLogger("fireline.store")


class GrowthWatch:
    def __init__(self, db: Database, tables: Sequence[str], first: int = 1000) -> None:
        self.db, self.tables = db, tuple(tables)
        self._rows, self._next = 0, first
        self._lock = threading.Lock()
        self._running: threading.Thread | None = None
        self.analyzed = 0  # how many ANALYZE runs finished

    def grew(self, rows: int) -> None:
        """`rows` more rows were written to the watched tables."""
        if self.db.dialect != "postgresql":
            return  # SQLite's planner prefers the index with the most equalities anyway
        with self._lock:
            self._rows += rows
            if self._rows < self._next or self._running is not None:
                return
            self._next = 2 * self._rows
            self._running = threading.Thread(
                target=self._analyze, name="fireline-analyze", daemon=True
            )
        self._running.start()

    def wait(self, timeout: float | None = None) -> None:
        """Let an ANALYZE that is running finish (for tests and shutdown)."""
        running = self._running
        if running is not None:
            running.join(timeout)

    def _analyze(self) -> None:
        try:
            with self.db.engine.connect() as connection:
                autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
                autocommit.exec_driver_sql(f"ANALYZE {', '.join(self.tables)}")
            self.analyzed += 1
        except SQLAlchemyError as error:  # the next doubling tries again
            log.warning("could not analyze %s: %s", ", ".join(self.tables), error)
        finally:
            with self._lock:
                self._running = None
