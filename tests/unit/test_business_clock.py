"""Business-time arithmetic, case by case: each row is a rule of the clock written as an example.

Unless a table says otherwise the calendar is Hail's: America/New_York, Monday to Friday,
09:00-17:00, US federal holidays (observed days included).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from fireline.clock.business import BusinessCalendar, country_holidays
from fireline.policy.load import load_preset, parse_policy, preset_text
from fireline.policy.targets import Target, TargetKind, parse_target

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = (0, 1, 2, 3, 4)
EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)


def calendar(
    zone: ZoneInfo = NEW_YORK,
    days: Iterable[int] = WEEKDAYS,
    start: str = "09:00",
    end: str = "17:00",
    country: str | None = "US",
    subdivision: str | None = None,
    extra: Iterable[date] = (),
) -> BusinessCalendar:
    return BusinessCalendar(
        zone,
        days,
        time.fromisoformat(start),
        time.fromisoformat(end),
        country_holidays(country, subdivision, extra),
    )


def at(text: str, zone: ZoneInfo = NEW_YORK, fold: int = 0) -> datetime:
    """A wall time in `zone`, e.g. at("2026-11-25 10:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=zone, fold=fold)


def target(text: str) -> Target:
    parsed = parse_target(text)
    assert isinstance(parsed, Target)
    return parsed


def same_instant(actual: datetime, expected: datetime) -> None:
    """Equal as instants, expressed in the expected zone, with the expected UTC offset."""
    assert actual.tzinfo is not None
    assert actual.astimezone(UTC) == expected.astimezone(UTC), (actual, expected)
    assert actual.tzinfo == expected.tzinfo, (actual.tzinfo, expected.tzinfo)
    assert actual.utcoffset() == expected.utcoffset(), (actual, expected)


HAIL = calendar()


# -- the example the policy reference gives -----------------------------------------------------


def test_p2_opened_before_thanksgiving_is_due_next_tuesday() -> None:
    hail = BusinessCalendar.from_policy(load_preset("hail").calendar)
    p2 = load_preset("hail").level("P2")
    assert p2.response is not None
    due = hail.due_by(p2.response, at("2026-11-25 10:00"))
    same_instant(due, at("2026-12-01 10:00"))


def test_p3_opened_on_a_monday_is_resolved_within_twenty_business_days() -> None:
    # Nov 2027 has Veterans Day (Thu 11th) and Thanksgiving (Thu 25th) to step over.
    hail = BusinessCalendar.from_policy(load_preset("hail").calendar)
    p3 = load_preset("hail").level("P3")
    assert p3.resolution is not None
    due = hail.due_by(p3.resolution, at("2027-11-01 10:00"))
    same_instant(due, at("2027-12-01 10:00"))


# -- rolling forward to the next working-hours start ---------------------------------------------


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        pytest.param("2027-01-11 09:00", "2027-01-11 09:00", id="window-opening-is-working-time"),
        pytest.param("2027-01-11 12:34", "2027-01-11 12:34", id="inside-the-window-stays"),
        pytest.param("2027-01-11 16:59:59", "2027-01-11 16:59:59", id="last-second-stays"),
        pytest.param("2027-01-11 08:59", "2027-01-11 09:00", id="early-morning-same-day"),
        pytest.param("2027-01-11 00:00", "2027-01-11 09:00", id="midnight-same-day"),
        pytest.param("2027-01-11 17:00", "2027-01-12 09:00", id="window-end-is-not-working"),
        pytest.param("2027-01-11 21:15", "2027-01-12 09:00", id="evening-next-morning"),
        pytest.param("2027-01-08 17:30", "2027-01-11 09:00", id="friday-evening-to-monday"),
        pytest.param("2027-01-09 12:00", "2027-01-11 09:00", id="saturday-to-monday"),
        pytest.param("2027-01-10 23:59", "2027-01-11 09:00", id="sunday-night-to-monday"),
        pytest.param("2026-11-25 18:30", "2026-11-27 09:00", id="thanksgiving-eve-to-friday"),
        pytest.param("2026-11-26 10:00", "2026-11-27 09:00", id="thanksgiving-day-itself"),
        pytest.param("2026-12-24 17:30", "2026-12-28 09:00", id="christmas-eve-evening"),
        pytest.param("2027-12-23 20:00", "2027-12-27 09:00", id="christmas-observed-friday"),
        pytest.param("2027-12-30 17:00", "2028-01-03 09:00", id="new-year-observed-in-december"),
        pytest.param("2027-07-02 18:00", "2027-07-06 09:00", id="independence-day-observed-monday"),
        pytest.param("2027-03-12 18:00", "2027-03-15 09:00", id="weekend-with-spring-dst"),
        pytest.param("2027-11-05 18:00", "2027-11-08 09:00", id="weekend-with-autumn-dst"),
    ],
)
def test_start_outside_working_hours_rolls_forward_to_next_window(
    start: str, expected: str
) -> None:
    same_instant(HAIL.next_working_start(at(start)), at(expected))


def test_rolled_start_is_expressed_in_the_calendar_zone_whatever_the_input_zone() -> None:
    # 13:30 UTC on a January Monday is 08:30 in New York: half an hour before the window.
    rolled = HAIL.next_working_start(datetime(2027, 1, 11, 13, 30, tzinfo=UTC))
    same_instant(rolled, at("2027-01-11 09:00"))
    inside = HAIL.next_working_start(datetime(2027, 1, 11, 15, 0, tzinfo=UTC))
    same_instant(inside, at("2027-01-11 10:00"))


@pytest.mark.parametrize(
    ("instant", "working"),
    [
        ("2027-01-11 09:00", True),
        ("2027-01-11 16:59", True),
        ("2027-01-11 17:00", False),
        ("2027-01-11 08:59", False),
        ("2027-01-09 12:00", False),  # Saturday
        ("2027-01-18 12:00", False),  # Martin Luther King Jr. Day
        ("2027-12-24 12:00", False),  # Christmas observed on the Friday
        ("2027-12-31 12:00", False),  # New Year's Day 2028 observed on the Friday before
    ],
)
def test_is_working_time(instant: str, working: bool) -> None:
    assert HAIL.is_working_time(at(instant)) is working


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 11, 25), True),
        (date(2026, 11, 26), False),  # Thanksgiving
        (date(2026, 11, 27), True),  # the day after is not a federal holiday
        (date(2027, 1, 9), False),  # Saturday
        (date(2027, 6, 18), False),  # Juneteenth observed
        (date(2028, 12, 25), False),
    ],
)
def test_is_working_day(day: date, working: bool) -> None:
    assert HAIL.is_working_day(day) is working


# -- business days -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        pytest.param("2027-01-11 10:00", 1, "2027-01-12 10:00", id="monday-plus-one"),
        pytest.param("2027-01-08 10:00", 1, "2027-01-11 10:00", id="friday-plus-one-is-monday"),
        pytest.param("2027-01-11 10:00", 5, "2027-01-19 10:00", id="week-over-mlk-day"),
        pytest.param("2026-11-25 10:00", 3, "2026-12-01 10:00", id="over-thanksgiving"),
        pytest.param("2026-11-25 16:59", 1, "2026-11-27 16:59", id="thanksgiving-keeps-time"),
        pytest.param("2026-12-23 15:00", 2, "2026-12-28 15:00", id="over-christmas"),
        pytest.param("2026-12-31 11:00", 1, "2027-01-04 11:00", id="over-new-year"),
        pytest.param("2027-12-23 10:00", 1, "2027-12-27 10:00", id="christmas-observed"),
        pytest.param("2027-12-23 10:00", 5, "2028-01-03 10:00", id="both-observed-fridays"),
        pytest.param("2027-01-09 14:00", 1, "2027-01-12 09:00", id="saturday-rolls-then-counts"),
        pytest.param("2027-01-11 18:00", 1, "2027-01-13 09:00", id="evening-rolls-then-counts"),
        pytest.param("2027-01-11 07:00", 1, "2027-01-12 09:00", id="early-rolls-to-opening"),
        pytest.param("2027-01-09 14:00", 0, "2027-01-11 09:00", id="zero-days-only-rolls"),
        pytest.param("2027-03-12 10:00", 1, "2027-03-15 10:00", id="over-spring-dst"),
        pytest.param("2027-11-05 10:00", 1, "2027-11-08 10:00", id="over-autumn-dst"),
    ],
)
def test_business_days_step_over_working_days_keeping_the_local_time(
    start: str, days: int, expected: str
) -> None:
    same_instant(HAIL.add_business_days(at(start), days), at(expected))


def test_business_days_across_dst_keep_wall_time_not_elapsed_time() -> None:
    before = at("2027-03-12 10:00")
    after = HAIL.add_business_days(before, 1)
    assert after.utcoffset() == timedelta(hours=-4)
    # Friday 10:00 EST to Monday 10:00 EDT is one hour short of three days.
    assert after.astimezone(UTC) - before.astimezone(UTC) == timedelta(days=3, hours=-1)


# -- business hours ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        pytest.param("2027-01-11 10:00", 2, "2027-01-11 12:00", id="inside-one-window"),
        pytest.param("2027-01-11 09:00", 8, "2027-01-11 17:00", id="exactly-one-window"),
        pytest.param("2027-01-11 09:00", 16, "2027-01-12 17:00", id="exactly-two-windows"),
        pytest.param("2027-01-11 16:00", 8, "2027-01-12 16:00", id="overnight"),
        pytest.param("2027-01-11 20:00", 1, "2027-01-12 10:00", id="evening-start-rolls"),
        pytest.param("2027-01-08 16:00", 2, "2027-01-11 10:00", id="over-a-weekend"),
        pytest.param("2027-01-09 12:00", 3, "2027-01-11 12:00", id="weekend-start-rolls"),
        pytest.param("2027-01-15 16:30", 1, "2027-01-19 09:30", id="over-weekend-and-mlk"),
        pytest.param("2026-11-25 15:00", 4, "2026-11-27 11:00", id="over-thanksgiving"),
        pytest.param("2027-03-12 16:00", 3, "2027-03-15 11:00", id="over-spring-dst-weekend"),
        pytest.param("2027-01-11 10:00", 40, "2027-01-19 10:00", id="a-working-week-and-mlk"),
    ],
)
def test_business_hours_count_only_time_inside_working_windows(
    start: str, hours: int, expected: str
) -> None:
    due = HAIL.due_by(Target(TargetKind.business_hours, hours), at(start))
    same_instant(due, at(expected))


def test_zero_business_time_from_outside_hours_is_the_next_window_start() -> None:
    same_instant(
        HAIL.add_business_time(at("2027-01-09 12:00"), timedelta(0)), at("2027-01-11 09:00")
    )


def test_business_time_is_counted_forward_only() -> None:
    with pytest.raises(ValueError, match="forward"):
        HAIL.add_business_time(at("2027-01-11 10:00"), timedelta(minutes=-1))


# -- wall-clock hours and minutes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "start", "text", "expected"),
    [
        pytest.param(NEW_YORK, "2027-03-13 12:00", "24 hours", "2027-03-14 13:00", id="ny-spring"),
        pytest.param(NEW_YORK, "2027-11-06 12:00", "24 hours", "2027-11-07 11:00", id="ny-autumn"),
        pytest.param(NEW_YORK, "2027-03-14 01:30", "1 hour", "2027-03-14 03:30", id="ny-gap"),
        pytest.param(
            NEW_YORK, "2027-03-14 01:59", "2 minutes", "2027-03-14 03:01", id="ny-gap-min"
        ),
        pytest.param(
            BERLIN, "2027-03-27 12:00", "24 hours", "2027-03-28 13:00", id="berlin-spring"
        ),
        pytest.param(
            BERLIN, "2027-10-30 12:00", "24 hours", "2027-10-31 11:00", id="berlin-autumn"
        ),
        pytest.param(BERLIN, "2027-03-28 01:50", "20 minutes", "2027-03-28 03:10", id="berlin-gap"),
        pytest.param(NEW_YORK, "2027-01-09 12:00", "4 hours", "2027-01-09 16:00", id="no-rolling"),
        pytest.param(NEW_YORK, "2027-12-24 23:00", "90 minutes", "2027-12-25 00:30", id="holiday"),
    ],
)
def test_hours_and_minutes_are_elapsed_wall_clock_time_across_dst(
    zone: ZoneInfo, start: str, text: str, expected: str
) -> None:
    clock = calendar(zone=zone, country=None)
    same_instant(clock.due_by(target(text), at(start, zone)), at(expected, zone))


def test_hours_through_the_repeated_autumn_hour_land_on_the_second_pass() -> None:
    # 01:30 EDT plus one hour is 01:30 again, now EST: one real hour later.
    due = HAIL.due_by(target("1 hour"), at("2027-11-07 01:30", fold=0))
    assert due.astimezone(UTC) == datetime(2027, 11, 7, 6, 30, tzinfo=UTC)
    assert (due.hour, due.minute, due.utcoffset()) == (1, 30, timedelta(hours=-5))


def test_immediately_is_due_at_the_start_even_outside_working_hours() -> None:
    start = datetime(2027, 1, 9, 17, 0, tzinfo=UTC)  # Saturday noon in New York
    same_instant(HAIL.due_by(target("immediately"), start), at("2027-01-09 12:00"))


# -- a window that contains a DST change ---------------------------------------------------------

# 01:00-05:00 in Berlin, every day: on Sun 2027-03-28 02:00 CET jumps to 03:00 CEST, so the
# window holds three real hours; on Sun 2027-10-31 03:00 CEST falls back to 02:00 CET, five.
NIGHT_SHIFT = calendar(zone=BERLIN, days=EVERY_DAY, start="01:00", end="05:00", country=None)


@pytest.mark.parametrize(
    ("day", "hours"),
    [
        pytest.param("2027-03-27", 4, id="ordinary-saturday"),
        pytest.param("2027-03-28", 3, id="spring-forward-sunday"),
        pytest.param("2027-10-31", 5, id="fall-back-sunday"),
    ],
)
def test_a_window_holds_the_real_time_between_its_wall_clock_bounds(day: str, hours: int) -> None:
    begin = at(f"{day} 00:00", BERLIN)
    assert NIGHT_SHIFT.business_time_between(begin, begin + timedelta(hours=12)) == timedelta(
        hours=hours
    )


@pytest.mark.parametrize(
    ("start", "hours", "expected", "fold"),
    [
        pytest.param("2027-03-28 01:00", 3, "2027-03-28 05:00", 0, id="spring-fills-window"),
        pytest.param("2027-03-28 01:00", 4, "2027-03-29 02:00", 0, id="spring-spills-over"),
        pytest.param("2027-03-28 01:30", 1, "2027-03-28 03:30", 0, id="spring-through-gap"),
        pytest.param("2027-10-31 01:00", 2, "2027-10-31 02:00", 1, id="autumn-second-two"),
        pytest.param("2027-10-31 01:00", 5, "2027-10-31 05:00", 0, id="autumn-fills-window"),
        pytest.param("2027-10-31 01:00", 6, "2027-11-01 02:00", 0, id="autumn-spills-over"),
    ],
)
def test_business_hours_through_a_window_with_a_dst_change(
    start: str, hours: int, expected: str, fold: int
) -> None:
    due = NIGHT_SHIFT.add_business_time(at(start, BERLIN), timedelta(hours=hours))
    same_instant(due, at(expected, BERLIN, fold))


def test_time_inside_the_skipped_hour_of_a_working_window_is_working_time() -> None:
    # 01:30 UTC on the spring Sunday reads 03:30 CEST: inside 01:00-05:00.
    assert NIGHT_SHIFT.is_working_time(datetime(2027, 3, 28, 1, 30, tzinfo=UTC))
    # 03:30 UTC on the autumn Sunday reads 04:30 CET: still inside.
    assert NIGHT_SHIFT.is_working_time(datetime(2027, 10, 31, 3, 30, tzinfo=UTC))
    # 04:00 UTC on the autumn Sunday reads 05:00 CET: the window has closed.
    assert not NIGHT_SHIFT.is_working_time(datetime(2027, 10, 31, 4, 0, tzinfo=UTC))


def test_a_business_day_onto_a_skipped_wall_time_lands_when_the_clock_first_reads_it() -> None:
    # Saturday 02:30 plus one business day is Sunday 02:30, which Berlin skips: the clock first
    # shows 02:30 or later at 03:00 CEST, the end of the gap.
    due = NIGHT_SHIFT.add_business_days(at("2027-03-27 02:30", BERLIN), 1)
    same_instant(due, at("2027-03-28 03:00", BERLIN))
    # A later Saturday start must not give an earlier Sunday due-by.
    later = NIGHT_SHIFT.add_business_days(at("2027-03-27 03:10", BERLIN), 1)
    same_instant(later, at("2027-03-28 03:10", BERLIN))


def test_a_window_opening_inside_the_gap_opens_when_the_gap_ends() -> None:
    # New York skips 02:00-03:00 on 2027-03-14; a window from 02:30 opens at 03:00 EDT.
    early = calendar(days=EVERY_DAY, start="02:30", end="06:00", country=None)
    same_instant(early.next_working_start(at("2027-03-14 00:00")), at("2027-03-14 03:00"))
    assert early.business_time_between(at("2027-03-14 00:00"), at("2027-03-14 12:00")) == timedelta(
        hours=3
    )


# -- holidays of the policy's own and of a subdivision -------------------------------------------


def hail_text_with(holiday_lines: str) -> str:
    """Hail's preset with extra lines under `calendar.holidays`."""
    text = preset_text("hail")
    marker = "    country: US\n"
    assert marker in text
    return text.replace(marker, marker + holiday_lines)


def test_policy_own_holiday_dates_are_skipped_with_the_country_ones() -> None:
    policy = parse_policy(hail_text_with("    dates: [2027-07-02, 2027-12-30]\n"), "own-days.yaml")
    own = BusinessCalendar.from_policy(policy.calendar)
    assert not own.is_working_day(date(2027, 7, 2))
    # Thu 16:00 + 2 business hours: Fri 2 is ours, Mon 5 is Independence Day observed.
    same_instant(
        own.add_business_time(at("2027-07-01 16:00"), timedelta(hours=2)), at("2027-07-06 10:00")
    )
    # Wed 29 + 1 business day: Thu 30 is ours, Fri 31 observes New Year's Day 2028.
    same_instant(own.add_business_days(at("2027-12-29 11:00"), 1), at("2028-01-03 11:00"))
    # Without our own days the same calendar works on both.
    assert HAIL.is_working_day(date(2027, 7, 2))
    assert HAIL.is_working_day(date(2027, 12, 30))


def test_own_holiday_dates_work_without_a_country() -> None:
    own = calendar(country=None, extra=[date(2027, 1, 12)])
    same_instant(own.add_business_days(at("2027-01-11 10:00"), 1), at("2027-01-13 10:00"))
    assert own.is_working_day(date(2027, 1, 18))  # no country: MLK Day is a working day


@pytest.mark.parametrize(
    ("subdivision", "due"),
    [
        pytest.param("BY", "2027-01-07 12:00", id="bavaria-keeps-epiphany"),
        pytest.param("BE", "2027-01-06 12:00", id="berlin-works-on-epiphany"),
    ],
)
def test_subdivision_holidays_differ_within_a_country(subdivision: str, due: str) -> None:
    german = calendar(zone=BERLIN, country="DE", subdivision=subdivision)
    same_instant(german.add_business_days(at("2027-01-05 12:00", BERLIN), 1), at(due, BERLIN))


def test_subdivision_holiday_is_a_working_day_elsewhere() -> None:
    bavaria = calendar(zone=BERLIN, country="DE", subdivision="BY")
    berlin = calendar(zone=BERLIN, country="DE", subdivision="BE")
    assert not bavaria.is_working_day(date(2027, 1, 6))
    assert berlin.is_working_day(date(2027, 1, 6))
    assert bavaria.is_working_day(date(2027, 3, 8))
    assert not berlin.is_working_day(date(2027, 3, 8))  # International Women's Day


# -- business_time_between -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        pytest.param("2027-01-11 10:15", "2027-01-11 11:45", timedelta(minutes=90), id="within"),
        pytest.param("2027-01-11 08:00", "2027-01-11 18:00", timedelta(hours=8), id="whole-day"),
        pytest.param("2027-01-11 16:00", "2027-01-12 10:00", timedelta(hours=2), id="overnight"),
        pytest.param("2027-01-08 16:00", "2027-01-11 10:00", timedelta(hours=2), id="weekend"),
        pytest.param("2027-01-09 08:00", "2027-01-10 20:00", timedelta(0), id="all-weekend"),
        pytest.param("2026-11-25 16:00", "2026-11-27 10:00", timedelta(hours=2), id="thanksgiving"),
        pytest.param("2027-01-04 00:00", "2027-01-11 00:00", timedelta(hours=40), id="a-week"),
        pytest.param("2027-03-08 00:00", "2027-03-15 00:00", timedelta(hours=40), id="dst-week"),
        pytest.param("2027-01-11 12:00", "2027-01-11 12:00", timedelta(0), id="empty"),
        pytest.param("2027-01-11 12:00", "2027-01-11 10:00", timedelta(0), id="backwards"),
    ],
)
def test_business_time_between_counts_working_time_in_the_half_open_span(
    first: str, last: str, expected: timedelta
) -> None:
    assert HAIL.business_time_between(at(first), at(last)) == expected


# -- extend_for_pause ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "due", "paused", "resumed", "expected"),
    [
        pytest.param(
            "3 business days",
            "2027-01-13 15:00",
            "2027-01-11 16:00",
            "2027-01-12 11:00",
            "2027-01-14 10:00",
            id="business-days-move-by-working-time-paused",
        ),
        pytest.param(
            "8 business hours",
            "2027-01-12 15:00",
            "2027-01-11 16:00",
            "2027-01-12 11:00",
            "2027-01-13 10:00",
            id="business-hours-move-by-working-time-paused",
        ),
        pytest.param(
            "2 business days",
            "2027-01-12 15:00",
            "2027-01-09 08:00",
            "2027-01-10 20:00",
            "2027-01-12 15:00",
            id="pause-over-a-weekend-moves-nothing",
        ),
        pytest.param(
            "24 hours",
            "2027-03-13 20:00",
            "2027-03-13 23:00",
            "2027-03-14 05:00",
            "2027-03-14 01:00",
            id="wall-clock-moves-by-real-time-over-spring-dst",
        ),
        pytest.param(
            "30 minutes",
            "2027-01-09 12:30",
            "2027-01-09 12:10",
            "2027-01-09 12:25",
            "2027-01-09 12:45",
            id="minutes-move-on-a-saturday",
        ),
        pytest.param(
            "immediately",
            "2027-01-11 10:00",
            "2027-01-11 10:00",
            "2027-01-12 10:00",
            "2027-01-11 10:00",
            id="immediately-never-moves",
        ),
    ],
)
def test_extend_for_pause_moves_due_by_in_the_targets_own_units(
    text: str, due: str, paused: str, resumed: str, expected: str
) -> None:
    extended = HAIL.extend_for_pause(target(text), at(due), at(paused), at(resumed))
    same_instant(extended, at(expected))


# -- construction --------------------------------------------------------------------------------


def test_working_hours_must_end_after_they_start() -> None:
    with pytest.raises(ValueError, match="end after"):
        calendar(start="17:00", end="09:00")


def test_a_calendar_needs_a_working_day() -> None:
    with pytest.raises(ValueError, match="working day"):
        calendar(days=())


def test_a_calendar_with_no_working_day_for_years_says_so() -> None:
    mondays = [date(2027, 1, 4) + timedelta(weeks=w) for w in range(800)]
    closed = calendar(days=(0,), country=None, extra=mondays)
    assert calendar(days=(0,), country=None).is_working_day(date(2027, 1, 4))
    with pytest.raises(ValueError, match="no working day"):
        closed.next_working_start(at("2027-01-01 12:00"))


def test_the_repeated_autumn_hour_after_a_window_closed_is_not_working_time() -> None:
    # A 00:30-01:30 window on 2027-11-07 closes at 01:30 EDT (05:30 UTC). An hour later the
    # clock reads 01:15 again (EST, 06:15 UTC): the window has closed, so ten business minutes
    # from then are ten minutes into the next day's window, not 55 minutes.
    night = calendar(days=EVERY_DAY, start="00:30", end="01:30", country=None)
    second_pass = at("2027-11-07 01:15", fold=1)
    assert second_pass.astimezone(UTC) == datetime(2027, 11, 7, 6, 15, tzinfo=UTC)
    assert not night.is_working_time(second_pass)
    same_instant(night.next_working_start(second_pass), at("2027-11-08 00:30"))
    same_instant(
        night.add_business_time(second_pass, timedelta(minutes=10)), at("2027-11-08 00:40")
    )
    assert night.business_time_between(second_pass, at("2027-11-08 00:40")) == timedelta(minutes=10)


def test_business_time_between_counts_across_a_fold_in_utc() -> None:
    """Lord Howe's clocks go back half an hour at 02:00 on 2025-04-06: one second after
    01:59:59 (daylight time) reads 01:30:00 (standard time), still inside a 00:00-02:00
    window, and one second of business time has passed (found by hypothesis)."""
    zone = ZoneInfo("Australia/Lord_Howe")
    sundays = calendar(zone, days=(6,), start="00:00", end="02:00", country=None)
    start = datetime(2025, 4, 6, 1, 59, 59, tzinfo=zone)
    due = sundays.add_business_time(start, timedelta(seconds=1))
    assert (due.hour, due.minute, due.fold) == (1, 30, 1)
    assert sundays.business_time_between(start, due) == timedelta(seconds=1)
