"""Several engines on one PostgreSQL database: every page enters the outbox once and is
delivered at least once, through crashes (SIGKILL) and freezes (SIGSTOP); an acknowledgement
that commits stops later steps, however it races the step's timer.

Real processes (`fireline worker`), a real local HTTP receiver, the system clock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import paging_org
from fireline.clock.now import ManualClock, SystemClock
from fireline.engine.cycle import Engine
from fireline.engine.steps import escalations
from fireline.engine.steps.outbox import SENDERS
from fireline.escalation import service as escalation_service
from fireline.escalation.models import Timer
from fireline.notify.channels.registry import Channels
from fireline.notify.models import OutboxMessage
from fireline.notify.schemas import NewContactMethod
from fireline.notify.service import add_contact_method
from fireline.policy.load import preset_text
from fireline.store.db import Database
from fireline.tickets.schemas import NewTicket
from fireline.tickets.service import acknowledge, open_tickets, ticket_timeline

PAGES = 10_000
LEASE_SECONDS = 3
BATCH = 50
FIRELINE = str(Path(sys.executable).with_name("fireline"))


class Receiver(ThreadingHTTPServer):
    """A local webhook peer counting every request by idempotency key."""

    daemon_threads = True

    def __init__(self, delay: float = 0.0) -> None:
        self.keys: Counter[str] = Counter()
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real webhook receiver offers

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                if delay:
                    time.sleep(delay)
                with outer.lock:
                    outer.keys[self.headers["Idempotency-Key"]] += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


def serve(receiver: Receiver) -> Iterator[Receiver]:
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.shutdown()
    receiver.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve(Receiver())


@pytest.fixture
def slow_receiver() -> Iterator[Receiver]:
    yield from serve(Receiver(delay=0.05))


def pages(db: Database, url: str, count: int) -> None:
    """`count` P1 tickets of a team whose escalation pages one person by webhook at once."""
    clock = SystemClock()
    unlimited = preset_text("hail") + "\npage_limits: {max_pages: 1000000, window_minutes: 1}\n"
    admin = paging_org(db, clock, "load", ["admin"], 600, unlimited)
    add_contact_method(
        db, clock, admin, "admin", NewContactMethod(name="hook", kind="webhook", target=url)
    )
    for first in range(0, count, 500):
        open_tickets(
            db,
            clock,
            admin,
            [
                NewTicket(team="hail", title=f"page {n}", signals={"cost_usd_per_hour": 500})
                for n in range(first, min(first + 500, count))
            ],
        )


def worker(url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FIRELINE_DATABASE_URL": url,
        "FIRELINE_WEBHOOK_SECRET": "s",
        "FIRELINE_ENGINE_INTERVAL": "0.05",
        "FIRELINE_ENGINE_BATCH": str(BATCH),
        "FIRELINE_ENGINE_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    return subprocess.Popen(
        [FIRELINE, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def delivered(db: Database) -> int:
    with db.transaction() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == "sent")
            )
            or 0
        )


def wait_for(condition: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_ten_thousand_pages_survive_three_crashes_each_delivered_and_entered_once(
    pg: Database, postgres_url: str, receiver: Receiver
) -> None:
    pages(pg, receiver.url, PAGES)
    steady, crashing = worker(postgres_url), worker(postgres_url)
    try:
        for _ in range(3):
            wait_for(lambda: delivered(pg) > 0, 60)
            time.sleep(1.0)
            crashing.send_signal(signal.SIGKILL)
            crashing.wait()
            crashing = worker(postgres_url)
        wait_for(lambda: delivered(pg) == PAGES, 240)
    finally:
        for process in (steady, crashing):
            process.terminate()
            process.wait(timeout=30)

    with pg.transaction() as session:
        keys = session.scalars(select(OutboxMessage.idempotency_key)).all()
        undone = (
            session.scalar(
                select(func.count())
                .select_from(Timer)
                .where(Timer.done_at.is_(None), Timer.due_at <= datetime.now(UTC))
            )
            or 0
        )
    assert len(keys) == len(set(keys)) == PAGES  # entered the outbox exactly once
    assert set(receiver.keys) == set(keys)  # every page arrived
    duplicates = sum(receiver.keys.values()) - len(receiver.keys)
    # A crash repeats at most the batch it had claimed: pages sent but not yet recorded are
    # sent again by whoever takes the claims over after the lease (the documented duplicate).
    assert duplicates <= 3 * BATCH
    assert undone == 0  # no claim is still held: the dead workers' leases were taken over


def test_a_frozen_engine_cannot_deliver_or_commit_what_another_took_over(
    pg: Database, postgres_url: str, slow_receiver: Receiver
) -> None:
    pages(pg, slow_receiver.url, 200)
    frozen = worker(postgres_url)
    running = [frozen]
    try:
        wait_for(lambda: delivered(pg) >= 5, 60)
        frozen.send_signal(signal.SIGSTOP)
        running.append(worker(postgres_url))
        time.sleep(LEASE_SECONDS + 1)
        wait_for(lambda: delivered(pg) == 200, 120)
        time.sleep(0.5)  # what the other engine had in flight arrives
        arrived = sum(slow_receiver.keys.values())
        frozen.send_signal(signal.SIGCONT)
        time.sleep(2)
        arrived_after_waking = sum(slow_receiver.keys.values()) - arrived
    finally:
        frozen.send_signal(signal.SIGCONT)
        for process in running:
            process.terminate()
            process.wait(timeout=30)

    with pg.transaction() as session:
        rows = session.execute(select(OutboxMessage.status, OutboxMessage.attempts)).all()
    assert {status for status, _ in rows} == {"sent"}
    assert all(attempts == 1 for _, attempts in rows)  # the frozen engine's commits refused
    # Woken, it begins no delivery, its lease having run out: what arrives is at most a page
    # per sender that it had begun.
    assert arrived_after_waking <= SENDERS
    # Pages it sent before it froze were sent again by the engine that took its batch over,
    # their outcome unrecorded: the documented duplicate, at most the batch it held.
    duplicates = sum(slow_receiver.keys.values()) - len(slow_receiver.keys)
    assert len(slow_receiver.keys) == 200 and duplicates <= BATCH


def test_an_acknowledgement_that_commits_first_stops_the_next_step_in_every_race(
    pg: Database,
) -> None:
    """200 trials: the step-2 timer and an acknowledgement run at the same moment in two
    threads. Either the ack wins and nobody is paged for step 2, or the page was committed
    before the ack; never a step-2 page after the ack."""
    clock = ManualClock(datetime(2026, 11, 25, 15, tzinfo=UTC))
    admin = paging_org(pg, clock, "race", ["admin", "second"])
    engine = Engine(pg, clock, Channels(pg, clock, "s"), instance="racer")
    outcomes: Counter[str] = Counter()
    for trial in range(200):
        [ticket] = open_tickets(
            pg,
            clock,
            admin,
            [NewTicket(team="hail", title=f"race {trial}", signals={"cost_usd_per_hour": 500})],
        )
        engine.cycle()  # step 1
        clock.advance(timedelta(minutes=1))
        start = threading.Barrier(2)

        def fire(start: threading.Barrier = start) -> None:
            start.wait()
            engine.cycle()

        def ack(ticket_id: int = ticket.id, start: threading.Barrier = start) -> None:
            start.wait()
            acknowledge(pg, clock, admin, ticket_id)

        threads = [threading.Thread(target=fire), threading.Thread(target=ack)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        events = {
            e.kind + str(e.data.get("step", "")): e.id
            for e in ticket_timeline(pg, admin, ticket.id)
        }
        ack_won = "escalation.paged1" not in events
        if not ack_won:
            assert events["escalation.paged1"] < events["escalation.acknowledged"]
        outcomes["ack first" if ack_won else "timer first"] += 1
        clock.advance(timedelta(minutes=5))
        engine.cycle()
        later = {
            e.kind + str(e.data.get("step", "")) for e in ticket_timeline(pg, admin, ticket.id)
        }
        if ack_won:
            assert "escalation.paged1" not in later  # the stale timer did nothing
    assert sum(outcomes.values()) == 200


def test_a_batch_does_not_wait_for_an_escalation_being_acknowledged(pg: Database) -> None:
    """The batch skips an escalation another transaction holds: its other timers commit
    meanwhile, and the held one fires after, alone, once the lock is free, and sees the
    acknowledgement that committed first."""
    clock = ManualClock(datetime(2026, 11, 25, 15, tzinfo=UTC))
    admin = paging_org(pg, clock, "held", ["admin"])
    acked, other = open_tickets(
        pg,
        clock,
        admin,
        [NewTicket(team="hail", title=t, signals={"cost_usd_per_hour": 500}) for t in "ab"],
    )
    firing = threading.Thread(
        target=escalations.run, args=(pg, clock, "batch", timedelta(minutes=1), 200)
    )

    def paged(ticket_id: int) -> bool:
        with pg.transaction() as session:
            return bool(
                session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.ticket_id == ticket_id)
                )
            )

    with pg.transaction() as session:
        escalation_service.acknowledge(session, admin, clock.now(), acked.id)
        firing.start()
        wait_for(lambda: paged(other.id), 30)  # committed while the ack holds the other
        assert firing.is_alive()  # the held timer waits for the acknowledgement to commit
    firing.join(30)

    assert not paged(acked.id)
    with pg.transaction() as session:
        outcomes = dict(session.execute(select(Timer.escalation_id, Timer.outcome)).all())
    assert outcomes == {1: "stale: escalation is acknowledged at epoch 2", 2: "paged 1"}
