"""The intake's group commit without HTTP: the CPU one batch of alerts costs the writer, and
what it costs PostgreSQL, by batch size.

    .venv/bin/python benchmarks/intake_writer.py [--sizes 1,16,32,100] [--batches 100]

Each batch is one `accept_many` transaction, as the intake writer runs it (reusing what it
read of teams, policies and silences for a second): unique alerts
(each opens a ticket) or repeats of one alert (each a repeat of its open ticket).
PostgreSQL's CPU is read from /proc for the server processes of the benchmark's database.
The tables are analyzed after the warm-up, as the intake's statistics watch would have done
by then, and not again: psycopg prepares the lookup of open tickets after five runs, and
PostgreSQL may keep a plan made for the table as it was (a sequential scan) while it grows
tenfold. The server analyzes at each doubling, which re-plans it; the figures for new
tickets here overstate PostgreSQL's cost (pg_stat_statements: 4.1 ms a lookup at
3,500 tickets, 0.1 ms in the server).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from intake import prepare
from machine import describe
from sqlalchemy import text
from tickets import postgres_url, sqlite_url

from fireline.clock.now import SystemClock
from fireline.intake import service
from fireline.intake.alert import IncomingAlert
from fireline.intake.sources import generic
from fireline.intake.writer_process import RECALL_SECONDS
from fireline.store.db import Database


def server_cpu_seconds(db: Database) -> float:
    """CPU of this database's PostgreSQL backends so far (0 on SQLite)."""
    if db.dialect != "postgresql":
        return 0.0
    with db.engine.connect() as connection:
        pids = connection.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).scalars()
        ticks = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # a backend that has just ended
            ticks += int(fields[11]) + int(fields[12])
    return ticks / 100


def measure(name: str, url: str, size: int, batches: int, repeats: bool) -> None:
    key = prepare(url)
    db = Database(url, pre_ping=False)  # as the intake writer's
    clock = SystemClock()
    recall = service.Recall(seconds=RECALL_SECONDS)  # as the writer process reuses its reads
    source = service.source_for_key(db, key, "generic")
    made = 0

    def batch() -> list[tuple[service.Source, list[IncomingAlert]]]:
        nonlocal made
        requests = []
        for _ in range(size):
            made += 1
            dedup = "the same" if repeats else f"u{made}"
            body = {"title": f"alert {made}", "service": "hub", "dedup_key": dedup}
            requests.append((source, generic.parse(body)))
        return requests

    for _ in range(20):
        service.accept_many(db, clock, batch(), recall)
    if db.dialect == "postgresql":
        with db.engine.connect() as connection:
            connection.execute(text("ANALYZE tickets, alerts"))
            connection.commit()
    prepared = [batch() for _ in range(batches)]
    server_before = server_cpu_seconds(db)
    began, cpu_began = time.perf_counter(), time.process_time()
    for requests in prepared:
        service.accept_many(db, clock, requests, recall)
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    server = server_cpu_seconds(db) - server_before
    alerts = size * batches
    kind = "repeats" if repeats else "unique"
    postgres = f", PostgreSQL {server / alerts * 1e6:.0f} µs" if db.dialect == "postgresql" else ""
    print(
        f"{name}: {kind} in batches of {size}: {wall / batches * 1000:.2f} ms a batch; "
        f"per alert {wall / alerts * 1e6:.0f} µs wall, writer CPU {cpu / alerts * 1e6:.0f} µs"
        f"{postgres}"
    )
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1,16,32,100")
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    print(describe())
    for size in (int(s) for s in args.sizes.split(",")):
        for repeats in (False, True):
            if args.database in ("sqlite", "both"):
                with sqlite_url() as url:
                    measure("sqlite", url, size, args.batches, repeats)
            if args.database in ("postgresql", "both"):
                with postgres_url() as url:
                    measure("postgresql", url, size, args.batches, repeats)


if __name__ == "__main__":
    main()
