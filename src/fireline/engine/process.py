"""The paging engine of `fireline serve` in a process of its own.

In the server's process the engine's thread and the event loop take turns on one
interpreter lock: in a storm of paging alerts the engine, firing timers and sending pages,
got the lock a fraction of the time, and the first pages fell seconds behind while a core
sat partly idle. The child runs the engine as `fireline worker` does, with the server's
settings. The server wakes it after each intake commit by writing a byte to its stdin (on
PostgreSQL LISTEN/NOTIFY would do; SQLite has nothing like it), starts a new one a second
after one dies, and stops it by closing its stdin.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import subprocess
import sys
import threading

from fireline.clock.now import SystemClock
from fireline.engine.configured import paging_engine
from fireline.settings import Settings
from fireline.store.db import Database

log = logging.getLogger("fireline.engine")

SETTINGS = "FIRELINE_ENGINE_PROCESS_SETTINGS"
INSTANCE = "FIRELINE_ENGINE_PROCESS_INSTANCE"
RESTART_PAUSE_SECONDS = 1.0
STOP_SECONDS = 30.0


class EngineProcess:
    """A child process running the engine as `instance`, started by `start`, woken by
    `wake`, stopped by `close`; replaced when it dies."""

    def __init__(self, settings: Settings, instance: str) -> None:
        self.settings, self.instance = settings, instance
        self._child: subprocess.Popen[bytes] | None = None
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._watch: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        """The current child's process id (None before `start`)."""
        return self._child.pid if self._child is not None else None

    def start(self) -> None:
        self._child = self._spawn()
        self._watch = threading.Thread(target=self._supervise, name="fireline-engine-watch")
        self._watch.daemon = True
        self._watch.start()

    def wake(self) -> None:
        """Have the engine cycle now: work was just committed. Never blocks: with its pipe
        full, a wake is waiting to be read already; a child that has died is being
        replaced, and the new one cycles as it starts."""
        child = self._child
        if child is None or child.stdin is None:
            return
        with contextlib.suppress(BlockingIOError, BrokenPipeError, ValueError, OSError):
            os.write(child.stdin.fileno(), b"w")

    def close(self) -> None:
        """Stop the child (it finishes the cycle it is in) and wait for it."""
        with self._lock:
            self._closing.set()
            child = self._child
        if child is None:
            return
        if child.stdin is not None:
            with contextlib.suppress(OSError):
                child.stdin.close()
        try:
            child.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            log.error("the engine process did not stop within %.0f s; killing it", STOP_SECONDS)
            child.kill()
            child.wait()
        if self._watch is not None:
            self._watch.join(timeout=RESTART_PAUSE_SECONDS + 1)

    def _spawn(self) -> subprocess.Popen[bytes]:
        environment = {
            **os.environ,
            SETTINGS: self.settings.model_dump_json(),
            INSTANCE: self.instance,
        }
        child = subprocess.Popen(
            [sys.executable, "-m", "fireline.engine.process"],
            stdin=subprocess.PIPE,
            env=environment,
        )
        assert child.stdin is not None
        os.set_blocking(child.stdin.fileno(), False)
        return child

    def _supervise(self) -> None:
        while True:
            child = self._child
            assert child is not None
            code = child.wait()
            if child.stdin is not None:
                with contextlib.suppress(OSError):  # its pipe is broken: nothing to flush
                    child.stdin.close()
            # Closing ends the wait at once; otherwise a child that keeps failing as it
            # starts (its database unreachable) is tried again once a second, not in a loop.
            if self._closing.wait(RESTART_PAUSE_SECONDS):
                return
            log.error("the engine process exited (%s); starting another", code)
            with self._lock:
                if self._closing.is_set():
                    return
                self._child = self._spawn()


def _run() -> None:
    """The child: the engine, cycling when woken through stdin or at its interval, until
    stdin closes (the server stopping, or gone)."""
    # Stopping is the server's to decide: a Ctrl-C or a service manager's SIGTERM to the
    # whole group must not cut a cycle short (the server closes stdin when it stops).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s %(message)s")
    settings = Settings.model_validate_json(os.environ[SETTINGS])
    db = Database(settings.database_url, settings.engine_lease_seconds)
    engine = paging_engine(settings, db, SystemClock(), instance=os.environ[INSTANCE])
    stop = threading.Event()

    def listen() -> None:
        while os.read(sys.stdin.fileno(), 4096):
            engine.wake()
        stop.set()
        engine.wake()

    threading.Thread(target=listen, name="fireline-engine-wakes", daemon=True).start()
    # What startup loaded stays out of the collector's full collections, as in `serve`.
    gc.collect()
    gc.freeze()
    try:
        engine.run(stop, settings.engine_interval)
    finally:
        db.dispose()


if __name__ == "__main__":
    _run()
