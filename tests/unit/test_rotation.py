"""Who is on call, case by case: each row is a rule of rotations, overrides, absences and duty
hours written as an example.

Seeds: 001 (Caseflow prod squad: a primary and a secondary, "The secondary person takes over
whenever the primary is not available ... PTO, a midday appointment", "only needs to be done
during business hours"), 002 (2i2c: respect working hours, roles are handed off), 003
(Openverse: the lead is the week's MSR runner unless it is outside their working hours; then
someone who has not led recently).

Instants in the tables are written in UTC next to the local reading they stand for.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from fireline.clock.business import BusinessCalendar
from fireline.oncall.lead import Candidate, choose_lead
from fireline.oncall.rotation import (
    RESPONDER,
    Absence,
    Deactivation,
    Layer,
    Override,
    Reason,
    Rotation,
    Schedule,
    ScheduleError,
    ShiftUnit,
    Span,
    check_schedule,
    spans,
    who_is_on_call,
)
from fireline.policy.load import load_preset

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")
SYDNEY = ZoneInfo("Australia/Sydney")
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0, fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK, fold=fold)


def rotation(
    start: datetime,
    unit: ShiftUnit = ShiftUnit.weeks,
    length: int = 1,
    zone: ZoneInfo = NEW_YORK,
    members: tuple[str, ...] = ("ana", "ben", "cy"),
) -> Rotation:
    return Rotation(members, start, unit, length, zone)


def caseflow_calendar() -> BusinessCalendar:
    return BusinessCalendar.from_policy(load_preset("caseflow").calendar)


# Caseflow's prod squad (seed 001): a weekly pair handed over on Monday 09:00 New York time.
SQUAD_START = ny(2026, 11, 2, 9)  # Monday
PRIMARY = rotation(SQUAD_START, members=("ana", "ben"))
SECONDARY = rotation(SQUAD_START, members=("cy", "dee"))


def prod_squad(
    *,
    overrides: tuple[Override, ...] = (),
    absences: tuple[Absence, ...] = (),
    fallback: str | None = None,
    business_hours_only: bool = False,
) -> Schedule:
    return Schedule(
        "prod-squad",
        NEW_YORK,
        (
            Layer("primary", PRIMARY, business_hours_only),
            Layer("secondary", SECONDARY, business_hours_only),
        ),
        overrides,
        absences,
        fallback,
        caseflow_calendar(),
    )


# -- hand-offs ---------------------------------------------------------------------------------


HANDOFFS = [
    pytest.param(
        rotation(utc(2027, 3, 8, 14)),  # Monday 09:00 EST
        1,
        utc(2027, 3, 15, 13),  # Monday 09:00 EDT
        id="weekly-new-york-monday-0900-after-spring-forward-is-0900-edt",
    ),
    pytest.param(
        rotation(utc(2027, 11, 1, 13)),  # Monday 09:00 EDT
        1,
        utc(2027, 11, 8, 14),  # Monday 09:00 EST
        id="weekly-new-york-monday-0900-after-fall-back-is-0900-est",
    ),
    pytest.param(
        rotation(utc(2027, 3, 1, 14), length=2),
        1,
        utc(2027, 3, 15, 13),
        id="two-weekly-new-york-keeps-0900-across-spring-forward",
    ),
    pytest.param(
        rotation(utc(2027, 3, 26, 1, 30), ShiftUnit.days, zone=BERLIN),  # Fri 02:30 CET
        1,
        utc(2027, 3, 27, 1, 30),  # Sat 02:30 CET
        id="daily-berlin-0230-on-an-ordinary-day",
    ),
    pytest.param(
        rotation(utc(2027, 3, 26, 1, 30), ShiftUnit.days, zone=BERLIN),
        2,
        utc(2027, 3, 28, 1),  # Sun 03:00 CEST: 02:30 does not exist, the gap ends at 03:00
        id="daily-berlin-0230-on-spring-forward-day-is-0300-cest",
    ),
    pytest.param(
        rotation(utc(2027, 3, 26, 1, 30), ShiftUnit.days, zone=BERLIN),
        3,
        utc(2027, 3, 29, 0, 30),  # Mon 02:30 CEST
        id="daily-berlin-0230-the-day-after-spring-forward-is-0230-cest",
    ),
    pytest.param(
        rotation(utc(2027, 10, 29, 0, 30), ShiftUnit.days, zone=BERLIN),  # Fri 02:30 CEST
        2,
        utc(2027, 10, 31, 0, 30),  # Sun: the first 02:30 (CEST), not the second (CET)
        id="daily-berlin-0230-on-fall-back-day-is-the-first-0230",
    ),
    pytest.param(
        rotation(utc(2027, 3, 13, 7, 30), ShiftUnit.days),  # Sat 02:30 EST
        1,
        utc(2027, 3, 14, 7),  # Sun 03:00 EDT
        id="daily-new-york-0230-on-spring-forward-day-is-0300-edt",
    ),
    pytest.param(
        rotation(utc(2027, 11, 6, 5, 30), ShiftUnit.days),  # Sat 01:30 EDT
        1,
        utc(2027, 11, 7, 5, 30),  # Sun: the first 01:30 (EDT)
        id="daily-new-york-0130-on-fall-back-day-is-the-first-0130",
    ),
    pytest.param(
        rotation(utc(2027, 11, 6, 5, 30), ShiftUnit.days),
        2,
        utc(2027, 11, 8, 6, 30),  # Mon 01:30 EST
        id="daily-new-york-0130-the-day-after-fall-back-is-0130-est",
    ),
    pytest.param(
        rotation(utc(2027, 10, 29, 7), ShiftUnit.days, length=2, zone=BERLIN),  # Fri 09:00 CEST
        1,
        utc(2027, 10, 31, 8),  # Sun 09:00 CET: 49 elapsed hours, two days on the wall
        id="two-day-berlin-0900-across-fall-back",
    ),
    pytest.param(
        rotation(utc(2027, 3, 14, 1), ShiftUnit.hours, length=12),  # Sat 20:00 EST
        1,
        utc(2027, 3, 14, 13),  # Sun 09:00 EDT: twelve elapsed hours, not 08:00
        id="twelve-hour-new-york-counts-elapsed-hours-across-spring-forward",
    ),
    pytest.param(
        rotation(utc(2027, 11, 7, 0), ShiftUnit.hours, length=12),  # Sat 20:00 EDT
        1,
        utc(2027, 11, 7, 12),  # Sun 07:00 EST
        id="twelve-hour-new-york-counts-elapsed-hours-across-fall-back",
    ),
    pytest.param(
        rotation(utc(2027, 3, 27, 23), ShiftUnit.hours, zone=BERLIN),  # Sun 00:00 CET
        23,
        utc(2027, 3, 28, 22),  # Mon 00:00 CEST: the spring-forward day holds 23 hourly shifts
        id="hourly-berlin-spring-forward-day-holds-23-shifts",
    ),
    pytest.param(
        rotation(utc(2027, 10, 30, 22), ShiftUnit.hours, zone=BERLIN),  # Sun 00:00 CEST
        25,
        utc(2027, 10, 31, 23),  # Mon 00:00 CET: the fall-back day holds 25 hourly shifts
        id="hourly-berlin-fall-back-day-holds-25-shifts",
    ),
    pytest.param(
        rotation(utc(2027, 3, 14, 5), ShiftUnit.hours),  # Sun 00:00 EST
        24,
        utc(2027, 3, 15, 5),  # Mon 01:00 EDT: 24 shifts are 24 hours, 25 on the wall
        id="hourly-new-york-24-shifts-after-midnight-end-at-0100-next-day",
    ),
]


@pytest.mark.parametrize(("rot", "index", "expected"), HANDOFFS)
def test_handoff_happens_at_the_local_wall_clock_time(
    rot: Rotation, index: int, expected: datetime
) -> None:
    assert rot.handoff(index) == expected
    assert rot.shift_index(expected) == index
    assert rot.shift_index(expected - timedelta(microseconds=1)) == index - 1


def test_first_handoff_is_the_start() -> None:
    start = ny(2027, 3, 8, 9)
    assert rotation(start).handoff(0) == start


def test_rotation_starting_on_the_second_pass_of_a_repeated_hour_starts_then() -> None:
    # 01:30 EST on 2027-11-07 is the second 01:30 of the night; shift 0 begins at `start`,
    # not an hour earlier at the first 01:30.
    start = ny(2027, 11, 7, 1, 30, fold=1)
    rot = rotation(start, ShiftUnit.days)
    assert rot.handoff(0) == utc(2027, 11, 7, 6, 30)
    assert rot.shift_index(utc(2027, 11, 7, 6, 29)) is None
    shift = rot.shift_at(start)
    assert shift is not None and shift.starts == utc(2027, 11, 7, 6, 30)
    assert rot.handoff(1) == utc(2027, 11, 8, 6, 30)  # Mon 01:30 EST


PEOPLE = [
    pytest.param(utc(2027, 3, 8, 14), "ana", id="at-the-start-the-first-member"),
    pytest.param(utc(2027, 3, 15, 12, 59), "ana", id="0859-edt-still-the-first-week"),
    pytest.param(utc(2027, 3, 15, 13), "ben", id="0900-edt-the-second-member"),
    pytest.param(utc(2027, 3, 22, 13), "cy", id="the-third-week-the-third-member"),
    pytest.param(utc(2027, 3, 29, 13), "ana", id="the-fourth-week-wraps-to-the-first"),
    pytest.param(utc(2028, 3, 6, 14), "ben", id="a-year-on-52-shifts-later"),
]


# A daily 01:30 New York rotation from Saturday 2027-11-06: Sunday's hand-off is the first
# 01:30 (EDT); the second 01:30 (EST) an hour later is still Sunday's shift.
NIGHTLY = [
    pytest.param(utc(2027, 11, 7, 5, 29), 0, id="0129-edt-saturdays-shift"),
    pytest.param(utc(2027, 11, 7, 5, 30), 1, id="first-0130-sundays-shift"),
    pytest.param(utc(2027, 11, 7, 6, 10), 1, id="0110-est-after-the-handoff-still-sundays"),
    pytest.param(utc(2027, 11, 7, 6, 30), 1, id="second-0130-still-sundays"),
    pytest.param(utc(2027, 11, 8, 6, 29), 1, id="monday-0129-est-still-sundays"),
    pytest.param(utc(2027, 11, 8, 6, 30), 2, id="monday-0130-est-mondays-shift"),
]


@pytest.mark.parametrize(("at", "index"), NIGHTLY)
def test_a_repeated_hour_does_not_hand_off_twice(at: datetime, index: int) -> None:
    rot = rotation(ny(2027, 11, 6, 1, 30), ShiftUnit.days)
    assert rot.shift_index(at) == index
    assert rot.shift_index(at.astimezone(NEW_YORK)) == index


@pytest.mark.parametrize(("at", "person"), PEOPLE)
def test_the_person_on_duty_takes_turns_in_member_order(at: datetime, person: str) -> None:
    rot = rotation(utc(2027, 3, 8, 14))
    shift = rot.shift_at(at)
    assert shift is not None
    assert shift.person == person
    assert shift.starts <= at < shift.ends


def test_before_the_start_there_is_no_shift() -> None:
    rot = rotation(utc(2027, 3, 8, 14))
    before = utc(2027, 3, 8, 13, 59)
    assert rot.shift_index(before) is None
    assert rot.shift_at(before) is None
    schedule = Schedule("s", NEW_YORK, (Layer("primary", rot),))
    answer = who_is_on_call(schedule, before)
    assert answer.duties[0].reason is Reason.not_started
    assert answer.duties[0].person is None
    assert answer.responder is None
    assert answer.reason is Reason.nobody


def test_a_rotation_shift_lasts_at_least_one_unit() -> None:
    with pytest.raises(ScheduleError) as error:
        rotation(utc(2027, 3, 8, 14), length=0)
    assert error.value.field == "length"


def test_a_rotation_starts_at_an_aware_instant() -> None:
    with pytest.raises(ScheduleError) as error:
        rotation(datetime(2027, 3, 8, 9))
    assert error.value.field == "start"


# -- overrides and absences --------------------------------------------------------------------


def test_a_layer_override_wins_on_that_layer_only() -> None:
    swap = Override("eve", ny(2026, 11, 4, 12), ny(2026, 11, 4, 14), "swap", layer="primary")
    schedule = prod_squad(overrides=(swap,))
    answer = who_is_on_call(schedule, ny(2026, 11, 4, 13))
    assert [(d.layer, d.person, d.reason) for d in answer.duties] == [
        ("primary", "eve", Reason.override),
        ("secondary", "cy", Reason.rotation),
    ]
    assert answer.duties[0].detail == "swap"
    assert answer.responder == "eve"
    assert answer.reason is Reason.override


def test_an_all_layer_override_takes_every_layer() -> None:
    cover = Override("eve", ny(2026, 11, 4, 12), ny(2026, 11, 4, 14), "cover")
    answer = who_is_on_call(prod_squad(overrides=(cover,)), ny(2026, 11, 4, 13))
    assert [(d.person, d.reason) for d in answer.duties] == [("eve", Reason.override)] * 2


@pytest.mark.parametrize(
    ("at", "person"),
    [
        pytest.param(ny(2026, 11, 4, 11, 59), "ana", id="before-the-override"),
        pytest.param(ny(2026, 11, 4, 12), "eve", id="at-its-start"),
        pytest.param(ny(2026, 11, 4, 13, 59), "eve", id="inside"),
        pytest.param(ny(2026, 11, 4, 14), "ana", id="at-its-end-the-rotation-is-back"),
    ],
)
def test_an_override_covers_from_its_start_up_to_its_end(at: datetime, person: str) -> None:
    swap = Override("eve", ny(2026, 11, 4, 12), ny(2026, 11, 4, 14), "swap", layer="primary")
    assert who_is_on_call(prod_squad(overrides=(swap,)), at).duties[0].person == person


def test_an_override_in_the_first_pass_of_a_repeated_hour_does_not_cover_the_second() -> None:
    # 01:00-01:20 EDT; 01:10 EST is an hour after it ended, though the wall clock reads 01:10.
    night = rotation(ny(2027, 11, 1, 9), members=("ana",))
    swap = Override("eve", ny(2027, 11, 7, 1), ny(2027, 11, 7, 1, 20), "swap")
    schedule = Schedule("s", NEW_YORK, (Layer("primary", night),), (swap,))
    check_schedule(schedule)
    assert who_is_on_call(schedule, ny(2027, 11, 7, 1, 10)).responder == "eve"
    assert who_is_on_call(schedule, ny(2027, 11, 7, 1, 10, fold=1)).responder == "ana"


def test_an_override_across_the_repeated_hour_is_valid() -> None:
    # 01:50 EDT to 01:10 EST is twenty minutes, though 01:10 reads earlier on the wall.
    night = rotation(ny(2027, 11, 1, 9), members=("ana",))
    swap = Override("eve", ny(2027, 11, 7, 1, 50), ny(2027, 11, 7, 1, 10, fold=1), "swap")
    schedule = Schedule("s", NEW_YORK, (Layer("primary", night),), (swap,))
    check_schedule(schedule)
    assert who_is_on_call(schedule, ny(2027, 11, 7, 1, 5, fold=1)).responder == "eve"


def test_duty_hours_in_the_second_pass_of_a_repeated_hour_are_not_the_first_ones() -> None:
    """Working hours from 01:30 on the night New York falls back: 01:10 EDT is before them,
    01:10 EST (an hour later) inside. Answers remembered per calendar and instant must not
    mistake one for the other: aware datetimes of one zone compare equal across the fold."""
    night = BusinessCalendar(NEW_YORK, range(7), time(1, 30), time(23), lambda _year: ())
    layer = Layer("primary", rotation(ny(2027, 11, 1, 9), members=("ana",)), True)
    schedule = Schedule("s", NEW_YORK, (layer,), calendar=night)
    for _ in range(2):  # asked again: the same answers
        assert who_is_on_call(schedule, ny(2027, 11, 7, 1, 10)).duties[0].reason is Reason.off_duty
        assert who_is_on_call(schedule, ny(2027, 11, 7, 1, 10, fold=1)).responder == "ana"


def test_one_layer_in_schedules_of_two_zones_reads_each_hand_off_on_its_own_clock() -> None:
    """A layer remembers its last rotation duty with the zone it was written for."""
    layer = Layer("primary", rotation(ny(2026, 11, 2, 9), members=("ana",)))
    at = ny(2026, 11, 4, 12)
    in_new_york = who_is_on_call(Schedule("ny", NEW_YORK, (layer,)), at)
    in_berlin = who_is_on_call(Schedule("berlin", BERLIN, (layer,)), at)
    again = who_is_on_call(Schedule("ny", NEW_YORK, (layer,)), at)
    assert in_new_york.duties[0].detail == "ana's turn since Mon 02 Nov 09:00 EST"
    assert in_berlin.duties[0].detail == "ana's turn since Mon 02 Nov 15:00 CET"
    assert again == in_new_york


def test_an_absence_takes_the_person_off_every_layer() -> None:
    # ana is primary and also covers the secondary layer; her PTO empties both.
    cover = Override("ana", ny(2026, 11, 4), ny(2026, 11, 5), "cover", layer="secondary")
    pto = Absence("ana", ny(2026, 11, 4), ny(2026, 11, 6), "PTO")
    answer = who_is_on_call(
        prod_squad(overrides=(cover,), absences=(pto,), fallback="lead"), ny(2026, 11, 4, 13)
    )
    assert [(d.person, d.reason) for d in answer.duties] == [(None, Reason.absent)] * 2
    assert all(d.detail == "ana away: PTO" for d in answer.duties)
    assert answer.responder == "lead"


def test_an_absence_of_someone_off_duty_changes_nothing() -> None:
    pto = Absence("ben", ny(2026, 11, 4), ny(2026, 11, 6), "PTO")
    answer = who_is_on_call(prod_squad(absences=(pto,)), ny(2026, 11, 4, 13))
    assert answer.responder == "ana"
    assert answer.reason is Reason.rotation


# -- schedules that cannot work ----------------------------------------------------------------


def _with(**changes: object) -> Callable[[], Schedule]:
    def build() -> Schedule:
        return prod_squad(**changes)  # type: ignore[arg-type]

    return build


def _empty_rotation() -> Schedule:
    empty = rotation(SQUAD_START, members=())
    return Schedule("s", NEW_YORK, (Layer("primary", PRIMARY), Layer("secondary", empty)))


A, B, C = ny(2026, 11, 4, 9), ny(2026, 11, 4, 12), ny(2026, 11, 4, 15)

BROKEN = [
    pytest.param(
        _with(
            overrides=(
                Override("eve", A, C, "swap", layer="primary"),
                Override("fay", B, C + HOUR, "swap", layer="primary"),
            )
        ),
        "starts",
        id="overlapping-overrides-on-one-layer",
    ),
    pytest.param(
        _with(
            overrides=(
                Override("eve", A, C, "cover"),
                Override("fay", B, C + HOUR, "swap", layer="secondary"),
            )
        ),
        "starts",
        id="an-all-layer-override-overlapping-a-layer-override",
    ),
    pytest.param(
        _with(overrides=(Override("eve", A, C, "cover"), Override("fay", B, C, "cover"))),
        "starts",
        id="overlapping-all-layer-overrides",
    ),
    pytest.param(
        _with(absences=(Absence("ana", A, C, "PTO"), Absence("ana", B, C + HOUR, "dentist"))),
        "starts",
        id="overlapping-absences-of-one-person",
    ),
    pytest.param(_empty_rotation, "members", id="a-rotation-with-nobody"),
    pytest.param(
        _with(overrides=(Override("eve", A, C, "swap", layer="tertiary"),)),
        "layer",
        id="an-override-of-an-unknown-layer",
    ),
    pytest.param(
        _with(overrides=(Override("eve", B, A, "swap"),)),
        "ends",
        id="an-override-ending-before-it-starts",
    ),
    pytest.param(
        _with(overrides=(Override("eve", A, A, "swap"),)),
        "ends",
        id="an-override-ending-as-it-starts",
    ),
    pytest.param(
        _with(absences=(Absence("ana", B, A, "PTO"),)),
        "ends",
        id="an-absence-ending-before-it-starts",
    ),
    pytest.param(
        _with(absences=(Absence("ana", A, A, "PTO"),)),
        "ends",
        id="an-absence-ending-as-it-starts",
    ),
    pytest.param(lambda: Schedule("s", NEW_YORK, ()), "layers", id="no-layers"),
    pytest.param(
        lambda: Schedule("s", NEW_YORK, (Layer("primary", PRIMARY), Layer("primary", SECONDARY))),
        "layers",
        id="two-layers-with-one-name",
    ),
    pytest.param(
        lambda: Schedule("s", NEW_YORK, (Layer("primary", PRIMARY, business_hours_only=True),)),
        "business_hours_only",
        id="business-hours-without-a-calendar",
    ),
]


@pytest.mark.parametrize(("build", "field"), BROKEN)
def test_a_schedule_that_cannot_work_is_refused(build: Callable[[], Schedule], field: str) -> None:
    with pytest.raises(ScheduleError) as error:
        check_schedule(build())
    assert error.value.field == field


FINE = [
    pytest.param(
        _with(
            overrides=(
                Override("eve", A, B, "swap", layer="primary"),
                Override("fay", B, C, "swap", layer="primary"),
            )
        ),
        id="back-to-back-overrides-on-one-layer",
    ),
    pytest.param(
        _with(
            overrides=(
                Override("eve", A, C, "swap", layer="primary"),
                Override("fay", B, C, "swap", layer="secondary"),
            )
        ),
        id="overlapping-overrides-on-different-layers",
    ),
    pytest.param(
        _with(absences=(Absence("ana", A, C, "PTO"), Absence("cy", B, C, "PTO"))),
        id="overlapping-absences-of-different-people",
    ),
    pytest.param(
        _with(absences=(Absence("ana", A, B, "dentist"), Absence("ana", B, C, "PTO"))),
        id="back-to-back-absences-of-one-person",
    ),
]


@pytest.mark.parametrize("build", FINE)
def test_a_schedule_that_can_work_is_accepted(build: Callable[[], Schedule]) -> None:
    check_schedule(build())


# -- Caseflow's prod squad (seed 001) ----------------------------------------------------------


def test_primary_on_pto_the_secondary_is_the_responder_and_says_why() -> None:
    pto = Absence("ana", ny(2026, 11, 2), ny(2026, 11, 7), "PTO")
    schedule = prod_squad(absences=(pto,))
    check_schedule(schedule)
    answer = who_is_on_call(schedule, ny(2026, 11, 4, 10))
    assert answer.responder == "cy"
    assert answer.reason is Reason.rotation
    assert answer.duties[0].reason is Reason.absent
    assert "secondary cy covers" in answer.detail
    assert "ana away: PTO" in answer.detail


@pytest.mark.parametrize(
    ("at", "responder"),
    [
        pytest.param(ny(2026, 11, 4, 11, 59), "ana", id="before-the-appointment"),
        pytest.param(ny(2026, 11, 4, 12), "cy", id="at-its-start"),
        pytest.param(ny(2026, 11, 4, 13, 29), "cy", id="during"),
        pytest.param(ny(2026, 11, 4, 13, 30), "ana", id="when-it-ends"),
    ],
)
def test_a_midday_appointment_hands_the_primary_to_the_secondary_while_it_lasts(
    at: datetime, responder: str
) -> None:
    appointment = Absence("ana", ny(2026, 11, 4, 12), ny(2026, 11, 4, 13, 30), "appointment")
    assert who_is_on_call(prod_squad(absences=(appointment,)), at).responder == responder


def test_the_primary_is_the_responder_when_present() -> None:
    answer = who_is_on_call(prod_squad(), ny(2026, 11, 4, 10))
    assert answer.responder == "ana"
    assert answer.reason is Reason.rotation
    assert answer.detail.startswith("primary: ana's turn since Mon 02 Nov 09:00")
    assert answer.held_until is None


HELD = [
    pytest.param(
        ny(2026, 11, 25, 22), utc(2026, 11, 27, 14), id="wednesday-night-before-thanksgiving"
    ),
    pytest.param(ny(2026, 11, 27, 18), utc(2026, 11, 30, 14), id="friday-evening-to-monday"),
    pytest.param(ny(2026, 11, 24, 7), utc(2026, 11, 24, 14), id="early-morning-to-0900"),
    pytest.param(ny(2026, 11, 24, 17), utc(2026, 11, 25, 14), id="at-1700-closing"),
    pytest.param(ny(2027, 3, 12, 20), utc(2027, 3, 15, 13), id="friday-night-to-monday-0900-edt"),
]


@pytest.mark.parametrize(("at", "until"), HELD)
def test_an_error_outside_business_hours_is_held_until_the_next_morning(
    at: datetime, until: datetime
) -> None:
    answer = who_is_on_call(prod_squad(business_hours_only=True, fallback="lead"), at)
    assert answer.responder is None
    assert answer.reason is Reason.held
    assert answer.held_until == until
    assert all(d.reason is Reason.off_duty for d in answer.duties)


def test_in_business_hours_a_business_hours_squad_responds() -> None:
    # The fourth week of the squad: ben's turn (ana, ben, ana, ben).
    answer = who_is_on_call(prod_squad(business_hours_only=True), ny(2026, 11, 24, 9))
    assert answer.responder == "ben"
    assert answer.held_until is None


def test_an_always_on_layer_answers_when_the_business_hours_layer_is_off_duty() -> None:
    schedule = Schedule(
        "s",
        NEW_YORK,
        (Layer("primary", PRIMARY, business_hours_only=True), Layer("secondary", SECONDARY)),
        calendar=caseflow_calendar(),
    )
    answer = who_is_on_call(schedule, ny(2026, 11, 25, 22))
    assert answer.responder == "dee"  # the fourth week of the squad
    assert answer.reason is Reason.rotation
    assert answer.held_until is None
    assert "primary: outside business hours" in answer.detail


def test_a_gap_goes_to_the_fallback_and_says_so() -> None:
    away = (
        Absence("ana", ny(2026, 11, 2), ny(2026, 11, 7), "PTO"),
        Absence("cy", ny(2026, 11, 4), ny(2026, 11, 5), "sick"),
    )
    answer = who_is_on_call(prod_squad(absences=away, fallback="lead"), ny(2026, 11, 4, 10))
    assert answer.responder == "lead"
    assert answer.reason is Reason.fallback
    assert "gap" in answer.detail and "fallback" in answer.detail
    assert "ana away: PTO" in answer.detail and "cy away: sick" in answer.detail
    assert answer.held_until is None


def test_a_gap_without_a_fallback_pages_nobody_and_says_so() -> None:
    away = (
        Absence("ana", ny(2026, 11, 2), ny(2026, 11, 7), "PTO"),
        Absence("cy", ny(2026, 11, 4), ny(2026, 11, 5), "sick"),
    )
    answer = who_is_on_call(prod_squad(absences=away), ny(2026, 11, 4, 10))
    assert answer.responder is None
    assert answer.reason is Reason.nobody
    assert "no fallback" in answer.detail
    assert answer.held_until is None


def test_a_schedule_not_yet_started_goes_to_the_fallback() -> None:
    answer = who_is_on_call(prod_squad(fallback="lead"), ny(2026, 11, 1, 12))
    assert answer.responder == "lead"
    assert answer.reason is Reason.fallback
    assert "has not started" in answer.detail


def split_squad(
    hours_only: tuple[bool, bool],
    absences: tuple[Absence, ...] = (),
    deactivations: tuple[Deactivation, ...] = (),
) -> Schedule:
    """The prod squad with duty hours set per layer, and a fallback that must not be woken
    for what duty hours say can wait."""
    return Schedule(
        "prod-squad",
        NEW_YORK,
        (
            Layer("primary", PRIMARY, hours_only[0]),
            Layer("secondary", SECONDARY, hours_only[1]),
        ),
        absences=absences,
        fallback="lead",
        calendar=caseflow_calendar(),
        deactivations=deactivations,
    )


# The fourth week of the squad: ben is primary, dee secondary. Tuesday 2026-11-24, 22:00 in
# New York; business hours open again on Wednesday at 09:00 (14:00 UTC).
TUESDAY_NIGHT = ny(2026, 11, 24, 22)
DEE_PTO = Absence("dee", ny(2026, 11, 23), ny(2026, 11, 28), "PTO")
BEN_PTO = Absence("ben", ny(2026, 11, 23), ny(2026, 11, 28), "PTO")

ONE_LAYER_OFF_DUTY_THE_OTHER_AWAY = [
    pytest.param(
        (True, False),
        (DEE_PTO,),
        TUESDAY_NIGHT,
        (None, Reason.held, utc(2026, 11, 25, 14)),
        id="primary-off-duty-secondary-on-pto-held-until-the-morning",
    ),
    pytest.param(
        (False, True),
        (BEN_PTO,),
        TUESDAY_NIGHT,
        (None, Reason.held, utc(2026, 11, 25, 14)),
        id="primary-on-pto-secondary-off-duty-held-until-the-morning",
    ),
    pytest.param(
        (True, False),
        (Absence("dee", ny(2026, 11, 24, 21), ny(2026, 11, 24, 23, 30), "appointment"),),
        TUESDAY_NIGHT,
        (None, Reason.held, utc(2026, 11, 25, 4, 30)),
        id="held-only-until-the-secondary-is-back-if-that-is-sooner",
    ),
    pytest.param(
        (True, False),
        (DEE_PTO,),
        ny(2026, 11, 25, 9),
        ("ben", Reason.rotation, None),
        id="at-the-morning-the-primary-is-on-duty-and-answers",
    ),
    pytest.param(
        (True, False),
        (DEE_PTO, BEN_PTO),
        ny(2026, 11, 25, 9),
        ("lead", Reason.fallback, None),
        id="in-business-hours-with-both-away-the-fallback-answers",
    ),
    pytest.param(
        (False, False),
        (DEE_PTO, BEN_PTO),
        TUESDAY_NIGHT,
        ("lead", Reason.fallback, None),
        id="always-on-layers-both-away-the-fallback-answers",
    ),
]


@pytest.mark.parametrize(
    ("hours_only", "away", "at", "expected"), ONE_LAYER_OFF_DUTY_THE_OTHER_AWAY
)
def test_a_layer_off_duty_and_the_other_away_holds_rather_than_waking_the_fallback(
    hours_only: tuple[bool, bool],
    away: tuple[Absence, ...],
    at: datetime,
    expected: tuple[str | None, Reason, datetime | None],
) -> None:
    """Seed 001: errors outside business-hours duty wait for the morning; the secondary
    takes over when the primary is away. Nobody on duty and the other layer away is no gap
    for the fallback: duty hours say it can wait."""
    schedule = split_squad(hours_only, away)
    check_schedule(schedule)
    answer = who_is_on_call(schedule, at)
    assert (answer.responder, answer.reason, answer.held_until) == expected
    if answer.reason is Reason.held:
        assert "held until duty resumes" in answer.detail
        assert "outside business hours" in answer.detail and "away" in answer.detail


# -- deactivated people ------------------------------------------------------------------------


def test_a_deactivated_primary_hands_the_responder_to_the_secondary() -> None:
    gone = Deactivation("ben", ny(2026, 11, 20))
    answer = who_is_on_call(split_squad((False, False), deactivations=(gone,)), TUESDAY_NIGHT)
    assert answer.responder == "dee"
    assert answer.duties[0].reason is Reason.deactivated
    assert "ben was deactivated" in answer.detail


def test_before_their_deactivation_a_person_was_on_call_as_scheduled() -> None:
    gone = Deactivation("ben", ny(2026, 11, 25))
    answer = who_is_on_call(split_squad((False, False), deactivations=(gone,)), TUESDAY_NIGHT)
    assert answer.responder == "ben"


def test_a_rotation_of_only_a_deactivated_person_goes_to_the_fallback_and_says_why() -> None:
    alone = Rotation(("ben",), SQUAD_START, ShiftUnit.weeks, 1, NEW_YORK)
    schedule = Schedule(
        "solo",
        NEW_YORK,
        (Layer("primary", alone),),
        fallback="lead",
        deactivations=(Deactivation("ben", ny(2026, 11, 20)),),
    )
    answer = who_is_on_call(schedule, TUESDAY_NIGHT)
    assert (answer.responder, answer.reason) == ("lead", Reason.fallback)
    assert "ben was deactivated" in answer.detail


def test_a_deactivated_fallback_is_nobody_and_says_so() -> None:
    gone = (Deactivation("lead", ny(2026, 11, 1)), Deactivation("ben", ny(2026, 11, 1)))
    away = (DEE_PTO,)
    answer = who_is_on_call(split_squad((False, False), away, gone), TUESDAY_NIGHT)
    assert (answer.responder, answer.reason) == (None, Reason.nobody)
    assert "fallback lead was deactivated" in answer.detail


def test_a_deactivated_person_on_an_off_duty_layers_partner_holds_until_the_morning() -> None:
    gone = Deactivation("dee", ny(2026, 11, 20))
    answer = who_is_on_call(split_squad((True, False), deactivations=(gone,)), TUESDAY_NIGHT)
    assert (answer.reason, answer.held_until) == (Reason.held, utc(2026, 11, 25, 14))


def test_spans_split_at_a_deactivation() -> None:
    gone = Deactivation("ben", ny(2026, 11, 24, 12))
    schedule = split_squad((False, False), deactivations=(gone,))
    result = spans(schedule, ny(2026, 11, 24, 10), ny(2026, 11, 24, 14))
    assert _layer(result, "primary") == [
        ("ben", utc(2026, 11, 24, 15), utc(2026, 11, 24, 17)),
        (None, utc(2026, 11, 24, 17), utc(2026, 11, 24, 19)),
    ]


# -- spans: the on-call calendar ---------------------------------------------------------------


def _layer(result: list[Span], name: str) -> list[tuple[str | None, datetime, datetime]]:
    return [(s.person, s.starts, s.ends) for s in result if s.layer == name]


def test_spans_split_at_handoffs_and_cover_the_range() -> None:
    schedule = Schedule("s", NEW_YORK, (Layer("primary", rotation(utc(2027, 3, 8, 14))),))
    result = spans(schedule, utc(2027, 3, 10), utc(2027, 3, 24))
    assert _layer(result, "primary") == [
        ("ana", utc(2027, 3, 10), utc(2027, 3, 15, 13)),
        ("ben", utc(2027, 3, 15, 13), utc(2027, 3, 22, 13)),
        ("cy", utc(2027, 3, 22, 13), utc(2027, 3, 24)),
    ]
    assert _layer(result, RESPONDER) == _layer(result, "primary")


def test_spans_before_the_start_say_not_started() -> None:
    schedule = Schedule("s", NEW_YORK, (Layer("primary", rotation(utc(2027, 3, 8, 14))),))
    result = [s for s in spans(schedule, utc(2027, 3, 7), utc(2027, 3, 9)) if s.layer == "primary"]
    assert [(s.person, s.reason, s.starts, s.ends) for s in result] == [
        (None, Reason.not_started, utc(2027, 3, 7), utc(2027, 3, 8, 14)),
        ("ana", Reason.rotation, utc(2027, 3, 8, 14), utc(2027, 3, 9)),
    ]


def test_spans_of_a_rotation_starting_on_the_second_pass_of_a_repeated_hour() -> None:
    rot = rotation(ny(2027, 11, 7, 1, 30, fold=1), ShiftUnit.days)
    schedule = Schedule("s", NEW_YORK, (Layer("primary", rot),))
    result = spans(schedule, utc(2027, 11, 7, 6), utc(2027, 11, 7, 8))
    assert _layer(result, "primary") == [
        (None, utc(2027, 11, 7, 6), utc(2027, 11, 7, 6, 30)),
        ("ana", utc(2027, 11, 7, 6, 30), utc(2027, 11, 7, 8)),
    ]


def test_spans_split_at_override_edges() -> None:
    swap = Override("eve", ny(2026, 11, 4, 12), ny(2026, 11, 4, 14), "swap", layer="primary")
    result = spans(prod_squad(overrides=(swap,)), ny(2026, 11, 4), ny(2026, 11, 5))
    assert _layer(result, "primary") == [
        ("ana", utc(2026, 11, 4, 5), utc(2026, 11, 4, 17)),
        ("eve", utc(2026, 11, 4, 17), utc(2026, 11, 4, 19)),
        ("ana", utc(2026, 11, 4, 19), utc(2026, 11, 5, 5)),
    ]
    assert _layer(result, "secondary") == [("cy", utc(2026, 11, 4, 5), utc(2026, 11, 5, 5))]


def test_spans_merge_stretches_where_nothing_changes() -> None:
    # ben's absence and dee's override edges cut time, but nobody on the primary layer changes.
    ben_away = Absence("ben", ny(2026, 11, 4, 10), ny(2026, 11, 4, 11), "dentist")
    dee = Override("dee", ny(2026, 11, 4, 12), ny(2026, 11, 4, 13), "swap", layer="secondary")
    result = spans(
        prod_squad(absences=(ben_away,), overrides=(dee,)), ny(2026, 11, 4), ny(2026, 11, 5)
    )
    assert _layer(result, "primary") == [("ana", utc(2026, 11, 4, 5), utc(2026, 11, 5, 5))]
    assert _layer(result, RESPONDER) == [("ana", utc(2026, 11, 4, 5), utc(2026, 11, 5, 5))]


def test_spans_show_the_secondary_responding_during_the_primarys_absence() -> None:
    appointment = Absence("ana", ny(2026, 11, 4, 12), ny(2026, 11, 4, 13, 30), "appointment")
    result = spans(prod_squad(absences=(appointment,)), ny(2026, 11, 4), ny(2026, 11, 5))
    assert _layer(result, "primary") == [
        ("ana", utc(2026, 11, 4, 5), utc(2026, 11, 4, 17)),
        (None, utc(2026, 11, 4, 17), utc(2026, 11, 4, 18, 30)),
        ("ana", utc(2026, 11, 4, 18, 30), utc(2026, 11, 5, 5)),
    ]
    assert _layer(result, RESPONDER) == [
        ("ana", utc(2026, 11, 4, 5), utc(2026, 11, 4, 17)),
        ("cy", utc(2026, 11, 4, 17), utc(2026, 11, 4, 18, 30)),
        ("ana", utc(2026, 11, 4, 18, 30), utc(2026, 11, 5, 5)),
    ]


def test_spans_of_a_business_hours_layer_follow_the_working_windows() -> None:
    # Wednesday before Thanksgiving to Saturday: one window Wednesday, one Friday.
    result = spans(prod_squad(business_hours_only=True), ny(2026, 11, 25), ny(2026, 11, 28))
    primary = [(s.person, s.reason, s.starts, s.ends) for s in result if s.layer == "primary"]
    assert primary == [
        (None, Reason.off_duty, utc(2026, 11, 25, 5), utc(2026, 11, 25, 14)),
        ("ben", Reason.rotation, utc(2026, 11, 25, 14), utc(2026, 11, 25, 22)),
        (None, Reason.off_duty, utc(2026, 11, 25, 22), utc(2026, 11, 27, 14)),
        ("ben", Reason.rotation, utc(2026, 11, 27, 14), utc(2026, 11, 27, 22)),
        (None, Reason.off_duty, utc(2026, 11, 27, 22), utc(2026, 11, 28, 5)),
    ]
    responder = [(s.reason, s.starts) for s in result if s.layer == RESPONDER]
    assert [r for r, _ in responder] == [
        Reason.held,
        Reason.rotation,
        Reason.held,
        Reason.rotation,
        Reason.held,
    ]


def test_spans_come_in_order_of_start() -> None:
    result = spans(prod_squad(), ny(2026, 11, 1), ny(2026, 11, 20))
    assert [s.starts for s in result] == sorted(s.starts for s in result)
    assert {s.layer for s in result} == {"primary", "secondary", RESPONDER}


# -- the lead (Openverse, seed 003) ------------------------------------------------------------


def hours(zone: ZoneInfo) -> BusinessCalendar:
    return BusinessCalendar(zone, (0, 1, 2, 3, 4), time(9), time(17), lambda year: set[date]())


RUNNER = Candidate("runner", hours(BERLIN), recent_leads=0)
NEW_YORK_LEADS = [
    Candidate("zoe", hours(NEW_YORK), recent_leads=1),
    Candidate("yan", hours(NEW_YORK), recent_leads=1),
    Candidate("xia", hours(NEW_YORK), recent_leads=4),
]
# Tuesday 2027-06-08: 10:00 Berlin is 04:00 New York; 16:00 New York is 22:00 Berlin.
BERLIN_MORNING = utc(2027, 6, 8, 8)
NEW_YORK_AFTERNOON = utc(2027, 6, 8, 20)
NIGHT_EVERYWHERE = utc(2027, 6, 8, 2)  # 04:00 Berlin, 22:00 New York, 07:30 Kolkata


def test_the_runner_in_working_hours_leads() -> None:
    choice = choose_lead(RUNNER, NEW_YORK_LEADS, BERLIN_MORNING, window_days=30)
    assert choice.handle == "runner"
    assert "runner is on duty" in choice.reason
    assert "Tue 10:00 Europe/Berlin" in choice.reason


def test_the_runner_outside_working_hours_gives_way_to_the_fewest_recent_leads() -> None:
    choice = choose_lead(RUNNER, NEW_YORK_LEADS, NEW_YORK_AFTERNOON, window_days=30)
    assert choice.handle == "yan"  # one lead, as zoe, and first by handle
    assert "runner (on duty) is outside working hours (Tue 22:00 Europe/Berlin)" in choice.reason
    assert "yan is in working hours (Tue 16:00 America/New_York)" in choice.reason
    assert "has led 1 incident in the last 30 days" in choice.reason


def test_someone_who_has_not_led_at_all_is_preferred() -> None:
    fresh = Candidate("wes", hours(NEW_YORK), recent_leads=0)
    choice = choose_lead(RUNNER, [*NEW_YORK_LEADS, fresh], NEW_YORK_AFTERNOON, window_days=14)
    assert choice.handle == "wes"
    assert "has led 0 incidents in the last 14 days" in choice.reason


def test_people_outside_their_working_hours_are_not_chosen() -> None:
    asleep = Candidate("ada", hours(KOLKATA), recent_leads=0)  # 01:30 in Kolkata
    choice = choose_lead(RUNNER, [asleep, *NEW_YORK_LEADS], NEW_YORK_AFTERNOON, window_days=30)
    assert choice.handle == "yan"


def test_the_runner_is_not_chosen_again_from_the_others() -> None:
    again = Candidate("runner", hours(NEW_YORK), recent_leads=0)
    choice = choose_lead(RUNNER, [again, *NEW_YORK_LEADS], NEW_YORK_AFTERNOON, window_days=30)
    assert choice.handle == "yan"


def test_with_nobody_in_working_hours_the_runner_leads_anyway() -> None:
    choice = choose_lead(RUNNER, NEW_YORK_LEADS, NIGHT_EVERYWHERE, window_days=30)
    assert choice.handle == "runner"
    assert "nobody else is in working hours" in choice.reason


def test_with_no_runner_the_fewest_recent_leads_in_working_hours_leads() -> None:
    choice = choose_lead(None, NEW_YORK_LEADS, NEW_YORK_AFTERNOON, window_days=30)
    assert choice.handle == "yan"
    assert "nobody is on duty in the rotation" in choice.reason


def test_with_no_runner_and_nobody_in_working_hours_there_is_no_lead() -> None:
    choice = choose_lead(None, NEW_YORK_LEADS, NIGHT_EVERYWHERE, window_days=30)
    assert choice.handle is None
    assert "nobody is in working hours" in choice.reason
