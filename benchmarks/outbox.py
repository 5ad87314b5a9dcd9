"""Outbox delivery throughput to a local webhook receiver, on PostgreSQL, with two
`fireline worker` processes (this machine has two cores). Prints the rate from starting the
workers (their start-up included, as the first figures were taken) and from when all were
running, with the workers' CPU time per page over the latter (their own /proc times).

    .venv/bin/python benchmarks/outbox.py [--pages N] [--workers W]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from machine import describe
from receiver import webhook_receiver
from sqlalchemy import func, select
from tickets import postgres_url
from timers import cpu_seconds, wait_until_running

from fireline.auth.actor import Role
from fireline.auth.service import add_user
from fireline.clock.now import SystemClock
from fireline.notify.models import ContactMethod, NotificationRule, OutboxMessage
from fireline.notify.outbox import Page, enqueue
from fireline.orgs.service import create_organisation
from fireline.store.db import Database
from fireline.store.migrate import upgrade


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(describe())
    with postgres_url() as database, webhook_receiver() as (url, received):
        upgrade(database)
        db = Database(database)
        clock = SystemClock()
        now = datetime.now(UTC)
        with db.transaction() as session:
            org = create_organisation(session, clock, "bench", "Bench")
            # Many people, so storm control (per person and method) stays out of the figure.
            users = [
                add_user(session, clock, org.id, f"u{n}", "U", Role.responder)
                for n in range(args.pages // 5 + 1)
            ]
            for user in users:
                method = ContactMethod(
                    user_id=user.id, name="hook", kind="webhook", target=url, created_at=now
                )
                session.add(method)
                session.flush()
                session.add(
                    NotificationRule(user_id=user.id, contact_method_id=method.id, delay_seconds=0)
                )
            for n in range(args.pages):
                enqueue(
                    session,
                    now,
                    Page(org.id, users[n // 5].id, f"bench.{n}", f"page {n}", "body", None, None),
                )
        env = {
            **os.environ,
            "FIRELINE_DATABASE_URL": database,
            "FIRELINE_ENGINE_INTERVAL": "0.05",
            "FIRELINE_ENGINE_BATCH": "200",
        }
        fireline = str(Path(sys.executable).with_name("fireline"))
        began = time.perf_counter()
        workers = [
            subprocess.Popen([fireline, "worker"], env=env, stdout=subprocess.DEVNULL)
            for _ in range(args.workers)
        ]
        try:
            wait_until_running(db, workers)  # all started up (imports are slow)
            first, cpu = time.perf_counter(), sum(cpu_seconds(w.pid) for w in workers)
            before = received.value
            while True:
                with db.transaction() as session:
                    sent = (
                        session.scalar(
                            select(func.count())
                            .select_from(OutboxMessage)
                            .where(OutboxMessage.status == "sent")
                        )
                        or 0
                    )
                if sent >= args.pages:
                    break
                time.sleep(0.1)
            done = time.perf_counter()
            cpu = sum(cpu_seconds(w.pid) for w in workers) - cpu
            elapsed = done - began
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait()
            db.dispose()
    after_first = args.pages - before
    print(
        f"postgresql: {args.pages:,} webhook deliveries by {args.workers} workers in "
        f"{elapsed:.1f} s: {args.pages / elapsed:,.0f} notifications/s "
        f"(receiver counted {received.value:,}); once all were running "
        f"{after_first / (done - first):,.0f}/s, worker CPU {cpu / after_first * 1e6:,.0f} µs "
        "per page"
    )


if __name__ == "__main__":
    main()
