"""Instructions an alert costs the server and its intake writer, counted by valgrind's
callgrind: the same figure whatever else the machine is doing, where CPU seconds on this
machine wander by a third from hour to hour. For comparing two versions of the code.

    .venv/bin/python benchmarks/intake_instructions.py [--database sqlite] [--kind unique]
        [--alerts 2000] [--connections 32]

`fireline serve` and its writer run under callgrind with counting off while they start and
take a warm-up; counting is on for the measured alerts only. Under valgrind the server is
some fifty times slower, so the writer's batches are larger than at full speed: its figure
is per alert at that batch size. PostgreSQL's own work is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from intake import FIRELINE, alert_requests, answers, free_port, prepare, writer_ready
from loadgen import closed_loop
from machine import describe
from tickets import postgres_url, sqlite_url


def callgrind(pids: list[int], *command: str) -> None:
    for pid in pids:
        subprocess.run(["callgrind_control", *command, str(pid)], check=True, capture_output=True)


def counted(dump: Path) -> int:
    """The instructions in a callgrind dump (its `totals:` line, at the end)."""
    for line in reversed(dump.read_text().splitlines()):
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise ValueError(f"no totals in {dump}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--kind", choices=["unique", "duplicate"], default="unique")
    parser.add_argument("--alerts", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    print(describe())
    with (
        postgres_url() if args.database == "postgresql" else sqlite_url() as url,
        tempfile.TemporaryDirectory() as out,
    ):
        key = prepare(url)
        port = free_port()
        server = subprocess.Popen(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                "--trace-children=yes",
                f"--callgrind-out-file={out}/callgrind.%p",
                FIRELINE,
                "serve",
                "--no-engine",
                "--port",
                str(port),
            ],
            env={**os.environ, "FIRELINE_DATABASE_URL": url},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            if not answers(f"http://127.0.0.1:{port}/health", seconds=300):
                raise RuntimeError("fireline serve did not come up under valgrind")
            writer_ready(port, key, seconds=300)
            unique, duplicate = alert_requests(key)
            make = unique if args.kind == "unique" else (lambda n: duplicate)
            warm = asyncio.run(closed_loop(port, lambda n: unique(10**9 + n), 500, 32))
            assert warm.statuses == {202: 500}, warm.statuses
            writers = [
                int(p)
                for p in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
            ]
            processes = {"server": [server.pid], f"intake writers ({len(writers)})": writers}
            pids = [pid for group in processes.values() for pid in group]
            callgrind(pids, "-z")
            callgrind(pids, "-i", "on")
            result = asyncio.run(closed_loop(port, make, args.alerts, args.connections))
            assert result.statuses == {202: args.alerts}, result.statuses
            callgrind(pids, "-i", "off")
            callgrind(pids, "-d")
            print(
                f"{args.database}: {args.kind} alerts, {args.alerts:,} over "
                f"{args.connections} connections"
            )
            for name, group in processes.items():
                total = sum(
                    counted(dump)
                    for pid in group
                    for dump in Path(out).glob(f"callgrind.{pid}.*")  # the dumps asked for
                )
                print(f"  {name}: {total / args.alerts / 1e6:.3f} M instructions an alert")
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
