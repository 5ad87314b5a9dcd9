"""Business-time arithmetic on a team's calendar: working days, hours, holidays, DST-safe.

Rules (the policy reference documents them for users):
- A start outside working hours first rolls forward to the next working-hours start.
- "N business days" steps over N working days and keeps the (rolled) local time of day.
- "N business hours" counts elapsed time inside working windows only.
- "N hours" / "N minutes" are elapsed wall-clock time.
- A day's working window runs from the first instant its clock reads the opening time to the
  first instant it reads the closing time: a wall time DST skips is read as the end of the gap,
  a repeated one as its first pass. A day whose window DST swallows whole is no working day.
- Business time that exactly uses up a window ends at its closing instant (17:00, not 09:00
  the next morning); that instant is not itself working time.
Arithmetic and comparison on instants are done in UTC: Python subtracts, adds and compares
aware datetimes that share a tzinfo in wall time, which is wrong across a DST change.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

from fireline.clock.wall import first_reading
from fireline.policy.schema import Calendar
from fireline.policy.targets import Target, TargetKind

HolidaySource = Callable[[int], Iterable[date]]

_YEARS_WITHOUT_WORK = 10


def country_holidays(
    country: str | None, subdivision: str | None, extra: Iterable[date]
) -> HolidaySource:
    """Holidays of one year: the `holidays` package's (observed days included) plus our own."""
    own = frozenset(extra)

    def of_year(year: int) -> Iterable[date]:
        days = set(d for d in own if d.year == year)
        if country is not None:
            days.update(holidays.country_holidays(country, subdiv=subdivision, years=year).keys())
        return days

    return of_year


class BusinessCalendar:
    """Working days and hours in one zone; immutable after construction, caches by year."""

    def __init__(
        self,
        zone: ZoneInfo,
        working_days: Iterable[int],
        start: time,
        end: time,
        holidays_of_year: HolidaySource,
    ) -> None:
        if end <= start:
            raise ValueError("working hours must end after they start")
        self.zone = zone
        self.working_days = frozenset(working_days)
        if not self.working_days:
            raise ValueError("a calendar needs at least one working day")
        self.start = start
        self.end = end
        self._holidays_of_year = holidays_of_year
        self._years: tuple[int, int] | None = None
        self._ordinals: list[int] = []
        self._windows: dict[date, tuple[datetime, datetime]] = {}

    @classmethod
    def from_policy(cls, calendar: Calendar) -> BusinessCalendar:
        rules = calendar.holidays
        return cls(
            ZoneInfo(calendar.timezone),
            (day.weekday for day in calendar.working_days),
            calendar.working_hours.start,
            calendar.working_hours.end,
            country_holidays(rules.country, rules.subdivision, rules.dates),
        )

    # -- working days -----------------------------------------------------------------------

    def _ensure_years(self, first: int, last: int) -> None:
        if self._years is not None and self._years[0] <= first and last <= self._years[1]:
            return
        low = first if self._years is None else min(first, self._years[0])
        high = last if self._years is None else max(last, self._years[1])
        ordinals: list[int] = []
        for year in range(low, high + 1):
            off = set(self._holidays_of_year(year))
            day = date(year, 1, 1)
            while day.year == year:
                if day.weekday() in self.working_days and day not in off and self._has_work(day):
                    ordinals.append(day.toordinal())
                day += timedelta(days=1)
        self._years = (low, high)
        self._ordinals = ordinals

    def _has_work(self, day: date) -> bool:
        opens, closes = self._window(day)
        return opens < closes

    def is_working_day(self, day: date) -> bool:
        """A weekday the team works, not a holiday, whose working hours DST has not skipped."""
        self._ensure_years(day.year, day.year)
        index = bisect_left(self._ordinals, day.toordinal())
        return index < len(self._ordinals) and self._ordinals[index] == day.toordinal()

    def _working_day_after(self, day: date, steps: int) -> date:
        """The working day `steps` working days after `day` (0: `day` itself or the next one)."""
        ordinal = day.toordinal()
        for grow in range(_YEARS_WITHOUT_WORK + 1):
            self._ensure_years(day.year, day.year + 1 + grow + steps // 200)
            index = bisect_left(self._ordinals, ordinal) + steps
            if index < len(self._ordinals):
                return date.fromordinal(self._ordinals[index])
        raise ValueError(f"no working day within {_YEARS_WITHOUT_WORK} years of {day}")

    def working_days_between(self, first: date, last: date) -> int:
        """How many working days lie in [first, last)."""
        self._ensure_years(first.year, last.year)
        return bisect_left(self._ordinals, last.toordinal()) - bisect_left(
            self._ordinals, first.toordinal()
        )

    # -- instants ---------------------------------------------------------------------------

    def local(self, day: date, at: time) -> datetime:
        """The first instant of `day` at which the zone's clock reads `at` or later.

        That is `day` at `at` when the time exists (its first pass when DST repeats it); a time
        skipped by DST becomes the end of the gap, so later wall times never map to earlier
        instants (working hours from 02:30 open at 03:00 on the day 02:00 jumps to 03:00).
        """
        return self._first_reading(day, at).astimezone(self.zone)

    def _first_reading(self, day: date, at: time) -> datetime:
        return first_reading(day, at, self.zone)

    def _window(self, day: date) -> tuple[datetime, datetime]:
        """The working window of `day` as UTC instants, [opens, closes); empty if DST ate it."""
        window = self._windows.get(day)
        if window is None:
            # Memoised: every due-by reads a few windows, and a day's window never changes.
            opens = self._first_reading(day, self.start)
            window = self._windows[day] = (opens, max(opens, self._first_reading(day, self.end)))
        return window

    def _windows_from(self, day: date) -> Iterator[tuple[date, datetime, datetime]]:
        """Every working day from `day` on, with its window, in order."""
        while True:
            day = self._working_day_after(day, 0)
            opens, closes = self._window(day)
            yield day, opens, closes
            day += timedelta(days=1)

    def working_windows(
        self, first: datetime, last: datetime
    ) -> Iterator[tuple[datetime, datetime]]:
        """Working windows (UTC) that overlap [first, last), clipped to it."""
        begin, end = first.astimezone(UTC), last.astimezone(UTC)
        for _, opens, closes in self._windows_from(first.astimezone(self.zone).date()):
            if opens >= end:
                return
            if closes > begin:
                yield max(opens, begin), min(closes, end)

    def is_working_time(self, instant: datetime) -> bool:
        day = instant.astimezone(self.zone).date()
        if not self.is_working_day(day):
            return False
        opens, closes = self._window(day)
        return opens <= instant.astimezone(UTC) < closes

    def next_working_start(self, instant: datetime) -> datetime:
        """`instant` itself if inside working hours, else the start of the next working window."""
        at = instant.astimezone(UTC)
        for _, opens, closes in self._windows_from(instant.astimezone(self.zone).date()):
            if at < closes:
                return max(at, opens).astimezone(self.zone)
        raise AssertionError("unreachable: working days never run out")  # pragma: no cover

    def add_business_days(self, instant: datetime, days: int) -> datetime:
        """`days` working days after the rolled start, at its local time of day (see `local`).

        A start in the second pass of a repeated hour can read earlier than the opening time
        (02:00 CET after a window opened at 02:01 CEST); it lands on the target day's opening.
        """
        if days < 0:
            raise ValueError("business days are counted forward only")
        begin = self.next_working_start(instant)
        if days == 0:
            return begin
        target_day = self._working_day_after(begin.date(), days)
        opens, _ = self._window(target_day)
        return max(self._first_reading(target_day, begin.time()), opens).astimezone(self.zone)

    def add_business_time(self, instant: datetime, amount: timedelta) -> datetime:
        """Count `amount` of time inside working windows only.

        Time that exactly uses up a window ends at its closing instant (8 business hours from
        09:00 are due at 17:00), which is not itself working time.
        """
        if amount < timedelta(0):
            raise ValueError("business time is counted forward only")
        at = instant.astimezone(UTC)
        remaining = amount
        for _, opens, closes in self._windows_from(instant.astimezone(self.zone).date()):
            if at >= closes:
                continue
            begin = max(at, opens)
            if remaining <= closes - begin:
                return (begin + remaining).astimezone(self.zone)
            remaining -= closes - begin
        raise AssertionError("unreachable: working days never run out")  # pragma: no cover

    def business_time_between(self, first: datetime, last: datetime) -> timedelta:
        """Working time elapsed in [first, last): what a paused clock gives back."""
        total = timedelta(0)
        # In UTC: two times of one zone compare by wall clock, blind to a fold (01:30 after a
        # clock went back would read as before 01:59 of the hour before it).
        if last.astimezone(UTC) > first.astimezone(UTC):
            for opens, closes in self.working_windows(first, last):
                total += closes - opens
        return total

    def due_by(self, target: Target, start: datetime) -> datetime:
        """When a target that starts counting at `start` falls due, in the calendar's zone."""
        if target.kind is TargetKind.immediately:
            return start.astimezone(self.zone)
        if target.kind is TargetKind.business_days:
            return self.add_business_days(start, target.amount)
        if target.kind is TargetKind.business_hours:
            return self.add_business_time(start, timedelta(hours=target.amount))
        span = (
            timedelta(hours=target.amount)
            if target.kind is TargetKind.hours
            else timedelta(minutes=target.amount)
        )
        return (start.astimezone(UTC) + span).astimezone(self.zone)

    def extend_for_pause(
        self, target: Target, due: datetime, paused_at: datetime, resumed_at: datetime
    ) -> datetime:
        """Move a due-by later by the time its clock stood still, in the target's own units."""
        if target.kind is TargetKind.immediately:
            return due.astimezone(self.zone)
        if target.kind in (TargetKind.hours, TargetKind.minutes):
            paused = resumed_at.astimezone(UTC) - paused_at.astimezone(UTC)
            return (due.astimezone(UTC) + paused).astimezone(self.zone)
        return self.add_business_time(due, self.business_time_between(paused_at, resumed_at))
