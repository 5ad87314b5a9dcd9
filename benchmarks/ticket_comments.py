"""A ticket that an alert storm commented on: reading it through the service layer (as
`GET /api/v1/tickets/{id}` and its page do), on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/ticket_comments.py [--comments 100000] [--database both]

In a storm each of the intake's batches comments once on the ticket its repeats join:
hundreds of occurrence comments a second. The ticket is opened by the service, its comments
go in as the intake writes them (`copy_rows`), then it is read 20 times: the median and
worst time, and the size of its JSON.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

from machine import describe
from tickets import postgres_url, prepare, sqlite_url

from fireline.clock.now import SystemClock
from fireline.store.bulk import copy_rows
from fireline.store.db import Database
from fireline.store.migrate import upgrade
from fireline.tickets.models import Comment
from fireline.tickets.schemas import NewTicket
from fireline.tickets.service import get_ticket, open_ticket


def measure(name: str, url: str, comments: int) -> None:
    upgrade(url)
    db = Database(url)
    actor = prepare(db)
    new = NewTicket(team="hail", title="storm", priority="P2")
    ticket = open_ticket(db, SystemClock(), actor, new)
    start = datetime(2026, 11, 28, tzinfo=UTC)
    for first in range(0, comments, 10_000):
        rows = [
            {
                "ticket_id": ticket.id,
                "author_id": None,
                "body": f"Occurrence {n + 2} at {start + timedelta(milliseconds=4 * n)} "
                f"(16 since the last comment): https://sentry.example/issues/1/events/{n}",
                "via": "integration",
                "created_at": start + timedelta(milliseconds=4 * n),
            }
            for n in range(first, min(first + 10_000, comments))
        ]
        with db.transaction() as session:
            copy_rows(session, Comment, rows)
    times, size = [], 0
    for _ in range(20):
        began = time.perf_counter()
        view = get_ticket(db, actor, ticket.id)
        size = len(view.model_dump_json())
        times.append(time.perf_counter() - began)
    print(
        f"{name}: a ticket with {comments:,} comments read in {statistics.median(times) * 1000:.1f}"
        f" ms (median of 20; worst {max(times) * 1000:.1f} ms), {len(view.comments)} comments "
        f"shown, its JSON {size / 1024:,.0f} KiB"
    )
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    print(describe())
    if args.database in ("sqlite", "both"):
        with sqlite_url() as url:
            measure("sqlite", url, args.comments)
    if args.database in ("postgresql", "both"):
        with postgres_url() as url:
            measure("postgresql", url, args.comments)


if __name__ == "__main__":
    main()
