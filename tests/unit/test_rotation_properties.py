"""Properties of rotations and schedules over zones, starts (2025-2030), shift units and lengths,
rotations of one to six people, and instants, biased towards DST changes.

The oracle for a hand-off's wall time is built here from the zone's offsets (does the wall time
exist that day? where does the gap end?), not read back from `clock.wall.first_reading`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from dst_transitions import FIRST, LAST, transitions
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fireline.clock.business import BusinessCalendar
from fireline.oncall.rotation import (
    RESPONDER,
    Absence,
    Layer,
    Override,
    Reason,
    Rotation,
    Schedule,
    ScheduleError,
    ShiftUnit,
    check_schedule,
    spans,
    who_is_on_call,
)

ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",  # DST moves the clock by 30 minutes, at 02:00
    "Asia/Kolkata",  # no DST, +05:30
    "America/Sao_Paulo",  # no DST since 2019
    "UTC",
]
TICK = timedelta(microseconds=1)
HANDLES = ("ana", "ben", "cy", "dee", "eve", "fay", "gus", "hal")

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HEAVY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def starts(draw: st.DrawFn, zone_name: str) -> datetime:
    """A rotation start in the zone: anywhere in 2025-2030, or a wall time of a day near a DST
    change (often the small hours, where hand-off times get skipped or repeated)."""
    zone = ZoneInfo(zone_name)
    near = transitions(zone_name)
    if len(near) > 0 and draw(st.booleans()):
        change = draw(st.sampled_from(near)).astimezone(zone).replace(tzinfo=None)
        days_before = draw(st.one_of(st.just(0), st.integers(0, 15)))
        minutes = 15 * draw(st.integers(-6, 6))
        wall = change - timedelta(days=days_before) + timedelta(minutes=minutes)
        # Read the wall time in the zone, either pass of a repeated one; a skipped one lands
        # on an existing instant.
        instant = wall.replace(tzinfo=zone, fold=draw(st.integers(0, 1))).astimezone(UTC)
    else:
        instant = draw(
            st.datetimes(FIRST.replace(tzinfo=None), LAST.replace(tzinfo=None) - timedelta(days=60))
        ).replace(microsecond=0, tzinfo=UTC)
    return instant.astimezone(zone)


@st.composite
def rotations(draw: st.DrawFn, zone_name: str | None = None) -> Rotation:
    zone_name = zone_name or draw(st.sampled_from(ZONES))
    unit = draw(st.sampled_from(list(ShiftUnit)))
    length = draw(
        {
            ShiftUnit.hours: st.sampled_from([1, 2, 8, 12, 24, 36]),
            ShiftUnit.days: st.integers(1, 14),
            ShiftUnit.weeks: st.integers(1, 4),
        }[unit]
    )
    members = tuple(draw(st.lists(st.sampled_from(HANDLES), min_size=1, max_size=6, unique=True)))
    return Rotation(members, draw(starts(zone_name)), unit, length, ZoneInfo(zone_name))


@st.composite
def instants(draw: st.DrawFn, rotation: Rotation) -> datetime:
    """An instant at or after the start: near a hand-off, near the first DST change after the
    start (where wall-clock and elapsed time disagree), or anywhere in the next few years."""
    start = rotation.start.astimezone(UTC)
    later = [t for t in transitions(rotation.zone.key) if t > start]
    if later and draw(st.integers(0, 2)) == 0:
        near = later[0] + timedelta(seconds=draw(st.integers(-3 * 3600, 3 * 3600)))
        return max(near, start)
    if draw(st.booleans()):
        index = draw(st.integers(0, 400))
        around = rotation.handoff(index)
        return around + timedelta(seconds=draw(st.integers(-3 * 3600, 3 * 3600)))
    return rotation.start.astimezone(UTC) + timedelta(seconds=draw(st.integers(0, 4 * 365 * 86400)))


def _exists(day: date, at: time, zone: ZoneInfo) -> bool:
    wall = datetime.combine(day, at)
    return wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


# -- the rotation ------------------------------------------------------------------------------


@PROPERTY
@given(st.data())
def test_the_shift_holding_an_instant_lies_between_its_handoffs(data: st.DataObject) -> None:
    rotation = data.draw(rotations())
    at = data.draw(instants(rotation))
    index = rotation.shift_index(at)
    if at < rotation.start.astimezone(UTC):
        assert index is None
        return
    assert index is not None and index >= 0
    assert rotation.handoff(index) <= at < rotation.handoff(index + 1)
    shift = rotation.shift_at(at.astimezone(rotation.zone))  # any zone reads the same instant
    assert shift is not None
    assert (shift.index, shift.starts, shift.ends) == (
        index,
        rotation.handoff(index),
        rotation.handoff(index + 1),
    )


@PROPERTY
@given(rotations(), st.integers(0, 2000))
def test_handoffs_strictly_increase(rotation: Rotation, first: int) -> None:
    # In UTC: an aware datetime in a repeated hour never compares equal across zones, and
    # arithmetic on a zone-aware datetime is wall-clock arithmetic.
    start = rotation.start.astimezone(UTC)
    assert rotation.handoff(0) == start
    assert rotation.shift_index(start - TICK) is None
    assert rotation.shift_index(start) == 0
    previous = rotation.handoff(first)
    for index in range(first + 1, first + 12):
        current = rotation.handoff(index)
        assert previous < current
        if rotation.unit is ShiftUnit.hours:
            # Hours are elapsed time, whatever the wall clock does.
            assert current - previous == timedelta(hours=rotation.length)
        else:
            # Days are wall-clock days: off by no more than a DST change (at most 2 hours).
            nominal = timedelta(
                days=rotation.length * (7 if rotation.unit is ShiftUnit.weeks else 1)
            )
            assert abs((current - previous) - nominal) <= timedelta(hours=2)
        previous = current


@PROPERTY
@given(st.data())
def test_day_and_week_handoffs_keep_the_first_handoffs_wall_time(data: st.DataObject) -> None:
    zone_name = data.draw(st.sampled_from(ZONES))
    rotation = data.draw(rotations(zone_name).filter(lambda r: r.unit is not ShiftUnit.hours))
    zone = rotation.zone
    first = rotation.start.astimezone(zone)
    step = rotation.length * (7 if rotation.unit is ShiftUnit.weeks else 1)
    index = data.draw(st.integers(1, 300))
    for k in range(index, index + 3):
        local = rotation.handoff(k).astimezone(zone)
        day = first.date() + timedelta(days=step * k)
        wall = first.time().replace(tzinfo=None, fold=0)
        if _exists(day, wall, zone):
            assert local.date() == day
            assert local.time() == wall
            # Where the wall time repeats, its first pass.
            assert local.utcoffset() == datetime.combine(day, wall, zone).utcoffset()
        else:
            # Skipped by DST: the end of the gap, the first instant that reads `wall` or later.
            before = (rotation.handoff(k) - TICK).astimezone(zone)
            assert before.utcoffset() != local.utcoffset()
            assert before.replace(tzinfo=None) < datetime.combine(day, wall)
            assert local.replace(tzinfo=None) > datetime.combine(day, wall)


@PROPERTY
@given(st.data())
def test_the_person_on_duty_is_the_members_turn(data: st.DataObject) -> None:
    rotation = data.draw(rotations())
    at = data.draw(instants(rotation))
    schedule = Schedule("s", rotation.zone, (Layer("only", rotation),))
    check_schedule(schedule)
    answer = who_is_on_call(schedule, at)
    index = rotation.shift_index(at)
    if index is None:
        assert answer.responder is None
        assert answer.duties[0].reason is Reason.not_started
        return
    assert answer.responder == rotation.members[index % len(rotation.members)]
    assert answer.reason is Reason.rotation
    assert answer.duties[0].reason is Reason.rotation


# -- schedules ---------------------------------------------------------------------------------


@st.composite
def windows(draw: st.DrawFn, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A range of up to a week, often across a DST change."""
    near = transitions(zone.key)
    if len(near) > 0 and draw(st.booleans()):
        around = draw(st.sampled_from(near))
        first = around - timedelta(minutes=draw(st.integers(0, 4 * 24 * 60)))
    else:
        first = draw(
            st.datetimes(datetime(2025, 6, 1), LAST.replace(tzinfo=None) - timedelta(days=30))
        ).replace(second=0, microsecond=0, tzinfo=UTC)
    return first, first + timedelta(minutes=draw(st.integers(1, 7 * 24 * 60)))


@st.composite
def stretches(draw: st.DrawFn, first: datetime, last: datetime) -> tuple[datetime, datetime]:
    minutes = int((last - first) / timedelta(minutes=1))
    begin = first + timedelta(minutes=draw(st.integers(-600, minutes)))
    return begin, begin + timedelta(minutes=draw(st.integers(1, 3 * 24 * 60)))


@st.composite
def schedules(draw: st.DrawFn, *, plain: bool = False) -> tuple[Schedule, datetime, datetime]:
    """A valid schedule and a window on or after every rotation's start. `plain`: no overrides,
    absences or business hours, so every layer always has somebody."""
    zone_name = draw(st.sampled_from(ZONES))
    zone = ZoneInfo(zone_name)
    first, last = draw(windows(zone))
    names = ["primary", "secondary", "tertiary"][: draw(st.integers(1, 3))]
    layers = []
    for name in names:
        rotation = draw(rotations(draw(st.sampled_from([zone_name, *ZONES]))))
        # Move the rotation's start back before the window, keeping its wall time.
        back = draw(st.integers(0, 60))
        start = rotation.start.replace(
            year=first.year - 1 if first.month < 3 else first.year, month=1, day=1
        ) + timedelta(days=back)
        start = start.astimezone(UTC).astimezone(rotation.zone)
        assume(start <= first)
        rotation = Rotation(rotation.members, start, rotation.unit, rotation.length, rotation.zone)
        hours_only = False if plain else draw(st.booleans())
        layers.append(Layer(name, rotation, hours_only))
    calendar = None
    overrides: list[Override] = []
    absences: list[Absence] = []
    if not plain:
        calendar = BusinessCalendar(
            zone,
            draw(st.sets(st.integers(0, 6), min_size=1)),
            time(9),
            time(17),
            lambda year: set[date](),
        )
        for _ in range(draw(st.integers(0, 3))):
            begin, end = draw(stretches(first, last))
            layer = draw(st.sampled_from([None, *names]))
            overrides.append(Override(draw(st.sampled_from(HANDLES)), begin, end, "swap", layer))
        for _ in range(draw(st.integers(0, 3))):
            begin, end = draw(stretches(first, last))
            absences.append(Absence(draw(st.sampled_from(HANDLES)), begin, end, "PTO"))
    schedule = Schedule(
        "s",
        zone,
        tuple(layers),
        tuple(overrides),
        tuple(absences),
        draw(st.sampled_from([None, "lead"])),
        calendar,
    )
    try:
        check_schedule(schedule)
    except ScheduleError:
        assume(False)
    return schedule, first, last


@HEAVY
@given(st.data())
def test_spans_cover_the_range_once_per_layer_and_match_who_is_on_call(
    data: st.DataObject,
) -> None:
    plain = data.draw(st.booleans())
    schedule, first, last = data.draw(schedules(plain=plain))
    result = spans(schedule, first, last)
    for name in [*(layer.name for layer in schedule.layers), RESPONDER]:
        mine = [s for s in result if s.layer == name]
        # Contiguous, no overlaps, no empty spans: one span per instant.
        assert mine[0].starts == first
        assert mine[-1].ends == last
        for span in mine:
            assert span.starts < span.ends
        for earlier, later in pairwise(mine):
            assert earlier.ends == later.starts
            # Merged: neighbours differ.
            assert (earlier.person, earlier.reason, earlier.detail) != (
                later.person,
                later.reason,
                later.detail,
            )
        if plain:
            assert all(span.person is not None for span in mine)
    # Inside every span nothing changes: ask directly at each span's first and last instants
    # and at a few instants drawn anywhere in the range.
    fractions = data.draw(st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=5))
    probes = {first + (last - first) * fraction for fraction in fractions}
    probes.update(instant for span in result for instant in (span.starts, span.ends - TICK))
    for at in probes:
        answer = who_is_on_call(schedule, at)
        states = {d.layer: (d.person, d.reason, d.detail) for d in answer.duties}
        states[RESPONDER] = (answer.responder, answer.reason, answer.detail)
        for span in result:
            if span.starts <= at < span.ends:
                assert (span.person, span.reason, span.detail) == states[span.layer]


@HEAVY
@given(st.data())
def test_an_active_override_puts_its_person_on_the_layer(data: st.DataObject) -> None:
    schedule, first, last = data.draw(schedules(plain=True))
    at = first + (last - first) * data.draw(st.floats(0, 1, exclude_max=True))
    layer = data.draw(st.sampled_from([None, *(layer.name for layer in schedule.layers)]))
    person = data.draw(st.sampled_from(HANDLES))
    override = Override(
        person,
        at - timedelta(minutes=data.draw(st.integers(0, 3000))),
        at + timedelta(minutes=data.draw(st.integers(1, 3000))),
        "cover",
        layer,
    )
    with_override = Schedule(
        schedule.name, schedule.zone, schedule.layers, (override,), fallback=schedule.fallback
    )
    check_schedule(with_override)
    before = who_is_on_call(schedule, at)
    after = who_is_on_call(with_override, at)
    for old, new in zip(before.duties, after.duties, strict=True):
        if layer in (None, new.layer):
            assert (new.person, new.reason) == (person, Reason.override)
        else:
            assert new == old


@HEAVY
@given(st.data())
def test_the_responder_is_the_first_layer_person_present(data: st.DataObject) -> None:
    schedule, first, last = data.draw(schedules())
    at = first + (last - first) * data.draw(st.floats(0, 1, exclude_max=True))
    answer = who_is_on_call(schedule, at)
    away = {a.person for a in schedule.absences if a.starts <= at < a.ends}
    present = [d for d in answer.duties if d.person is not None]
    assert all(d.person not in away for d in present)
    reasons = {d.reason for d in answer.duties}
    if present:
        assert (answer.responder, answer.reason) == (present[0].person, present[0].reason)
        assert answer.held_until is None
    elif (
        schedule.calendar is not None
        and Reason.off_duty in reasons
        and reasons <= {Reason.off_duty, Reason.absent}
    ):
        # Off duty, or away: the page waits for duty, or for someone back, not the fallback.
        assert answer.responder is None and answer.reason is Reason.held
        assert answer.held_until is not None and answer.held_until > at
        back = who_is_on_call(schedule, answer.held_until).responder is not None
        assert schedule.calendar.is_working_time(answer.held_until) or back
    elif schedule.fallback is not None:
        assert (answer.responder, answer.reason) == (schedule.fallback, Reason.fallback)
    else:
        assert (answer.responder, answer.reason) == (None, Reason.nobody)


@st.composite
def held(draw: st.DrawFn) -> tuple[Schedule, datetime]:
    """A schedule and an instant outside business hours at which its first layer is off duty
    and everyone else on duty is away for a while: a schedule that holds."""
    schedule, first, last = draw(schedules())
    assert schedule.calendar is not None
    primary = schedule.layers[0]
    layers = (Layer(primary.name, primary.rotation, True), *schedule.layers[1:])
    some = first + (last - first) * draw(st.floats(0, 1, exclude_max=True))
    at = schedule.calendar.next_working_start(some) - timedelta(
        minutes=draw(st.integers(1, 16 * 60))
    )
    assume(not schedule.calendar.is_working_time(at))
    schedule = replace(schedule, layers=layers)
    on_duty = {d.person for d in who_is_on_call(schedule, at).duties if d.person is not None}
    away = tuple(
        Absence(
            person,
            at - timedelta(minutes=draw(st.integers(0, 600))),
            at + timedelta(minutes=draw(st.integers(1, 24 * 60))),
            "appointment",
        )
        for person in sorted(on_duty)
    )
    others = tuple(a for a in schedule.absences if a.person not in on_duty)
    schedule = replace(schedule, absences=others + away)
    check_schedule(schedule)
    return schedule, at


@HEAVY
@given(held())
def test_a_hold_never_passes_over_someone_available(drawn: tuple[Schedule, datetime]) -> None:
    """Held until T: nobody on any layer could have been paged before T, and the hold ends
    at a duty start or when someone is back (Caseflow, seed 001: held until the morning)."""
    schedule, at = drawn
    answer = who_is_on_call(schedule, at)
    assume(answer.held_until is not None)  # a layer not started yet is a real gap
    assert answer.held_until is not None and schedule.calendar is not None
    waiting = spans(schedule, at, answer.held_until)
    assert all(s.person is None for s in waiting if s.layer != RESPONDER)
    assert all(s.reason is Reason.held for s in waiting if s.layer == RESPONDER)
    then = who_is_on_call(schedule, answer.held_until)
    assert schedule.calendar.is_working_time(answer.held_until) or then.responder is not None
    assert then.reason is not Reason.fallback or schedule.calendar.is_working_time(
        answer.held_until
    )


@PROPERTY
@given(
    st.lists(
        st.tuples(
            st.sampled_from([None, "primary", "secondary"]), st.integers(0, 40), st.integers(1, 10)
        ),
        max_size=5,
    )
)
def test_overlapping_overrides_on_one_layer_are_refused_and_no_others(
    drawn: list[tuple[str | None, int, int]],
) -> None:
    base = datetime(2027, 11, 6, 20, tzinfo=ZoneInfo("America/New_York"))
    rotation = Rotation(("ana",), base, ShiftUnit.days, 1, ZoneInfo("America/New_York"))
    overrides = tuple(
        Override("eve", base + timedelta(hours=s), base + timedelta(hours=s + n), "swap", layer)
        for layer, s, n in drawn
    )
    schedule = Schedule(
        "s",
        rotation.zone,
        (Layer("primary", rotation), Layer("secondary", rotation)),
        overrides,
    )
    clash = any(
        (a[0] is None or b[0] is None or a[0] == b[0]) and a[1] < b[1] + b[2] and b[1] < a[1] + a[2]
        for i, a in enumerate(drawn)
        for b in drawn[i + 1 :]
    )
    if clash:
        try:
            check_schedule(schedule)
        except ScheduleError as error:
            assert error.field == "starts"
        else:
            raise AssertionError("overlapping overrides were accepted")
    else:
        check_schedule(schedule)


@st.composite
def local_instants(draw: st.DrawFn, zone: ZoneInfo) -> datetime:
    """An instant within 90 minutes of a DST change, read in the zone (so `fold` is set)."""
    near = transitions(zone.key) or (FIRST,)
    change = draw(st.sampled_from(near))
    return (change + timedelta(minutes=draw(st.integers(-90, 90)))).astimezone(zone)


@PROPERTY
@given(st.data())
def test_overrides_and_absences_cover_instants_not_wall_times(data: st.DataObject) -> None:
    zone = ZoneInfo(data.draw(st.sampled_from(ZONES)))
    starts_, ends, at = (data.draw(local_instants(zone)) for _ in range(3))
    inside = starts_.astimezone(UTC) <= at.astimezone(UTC) < ends.astimezone(UTC)
    assert Override("eve", starts_, ends, "swap").covers(at) == inside
    assert Absence("eve", starts_, ends, "PTO").covers(at) == inside
    rotation = Rotation(("ana",), FIRST - timedelta(days=365), ShiftUnit.weeks, 1, zone)
    schedule = Schedule(
        "s", zone, (Layer("only", rotation),), (Override("eve", starts_, ends, "swap"),)
    )
    if ends.astimezone(UTC) > starts_.astimezone(UTC):
        check_schedule(schedule)
        assert who_is_on_call(schedule, at).responder == ("eve" if inside else "ana")
    else:
        try:
            check_schedule(schedule)
        except ScheduleError as error:
            assert error.field == "ends"
        else:
            raise AssertionError("an override ending before it starts was accepted")
