"""Properties of the business clock over zones, calendars, holiday sets and instants (2025-2030).

The oracle for "is this a day off" is built here from the generated weekdays and holidays, not
read back from the calendar under test.

Where a result may sit: windows are half-open, [opening, closing). A due-by that uses up exactly
the working time left in a window is that window's closing instant (8 business hours from 09:00
are due at 17:00, not at 09:00 next morning), so `add_business_time` returns either working time
or a window's closing edge. The same holds for `add_business_days` in one corner: when the kept
time of day and the window's end both fall in the same DST gap, the kept time is read as the
first instant the clock shows it, which is also when the window closes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
from dst_transitions import FIRST, LAST, transitions
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fireline.clock.business import BusinessCalendar, country_holidays

ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",  # DST moves the clock by 30 minutes
    "Asia/Kolkata",  # no DST, +05:30
    "Pacific/Chatham",  # +12:45 / +13:45, changes at 02:45 local
    "America/Sao_Paulo",  # no DST since 2019
    "UTC",
]
TICK = timedelta(microseconds=1)

PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Case:
    zone: ZoneInfo
    working_days: frozenset[int]
    start: time
    end: time
    days_off: frozenset[date]
    calendar: BusinessCalendar

    def is_day_off(self, day: date) -> bool:
        return day.weekday() not in self.working_days or day in self.days_off

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.zone)

    def window(self, day: date) -> tuple[datetime, datetime]:
        """The day's working window in UTC, from the first instant the clock reads `start` or
        later to the first it reads `end` or later (empty when one DST gap swallows both)."""
        return first_reading(self.zone, day, self.start), first_reading(self.zone, day, self.end)

    def has_work(self, day: date) -> bool:
        opens, closes = self.window(day)
        return not self.is_day_off(day) and opens < closes


def first_reading(zone: ZoneInfo, day: date, wall: time) -> datetime:
    """The first instant at which the clock in `zone` reads `wall` or later on `day` (UTC)."""
    naive = datetime.combine(day, wall)
    if exists(zone, day, wall):
        return naive.replace(tzinfo=zone).astimezone(UTC)
    # Skipped by DST: walk minute by minute from three hours before (zones change on whole minutes).
    instant = (naive - timedelta(hours=3)).replace(tzinfo=zone).astimezone(UTC)
    instant = instant.replace(second=0, microsecond=0)
    while instant.astimezone(zone).replace(tzinfo=None) < naive:
        instant += timedelta(minutes=1)
    return instant


def minute_of_day() -> st.SearchStrategy[int]:
    # Uniform minutes, plus the small hours where the sampled zones change their clocks.
    near_changes = [0, 60, 90, 100, 120, 135, 150, 165, 180, 200, 210, 225, 240, 300]
    return st.one_of(st.integers(0, 24 * 60 - 1), st.sampled_from(near_changes))


@st.composite
def cases(draw: st.DrawFn) -> Case:
    zone_name = draw(st.sampled_from(ZONES))
    zone = ZoneInfo(zone_name)
    working_days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    first, second = draw(minute_of_day()), draw(minute_of_day())
    assume(first != second)
    low, high = sorted((first, second))
    start, end = time(low // 60, low % 60), time(high // 60, high % 60)
    own = draw(st.frozensets(st.dates(date(2025, 1, 1), date(2031, 12, 31)), max_size=40))
    country = draw(st.sampled_from([None, None, "US", "DE"]))
    days_off = set(own)
    if country is not None:
        days_off.update(holidays.country_holidays(country, years=range(2025, 2033)).keys())
    calendar = BusinessCalendar(
        zone, working_days, start, end, country_holidays(country, None, own)
    )
    return Case(zone, working_days, start, end, frozenset(days_off), calendar)


@st.composite
def instants(draw: st.DrawFn, case: Case) -> datetime:
    """An instant in 2025-2030: uniform, or within a day of one of the zone's DST changes."""
    changes = transitions(str(case.zone))
    if changes and draw(st.booleans()):
        change = draw(st.sampled_from(changes))
        offset = draw(st.integers(-86_400, 86_400))
        instant = change + timedelta(seconds=offset)
    else:
        instant = draw(st.datetimes(FIRST.replace(tzinfo=None), LAST.replace(tzinfo=None)))
        instant = instant.replace(tzinfo=UTC)
    # Express it in the calendar's zone or in UTC: the instant is what counts.
    return instant.astimezone(draw(st.sampled_from([case.zone, UTC])))


@st.composite
def case_and_instant(draw: st.DrawFn) -> tuple[Case, datetime]:
    case = draw(cases())
    return case, draw(instants(case))


durations = st.integers(0, 60 * 60 * 60).map(lambda seconds: timedelta(seconds=seconds))
day_counts = st.integers(0, 30)


def utc(instant: datetime) -> datetime:
    """Compare and shift instants in UTC only: Python compares and adds datetimes that share a
    tzinfo in wall time, and never finds a time in a repeated hour equal to another zone's."""
    return instant.astimezone(UTC)


def in_working_time_or_closing_edge(case: Case, instant: datetime) -> bool:
    return case.calendar.is_working_time(instant) or case.calendar.is_working_time(
        utc(instant) - TICK
    )


def assert_in_zone(case: Case, instant: datetime) -> None:
    assert isinstance(instant.tzinfo, ZoneInfo)
    assert instant.tzinfo.key == case.zone.key


def assert_on_a_working_day(case: Case, instant: datetime) -> None:
    day = case.local(instant).date()
    assert not case.is_day_off(day), (instant, day)
    assert case.has_work(day), (instant, day)


# -- next_working_start ---------------------------------------------------------------------------


@PROPERTY
@given(case_and_instant())
def test_next_working_start_is_the_first_working_instant_not_before_the_start(
    pair: tuple[Case, datetime],
) -> None:
    case, start = pair
    rolled = case.calendar.next_working_start(start)
    assert_in_zone(case, rolled)
    assert utc(rolled) >= utc(start)
    assert case.calendar.is_working_time(rolled)
    assert_on_a_working_day(case, rolled)
    # Nothing between the start and the rolled start is working time.
    assert case.calendar.business_time_between(start, rolled) == timedelta(0)
    if case.calendar.is_working_time(start):
        assert utc(rolled) == utc(start)


@PROPERTY
@given(case_and_instant())
def test_next_working_start_is_idempotent(pair: tuple[Case, datetime]) -> None:
    case, start = pair
    rolled = case.calendar.next_working_start(start)
    again = case.calendar.next_working_start(rolled)
    assert utc(again) == utc(rolled)
    assert again.utcoffset() == rolled.utcoffset()


@PROPERTY
@given(case_and_instant())
def test_working_time_agrees_with_the_oracle(pair: tuple[Case, datetime]) -> None:
    case, instant = pair
    day = case.local(instant).date()
    assert case.calendar.is_working_day(day) is case.has_work(day)
    opens, closes = case.window(day)
    expected = case.has_work(day) and opens <= utc(instant) < closes
    assert case.calendar.is_working_time(instant) is expected


# -- business time ------------------------------------------------------------------------------


@PROPERTY
@given(case_and_instant(), durations)
def test_business_time_lands_in_working_time_or_on_a_closing_edge(
    pair: tuple[Case, datetime], amount: timedelta
) -> None:
    case, start = pair
    due = case.calendar.add_business_time(start, amount)
    assert_in_zone(case, due)
    assert utc(due) >= utc(start)
    assert in_working_time_or_closing_edge(case, due)
    assert_on_a_working_day(case, due)
    if amount == timedelta(0):
        assert utc(due) == utc(case.calendar.next_working_start(start))


@PROPERTY
@given(case_and_instant(), durations)
def test_business_time_between_undoes_add_business_time(
    pair: tuple[Case, datetime], amount: timedelta
) -> None:
    case, start = pair
    due = case.calendar.add_business_time(start, amount)
    assert case.calendar.business_time_between(start, due) == amount


@PROPERTY
@given(case_and_instant(), durations, durations)
def test_business_time_adds_up_through_an_intermediate_inside_a_window(
    pair: tuple[Case, datetime], first: timedelta, second: timedelta
) -> None:
    case, start = pair
    middle = case.calendar.add_business_time(start, first)
    # From a closing edge, adding nothing rolls to the next opening; adding more agrees.
    assume(case.calendar.is_working_time(middle) or second > timedelta(0))
    whole = case.calendar.add_business_time(start, first + second)
    assert utc(whole) == utc(case.calendar.add_business_time(middle, second))


@PROPERTY
@given(case_and_instant(), st.integers(0, 10 * 86_400), durations)
def test_business_time_is_monotone_in_the_start(
    pair: tuple[Case, datetime], later_by: int, amount: timedelta
) -> None:
    case, start = pair
    later = utc(start) + timedelta(seconds=later_by)
    calendar = case.calendar
    assert utc(calendar.add_business_time(start, amount)) <= utc(
        calendar.add_business_time(later, amount)
    )


@PROPERTY
@given(case_and_instant(), durations, durations)
def test_business_time_is_monotone_in_the_amount(
    pair: tuple[Case, datetime], first: timedelta, second: timedelta
) -> None:
    case, start = pair
    small, large = sorted((first, second))
    calendar = case.calendar
    assert utc(calendar.add_business_time(start, small)) <= utc(
        calendar.add_business_time(start, large)
    )


@PROPERTY
@given(case_and_instant(), case_and_instant())
def test_business_time_between_is_additive_over_a_split(
    pair: tuple[Case, datetime], other: tuple[Case, datetime]
) -> None:
    case, one = pair
    two = other[1]
    first, last = sorted((utc(one), utc(two)))
    middle = first + (last - first) / 3
    between = case.calendar.business_time_between
    total = between(first, last)
    assert total == between(first, middle) + between(middle, last)
    assert timedelta(0) <= total <= last - first


# -- business days ------------------------------------------------------------------------------


@PROPERTY
@given(case_and_instant(), day_counts)
def test_business_days_step_over_n_working_days_keeping_the_local_time(
    pair: tuple[Case, datetime], days: int
) -> None:
    case, start = pair
    begin = case.local(case.calendar.next_working_start(start))
    due = case.calendar.add_business_days(start, days)
    assert_in_zone(case, due)
    assert_on_a_working_day(case, due)
    assert in_working_time_or_closing_edge(case, due)
    local = case.local(due)
    # Exactly `days` working days lie in [begin's day, due's day), by the oracle.
    stepped = 0
    day = begin.date()
    while day < local.date():
        stepped += case.has_work(day)
        day += timedelta(days=1)
    assert stepped == days
    if days == 0:
        assert utc(due) == utc(begin)
        return
    # Same wall time of day; where DST skips it, the first instant the clock shows it; and
    # never before the window opens (a start in a repeated hour can read earlier than that).
    wall = begin.time().replace(fold=0)
    opens, _ = case.window(local.date())
    assert utc(due) == max(first_reading(case.zone, local.date(), wall), opens)
    if exists(case.zone, local.date(), wall) and wall >= case.start:
        assert local.time().replace(fold=0) == wall


def exists(zone: ZoneInfo, day: date, wall: time) -> bool:
    naive = datetime.combine(day, wall)
    return naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive


@PROPERTY
@given(case_and_instant(), day_counts, day_counts)
def test_business_days_are_monotone_in_n(
    pair: tuple[Case, datetime], first: int, second: int
) -> None:
    case, start = pair
    fewer, more = sorted((first, second))
    early = case.calendar.add_business_days(start, fewer)
    late = case.calendar.add_business_days(start, more)
    assert utc(early) <= utc(late)
    if fewer < more:
        assert case.local(early).date() < case.local(late).date()


@PROPERTY
@given(case_and_instant(), st.integers(0, 10 * 86_400), day_counts)
def test_business_days_are_monotone_in_the_start(
    pair: tuple[Case, datetime], later_by: int, days: int
) -> None:
    case, start = pair
    later = utc(start) + timedelta(seconds=later_by)
    begin_early = case.local(case.calendar.next_working_start(start))
    begin_late = case.local(case.calendar.next_working_start(later))
    # The one exception the rule allows: both roll into the repeated autumn hour of one day and
    # the later start reads an earlier wall time (01:15 EST after 01:45 EDT).
    assume(
        begin_early.date() != begin_late.date()
        or begin_early.time().replace(fold=0) <= begin_late.time().replace(fold=0)
    )
    early = case.calendar.add_business_days(start, days)
    assert utc(early) <= utc(case.calendar.add_business_days(later, days))


@PROPERTY
@given(case_and_instant(), st.integers(1, 40 * 60))
def test_wall_clock_minutes_are_elapsed_time(pair: tuple[Case, datetime], minutes: int) -> None:
    from fireline.policy.targets import Target, TargetKind

    case, start = pair
    due = case.calendar.due_by(Target(TargetKind.minutes, minutes), start)
    assert_in_zone(case, due)
    assert utc(due) - utc(start) == timedelta(minutes=minutes)
