"""Timer lateness under 100,000 pending timers, on PostgreSQL with two `fireline worker`
processes: 2,000 escalation timers fall due over 20 seconds while 98,000 wait for tomorrow;
lateness is when a timer was fired minus when it was due (they fall due once the workers
have started up). Then a burst: 10,000 more of the pending timers fall due at once, and the
workers' rate through them is timers fired per second, with the workers' CPU time per timer
(their own /proc times: firing the timer and delivering its page).

    .venv/bin/python benchmarks/timers.py [--pending N] [--due N] [--spread SECONDS] [--burst N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from machine import describe
from sqlalchemy import bindparam, func, select, update
from tickets import postgres_url

from fireline.auth.actor import Role, Via
from fireline.auth.service import actor_for, add_user
from fireline.clock.now import SystemClock
from fireline.engine.models import EngineInstance
from fireline.escalation.models import Timer
from fireline.escalation.schemas import NewEscalationPolicy
from fireline.escalation.service import create_policy
from fireline.orgs.service import create_organisation, create_team, store_policy
from fireline.policy.load import preset_text
from fireline.store.db import Database
from fireline.store.migrate import upgrade
from fireline.tickets.schemas import NewTicket
from fireline.tickets.service import open_tickets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pending", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=2_000)
    parser.add_argument("--spread", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--burst", type=int, default=10_000)
    args = parser.parse_args()
    print(describe())
    clock = SystemClock()
    with postgres_url() as url:
        upgrade(url)
        db = Database(url)
        with db.transaction() as session:
            org = create_organisation(session, clock, "bench", "Bench")
            team = create_team(session, clock, org.id, "hail", "Hail")
            store_policy(session, clock, team, preset_text("hail"), "preset:hail", None)
            admin = actor_for(add_user(session, clock, org.id, "admin", "A", Role.admin), Via.api)
        create_policy(
            db,
            clock,
            admin,
            NewEscalationPolicy.model_validate(
                {
                    "slug": "p",
                    "name": "P",
                    "teams": ["hail"],
                    "steps": [
                        {"targets": [{"kind": "person", "name": "admin"}], "delay_minutes": 600}
                    ],
                }
            ),
        )
        for first in range(0, args.pending, 1000):
            open_tickets(
                db,
                clock,
                admin,
                [
                    NewTicket(team="hail", title=f"t{n}", signals={"cost_usd_per_hour": 500})
                    for n in range(first, min(first + 1000, args.pending))
                ],
            )
        with db.transaction() as session:
            session.execute(update(Timer).values(due_at=datetime.now(UTC) + timedelta(days=1)))
            ids = session.scalars(select(Timer.id).order_by(Timer.id).limit(args.due)).all()
        env = {**os.environ, "FIRELINE_DATABASE_URL": url, "FIRELINE_ENGINE_INTERVAL": "0.1"}
        fireline = str(Path(sys.executable).with_name("fireline"))
        workers = [
            subprocess.Popen([fireline, "worker"], env=env, stdout=subprocess.DEVNULL)
            for _ in range(args.workers)
        ]
        try:
            # Timers fall due once the workers run: their start-up (imports) is not lateness.
            wait_until_running(db, workers)
            start = datetime.now(UTC) + timedelta(seconds=2)
            step = args.spread / args.due
            with db.transaction() as session:
                session.connection().execute(
                    update(Timer)
                    .where(Timer.id == bindparam("timer"))
                    .values(due_at=bindparam("due")),
                    [
                        {"timer": timer_id, "due": start + timedelta(seconds=index * step)}
                        for index, timer_id in enumerate(ids)
                    ],
                )
            wait_until_fired(db, ids, args.spread + 120)
            with db.transaction() as session:
                late = sorted(
                    (done - due).total_seconds()
                    for done, due in session.execute(
                        select(Timer.done_at, Timer.due_at).where(
                            Timer.id.in_(ids), Timer.done_at.is_not(None)
                        )
                    ).all()
                )
            burst, rate, cpu = fire_burst(db, workers, args.burst)
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait()
        db.dispose()
    p99 = late[int(len(late) * 0.99) - 1] if late else float("nan")
    print(
        f"postgresql: {len(late):,} of {args.due:,} timers fired among {args.pending:,} "
        f"pending; lateness median {statistics.median(late):.3f} s, p99 {p99:.3f} s, "
        f"worst {late[-1]:.3f} s ({args.workers} workers, 0.1 s idle interval)"
    )
    if burst:
        print(
            f"postgresql: a burst of {burst:,} timers due at once fired at {rate:,.0f} timers/s; "
            f"worker CPU {cpu * 1e3:.2f} ms per timer (firing and delivering its page)"
        )


def running(db: Database) -> int:
    """How many engines have registered (started up and connected)."""
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(EngineInstance)) or 0


def wait_until_running(db: Database, workers: list[subprocess.Popen[bytes]]) -> None:
    while running(db) < len(workers):
        if any(worker.poll() is not None for worker in workers):
            raise SystemExit("a worker exited")
        time.sleep(0.01)


def wait_until_fired(db: Database, ids: Sequence[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with db.transaction() as session:
            fired = (
                session.scalar(
                    select(func.count())
                    .select_from(Timer)
                    .where(Timer.id.in_(ids), Timer.done_at.is_not(None))
                )
                or 0
            )
        if fired == len(ids):
            return True
        time.sleep(0.1)
    return False


def cpu_seconds(pid: int) -> float:
    """A process's user and system CPU time so far, from /proc."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fire_burst(
    db: Database, workers: list[subprocess.Popen[bytes]], count: int
) -> tuple[int, float, float]:
    """Make `count` pending timers due now; (how many fired, timers/s, worker CPU s/timer)."""
    if not count:
        return 0, 0.0, 0.0
    time.sleep(1.0)  # let the workers finish delivering the lateness run's pages
    with db.transaction() as session:
        ids = session.scalars(
            select(Timer.id).where(Timer.done_at.is_(None)).order_by(Timer.id).limit(count)
        ).all()
    cpu = sum(cpu_seconds(w.pid) for w in workers)
    began = time.perf_counter()
    with db.transaction() as session:
        session.execute(update(Timer).where(Timer.id.in_(ids)).values(due_at=datetime.now(UTC)))
    if not wait_until_fired(db, ids, 600):
        raise SystemExit("the burst did not fire within 10 minutes")
    elapsed = time.perf_counter() - began
    # Their pages go out too (into the inbox, or bundled in the storm): count that CPU.
    time.sleep(1.0)
    cpu = sum(cpu_seconds(w.pid) for w in workers) - cpu
    return len(ids), len(ids) / elapsed, cpu / len(ids)


if __name__ == "__main__":
    main()
