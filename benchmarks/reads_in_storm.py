"""Reads through the API during an alert storm: `GET /api/v1/tickets?limit=20` every 50 ms
from one client, first on a quiet server, then while a bounded load generator sends new
alerts over 32 connections to a real `fireline serve` (its intake writer in a process of
its own).

    .venv/bin/python benchmarks/reads_in_storm.py [--database sqlite] [--alerts 30000]

On SQLite the intake's writer holds the one write lock nearly all the time in a storm: a
read that took it too waited between the writer's batches, and held the writer off.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
import urllib.request

from intake import alert_requests, free_port, prepare, serve, writer_ready
from loadgen import closed_loop
from machine import describe
from sqlalchemy import select
from tickets import postgres_url, sqlite_url

from fireline.auth.models import User
from fireline.auth.service import issue_token
from fireline.clock.now import SystemClock
from fireline.store.db import Database

READ_EVERY_SECONDS = 0.05


def reader_token(url: str) -> str:
    db = Database(url)
    with db.transaction() as session:
        user = session.scalars(select(User)).first()
        assert user is not None
        token = issue_token(session, SystemClock(), user, "reader").token
    db.dispose()
    return token


def describe_reads(name: str, milliseconds: list[float]) -> str:
    ordered = sorted(milliseconds)
    return (
        f"{name}: {len(ordered)} reads, p50 {ordered[len(ordered) // 2]:.1f} ms, "
        f"p90 {ordered[int(len(ordered) * 0.9)]:.1f} ms, worst {ordered[-1]:.1f} ms"
    )


def measure(database: str, url: str, alerts: int) -> None:
    key = prepare(url)
    token = reader_token(url)
    port = free_port()
    server = serve(url, port)
    try:
        writer_ready(port, key)
        took: list[float] = []
        stop = threading.Event()

        def read_again_and_again() -> None:
            ask = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/tickets?limit=20",
                headers={"Authorization": f"Bearer {token}"},
            )
            while not stop.is_set():
                began = time.perf_counter()
                urllib.request.urlopen(ask, timeout=30).read()
                took.append((time.perf_counter() - began) * 1000)
                time.sleep(READ_EVERY_SECONDS)

        reader = threading.Thread(target=read_again_and_again)
        reader.start()
        time.sleep(3)
        quiet, took[:] = list(took), []
        make, _ = alert_requests(key)
        storm = asyncio.run(closed_loop(port, make, alerts, 32))
        stop.set()
        reader.join()
        print(describe_reads(f"{database}, quiet", quiet))
        print(describe_reads(f"{database}, in the storm", took))
        print(f"{database}: the storm, {storm.summary()}")
    finally:
        server.kill()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--alerts", type=int, default=30000)
    args = parser.parse_args()
    print(describe())
    with sqlite_url() if args.database == "sqlite" else postgres_url() as url:
        measure(args.database, url, args.alerts)


if __name__ == "__main__":
    main()
