"""Where an alert's CPU goes: `fireline serve` taking alerts from the load generator, with
the CPU of each process (the server, its intake writer, PostgreSQL's backends) and the
machine's idle share read from /proc over the run.

    .venv/bin/python benchmarks/intake_cpu.py [--database postgresql] [--kind unique]
        [--alerts 15000] [--connections 32]

Set FIRELINE_INTAKE_WRITER=thread to measure the writer as a thread of the server, and
FIRELINE_INTAKE_WRITERS=N for N writer processes (default 1).
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from intake import alert_requests, free_port, prepare, serve, writer_ready
from loadgen import closed_loop
from machine import describe
from sqlalchemy import text
from tickets import postgres_url, sqlite_url

from fireline.store.db import Database


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0  # a backend that has just ended
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found]


def backends(url: str) -> list[int]:
    if not url.startswith("postgresql"):
        return []
    db = Database(url)
    with db.engine.connect() as connection:
        pids = connection.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
        ).scalars()
        found = list(pids)
    db.dispose()
    return found


def idle_and_total() -> tuple[int, int]:
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    return fields[3] + fields[4], sum(fields)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--kind", choices=["unique", "duplicate"], default="unique")
    parser.add_argument("--alerts", type=int, default=15000)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    print(describe())
    with postgres_url() if args.database == "postgresql" else sqlite_url() as url:
        key = prepare(url)
        port = free_port()
        server = serve(url, port)
        try:
            writer_ready(port, key)
            unique, duplicate = alert_requests(key)
            make = unique if args.kind == "unique" else (lambda n: duplicate)
            warm = asyncio.run(closed_loop(port, lambda n: unique(10**9 + n), 3000, 32))
            assert warm.statuses == {202: 3000}, warm.statuses
            writers = children(server.pid)
            processes = {"server": [server.pid], f"intake writers ({len(writers)})": writers}
            database = backends(url)
            before = {name: sum(map(cpu_seconds, pids)) for name, pids in processes.items()}
            database_before = sum(cpu_seconds(pid) for pid in database)
            idle_before, total_before = idle_and_total()
            result = asyncio.run(closed_loop(port, make, args.alerts, args.connections))
            idle_after, total_after = idle_and_total()
            print(f"{args.database}: {args.kind} alerts {result.summary()}")
            for name, pids in processes.items():
                spent = sum(map(cpu_seconds, pids)) - before[name]
                print(f"  {name}: {spent / args.alerts * 1e6:.0f} µs of CPU an alert")
            if database:
                spent = sum(cpu_seconds(pid) for pid in database) - database_before
                print(f"  PostgreSQL: {spent / args.alerts * 1e6:.0f} µs of CPU an alert")
            idle = (idle_after - idle_before) / (total_after - total_before)
            print(f"  machine idle: {idle:.0%}")
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
