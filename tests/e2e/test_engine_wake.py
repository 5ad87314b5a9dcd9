"""Engines wake across processes on PostgreSQL: a commit that adds timers or outbox rows sends
NOTIFY, and an engine in another process (`fireline worker`) cycles at once, well before its
sweep, even after its listening connection was cut.

The worker's sweep interval is ten minutes and each test waits at most a minute: only the
notification can explain a page delivered in time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from conftest import paging_org
from fireline.auth.actor import Actor
from fireline.clock.now import SystemClock
from fireline.engine.listen import APPLICATION_NAME, CHANNEL, libpq_url
from fireline.notify.models import OutboxMessage
from fireline.notify.service import inbox
from fireline.store.db import Database
from fireline.tickets.schemas import NewTicket
from fireline.tickets.service import open_ticket

FIRELINE = str(Path(sys.executable).with_name("fireline"))
SWEEP_SECONDS = 600
WITHIN = 60.0


def wait_for(condition: Callable[[], object], seconds: float = WITHIN) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s")


def paging_admin(db: Database) -> Actor:
    """Hail's P1 tickets page the admin (inbox) at once."""
    return paging_org(db, SystemClock(), "wake", ["admin"], delay_minutes=60)


def p1(db: Database, admin: Actor, title: str) -> None:
    open_ticket(
        db,
        SystemClock(),
        admin,
        NewTicket(team="hail", title=title, signals={"ci_failure_ratio": 1}),
    )


def delivered(db: Database, admin: Actor) -> list[str]:
    return sorted(m.subject.split(" ", 2)[2] for m in inbox(db, admin))


def listeners(url: str) -> list[int]:
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        rows = connection.execute(
            # pg_stat_activity lists the whole cluster: other test files' workers listen too.
            "SELECT pid FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            (APPLICATION_NAME,),
        ).fetchall()
    return [pid for (pid,) in rows]


@pytest.fixture
def worker(pg: Database, postgres_url: str) -> Iterator[subprocess.Popen[bytes]]:
    """`fireline worker` in a process of its own, sweeping only every ten minutes."""
    env = {
        **os.environ,
        "FIRELINE_DATABASE_URL": postgres_url,
        "FIRELINE_WEBHOOK_SECRET": "s",
    }
    # The last test's worker has exited, but PostgreSQL may list its session a moment longer.
    wait_for(lambda: listeners(postgres_url) == [])
    process = subprocess.Popen(
        [FIRELINE, "worker", "--interval", str(SWEEP_SECONDS)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: len(listeners(postgres_url)) == 1)
        yield process
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=30)
        assert process.returncode == 0, errors.decode()


def test_work_committed_in_one_process_is_done_by_an_engine_in_another_at_once(
    pg: Database, worker: subprocess.Popen[bytes]
) -> None:
    admin = paging_admin(pg)
    time.sleep(1.0)  # the worker's first cycle is over: it now waits for its sweep or a wake

    p1(pg, admin, "first")  # this process has no engine: it only commits
    wait_for(lambda: delivered(pg, admin) == ["first"])

    p1(pg, admin, "second")
    wait_for(lambda: delivered(pg, admin) == ["first", "second"])
    assert worker.poll() is None


def test_a_cut_listening_connection_is_made_again_and_wakes_the_engine_again(
    pg: Database, postgres_url: str, worker: subprocess.Popen[bytes]
) -> None:
    admin = paging_admin(pg)
    [before] = listeners(postgres_url)
    with psycopg.connect(libpq_url(postgres_url), autocommit=True) as connection:
        connection.execute("SELECT pg_terminate_backend(%s)", (before,))

    wait_for(lambda: listeners(postgres_url) not in ([], [before]))
    time.sleep(1.0)  # the wake-up on reconnecting has been spent on an empty cycle
    p1(pg, admin, "after the cut")

    wait_for(lambda: delivered(pg, admin) == ["after the cut"])
    assert worker.poll() is None


def test_only_a_commit_that_adds_engine_work_notifies(pg: Database, postgres_url: str) -> None:
    admin = paging_admin(pg)
    with psycopg.connect(libpq_url(postgres_url), autocommit=True) as listening:
        listening.execute(f"LISTEN {CHANNEL}")

        def heard() -> list[str]:
            return [n.payload for n in listening.notifies(timeout=0.5)]

        assert heard() == []  # the setup wrote no timers or outbox rows
        with pytest.raises(RuntimeError), pg.transaction() as session:
            session.execute(
                sa.insert(OutboxMessage).values(
                    org_id=admin.org_id,
                    idempotency_key="rolled-back",
                    kind="inbox",
                    target="x",
                    subject="s",
                    body="b",
                    status="pending",
                    deliver_after=SystemClock().now(),
                    attempts=0,
                    fence=0,
                    created_at=SystemClock().now(),
                )
            )
            raise RuntimeError("roll back")
        assert heard() == []  # a rolled-back transaction notifies nobody

        p1(pg, admin, "committed")
        assert heard() == ["timers"]  # the ticket's first escalation timer
