"""Group commit with its writer in a process of its own.

In one process, the writer thread's Python (deciding, building rows) and the event loop's
(HTTP, parsing) take turns on one GIL, and the writer's waits for the database do not
overlap its Python: in an alert storm one of the two cores sat idle. Here the server's
event loop hands each request's parsed alerts to a child process over a socket pair; the
child runs the same batches (`batches`, `commit_each`) and sends the outcomes back once
committed. A request is still answered only after its alerts committed.

If the child dies, the requests it had been sent are answered 503 (the senders that retry,
retry; the alerts they carry are deduplicated) and a new child starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import pickle
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

from fireline.clock.now import SystemClock
from fireline.errors import FirelineError
from fireline.intake.alert import IncomingAlert
from fireline.intake.group_commit import (
    StorageDown,
    Waiter,
    batches,
    commit_each,
    committed_alerts,
    settle,
)
from fireline.intake.schemas import AlertOutcome
from fireline.intake.service import Recall, Source
from fireline.store.db import Database, is_outage

log = logging.getLogger("fireline.intake")

# (request id, integration, alerts) one way; (request id, outcomes or error) the other.
_Job = tuple[int, Source, Sequence[IncomingAlert]]
DATABASE_URL = "FIRELINE_INTAKE_WRITER_DATABASE_URL"
RESTART_PAUSE_SECONDS = 1.0
RECALL_SECONDS = 1.0


class ProcessGroupCommit:
    """`GroupCommit`'s interface (`accept`, `close`), its writer in a child process."""

    def __init__(
        self,
        database_url: str,
        max_alerts: int = 500,
        committed: Callable[[int], None] | None = None,
    ) -> None:
        """`committed` is called, on a thread of this process, with the number of alerts
        each batch the child committed took in."""
        self.database_url, self.max_alerts = database_url, max_alerts
        self.committed = committed
        self._waiting: dict[int, Waiter] = {}
        self._sent: set[int] = set()  # ids the current child holds, unanswered
        self._ids = itertools.count()
        self._outbox: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        # Held to send or to replace the child: a request is failed only if this child had it.
        self._lock = threading.Lock()
        self._closing = False
        self._child, self._connection = self._start()
        self._sender = threading.Thread(target=self._send, name="fireline-intake-send", daemon=True)
        self._receiver = threading.Thread(
            target=self._receive, name="fireline-intake-receive", daemon=True
        )
        self._sender.start()
        self._receiver.start()

    async def accept(self, source: Source, alerts: Sequence[IncomingAlert]) -> list[AlertOutcome]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[list[AlertOutcome]] = loop.create_future()
        request_id = next(self._ids)
        self._waiting[request_id] = (loop, done)
        self._outbox.put((request_id, source, alerts))
        return await done

    def close(self) -> None:
        """Finish what was handed over, then stop the child."""
        self._closing = True
        self._outbox.put(None)
        self._sender.join(timeout=30)
        self._receiver.join(timeout=30)
        try:
            self._child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._child.kill()
        self._connection.close()

    def _start(self) -> tuple[subprocess.Popen[bytes], Connection]:
        """A new child. It is not waited for: what is sent meanwhile waits in the socket
        until the child has imported its modules (about 2 s here) and reads it."""
        ours, theirs = socket.socketpair()
        # The URL goes in the environment, not the command line other users can read.
        child = subprocess.Popen(
            [sys.executable, "-m", __name__, str(theirs.fileno()), str(self.max_alerts)],
            pass_fds=[theirs.fileno()],
            env={**os.environ, DATABASE_URL: self.database_url},
        )
        theirs.close()
        return child, Connection(ours.detach())

    def _send(self) -> None:
        while (first := self._outbox.get()) is not None:
            jobs = [first]
            while len(jobs) < self.max_alerts:
                try:
                    more = self._outbox.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._outbox.put(None)
                    break
                jobs.append(more)
            with self._lock:
                self._sent.update(job[0] for job in jobs)
                # If the child is gone, the receiver fails what it had been sent.
                with contextlib.suppress(OSError):
                    self._connection.send_bytes(pickle.dumps(jobs, pickle.HIGHEST_PROTOCOL))
        with self._lock, contextlib.suppress(OSError):
            self._connection.send_bytes(pickle.dumps(None))

    def _receive(self) -> None:
        while True:
            try:
                message = self._connection.recv_bytes()
            except (EOFError, OSError):
                if self._closing:
                    self._fail_sent("Fireline is shutting down")
                    return
                self._replace_child()
                continue
            taken, answers = pickle.loads(message)
            if taken and self.committed is not None:
                self.committed(taken)
            found = []
            for request_id, result in answers:
                self._sent.discard(request_id)
                waiter = self._waiting.pop(request_id, None)
                if waiter is not None:
                    found.append((waiter, result))
            settle(found)

    def _replace_child(self) -> None:
        try:
            code: int | None = self._child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._child.kill()  # its socket closed, yet it runs on: no use to anyone
            code = None
        log.error("the intake writer process stopped (exit code %s); starting another", code)
        with self._lock:
            self._connection.close()
            self._fail_sent("the intake writer stopped; retry")
            # A child that cannot start fails at once; this keeps that from spinning.
            time.sleep(RESTART_PAUSE_SECONDS)
            self._child, self._connection = self._start()

    def _fail_sent(self, why: str) -> None:
        failed = []
        for request_id in list(self._sent):
            self._sent.discard(request_id)
            waiter = self._waiting.pop(request_id, None)
            if waiter is not None:
                failed.append((waiter, StorageDown(why)))
        settle(failed)


def _serve(database_url: str, max_alerts: int, connection: Connection) -> None:
    """The child: commit what arrives, batch by batch, and send back the outcomes."""
    # Stopping is the parent's to decide (it closes the socket); a Ctrl-C or a service
    # manager's SIGTERM to the whole group must not cut a batch short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s %(message)s")
    # No test of each connection before each batch (a round trip): a batch that meets a
    # dead connection fails, and `commit_each` runs its requests again on new ones.
    db, clock = Database(database_url, pre_ping=False), SystemClock()
    # Teams, policies, silences and accounts are read once a second, not once a batch: a
    # change made elsewhere applies to alerts within that second.
    recall = Recall(seconds=RECALL_SECONDS)
    jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
    reader = threading.Thread(target=_read, args=(connection, jobs), daemon=True)
    reader.start()
    try:
        for batch in batches(jobs, max_alerts, lambda job: len(job[2])):
            requests = [(source, alerts) for _, source, alerts in batch]
            results = commit_each(db, clock, requests, recall)
            taken = committed_alerts(batch, results, lambda job: len(job[2]))
            answers = [
                (job[0], _transportable(result)) for job, result in zip(batch, results, strict=True)
            ]
            connection.send_bytes(pickle.dumps((taken, answers), pickle.HIGHEST_PROTOCOL))
    except OSError:
        pass  # the parent is gone; nobody is waiting for these answers
    finally:
        db.dispose()
        connection.close()


def _read(connection: Connection, jobs: queue.SimpleQueue[_Job | None]) -> None:
    try:
        while (message := pickle.loads(connection.recv_bytes())) is not None:
            for job in message:
                jobs.put(job)
    except (EOFError, OSError):
        pass  # the parent is gone: finish what arrived, then stop
    jobs.put(None)


def _transportable(result: Any) -> Any:
    """What survives the trip back: outcomes and Fireline's own errors as they are; an
    outage as StorageDown (503); anything else as a plain error (500), logged here."""
    if not isinstance(result, BaseException) or isinstance(result, FirelineError):
        return result
    if is_outage(result):
        log.warning("the database is unreachable: %s", result)
        return StorageDown("the database is unreachable")
    log.error("an alert batch failed", exc_info=result)
    return RuntimeError(f"the alerts were not stored: {type(result).__name__}")


if __name__ == "__main__":
    _serve(os.environ[DATABASE_URL], int(sys.argv[2]), Connection(int(sys.argv[1])))
