"""Who is on call on 1,000 schedules at one instant, on SQLite and PostgreSQL.

Each schedule has a weekly primary and a daily secondary of five people, business hours on
the secondary, and an override; the figure is one `who_is_on_call` over all of them, through
the service layer (queries included), median and worst of 20 runs, and the median CPU time of
this process per call (`time.process_time`: what the call costs, whatever else the machine
runs; the database server's own time is not in it).

    .venv/bin/python benchmarks/oncall.py [--schedules N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

from machine import describe
from tickets import postgres_url, sqlite_url

from fireline.auth.actor import Role, Via
from fireline.auth.service import actor_for, add_user
from fireline.clock.now import ManualClock
from fireline.oncall.models import LayerRow, OverrideRow, ScheduleRow
from fireline.oncall.service import who_is_on_call
from fireline.orgs.service import create_organisation
from fireline.store.db import Database
from fireline.store.migrate import upgrade

START = datetime(2026, 1, 5, 14, tzinfo=UTC)


def prepare(db: Database, schedules: int) -> tuple[object, datetime]:
    clock = ManualClock(START)
    with db.transaction() as session:
        org = create_organisation(session, clock, "bench", "Bench")
        people = [
            add_user(session, clock, org.id, f"p{n}", f"P{n}", Role.responder).id for n in range(50)
        ]
        admin = actor_for(add_user(session, clock, org.id, "admin", "A", Role.admin), Via.api)
        for n in range(schedules):
            row = ScheduleRow(
                org_id=org.id,
                slug=f"s{n:04}",
                name=f"S{n}",
                timezone=["America/New_York", "Europe/Berlin", "UTC"][n % 3],
                created_at=START,
                updated_at=START,
            )
            session.add(row)
            session.flush()
            members = [people[(n + k) % 50] for k in range(5)]
            session.add_all(
                [
                    LayerRow(
                        schedule_id=row.id,
                        position=0,
                        name="primary",
                        member_ids=members,
                        rotation_start=START,
                        shift_unit="weeks",
                        shift_length=1,
                        business_hours_only=False,
                    ),
                    LayerRow(
                        schedule_id=row.id,
                        position=1,
                        name="secondary",
                        member_ids=members[::-1],
                        rotation_start=START,
                        shift_unit="days",
                        shift_length=1,
                        business_hours_only=True,
                    ),
                    OverrideRow(
                        schedule_id=row.id,
                        layer="primary",
                        user_id=people[n % 50],
                        starts_at=START + timedelta(days=n % 30),
                        ends_at=START + timedelta(days=n % 30 + 1),
                        reason="swap",
                        created_at=START,
                    ),
                ]
            )
    return admin, START + timedelta(days=17, hours=3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--schedules", type=int, default=1000)
    args = parser.parse_args()
    print(describe())
    for name, make_url in (("sqlite", sqlite_url), ("postgresql", postgres_url)):
        with make_url() as url:
            upgrade(url)
            db = Database(url)
            actor, at = prepare(db, args.schedules)
            who_is_on_call(db, actor, at)  # warm: calendars, statement caches
            times, cpu = [], []
            for run in range(20):
                began, began_cpu = time.perf_counter(), time.process_time()
                answers = who_is_on_call(db, actor, at + timedelta(minutes=run))
                times.append(time.perf_counter() - began)
                cpu.append(time.process_time() - began_cpu)
            assert len(answers) == args.schedules
            db.dispose()
        print(
            f"{name}: who is on call on {args.schedules:,} schedules: median "
            f"{statistics.median(times) * 1000:.1f} ms, worst {max(times) * 1000:.1f} ms; "
            f"CPU {statistics.median(cpu) * 1000:.1f} ms per call"
        )


if __name__ == "__main__":
    main()
