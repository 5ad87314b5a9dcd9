"""Tickets opened per second through the service layer, on SQLite and on PostgreSQL.

Each ticket is one `open_ticket` call: one transaction holding the classification by the
team's policy, the due-by computation, the ticket row and its timeline event.

    .venv/bin/python benchmarks/tickets.py [--count N] [--threads T] [--only sqlite|postgresql]

PostgreSQL is reached at FIRELINE_BENCH_POSTGRES_URL (default: the local server, trust auth);
the script creates and drops a database of its own.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from machine import describe

from fireline.auth.actor import Actor, Role, Via
from fireline.auth.service import actor_for, add_user
from fireline.clock.now import SystemClock
from fireline.orgs.service import create_organisation, create_team, store_policy
from fireline.policy.load import preset_text
from fireline.store.db import Database
from fireline.store.migrate import upgrade
from fireline.tickets.schemas import NewTicket
from fireline.tickets.service import count_tickets, open_ticket, open_tickets

POSTGRES = os.environ.get(
    "FIRELINE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

SIGNALS = [
    {"cost_usd_per_hour": 140.0},
    {"cost_usd_per_day": 180.0},
    {"ui_page_latency_seconds": 7.5},
    {"api_latency_vs_last_month": 6.0},
    {"ci_failure_ratio": 0.3},
    {"nonuser_job_failure_ratio": 0.7},
]


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


@contextmanager
def postgres_url() -> Iterator[str]:
    admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    name = f"fireline_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(POSTGRES).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(db: Database) -> Actor:
    clock = SystemClock()
    with db.transaction() as session:
        org = create_organisation(session, clock, "bench", "Bench")
        team = create_team(session, clock, org.id, "hail", "Hail")
        store_policy(session, clock, team, preset_text("hail"), "preset:hail", None)
        user = add_user(session, clock, org.id, "bench", "Bench", Role.responder)
        return actor_for(user, Via.api)


def run(url: str, count: int, threads: int, batch: int) -> float:
    upgrade(url)
    db = Database(url)
    actor = prepare(db)
    clock = SystemClock()
    open_ticket(db, clock, actor, NewTicket(team="hail", title="warm-up", signals=SIGNALS[0]))
    per_thread = count // threads

    def new(n: int) -> NewTicket:
        return NewTicket(
            team="hail",
            title=f"ticket {n}",
            service="batch",
            signals=SIGNALS[n % len(SIGNALS)],
            labels=["bench"],
        )

    def work(offset: int) -> None:
        if batch == 1:
            for n in range(offset, offset + per_thread):
                open_ticket(db, clock, actor, new(n))
            return
        for first in range(offset, offset + per_thread, batch):
            last = min(first + batch, offset + per_thread)
            open_tickets(db, clock, actor, [new(n) for n in range(first, last)])

    workers = [threading.Thread(target=work, args=(t * per_thread,)) for t in range(threads)]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    stored = count_tickets(db, actor)
    assert stored == per_thread * threads + 1, stored
    db.dispose()
    return per_thread * threads / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument(
        "--batch",
        type=int,
        nargs="+",
        default=[1, 100],
        help="tickets per transaction; 1 is one open_ticket call each",
    )
    args = parser.parse_args()
    print(describe())
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.count:,} tickets per database")
    backends = {"sqlite": sqlite_url, "postgresql": postgres_url}
    for name, make_url in backends.items():
        if args.only and name != args.only:
            continue
        # SQLite takes one writer at a time; more threads only queue on its lock.
        threads = 1 if name == "sqlite" else args.threads
        for batch in args.batch:
            with make_url() as url:
                rate = run(url, args.count, threads, batch)
            print(
                f"{name}: {rate:,.0f} tickets/s ({threads} thread{'s' * (threads > 1)}, "
                f"{batch} ticket{'s' * (batch > 1)} per transaction)",
                flush=True,
            )


if __name__ == "__main__":
    main()
