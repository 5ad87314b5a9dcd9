"""On-call use cases: schedules, overrides, absences, and who is on call, with the reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import Any, NamedTuple
from uuid import uuid4
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.orm import Session

from fireline.auth.actor import Actor, Role
from fireline.auth.models import User
from fireline.auth.service import PersonDeactivated
from fireline.clock.business import BusinessCalendar
from fireline.clock.now import Clock
from fireline.errors import Conflict, Invalid, NotFound
from fireline.incidents.models import RoleAssignment
from fireline.oncall import lead, rotation
from fireline.oncall.models import AbsenceRow, LayerRow, OverrideRow, ScheduleRow
from fireline.oncall.schemas import (
    AbsenceView,
    DutyView,
    LayerView,
    NewAbsence,
    NewOverride,
    NewSchedule,
    OnCallView,
    OverrideView,
    ScheduleView,
    SpanView,
)
from fireline.orgs.models import Team
from fireline.orgs.service import policies_in_force, team_by_slug
from fireline.store.db import Database

MAX_SPAN = timedelta(days=400)

_default_calendars: dict[str, BusinessCalendar] = {}


def _default_calendar(zone: str) -> BusinessCalendar:
    """Monday to Friday, 09:00 to 17:00 in the schedule's zone, for schedules without a team."""
    if zone not in _default_calendars:
        _default_calendars[zone] = BusinessCalendar(
            ZoneInfo(zone), range(5), time(9), time(17), lambda _year: ()
        )
    return _default_calendars[zone]


def _zone(name: str, field: str = "timezone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(field, f"unknown time zone {name!r} (use an IANA name)") from None


def _user_ids(
    session: Session, actor: Actor, handles: Sequence[str], field: str, *, on_duty: bool = True
) -> list[int]:
    """The ids of `handles`; unknown people are refused, and deactivated ones too when they
    would be put `on_duty` (a rotation, a fallback, an override)."""
    if not handles:
        return []
    rows = session.execute(
        select(User.handle, User.id, User.deactivated_at).where(
            User.org_id == actor.org_id, User.handle.in_(set(handles))
        )
    ).all()
    found = {row.handle: row.id for row in rows}
    missing = [h for h in handles if h not in found]
    if missing:
        raise Invalid(field, f"no such user: {', '.join(missing)}")
    gone = sorted({row.handle for row in rows if row.deactivated_at is not None})
    if on_duty and gone:
        raise PersonDeactivated(field, gone, "put on call")
    return [found[h] for h in handles]


def _schedule_row(session: Session, actor: Actor, slug: str) -> ScheduleRow:
    row = session.scalar(
        select(ScheduleRow).where(ScheduleRow.org_id == actor.org_id, ScheduleRow.slug == slug)
    )
    if row is None:
        raise NotFound(f"no schedule {slug!r}")
    return row


def _handles(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.handle).where(User.id.in_(ids))).all())


def _people(
    session: Session, ids: set[int]
) -> tuple[dict[int, str], tuple[rotation.Deactivation, ...]]:
    """Handles of `ids`, and which of them were deactivated since when, in one query."""
    if not ids:
        return {}, ()
    rows = session.execute(
        select(User.id, User.handle, User.deactivated_at).where(User.id.in_(ids))
    ).all()
    gone = tuple(
        rotation.Deactivation(row.handle, row.deactivated_at)
        for row in rows
        if row.deactivated_at is not None
    )
    return {row.id: row.handle for row in rows}, gone


@dataclass(frozen=True, slots=True)
class _BuiltLayers:
    """A schedule's layers as pure values, for the revision they were read at."""

    revision: str
    layers: tuple[rotation.Layer, ...]


# Layers change only when a schedule is written, which gives it a new random revision, so a
# process keeps what it built and rereads only the schedules written since.
_built: dict[int, _BuiltLayers] = {}
_BUILT_LIMIT = 100_000


def _layers_of(session: Session, rows: Sequence[Any]) -> dict[int, tuple[rotation.Layer, ...]]:
    found: dict[int, tuple[rotation.Layer, ...]] = {}
    stale = []
    for row in rows:
        known = _built.get(row.id)
        if known is not None and known.revision == row.revision:
            found[row.id] = known.layers
        else:
            stale.append(row)
    if not stale:
        return found
    layer_rows = session.execute(
        select(LayerRow.__table__)
        .where(LayerRow.schedule_id.in_([row.id for row in stale]))
        .order_by(LayerRow.position)
    ).all()
    handles = _handles(session, {i for layer in layer_rows for i in layer.member_ids})
    by_schedule: dict[int, list[Any]] = {}
    for layer in layer_rows:
        by_schedule.setdefault(layer.schedule_id, []).append(layer)
    if len(_built) + len(stale) > _BUILT_LIMIT:
        _built.clear()
    for row in stale:
        layers = found[row.id] = tuple(
            _layer(
                layer.name,
                tuple(handles[i] for i in layer.member_ids),
                layer.rotation_start,
                layer.shift_unit,
                layer.shift_length,
                row.timezone,
                layer.business_hours_only,
            )
            for layer in by_schedule.get(row.id, [])
        )
        _built[row.id] = _BuiltLayers(row.revision, layers)
    return found


def _fallbacks_and_deactivations(
    session: Session, org_id: int, fallback_ids: set[int]
) -> tuple[dict[int, str], tuple[rotation.Deactivation, ...]]:
    """The handles of `fallback_ids`, and everyone of the organisation who was deactivated
    and since when (a short list), in one query."""
    wanted: ColumnElement[bool] = User.deactivated_at.is_not(None)
    if fallback_ids:
        wanted = or_(wanted, User.id.in_(fallback_ids))
    rows = session.execute(
        select(User.id, User.handle, User.deactivated_at).where(User.org_id == org_id, wanted)
    ).all()
    gone = tuple(
        rotation.Deactivation(handle, since) for _, handle, since in rows if since is not None
    )
    return {user_id: handle for user_id, handle, _ in rows}, gone


def _load(
    session: Session, rows: Sequence[Any], first: datetime, last: datetime
) -> dict[int, rotation.Schedule]:
    """Pure schedules for `rows` (ORM or plain schedule rows), with the overrides and absences
    that touch [first, last)."""
    if not rows:
        return {}
    org_id = rows[0].org_id
    layers_of = _layers_of(session, rows)
    # Many schedules: by organisation, not a list of a thousand ids to send and parse.
    schedules_asked = (
        OverrideRow.schedule_id.in_([row.id for row in rows])
        if len(rows) <= 50
        else OverrideRow.schedule_id.in_(select(ScheduleRow.id).where(ScheduleRow.org_id == org_id))
    )
    # Only the rows of the window (the span index), with the person's handle joined in.
    overrides_of: dict[int, list[rotation.Override]] = {}
    for schedule_id, person, starts, ends, reason, layer in session.execute(
        select(
            OverrideRow.schedule_id,
            User.handle,
            OverrideRow.starts_at,
            OverrideRow.ends_at,
            OverrideRow.reason,
            OverrideRow.layer,
        )
        .join(User, User.id == OverrideRow.user_id)
        .where(schedules_asked, OverrideRow.ends_at > first, OverrideRow.starts_at < last)
    ):
        overrides_of.setdefault(schedule_id, []).append(
            rotation.Override(person, starts, ends, reason, layer)
        )
    absences = tuple(
        rotation.Absence(person, starts, ends, reason)
        for person, starts, ends, reason in session.execute(
            select(User.handle, AbsenceRow.starts_at, AbsenceRow.ends_at, AbsenceRow.reason)
            .join(User, User.id == AbsenceRow.user_id)
            .where(
                AbsenceRow.org_id == org_id,
                AbsenceRow.ends_at > first,
                AbsenceRow.starts_at < last,
            )
        )
    )
    fallbacks, deactivations = _fallbacks_and_deactivations(
        session, org_id, {row.fallback_id for row in rows if row.fallback_id is not None}
    )
    calendars = {
        team_id: policy.calendar
        for team_id, policy in policies_in_force(
            session, {row.team_id for row in rows if row.team_id is not None}
        ).items()
    }
    schedules = {}
    for row in rows:
        overrides = overrides_of.get(row.id)
        team_id, fallback_id = row.team_id, row.fallback_id
        schedules[row.id] = rotation.Schedule(  # by position: cheaper, a thousand times over
            row.slug,
            _zone_named(row.timezone),
            layers_of[row.id],
            tuple(overrides) if overrides else (),
            absences,
            None if fallback_id is None else fallbacks.get(fallback_id),
            _default_calendar(row.timezone) if team_id is None else calendars[team_id],
            deactivations,
        )
    return schedules


@lru_cache(maxsize=1024)
def _zone_named(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=16384)
def _layer(
    name: str,
    members: tuple[str, ...],
    start: datetime,
    unit: str,
    length: int,
    timezone: str,
    business_hours_only: bool,
) -> rotation.Layer:
    """A layer built once per content: asked again (who is on call, every page), it is the
    same immutable value."""
    return rotation.Layer(
        name,
        rotation.Rotation(members, start, rotation.ShiftUnit(unit), length, ZoneInfo(timezone)),
        business_hours_only,
    )


def _check(schedule: rotation.Schedule) -> None:
    try:
        rotation.check_schedule(schedule)
    except rotation.ScheduleError as error:
        if "overlaps" in str(error):
            raise Conflict(str(error), field=error.field) from None
        raise Invalid(error.field, str(error)) from None


def _view(session: Session, row: ScheduleRow) -> ScheduleView:
    layers = session.scalars(
        select(LayerRow).where(LayerRow.schedule_id == row.id).order_by(LayerRow.position)
    ).all()
    ids = {i for layer in layers for i in layer.member_ids}
    handles, deactivations = _people(
        session, ids | ({row.fallback_id} if row.fallback_id else set())
    )
    team = session.scalar(select(Team.slug).where(Team.id == row.team_id)) if row.team_id else None
    return ScheduleView(
        slug=row.slug,
        name=row.name,
        timezone=row.timezone,
        team=team,
        fallback=handles.get(row.fallback_id) if row.fallback_id else None,
        deactivated=sorted(d.person for d in deactivations),
        layers=[
            LayerView(
                name=layer.name,
                members=[handles[i] for i in layer.member_ids],
                start=layer.rotation_start,
                unit=rotation.ShiftUnit(layer.shift_unit),
                length=layer.shift_length,
                business_hours_only=layer.business_hours_only,
            )
            for layer in layers
        ],
    )


def _write_layers(session: Session, actor: Actor, row: ScheduleRow, spec: NewSchedule) -> None:
    session.execute(delete(LayerRow).where(LayerRow.schedule_id == row.id))
    for position, layer in enumerate(spec.layers):
        session.add(
            LayerRow(
                schedule_id=row.id,
                position=position,
                name=layer.name,
                member_ids=_user_ids(session, actor, layer.members, f"layers.{position}.members"),
                rotation_start=layer.start,
                shift_unit=layer.unit.value,
                shift_length=layer.length,
                business_hours_only=layer.business_hours_only,
            )
        )


def _validate(spec: NewSchedule) -> None:
    zone = _zone(spec.timezone)
    try:
        pure = rotation.Schedule(
            spec.slug,
            zone,
            tuple(
                rotation.Layer(
                    layer.name,
                    rotation.Rotation(
                        tuple(layer.members), layer.start, layer.unit, layer.length, zone
                    ),
                    layer.business_hours_only,
                )
                for layer in spec.layers
            ),
            calendar=_default_calendar(spec.timezone),
        )
    except rotation.ScheduleError as error:
        raise Invalid(error.field, str(error)) from None
    _check(pure)


def create_schedule(db: Database, clock: Clock, actor: Actor, spec: NewSchedule) -> ScheduleView:
    actor.require(Role.admin)
    _validate(spec)
    now = clock.now()
    with db.transaction() as session:
        if (
            session.scalar(
                select(ScheduleRow.id).where(
                    ScheduleRow.org_id == actor.org_id, ScheduleRow.slug == spec.slug
                )
            )
            is not None
        ):
            raise Conflict(f"schedule {spec.slug!r} exists already")
        row = ScheduleRow(
            org_id=actor.org_id,
            slug=spec.slug,
            name=spec.name,
            timezone=spec.timezone,
            created_at=now,
            updated_at=now,
        )
        _set_owner(session, actor, row, spec)
        session.add(row)
        session.flush()
        _write_layers(session, actor, row, spec)
        session.flush()
        return _view(session, row)


def _set_owner(session: Session, actor: Actor, row: ScheduleRow, spec: NewSchedule) -> None:
    row.team_id = None
    if spec.team is not None:
        try:
            row.team_id = team_by_slug(session, actor.org_id, spec.team).id
        except NotFound as error:
            raise Invalid("team", error.detail) from None
    row.fallback_id = (
        _user_ids(session, actor, [spec.fallback], "fallback")[0] if spec.fallback else None
    )


def replace_schedule(
    db: Database, clock: Clock, actor: Actor, slug: str, spec: NewSchedule
) -> ScheduleView:
    """Rewrite a schedule's layers and settings; its overrides stay."""
    actor.require(Role.admin)
    if spec.slug != slug:
        raise Invalid("slug", "a schedule's slug cannot change")
    _validate(spec)
    with db.transaction() as session:
        row = _schedule_row(session, actor, slug)
        row.name, row.timezone, row.updated_at = spec.name, spec.timezone, clock.now()
        row.revision = uuid4().hex
        _set_owner(session, actor, row, spec)
        _write_layers(session, actor, row, spec)
        session.flush()
        return _view(session, row)


def list_schedules(db: Database, actor: Actor) -> list[ScheduleView]:
    with db.reading() as session:
        rows = session.scalars(
            select(ScheduleRow).where(ScheduleRow.org_id == actor.org_id).order_by(ScheduleRow.slug)
        ).all()
        return [_view(session, row) for row in rows]


def get_schedule(db: Database, actor: Actor, slug: str) -> ScheduleView:
    with db.reading() as session:
        return _view(session, _schedule_row(session, actor, slug))


def _answer_view(answer: rotation.OnCall) -> OnCallView:
    # `_value_`, not `value`: the same attribute, without the enum property's Python call.
    return OnCallView(
        schedule=answer.schedule,
        at=answer.at,
        responder=answer.responder,
        reason=answer.reason._value_,
        detail=answer.detail,
        held_until=answer.held_until,
        layers=[
            DutyView(layer=d.layer, person=d.person, reason=d.reason._value_, detail=d.detail)
            for d in answer.duties
        ],
    )


class _Plain(NamedTuple):
    """The columns of a schedule that who is on call reads, as a tuple: a Core row finds an
    attribute by name in Python, ten times slower, and there are a dozen per schedule."""

    id: int
    org_id: int
    slug: str
    timezone: str
    team_id: int | None
    fallback_id: int | None
    revision: str


_PLAIN_COLUMNS = select(
    ScheduleRow.id,
    ScheduleRow.org_id,
    ScheduleRow.slug,
    ScheduleRow.timezone,
    ScheduleRow.team_id,
    ScheduleRow.fallback_id,
    ScheduleRow.revision,
)


def on_call(
    session: Session, org_id: int, at: datetime, slugs: Sequence[str] | None = None
) -> list[rotation.OnCall]:
    """Who is on call at `at` on every schedule (or the named ones), in the caller's session."""
    # The columns needed, not ORM objects: on a thousand schedules the difference is a good
    # part of the time.
    query = _PLAIN_COLUMNS.where(ScheduleRow.org_id == org_id)
    if slugs is not None:
        query = query.where(ScheduleRow.slug.in_(slugs))
    rows = [_Plain._make(row) for row in session.execute(query.order_by(ScheduleRow.slug))]
    schedules = _load(session, rows, at, at + timedelta(microseconds=1))
    return [rotation.who_is_on_call(schedules[row.id], at) for row in rows]


def who_is_on_call(
    db: Database, actor: Actor, at: datetime, schedule: str | None = None
) -> list[OnCallView]:
    with db.reading() as session:
        if schedule is not None:
            _schedule_row(session, actor, schedule)
        answers = on_call(session, actor.org_id, at, [schedule] if schedule else None)
        return [_answer_view(a) for a in answers]


def _override_view(row: OverrideRow, handles: dict[int, str]) -> OverrideView:
    return OverrideView(
        id=row.id,
        person=handles[row.user_id],
        starts=row.starts_at,
        ends=row.ends_at,
        reason=row.reason,
        layer=row.layer,
        created_by=handles.get(row.created_by_id) if row.created_by_id else None,
    )


def add_override(
    db: Database, clock: Clock, actor: Actor, slug: str, new: NewOverride
) -> OverrideView:
    """Put someone on a layer (or every layer) for a while; overlaps are refused (409)."""
    actor.require(Role.responder)
    with db.transaction() as session:
        row = _schedule_row(session, actor, slug)
        [user_id] = _user_ids(session, actor, [new.person], "person")
        override = OverrideRow(
            schedule_id=row.id,
            layer=new.layer,
            user_id=user_id,
            starts_at=new.starts,
            ends_at=new.ends,
            reason=new.reason,
            created_by_id=actor.user_id,
            created_at=clock.now(),
        )
        session.add(override)
        session.flush()
        _check(_load(session, [row], new.starts, new.ends)[row.id])
        return _override_view(override, _handles(session, {user_id, actor.user_id or user_id}))


def list_overrides(
    db: Database, actor: Actor, slug: str, first: datetime, last: datetime
) -> list[OverrideView]:
    with db.reading() as session:
        row = _schedule_row(session, actor, slug)
        rows = session.scalars(
            select(OverrideRow)
            .where(
                OverrideRow.schedule_id == row.id,
                OverrideRow.ends_at > first,
                OverrideRow.starts_at < last,
            )
            .order_by(OverrideRow.starts_at)
        ).all()
        handles = _handles(
            session, {r.user_id for r in rows} | {r.created_by_id for r in rows if r.created_by_id}
        )
        return [_override_view(r, handles) for r in rows]


def remove_override(db: Database, actor: Actor, slug: str, override_id: int) -> None:
    actor.require(Role.responder)
    with db.transaction() as session:
        row = _schedule_row(session, actor, slug)
        deleted = session.execute(
            delete(OverrideRow).where(
                OverrideRow.id == override_id, OverrideRow.schedule_id == row.id
            )
        )
        if deleted.rowcount == 0:  # type: ignore[attr-defined]
            raise NotFound(f"no override {override_id} on {slug!r}")


def add_absence(db: Database, clock: Clock, actor: Actor, new: NewAbsence) -> AbsenceView:
    """A person away from every schedule (PTO, an appointment); overlaps are refused (409)."""
    actor.require(Role.responder)
    if new.ends <= new.starts:
        raise Invalid("ends", "an absence ends after it starts")
    with db.transaction() as session:
        [user_id] = _user_ids(session, actor, [new.person], "person", on_duty=False)
        clash = session.scalar(
            select(AbsenceRow).where(
                AbsenceRow.user_id == user_id,
                AbsenceRow.ends_at > new.starts,
                AbsenceRow.starts_at < new.ends,
            )
        )
        if clash is not None:
            raise Conflict(
                f"{new.person} is already away {clash.starts_at.isoformat()} to "
                f"{clash.ends_at.isoformat()} ({clash.reason})",
                field="starts",
            )
        absence = AbsenceRow(
            org_id=actor.org_id,
            user_id=user_id,
            starts_at=new.starts,
            ends_at=new.ends,
            reason=new.reason,
            created_by_id=actor.user_id,
            created_at=clock.now(),
        )
        session.add(absence)
        session.flush()
        return AbsenceView(
            id=absence.id,
            person=new.person,
            starts=absence.starts_at,
            ends=absence.ends_at,
            reason=absence.reason,
        )


def _checked_range(first: datetime, last: datetime) -> None:
    if last <= first:
        raise Invalid("to", "the range ends after it starts")
    if last - first > MAX_SPAN:
        raise Invalid("to", f"ask for at most {MAX_SPAN.days} days at a time")


def schedule_spans(
    db: Database, actor: Actor, slug: str, first: datetime, last: datetime
) -> list[SpanView]:
    """The on-call calendar of one schedule: who holds each layer, and the responder."""
    _checked_range(first, last)
    with db.reading() as session:
        row = _schedule_row(session, actor, slug)
        pure = _load(session, [row], first, last)[row.id]
        return [_span_view(s) for s in rotation.spans(pure, first, last)]


def person_spans(
    db: Database, actor: Actor, handle: str, first: datetime, last: datetime
) -> list[tuple[str, SpanView]]:
    """Every stretch `handle` holds a layer, on every schedule: a person's on-call calendar."""
    _checked_range(first, last)
    with db.reading() as session:
        _user_ids(session, actor, [handle], "person", on_duty=False)
        rows = session.scalars(
            select(ScheduleRow).where(ScheduleRow.org_id == actor.org_id).order_by(ScheduleRow.slug)
        ).all()
        schedules = _load(session, rows, first, last)
        return [
            (row.slug, _span_view(s))
            for row in rows
            for s in rotation.spans(schedules[row.id], first, last)
            if s.person == handle and s.layer != rotation.RESPONDER
        ]


def _span_view(span: rotation.Span) -> SpanView:
    return SpanView(
        layer=span.layer,
        person=span.person,
        reason=span.reason.value,
        detail=span.detail,
        starts=span.starts,
        ends=span.ends,
    )


def _working_hours(user: User) -> BusinessCalendar:
    key = f"{user.timezone}|{user.working_days}|{user.work_starts}|{user.work_ends}"
    if key not in _personal_calendars:
        starts, ends = (time.fromisoformat(t) for t in (user.work_starts, user.work_ends))
        _personal_calendars[key] = BusinessCalendar(
            ZoneInfo(user.timezone), user.working_days, starts, ends, lambda _year: ()
        )
    return _personal_calendars[key]


_personal_calendars: dict[str, BusinessCalendar] = {}


def choose_lead(
    session: Session, org_id: int, team_id: int, role: str, now: datetime, window_days: int
) -> tuple[User | None, str] | None:
    """The lead for a new incident of the team (Openverse): its rotation's person on duty if in
    their working hours, else the responder in working hours with the fewest recent leads.
    None when the team has no schedule."""
    schedule = session.scalar(
        select(ScheduleRow)
        .where(ScheduleRow.org_id == org_id, ScheduleRow.team_id == team_id)
        .order_by(ScheduleRow.slug)
    )
    if schedule is None:
        return None  # no rotation to take a lead from: the lead stays for people to assign
    answer = rotation.who_is_on_call(
        _load(session, [schedule], now, now + timedelta(microseconds=1))[schedule.id], now
    )
    people = session.scalars(
        select(User).where(
            User.org_id == org_id,
            User.role.in_(("responder", "admin")),
            User.deactivated_at.is_(None),
        )
    ).all()
    since = now - timedelta(days=window_days)
    counts = dict(
        session.execute(
            select(RoleAssignment.user_id, func.count())
            .where(RoleAssignment.role == role, RoleAssignment.assigned_at >= since)
            .group_by(RoleAssignment.user_id)
        ).all()
    )
    candidates = {
        u.handle: lead.Candidate(u.handle, _working_hours(u), counts.get(u.id, 0)) for u in people
    }
    runner = candidates.get(answer.responder) if answer.responder else None
    choice = lead.choose_lead(runner, list(candidates.values()), now, window_days)
    chosen = next((u for u in people if u.handle == choice.handle), None)
    return chosen, f"{schedule.slug}: {choice.reason}"


def places_naming(session: Session, org_id: int, user_id: int, now: datetime) -> list[str]:
    """Where a schedule still names a person: rotations, fallbacks, overrides to come."""
    found: list[str] = []
    rows = session.execute(
        select(ScheduleRow.slug, LayerRow.name, LayerRow.member_ids)
        .join(LayerRow, LayerRow.schedule_id == ScheduleRow.id)
        .where(ScheduleRow.org_id == org_id)
        .order_by(ScheduleRow.slug, LayerRow.position)
    ).all()
    found += [f"schedule {slug}, layer {layer}" for slug, layer, ids in rows if user_id in ids]
    found += [
        f"schedule {slug}, fallback"
        for slug in session.scalars(
            select(ScheduleRow.slug)
            .where(ScheduleRow.org_id == org_id, ScheduleRow.fallback_id == user_id)
            .order_by(ScheduleRow.slug)
        )
    ]
    found += [
        f"schedule {slug}, override until {ends.isoformat()}"
        for slug, ends in session.execute(
            select(ScheduleRow.slug, OverrideRow.ends_at)
            .join(OverrideRow, OverrideRow.schedule_id == ScheduleRow.id)
            .where(
                ScheduleRow.org_id == org_id,
                OverrideRow.user_id == user_id,
                OverrideRow.ends_at > now,
            )
            .order_by(ScheduleRow.slug, OverrideRow.starts_at)
        )
    ]
    return found
