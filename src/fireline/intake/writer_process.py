"""Group commit with its writer in a process of its own.

In one process, the writer thread's Python (deciding, building rows) and the event loop's
(HTTP, parsing) take turns on one GIL, and the writer's waits for the database do not
overlap its Python: in an alert storm one of the two cores sat idle. Here the server's
event loop hands the requests' parsed alerts to a child process over a socket pair, all
those of one turn of the loop in one message; the child commits them in batches
(`commit_each`) and sends the outcomes back once committed. A request is still answered
only after its alerts committed.

The server's side has no threads: the socket is one of the event loop's connections, so
an answer settles its request in the loop at once, without waiting for a thread to get
the GIL (up to 5 ms each way).

If the child dies, the requests it had been sent are answered 503 (the senders that retry,
retry; the alerts they carry are deduplicated) and a new child starts. A child that has
held a request for `stuck_after` seconds without a word (hung in its Python, stopped; its
statements are cancelled long before) is killed, with the same outcome: intake does not
wait forever on one stuck process. A child speaks first once it has started (its imports
take seconds), then with each batch's answers.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import os
import pickle
import select
import signal
import socket
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, cast

from fireline.clock.now import SystemClock
from fireline.errors import FirelineError
from fireline.intake.alert import IncomingAlert
from fireline.intake.group_commit import StorageDown, answer, commit_each, committed_alerts
from fireline.intake.schemas import AlertOutcome
from fireline.intake.service import Recall, Source
from fireline.store.db import Database, is_outage

log = logging.getLogger("fireline.intake")

# (request id, integration, alerts) one way; (alerts committed, [(request id, outcomes or
# error)]) the other. Each message is a pickle after its length (4 bytes, big-endian).
_Job = tuple[int, Source, Sequence[IncomingAlert]]
_LENGTH = 4
DATABASE_URL = "FIRELINE_INTAKE_WRITER_DATABASE_URL"
RESTART_PAUSE_SECONDS = 1.0
RECALL_SECONDS = 1.0
CLOSE_SECONDS = 30.0
STATEMENT_TIMEOUT_SECONDS = 10.0
STUCK_SECONDS = 60.0
WATCH_SECONDS = 1.0


def _framed(value: Any) -> bytes:
    payload = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    return len(payload).to_bytes(_LENGTH, "big") + payload


class ProcessGroupCommit:
    """`GroupCommit`'s interface (`accept`, `aclose`), its writer in a child process. Made
    by `started`, in the event loop that will call `accept`."""

    def __init__(
        self,
        database_url: str,
        max_alerts: int = 500,
        committed: Callable[[int], None] | None = None,
        statement_timeout: float = STATEMENT_TIMEOUT_SECONDS,
        stuck_after: float = STUCK_SECONDS,
    ) -> None:
        """`committed` is called, in the event loop, with the number of alerts each batch
        the child committed took in. The child's statements are cancelled after
        `statement_timeout` seconds (PostgreSQL), and their batch answered 503; a child
        that leaves a request unanswered for `stuck_after` seconds is killed."""
        self.database_url, self.max_alerts = database_url, max_alerts
        self.committed, self.statement_timeout = committed, statement_timeout
        self.stuck_after = stuck_after
        self._waiting: dict[int, asyncio.Future[list[AlertOutcome]]] = {}
        self._unsent: list[_Job] = []
        # The ids the current child holds, unanswered, with when each was sent: oldest first.
        self._sent: dict[int, float] = {}
        self._heard_at = 0.0  # when the current child was started, or last spoke
        self._watch: asyncio.TimerHandle | None = None
        self._ids = itertools.count()
        self._link: _Link | None = None
        self._child: subprocess.Popen[bytes] | None = None
        self._closing = False
        self._closed: asyncio.Future[None] | None = None
        self._restarting: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop

    @classmethod
    async def started(
        cls,
        database_url: str,
        max_alerts: int = 500,
        committed: Callable[[int], None] | None = None,
        statement_timeout: float = STATEMENT_TIMEOUT_SECONDS,
        stuck_after: float = STUCK_SECONDS,
    ) -> ProcessGroupCommit:
        """A writer with its child started. The child is not waited for: what is sent
        meanwhile waits in the socket until it has imported its modules and reads it."""
        intake = cls(database_url, max_alerts, committed, statement_timeout, stuck_after)
        await intake._start()
        intake._watch = intake._loop.call_later(WATCH_SECONDS, intake._look_for_stuck)
        return intake

    async def accept(self, source: Source, alerts: Sequence[IncomingAlert]) -> list[AlertOutcome]:
        if self._closing and self._link is None:
            raise StorageDown("Fireline is shutting down")
        loop = self._loop  # the link's (asking for the running one costs a system call)
        done: asyncio.Future[list[AlertOutcome]] = loop.create_future()
        request_id = next(self._ids)
        self._waiting[request_id] = done
        if not self._unsent:
            loop.call_soon(self._flush)  # once this turn of the loop has parsed its requests
        self._unsent.append((request_id, source, alerts))
        return await done

    async def aclose(self) -> None:
        """Finish what was handed over, then stop the child."""
        self._closing = True
        if self._watch is not None:
            self._watch.cancel()
        if self._restarting is not None:
            await self._restarting
        self._flush()
        link, child = self._link, self._child
        if link is not None:
            self._closed = asyncio.get_running_loop().create_future()
            link.transport.write(_framed(None))
            try:
                await asyncio.wait_for(self._closed, timeout=CLOSE_SECONDS)
            except TimeoutError:
                log.error("the intake writer did not finish within %s s", CLOSE_SECONDS)
        if child is not None:
            try:
                await asyncio.to_thread(child.wait, 10)
            except subprocess.TimeoutExpired:
                child.kill()

    async def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        # The URL goes in the environment, not on the command line other users can read.
        self._child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                __name__,
                str(theirs.fileno()),
                str(self.max_alerts),
                str(self.statement_timeout),
            ],
            pass_fds=[theirs.fileno()],
            env={**os.environ, DATABASE_URL: self.database_url},
        )
        self._heard_at = self._loop.time()
        theirs.close()
        link = self._loop.create_unix_connection(lambda: _Link(self), sock=ours)
        _, self._link = await link
        self._flush()

    def _flush(self) -> None:
        if not self._unsent or self._link is None:
            return  # sent once a child is linked
        jobs, self._unsent = self._unsent, []
        try:
            self._link.transport.write(_framed(jobs))
        except Exception as error:  # a request must never wait for an answer that won't come
            log.exception("could not hand alerts to the intake writer")
            for request_id, _, _ in jobs:
                answer(self._waiting.pop(request_id, None), StorageDown(str(error)))
            return
        sent_at = self._loop.time()
        self._sent.update((job[0], sent_at) for job in jobs)

    def _look_for_stuck(self) -> None:
        """Kill a child that has held a request too long without a word; `_lost` then
        answers 503 and starts another. Looked at once a second."""
        self._watch = self._loop.call_later(WATCH_SECONDS, self._look_for_stuck)
        oldest = next(iter(self._sent.values()), None)
        child = self._child
        if oldest is None or child is None:
            return
        # It answers in the order it was sent: while it speaks, it is not stuck.
        silent = self._loop.time() - max(oldest, self._heard_at)
        if silent < self.stuck_after:
            return
        log.error(
            "the intake writer (pid %s) has said nothing for %.0f s; killing it", child.pid, silent
        )
        child.kill()

    def _answered(self, message: bytes) -> None:
        self._heard_at = self._loop.time()
        taken, answers = pickle.loads(message)
        if taken and self.committed is not None:
            self.committed(taken)
        for request_id, result in answers:
            self._sent.pop(request_id, None)
            answer(self._waiting.pop(request_id, None), result)

    def _lost(self) -> None:
        """The child's end closed: it finished (closing), or it died."""
        self._link = None
        self._fail_sent("the intake writer stopped; retry")
        if self._closing:
            if self._closed is not None and not self._closed.done():
                self._closed.set_result(None)
            return
        code = self._child.poll() if self._child is not None else None
        log.error("the intake writer process stopped (exit code %s); starting another", code)
        self._restarting = asyncio.get_running_loop().create_task(self._restart())

    async def _restart(self) -> None:
        if self._child is not None:
            try:
                await asyncio.to_thread(self._child.wait, 5)
            except subprocess.TimeoutExpired:
                self._child.kill()  # its socket closed, yet it runs on: no use to anyone
        # A child that cannot start fails at once; the pause keeps that from spinning.
        # Requests that arrive meanwhile wait, unsent, for the next child.
        while True:
            await asyncio.sleep(RESTART_PAUSE_SECONDS)
            try:
                await self._start()
                break
            except OSError:
                log.exception("could not start the intake writer process; trying again")
        self._restarting = None

    def _fail_sent(self, why: str) -> None:
        sent, self._sent = self._sent, {}
        for request_id in sent:
            answer(self._waiting.pop(request_id, None), StorageDown(why))


class WriterPool:
    """`GroupCommit`'s interface over several writer processes, so that one commits while
    another runs its Python. A request goes whole to one writer (its alerts commit
    together), chosen by its integration and its first alert's key or title: repeats of one
    alert meet in one writer's batches and update their ticket once a batch. Alerts of one
    fingerprint that still meet in two writers are kept right by the database: the unique
    index of open tickets and the row locks make one wait for, or join, the other."""

    def __init__(self, writers: Sequence[ProcessGroupCommit]) -> None:
        self.writers = list(writers)

    @classmethod
    async def started(
        cls,
        database_url: str,
        processes: int,
        committed: Callable[[int], None] | None = None,
        statement_timeout: float = STATEMENT_TIMEOUT_SECONDS,
        stuck_after: float = STUCK_SECONDS,
    ) -> WriterPool:
        return cls(
            [
                await ProcessGroupCommit.started(
                    database_url,
                    committed=committed,
                    statement_timeout=statement_timeout,
                    stuck_after=stuck_after,
                )
                for _ in range(processes)
            ]
        )

    async def accept(self, source: Source, alerts: Sequence[IncomingAlert]) -> list[AlertOutcome]:
        return await self.writers[self.shard(source, alerts)].accept(source, alerts)

    def shard(self, source: Source, alerts: Sequence[IncomingAlert]) -> int:
        first = alerts[0] if alerts else None
        name = "" if first is None else first.key or first.title
        return hash((source.id, name)) % len(self.writers)

    async def aclose(self) -> None:
        await asyncio.gather(*(writer.aclose() for writer in self.writers))


class _Link(asyncio.Protocol):
    """The event loop's end of the socket: whole messages to the owner as they arrive."""

    def __init__(self, owner: ProcessGroupCommit) -> None:
        self.owner = owner
        self.buffer = bytearray()
        self.transport: asyncio.WriteTransport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio's classes, only alike.
        self.transport = cast(asyncio.WriteTransport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= _LENGTH:
            size = int.from_bytes(self.buffer[:_LENGTH], "big")
            if len(self.buffer) < _LENGTH + size:
                return
            message = bytes(self.buffer[_LENGTH : _LENGTH + size])
            del self.buffer[: _LENGTH + size]
            self.owner._answered(message)

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner._lost()


def _serve(
    database_url: str, max_alerts: int, link: socket.socket, statement_timeout: float
) -> None:
    """The child: commit what arrives, batch by batch, and send back the outcomes."""
    # Stopping is the parent's to decide (it says so, or its end closes); a Ctrl-C or a
    # service manager's SIGTERM to the whole group must not cut a batch short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s %(message)s")
    # No test of each connection before each batch (a round trip): a batch that meets a
    # dead connection fails, and `commit_each` runs its requests again on a new one.
    db = Database(database_url, pre_ping=False, statement_timeout_seconds=statement_timeout)
    clock = SystemClock()
    # Teams, policies, silences and accounts are read once a second, not once a batch: a
    # change made elsewhere applies to alerts within that second.
    recall = Recall(seconds=RECALL_SECONDS)
    jobs: deque[_Job] = deque()
    open_ = True
    # What lives as long as the process (modules, mappers, and after the first batch the
    # compiled statements) is put out of the collector's sight: otherwise each full
    # collection walks it all again, a pause every few seconds in a storm.
    gc.collect()
    gc.freeze()
    link.sendall(_framed((0, [])))  # started: the parent's watch counts from here
    batches = 0
    try:
        while open_ or jobs:
            # Block for work only when there is none; otherwise take what has arrived.
            while open_ and (not jobs or select.select([link], [], [], 0)[0]):
                message = _read_message(link)
                if message is None:
                    open_ = False
                else:
                    jobs.extend(message)
            batch: list[_Job] = []
            size = 0
            while jobs and (not batch or size + len(jobs[0][2]) <= max_alerts):
                job = jobs.popleft()
                batch.append(job)
                size += len(job[2])
            if not batch:
                continue
            requests = [(source, alerts) for _, source, alerts in batch]
            results = commit_each(db, clock, requests, recall)
            taken = committed_alerts(batch, results, lambda job: len(job[2]))
            answers = [
                (job[0], _transportable(result)) for job, result in zip(batch, results, strict=True)
            ]
            link.sendall(_framed((taken, answers)))
            batches += 1
            if batches == 1:
                gc.freeze()
    except OSError:
        pass  # the parent is gone; nobody is waiting for these answers
    finally:
        db.dispose()
        link.close()


def _read_message(link: socket.socket) -> list[_Job] | None:
    """The next message's jobs; None when the parent says it is closing, or is gone."""
    head = _read_exactly(link, _LENGTH)
    if head is None:
        return None
    body = _read_exactly(link, int.from_bytes(head, "big"))
    return None if body is None else pickle.loads(body)


def _read_exactly(link: socket.socket, size: int) -> bytes | None:
    buffer = bytearray()
    while len(buffer) < size:
        chunk = link.recv(size - len(buffer))
        if not chunk:
            return None
        buffer += chunk
    return bytes(buffer)


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
    descriptor, max_alerts, timeout = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    _serve(os.environ[DATABASE_URL], max_alerts, socket.socket(fileno=descriptor), timeout)
