"""Local wall-clock times as instants, with one rule for times DST skips or repeats."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=65536)  # hand-offs repeat: who-is-on-call asks the same ones again and again
def first_reading(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) of `day` at which `zone`'s clock reads `at` or later.

    That is `day` at `at` when the time exists (its first pass when DST repeats it); a time
    skipped by DST becomes the end of the gap, so later wall times never map to earlier
    instants (a 02:30 hand-off happens at 03:00 on the day 02:00 jumps to 03:00).
    """
    wall = datetime.combine(day, at.replace(fold=0))
    after = wall.replace(tzinfo=zone).astimezone(UTC)
    if after.astimezone(zone).replace(tzinfo=None) == wall:
        return after
    # Skipped: read with the offset before the gap `wall` lies after the change, read with
    # the offset after it lies before; the change itself is the gap's end.
    low = int(wall.replace(tzinfo=zone, fold=1).astimezone(UTC).timestamp())
    high = int(after.timestamp())
    offset_after = after.astimezone(zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == offset_after:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)
