"""Who is on call at an instant, and why: rotations, layers, overrides, absences, duty hours.

Pure: values in, values out. The rules, as PagerDuty and GoAlert users expect them:
- A rotation hands off every N hours (elapsed time) or every N days/weeks at the local wall-clock
  time of its first hand-off, in the schedule's zone, whatever DST does in between (a skipped
  hand-off time becomes the end of the gap; see `clock.wall.first_reading`).
- An override puts someone else on a layer (or every layer) for a while: a swap or a cover.
- An absence (PTO, an appointment) takes a person off every layer for a while.
- A deactivated person is off every layer, and is no fallback, from their deactivation on.
- A layer restricted to business hours has nobody on duty outside the calendar's windows.
- The responder is the first layer's person who is on duty and present: Caseflow's secondary
  "takes over whenever the primary is not available". With nobody, a schedule whose layers are
  each off duty or whose person is away, at least one of them off duty, holds: errors outside
  duty wait for the morning (Caseflow), or until someone on a layer is back, if sooner. Any
  other gap (a rotation not started, nobody on a layer) goes to the fallback, and says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from fireline.clock.business import BusinessCalendar
from fireline.clock.wall import first_reading


class ShiftUnit(StrEnum):
    hours = "hours"
    days = "days"
    weeks = "weeks"


class Reason(StrEnum):
    rotation = "rotation"
    override = "override"
    absent = "absent"
    deactivated = "deactivated"
    off_duty = "off_duty"
    not_started = "not_started"
    empty = "empty"
    fallback = "fallback"
    held = "held"
    nobody = "nobody"


class ScheduleError(ValueError):
    """A schedule that cannot work as written; `field` names the part."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Shift:
    index: int
    person: str
    starts: datetime
    ends: datetime


@dataclass(frozen=True, slots=True)
class Rotation:
    members: tuple[str, ...]
    start: datetime
    unit: ShiftUnit
    length: int
    zone: ZoneInfo
    # Derived once: who-is-on-call asks thousands of rotations at a time.
    _start_utc: datetime = field(init=False, repr=False, compare=False)
    _local_start: datetime = field(init=False, repr=False, compare=False)
    _days: int = field(init=False, repr=False, compare=False)
    # The shift found last: asked again within it (the next page, the next minute), the answer
    # is the same, found without any wall-clock arithmetic. One slot, replaced whole.
    _last: list[tuple[int, datetime, datetime] | None] = field(
        init=False, repr=False, compare=False
    )
    # The last shift handed out, so that the answers within it share one value.
    _shift: list[Shift | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.length < 1:
            raise ScheduleError("length", "a shift lasts at least one unit")
        if self.start.tzinfo is None:
            raise ScheduleError("start", "a rotation starts at an aware instant")
        local = self.start.astimezone(self.zone)
        object.__setattr__(self, "_start_utc", self.start.astimezone(UTC))
        object.__setattr__(self, "_local_start", local.replace(tzinfo=None))
        object.__setattr__(self, "_days", self.length * (7 if self.unit is ShiftUnit.weeks else 1))
        object.__setattr__(self, "_last", [None])
        object.__setattr__(self, "_shift", [None])

    def handoff(self, index: int) -> datetime:
        """The instant (UTC) shift `index` begins; shift 0 begins at `start`."""
        if self.unit is ShiftUnit.hours or index == 0:
            # Index 0 too: a start in the second pass of a repeated hour (fold=1) would read
            # as its first pass, an hour before the rotation starts.
            return self._start_utc + timedelta(hours=self.length * index)
        local = self._local_start
        return first_reading(
            local.date() + timedelta(days=self._days * index), local.time(), self.zone
        )

    def _bounds(self, at: datetime) -> tuple[int, datetime, datetime] | None:
        """(index, start, end) of the shift holding `at`; None before the rotation starts."""
        instant = at.astimezone(UTC)
        last = self._last[0]
        if last is not None and last[1] <= instant < last[2]:
            return last
        found = self._find_bounds(at, instant)
        if found is not None:
            self._last[0] = found
        return found

    def _find_bounds(
        self, at: datetime, instant: datetime
    ) -> tuple[int, datetime, datetime] | None:
        if instant < self._start_utc:
            return None
        if self.unit is ShiftUnit.hours:
            index = int((instant - self._start_utc) // timedelta(hours=self.length))
            return index, self.handoff(index), self.handoff(index + 1)
        elapsed = at.astimezone(self.zone).replace(tzinfo=None) - self._local_start
        index = max(0, elapsed // timedelta(days=self._days))
        # Wall-clock arithmetic is off by at most one shift around a DST change; settle on
        # instants.
        starts, ends = self.handoff(index), self.handoff(index + 1)
        while ends <= instant:
            index += 1
            starts, ends = ends, self.handoff(index + 1)
        while index > 0 and starts > instant:
            index -= 1
            starts, ends = self.handoff(index), starts
        return index, starts, ends

    def shift_index(self, at: datetime) -> int | None:
        """Which shift holds `at`; None before the rotation starts."""
        bounds = self._bounds(at)
        return None if bounds is None else bounds[0]

    def shift_at(self, at: datetime) -> Shift | None:
        bounds = self._bounds(at)
        if bounds is None or not self.members:
            return None
        index, starts, ends = bounds
        known = self._shift[0]
        if known is not None and known.index == index:
            return known
        shift = Shift(index, self.members[index % len(self.members)], starts, ends)
        self._shift[0] = shift
        return shift


@dataclass(frozen=True, slots=True)
class Layer:
    name: str
    rotation: Rotation
    business_hours_only: bool = False
    # Answers shared rather than rebuilt: the duty outside business hours, and the last
    # rotation duty with the shift and zone it was written for (one slot, replaced whole).
    _off_duty: Duty = field(init=False, repr=False, compare=False)
    _turn: list[tuple[Shift, ZoneInfo, Duty] | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        off_duty = Duty(self.name, None, Reason.off_duty, "outside business hours")
        object.__setattr__(self, "_off_duty", off_duty)
        object.__setattr__(self, "_turn", [None])

    def turn(self, shift: Shift, zone: ZoneInfo) -> Duty:
        """The rotation duty of `shift`, its hand-off read on `zone`'s clock."""
        known = self._turn[0]
        if known is not None and known[0] is shift and known[1] is zone:
            return known[2]
        detail = f"{shift.person}'s turn since {_wall_clock(shift.starts, zone)}"
        duty = Duty(self.name, shift.person, Reason.rotation, detail)
        self._turn[0] = (shift, zone, duty)
        return duty


def _utc(instant: datetime) -> datetime:
    """Compare in UTC: aware datetimes sharing a tzinfo compare by wall time, ignoring `fold`,
    so 01:10 EST would read as inside 01:00-01:20 EDT."""
    return instant.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Override:
    """`person` takes `layer` (every layer when None) from `starts` to `ends`."""

    person: str
    starts: datetime
    ends: datetime
    reason: str
    layer: str | None = None

    def covers(self, at: datetime) -> bool:
        return _utc(self.starts) <= _utc(at) < _utc(self.ends)


@dataclass(frozen=True, slots=True)
class Absence:
    """`person` is away from every layer from `starts` to `ends` (PTO, an appointment)."""

    person: str
    starts: datetime
    ends: datetime
    reason: str

    def covers(self, at: datetime) -> bool:
        return _utc(self.starts) <= _utc(at) < _utc(self.ends)


@dataclass(frozen=True, slots=True)
class Deactivation:
    """`person` was deactivated at `since`: never on duty, never the fallback, from then on."""

    person: str
    since: datetime

    def covers(self, at: datetime) -> bool:
        return _utc(self.since) <= _utc(at)


@dataclass(frozen=True, slots=True)
class Schedule:
    name: str
    zone: ZoneInfo
    layers: tuple[Layer, ...]
    overrides: tuple[Override, ...] = ()
    absences: tuple[Absence, ...] = ()
    fallback: str | None = None
    calendar: BusinessCalendar | None = field(default=None, compare=False)
    deactivations: tuple[Deactivation, ...] = ()

    def deactivated(self, person: str, at: datetime) -> bool:
        if not self.deactivations:
            return False
        return any(d.person == person and d.covers(at) for d in self.deactivations)


@dataclass(frozen=True, slots=True)
class Duty:
    layer: str
    person: str | None
    reason: Reason
    detail: str


@dataclass(frozen=True, slots=True)
class OnCall:
    """The answer to "who is on call at `at`": every layer, and whom to page first."""

    schedule: str
    at: datetime
    duties: tuple[Duty, ...]
    responder: str | None
    reason: Reason
    detail: str
    held_until: datetime | None = None


def check_schedule(schedule: Schedule) -> None:
    """Raise `ScheduleError` for what cannot work: no layers, a rotation with nobody,
    overlapping overrides on one layer, overlapping absences of one person, empty ranges."""
    if not schedule.layers:
        raise ScheduleError("layers", "a schedule needs at least one layer")
    names = [layer.name for layer in schedule.layers]
    if len(set(names)) != len(names):
        raise ScheduleError("layers", "two layers share a name")
    for layer in schedule.layers:
        if not layer.rotation.members:
            raise ScheduleError("members", f"layer {layer.name!r} has nobody in its rotation")
        if layer.business_hours_only and schedule.calendar is None:
            raise ScheduleError("business_hours_only", "business hours need a calendar")
    for override in schedule.overrides:
        if _utc(override.ends) <= _utc(override.starts):
            raise ScheduleError("ends", "an override ends after it starts")
        if override.layer is not None and override.layer not in names:
            raise ScheduleError("layer", f"no layer {override.layer!r}; layers: {names}")
    for absence in schedule.absences:
        if _utc(absence.ends) <= _utc(absence.starts):
            raise ScheduleError("ends", "an absence ends after it starts")
    _no_overlaps(schedule.overrides, lambda o: o.layer or "*", "overrides on layer")
    _no_overlaps(schedule.absences, lambda a: a.person, "absences of")


def _no_overlaps(spans: Sequence[Override | Absence], key: Callable[[Any], str], what: str) -> None:
    by_key: dict[str, list[Override | Absence]] = {}
    for span in spans:
        by_key.setdefault(key(span), []).append(span)
    everywhere = by_key.get("*", [])
    for name, group in by_key.items():
        candidates = sorted(
            [*group, *(everywhere if name != "*" else [])], key=lambda s: _utc(s.starts)
        )
        for earlier, later in pairwise(candidates):
            if _utc(later.starts) < _utc(earlier.ends):
                raise ScheduleError(
                    "starts",
                    f"{what} {name}: {later.starts.isoformat()} to {later.ends.isoformat()} "
                    f"overlaps {earlier.starts.isoformat()} to {earlier.ends.isoformat()}",
                )


@lru_cache(maxsize=65536)
def _wall_clock(instant: datetime, zone: ZoneInfo) -> str:
    return f"{instant.astimezone(zone):%a %d %b %H:%M %Z}"


@lru_cache(maxsize=4096)
def _working(calendar: BusinessCalendar, instant: datetime) -> bool:
    """`calendar.is_working_time(instant)`, for a UTC `instant`: schedules sharing a calendar
    (a zone's default hours, a team's policy) ask it the same at the same instant, and a
    calendar never changes. Only UTC instants: aware datetimes that share a zone compare
    equal across a repeated hour, and would share an answer."""
    return calendar.is_working_time(instant)


def _duty(schedule: Schedule, layer: Layer, instant: datetime) -> Duty:
    """The duty of `layer` at `instant` (UTC)."""
    if (
        layer.business_hours_only
        and schedule.calendar is not None
        and not _working(schedule.calendar, instant)
    ):
        return layer._off_duty
    override = (
        next(
            (o for o in schedule.overrides if o.covers(instant) and o.layer in (None, layer.name)),
            None,
        )
        if schedule.overrides
        else None
    )
    if override is not None:
        person = override.person
        duty = Duty(layer.name, person, Reason.override, override.reason)
    else:
        shift = layer.rotation.shift_at(instant)
        if shift is None:
            reason = Reason.empty if not layer.rotation.members else Reason.not_started
            return Duty(
                layer.name,
                None,
                reason,
                "the rotation has not started"
                if reason is Reason.not_started
                else "nobody in the rotation",
            )
        person = shift.person
        duty = layer.turn(shift, schedule.zone)
    if schedule.deactivated(person, instant):
        return Duty(layer.name, None, Reason.deactivated, f"{person} was deactivated")
    if schedule.absences:
        absence = next(
            (a for a in schedule.absences if a.person == person and a.covers(instant)), None
        )
        if absence is not None:
            return Duty(layer.name, None, Reason.absent, f"{person} away: {absence.reason}")
    return duty


# A layer in one of these states has nobody now but will have, without anyone changing the
# schedule: duty resumes, or its person comes back (a deactivated person's turn passes).
_WAITING = frozenset({Reason.off_duty, Reason.absent, Reason.deactivated})


def _held_until(schedule: Schedule, duties: tuple[Duty, ...], at: datetime) -> datetime | None:
    """When a schedule with nobody available should be asked again, if it holds rather than
    goes to the fallback: the next duty start, or the first instant before it when some layer
    has its person back. None for a real gap: a layer with nobody, or not started."""
    if schedule.calendar is None or not all(d.reason in _WAITING for d in duties):
        return None
    if not any(d.reason is Reason.off_duty for d in duties):
        return None
    opens = schedule.calendar.next_working_start(at).astimezone(UTC)
    if all(d.reason is Reason.off_duty for d in duties):
        return opens  # every layer waits for the calendar: nothing changes before it opens
    for instant in _boundaries(schedule, at, opens):
        if instant > _utc(at) and any(
            _duty(schedule, layer, _utc(instant)).person is not None for layer in schedule.layers
        ):
            return instant
    return opens


def who_is_on_call(schedule: Schedule, at: datetime) -> OnCall:
    """Every layer's duty at `at`, and the responder to page first, with the reason."""
    instant = _utc(at)
    duties = tuple([_duty(schedule, layer, instant) for layer in schedule.layers])
    for position, duty in enumerate(duties):
        if duty.person is None:
            continue
        if position == 0:
            return OnCall(
                schedule.name, at, duties, duty.person, duty.reason, f"{duty.layer}: {duty.detail}"
            )
        missing = "; ".join(f"{d.layer}: {d.detail}" for d in duties[:position])
        return OnCall(
            schedule.name,
            at,
            duties,
            duty.person,
            duty.reason,
            f"{duty.layer} {duty.person} covers ({missing})",
        )
    gaps = "; ".join(f"{d.layer}: {d.detail}" for d in duties)
    held_until = _held_until(schedule, duties, at)
    if held_until is not None:
        detail = (
            "every layer is off duty; held until duty starts"
            if all(d.reason is Reason.off_duty for d in duties)
            else f"nobody on duty is available ({gaps}); held until duty resumes"
        )
        return OnCall(schedule.name, at, duties, None, Reason.held, detail, held_until=held_until)
    if schedule.fallback is not None and schedule.deactivated(schedule.fallback, at):
        return OnCall(
            schedule.name,
            at,
            duties,
            None,
            Reason.nobody,
            f"the schedule has a gap ({gaps}) and its fallback {schedule.fallback} was deactivated",
        )
    if schedule.fallback is not None:
        return OnCall(
            schedule.name,
            at,
            duties,
            schedule.fallback,
            Reason.fallback,
            f"the schedule has a gap ({gaps}); paging its fallback",
        )
    return OnCall(
        schedule.name,
        at,
        duties,
        None,
        Reason.nobody,
        f"the schedule has a gap ({gaps}) and no fallback",
    )


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of time during which one layer's duty (or the responder) does not change."""

    layer: str
    person: str | None
    reason: Reason
    detail: str
    starts: datetime
    ends: datetime


RESPONDER = "responder"


def _boundaries(schedule: Schedule, first: datetime, last: datetime) -> list[datetime]:
    instants = {first, last}
    for layer in schedule.layers:
        index = layer.rotation.shift_index(first)
        index = 0 if index is None else index
        while (handoff := layer.rotation.handoff(index)) < last:
            if handoff > first:
                instants.add(handoff)
            index += 1
        if layer.business_hours_only and schedule.calendar is not None:
            for opens, closes in schedule.calendar.working_windows(first, last):
                instants.update((opens, closes))
    edges: list[Override | Absence] = [*schedule.overrides, *schedule.absences]
    for span in edges:
        instants.update(t for t in (_utc(span.starts), _utc(span.ends)) if first < t < last)
    instants.update(_utc(d.since) for d in schedule.deactivations if first < _utc(d.since) < last)
    return sorted(instants)


def spans(schedule: Schedule, first: datetime, last: datetime) -> list[Span]:
    """Each layer's duty and the responder over [first, last), as merged spans: the on-call
    calendar. Every instant of the range is in exactly one span per layer."""
    first, last = first.astimezone(UTC), last.astimezone(UTC)
    result: list[Span] = []
    open_spans: dict[str, Span] = {}
    cuts = _boundaries(schedule, first, last)
    for begin, end in pairwise(cuts):
        answer = who_is_on_call(schedule, begin)
        pieces = [(d.layer, d.person, d.reason, d.detail) for d in answer.duties]
        pieces.append((RESPONDER, answer.responder, answer.reason, answer.detail))
        for name, person, reason, detail in pieces:
            current = open_spans.get(name)
            if current is not None and (current.person, current.reason, current.detail) == (
                person,
                reason,
                detail,
            ):
                open_spans[name] = Span(name, person, reason, detail, current.starts, end)
                continue
            if current is not None:
                result.append(current)
            open_spans[name] = Span(name, person, reason, detail, begin, end)
    result.extend(open_spans.values())
    return sorted(result, key=lambda s: (s.starts, s.layer))
