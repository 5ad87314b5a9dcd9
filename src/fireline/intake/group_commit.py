"""Group commit for intake: concurrent requests' alerts are committed together.

Each request hands its alerts to one writer thread and waits; the writer takes whatever has
queued up (up to a bound) and accepts it in one transaction, so a burst of N alerts costs one
commit (one fsync) rather than N. A request is answered only after its alerts committed.
If a batch fails, its requests are retried one by one, so one bad request fails alone.

`GroupCommit` is the writer as a thread of the server: for an app handed its database or
clock (tests), an in-memory database, or `FIRELINE_INTAKE_WRITER=thread`. `fireline serve`
otherwise runs the same batches (`commit_each`) in a process of its own
(`writer_process.ProcessGroupCommit`).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError

from fireline.clock.now import Clock
from fireline.intake.alert import IncomingAlert
from fireline.intake.schemas import AlertOutcome
from fireline.intake.service import Recall, Source, accept_many
from fireline.store.db import Database, is_outage

log = logging.getLogger("fireline.intake")
T = TypeVar("T")


@dataclass(slots=True)
class _Request:
    source: Source
    alerts: Sequence[IncomingAlert]
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[list[AlertOutcome]]


class GroupCommit:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        max_alerts: int = 500,
        writers: int | None = None,
        committed: Callable[[int], None] | None = None,
    ) -> None:
        """`committed` is called with the number of alerts after each commit that took
        alerts in (it wakes the engine, so a new ticket's first page goes out at once)."""
        self.db, self.clock, self.max_alerts = db, clock, max_alerts
        self.committed = committed
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        # One writer, on either database. SQLite has one writer at a time anyway. On
        # PostgreSQL a second writer could prepare its batch while the first waits for its
        # commit, but the two then contend for the GIL with each other and the event loop,
        # and batches get smaller: measured, one writer took 1,070-1,430 unique alerts/s and
        # 2,260-2,480 repeats/s, two 880-970/s and 1,660-1,790/s.
        count = writers or 1
        self._writers = [
            threading.Thread(target=self._run, name=f"fireline-intake-{n}", daemon=True)
            for n in range(count)
        ]
        for writer in self._writers:
            writer.start()

    async def accept(self, source: Source, alerts: Sequence[IncomingAlert]) -> list[AlertOutcome]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[list[AlertOutcome]] = loop.create_future()
        self._queue.put(_Request(source, alerts, loop, done))
        return await done

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        for _ in self._writers:
            self._queue.put(None)
        for writer in self._writers:
            writer.join(timeout=10)

    def _run(self) -> None:
        for batch in batches(self._queue, self.max_alerts, lambda r: len(r.alerts)):
            results = commit_each(self.db, self.clock, [(r.source, r.alerts) for r in batch])
            taken = committed_alerts(batch, results, lambda r: len(r.alerts))
            if taken and self.committed is not None:
                self.committed(taken)
            settle(((r.loop, r.done), result) for r, result in zip(batch, results, strict=True))


class StorageDown(Exception):
    """The database could not be reached; the alerts were not stored."""


def batches(
    waiting: queue.SimpleQueue[T | None], max_alerts: int, size: Callable[[T], int]
) -> Iterator[list[T]]:
    """Whatever has queued up, up to `max_alerts` alerts a batch, until None arrives (the
    batch it ends is finished first)."""
    while (first := waiting.get()) is not None:
        batch, count = [first], size(first)
        while count < max_alerts:
            try:
                more = waiting.get_nowait()
            except queue.Empty:
                break
            if more is None:
                waiting.put(None)
                break
            batch.append(more)
            count += size(more)
        yield batch


Requests = Sequence[tuple[Source, Sequence[IncomingAlert]]]


def commit_each(
    db: Database,
    clock: Clock,
    requests: Requests,
    recall: Recall | None = None,
    again: bool = True,
) -> list[list[AlertOutcome] | BaseException]:
    """The requests' outcomes, committed in one transaction. A batch that met a dead
    connection (the database restarted) or was rolled back (a deadlock) runs once more; a
    database that could not be reached or did not answer in time (a statement timeout,
    SQLite's lock held too long) fails every request of the batch at once, which are
    answered 503 and retried by their senders, rather than each waiting out the timeout
    again alone; any other failure commits each request alone, so one bad request fails
    alone."""
    try:
        return list(accept_many(db, clock, requests, recall))
    except DBAPIError as error:
        if again and (error.connection_invalidated or _rolled_back(error)):
            return commit_each(db, clock, requests, recall, again=False)
        failure: Exception = error
    except Exception as error:
        failure = error
    if len(requests) == 1 or (is_outage(failure) and not _rolled_back(failure)):
        return [failure] * len(requests)
    log.info("a group of %d requests failed (%s); retrying one by one", len(requests), failure)
    return [commit_each(db, clock, [request], recall, again=False)[0] for request in requests]


def _rolled_back(error: BaseException) -> bool:
    """PostgreSQL rolled the transaction back (SQLSTATE class 40: a deadlock, a
    serialization failure): worth running again, not an outage."""
    return str(getattr(getattr(error, "orig", None), "sqlstate", "") or "").startswith("40")


def committed_alerts(
    batch: Sequence[T], results: Sequence[object], size: Callable[[T], int]
) -> int:
    return sum(
        size(request)
        for request, result in zip(batch, results, strict=True)
        if not isinstance(result, BaseException)
    )


Waiter = tuple[asyncio.AbstractEventLoop, "asyncio.Future[list[AlertOutcome]]"]


def settle(answers: Iterable[tuple[Waiter, list[AlertOutcome] | BaseException]]) -> None:
    """Answer requests with one wake-up of each event loop they wait on, not one per
    request (called from a writer's thread)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]] = {}
    for (loop, done), result in answers:
        by_loop.setdefault(loop, []).append((done, result))
    for loop, settled in by_loop.items():
        try:
            loop.call_soon_threadsafe(_answer, settled)
        except RuntimeError:  # that loop has closed: nobody is waiting any more
            continue


def _answer(answers: list[tuple[asyncio.Future[Any], Any]]) -> None:
    for done, result in answers:
        answer(done, result)


def answer(done: asyncio.Future[list[AlertOutcome]] | None, result: Any) -> None:
    """Settle one waiting request (in its event loop) with its outcomes or its error."""
    if done is None or done.cancelled():  # the client went away; the alerts are stored anyway
        return
    if isinstance(result, BaseException):
        done.set_exception(result)
    else:
        done.set_result(result)
