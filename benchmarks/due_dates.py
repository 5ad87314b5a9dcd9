"""Due-date computations per second for business-day targets (Hail's calendar, US holidays).

.venv/bin/python benchmarks/due_dates.py [--count N]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

from machine import describe

from fireline.clock.business import BusinessCalendar
from fireline.policy.load import load_preset
from fireline.policy.targets import Target, TargetKind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200_000)
    args = parser.parse_args()
    policy = load_preset("hail")
    calendar = BusinessCalendar.from_policy(policy.calendar)
    generator = random.Random(7)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    # Starts spread over two years, at any minute of any day: nights, weekends and holidays.
    starts = [
        base + timedelta(minutes=generator.randrange(2 * 365 * 24 * 60)) for _ in range(args.count)
    ]
    print(describe())
    for target in (
        Target(TargetKind.business_days, 3),
        Target(TargetKind.business_days, 20),
        Target(TargetKind.business_hours, 8),
    ):
        calendar.due_by(target, starts[0])  # holiday tables for the years in play
        began = time.perf_counter()
        for start in starts:
            calendar.due_by(target, start)
        elapsed = time.perf_counter() - began
        print(
            f"due_by({target}): {args.count / elapsed:,.0f} computations/s "
            f"({elapsed / args.count * 1e6:.2f} µs each, {args.count:,} starts)"
        )


if __name__ == "__main__":
    main()
