"""Schedules stored and answered on both databases.

Caseflow (shared/seeds/001_836eb98e23d17364.txt): a primary and a secondary; "The secondary person
takes over whenever the primary is not available"; the procedure "only needs to be done during
business hours".
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import icalendar
import pytest

from fireline.auth.actor import Actor
from fireline.clock.now import ManualClock
from fireline.errors import Conflict, Forbidden, Invalid
from fireline.oncall.rotation import ShiftUnit
from fireline.oncall.schemas import LayerSpec, NewAbsence, NewOverride, NewSchedule
from fireline.oncall.service import (
    add_absence,
    add_override,
    create_schedule,
    list_overrides,
    replace_schedule,
    schedule_spans,
    who_is_on_call,
)
from fireline.people.service import deactivate_person
from fireline.store.db import Database

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from tests.conftest import World

NEW_YORK = ZoneInfo("America/New_York")
# Monday 2026-11-23 09:00 New York: the week of Thanksgiving.
MONDAY = datetime(2026, 11, 23, 9, tzinfo=NEW_YORK)


def prod_squad(**changes: object) -> NewSchedule:
    spec = {
        "slug": "prod-squad",
        "name": "Prod squad",
        "timezone": "America/New_York",
        "team": "caseflow",
        "layers": [
            LayerSpec(
                name="primary", members=["ada", "grace"], start=MONDAY, business_hours_only=True
            ),
            LayerSpec(
                name="secondary", members=["grace", "ada"], start=MONDAY, business_hours_only=True
            ),
        ],
    }
    spec.update(changes)
    return NewSchedule.model_validate(spec)


def responder(db: Database, world: World, at: datetime) -> tuple[str | None, str, str]:
    [answer] = who_is_on_call(db, world.admin, at, "prod-squad")
    return answer.responder, answer.reason, answer.detail


def test_the_primary_is_paged_in_business_hours(
    db: Database, clock: ManualClock, world: World
) -> None:
    create_schedule(db, clock, world.admin, prod_squad())

    person, reason, detail = responder(db, world, datetime(2026, 11, 24, 11, tzinfo=NEW_YORK))

    assert (person, reason) == ("ada", "rotation")
    assert "primary" in detail


def test_a_replaced_schedule_is_answered_anew_even_at_the_same_instant(
    db: Database, clock: ManualClock, world: World
) -> None:
    """Built layers are remembered per schedule revision: a rewrite must not be missed, even
    when the clock has not moved (the revision is random, not a time)."""
    create_schedule(db, clock, world.admin, prod_squad())
    tuesday = datetime(2026, 11, 24, 11, tzinfo=NEW_YORK)
    assert responder(db, world, tuesday)[0] == "ada"
    swapped = [
        LayerSpec(name="primary", members=["grace", "ada"], start=MONDAY, business_hours_only=True)
    ]
    replace_schedule(db, clock, world.admin, "prod-squad", prod_squad(layers=swapped))
    assert responder(db, world, tuesday)[0] == "grace"


# Another process writing an override, then deleting it, through the service layer.
ELSEWHERE = """
import sys
from datetime import datetime
from fireline.auth.actor import Actor, Role, Via
from fireline.oncall.schemas import NewOverride
from fireline.oncall.service import add_override, list_overrides, remove_override
from fireline.clock.now import ManualClock
from fireline.store.db import Database

url, user_id, handle, org_id, action, starts, ends = sys.argv[1:]
db = Database(url)
actor = Actor(int(user_id), handle, int(org_id), Role.responder, Via.api)
starts, ends = datetime.fromisoformat(starts), datetime.fromisoformat(ends)
if action == "add":
    new = NewOverride(person="grace", starts=starts, ends=ends, reason="elsewhere", layer="primary")
    add_override(db, ManualClock(starts), actor, "prod-squad", new)
else:
    for found in list_overrides(db, actor, "prod-squad", starts, ends):
        remove_override(db, actor, "prod-squad", found.id)
db.dispose()
"""


def elsewhere(db: Database, actor: Actor, action: str, starts: datetime, ends: datetime) -> None:
    arguments = [db.url, str(actor.user_id), actor.handle, str(actor.org_id), action]
    arguments += [starts.isoformat(), ends.isoformat()]
    subprocess.run([sys.executable, "-c", ELSEWHERE, *arguments], check=True, timeout=60)


def test_an_override_written_or_deleted_by_another_process_shows_at_once(
    db: Database, clock: ManualClock, world: World
) -> None:
    """A process keeps what it built of a schedule by revision, which only the layers' writes
    change: overrides are read at every answer, so one written or deleted anywhere shows at
    the next answer, at the very same instant."""
    create_schedule(db, clock, world.admin, prod_squad())
    tuesday = datetime(2026, 11, 24, 11, tzinfo=NEW_YORK)
    window = (tuesday - timedelta(hours=1), tuesday + timedelta(hours=1))
    assert responder(db, world, tuesday)[:2] == ("ada", "rotation")

    elsewhere(db, world.responder, "add", *window)
    assert responder(db, world, tuesday)[:2] == ("grace", "override")

    elsewhere(db, world.responder, "remove", *window)
    assert responder(db, world, tuesday)[:2] == ("ada", "rotation")


def test_many_schedules_are_answered_as_each_alone(
    db: Database, clock: ManualClock, world: World
) -> None:
    """Past 50 schedules the overrides are read by organisation (not by a list of ids): the
    answers match those of one schedule at a time, overrides, absences, fallbacks, team and
    default calendars and deactivated people included."""
    # Wednesday before Thanksgiving, after vic's deactivation (the clock's now, 10:00).
    morning = datetime(2026, 11, 25, 11, tzinfo=NEW_YORK)
    evening = datetime(2026, 11, 25, 20, tzinfo=NEW_YORK)
    for n in range(55):
        create_schedule(
            db,
            clock,
            world.admin,
            prod_squad(
                slug=f"s{n:02}",
                timezone=["America/New_York", "Europe/Berlin", "UTC"][n % 3],
                team="caseflow" if n % 2 else None,
                fallback="admin" if n % 5 == 0 else None,
                layers=[
                    LayerSpec(
                        name="primary",
                        members=["ada", "grace"][:: 1 - 2 * (n % 2)],
                        start=MONDAY - timedelta(hours=n),
                    ),
                    LayerSpec(
                        name="secondary",
                        members=["grace", "ada"],
                        start=MONDAY,
                        unit=ShiftUnit.days,
                        business_hours_only=n % 3 == 0,
                    ),
                ],
            ),
        )
        if n % 4 == 0:
            add_override(
                db,
                clock,
                world.responder,
                f"s{n:02}",
                NewOverride(
                    person="vic" if n % 8 else "admin",
                    starts=morning - timedelta(hours=n % 7),
                    ends=evening + timedelta(hours=n % 5),
                    reason=f"swap {n}",
                    layer=None if n % 3 else "secondary",
                ),
            )
    add_absence(
        db,
        clock,
        world.responder,
        NewAbsence(person="grace", starts=morning, ends=evening, reason="dentist"),
    )
    deactivate_person(db, clock, world.admin, "vic")

    reasons: set[str] = set()
    for at in (morning - timedelta(hours=2), morning, evening, evening + timedelta(days=1)):
        together = who_is_on_call(db, world.admin, at)
        alone = [who_is_on_call(db, world.admin, at, a.schedule)[0] for a in together]
        assert len(together) == 55
        assert together == alone
        reasons |= {d.reason for a in together for d in a.layers} | {a.reason for a in together}
    assert {"rotation", "override", "deactivated", "off_duty", "absent"} <= reasons


def test_the_secondary_takes_over_while_the_primary_is_on_pto(
    db: Database, clock: ManualClock, world: World
) -> None:
    create_schedule(db, clock, world.admin, prod_squad())
    add_absence(
        db,
        clock,
        world.responder,
        NewAbsence(
            person="ada",
            starts=datetime(2026, 11, 24, tzinfo=NEW_YORK),
            ends=datetime(2026, 11, 25, tzinfo=NEW_YORK),
            reason="PTO",
        ),
    )

    person, reason, detail = responder(db, world, datetime(2026, 11, 24, 11, tzinfo=NEW_YORK))

    assert (person, reason) == ("grace", "rotation")
    assert "secondary grace covers" in detail and "ada away: PTO" in detail
    assert responder(db, world, datetime(2026, 11, 25, 11, tzinfo=NEW_YORK))[0] == "ada"


def test_an_error_at_22_00_is_held_until_the_next_working_morning(
    db: Database, clock: ManualClock, world: World
) -> None:
    """Wednesday 22:00 before Thanksgiving: duty resumes Friday 09:00 (the caseflow calendar
    keeps US holidays)."""
    create_schedule(db, clock, world.admin, prod_squad())

    [answer] = who_is_on_call(
        db, world.admin, datetime(2026, 11, 25, 22, tzinfo=NEW_YORK), "prod-squad"
    )

    assert (answer.responder, answer.reason) == (None, "held")
    assert answer.held_until == datetime(2026, 11, 27, 9, tzinfo=NEW_YORK)


def test_an_override_covers_a_layer_and_an_overlapping_one_is_refused_writing_nothing(
    db: Database, clock: ManualClock, world: World
) -> None:
    create_schedule(db, clock, world.admin, prod_squad())
    starts, ends = (
        datetime(2026, 11, 24, 9, tzinfo=NEW_YORK),
        datetime(2026, 11, 24, 13, tzinfo=NEW_YORK),
    )
    add_override(
        db,
        clock,
        world.responder,
        "prod-squad",
        NewOverride(
            person="admin", starts=starts, ends=ends, reason="swap with ada", layer="primary"
        ),
    )

    assert responder(db, world, datetime(2026, 11, 24, 10, tzinfo=NEW_YORK))[:2] == (
        "admin",
        "override",
    )
    assert responder(db, world, datetime(2026, 11, 24, 13, tzinfo=NEW_YORK))[0] == "ada"
    with pytest.raises(Conflict, match="overlaps"):
        add_override(
            db,
            clock,
            world.responder,
            "prod-squad",
            NewOverride(
                person="grace",
                starts=ends - timedelta(hours=1),
                ends=ends + timedelta(hours=1),
                reason="second swap",
                layer="primary",
            ),
        )
    stored = list_overrides(
        db, world.admin, "prod-squad", starts - timedelta(days=1), ends + timedelta(days=1)
    )
    assert [o.reason for o in stored] == ["swap with ada"]


def test_overlapping_absences_of_one_person_are_refused(
    db: Database, clock: ManualClock, world: World
) -> None:
    day = datetime(2026, 12, 1, tzinfo=NEW_YORK)
    add_absence(
        db,
        clock,
        world.responder,
        NewAbsence(person="ada", starts=day, ends=day + timedelta(days=2), reason="PTO"),
    )
    with pytest.raises(Conflict, match="already away"):
        add_absence(
            db,
            clock,
            world.responder,
            NewAbsence(
                person="ada",
                starts=day + timedelta(days=1),
                ends=day + timedelta(days=3),
                reason="dentist",
            ),
        )


def test_a_gap_pages_the_fallback_and_says_so(
    db: Database, clock: ManualClock, world: World
) -> None:
    later = MONDAY + timedelta(days=7)
    create_schedule(
        db,
        clock,
        world.admin,
        prod_squad(
            team=None,
            fallback="admin",
            layers=[LayerSpec(name="primary", members=["ada"], start=later)],
        ),
    )

    person, reason, detail = responder(db, world, MONDAY + timedelta(hours=1))

    assert (person, reason) == ("admin", "fallback")
    assert "gap" in detail and "fallback" in detail


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"fallback": "nobody"}, "fallback"),
        ({"team": "no-such-team"}, "team"),
        ({"layers": [LayerSpec(name="primary", members=[], start=MONDAY)]}, "members"),
        (
            {"layers": [LayerSpec(name="primary", members=["ghost"], start=MONDAY)]},
            "layers.0.members",
        ),
        (
            {
                "layers": [
                    LayerSpec(name="a", members=["ada"], start=MONDAY),
                    LayerSpec(name="a", members=["grace"], start=MONDAY),
                ]
            },
            "layers",
        ),
    ],
)
def test_a_schedule_that_cannot_work_is_refused_naming_the_field(
    db: Database, clock: ManualClock, world: World, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        create_schedule(db, clock, world.admin, prod_squad(**changes))

    assert refused.value.field == field
    assert who_is_on_call(db, world.admin, MONDAY) == []


def test_only_admins_write_schedules(db: Database, clock: ManualClock, world: World) -> None:
    with pytest.raises(Forbidden):
        create_schedule(db, clock, world.responder, prod_squad())


def test_weekly_hand_offs_keep_the_local_time_across_the_dst_change(
    db: Database, clock: ManualClock, world: World
) -> None:
    """New York springs forward on 2027-03-14: hand-offs stay at Monday 09:00 local."""
    start = datetime(2027, 3, 1, 9, tzinfo=NEW_YORK)
    create_schedule(
        db,
        clock,
        world.admin,
        prod_squad(
            team=None,
            layers=[
                LayerSpec(
                    name="primary", members=["ada", "grace"], start=start, unit=ShiftUnit.weeks
                )
            ],
        ),
    )

    found = schedule_spans(db, world.admin, "prod-squad", start, start + timedelta(weeks=3))

    hand_offs = [s.starts for s in found if s.layer == "primary"]
    assert hand_offs == [datetime(2027, 3, d, 9, tzinfo=NEW_YORK) for d in (1, 8, 15)]
    assert [h.astimezone(UTC).hour for h in hand_offs] == [14, 14, 13]
    assert [s.person for s in found if s.layer == "primary"] == ["ada", "grace", "ada"]


def test_the_calendar_feed_is_rfc_5545_with_stable_uids(
    api: TestClient, clock: ManualClock, world: World
) -> None:
    created = api.post("/api/v1/schedules", json=prod_squad(team=None).model_dump(mode="json"))
    assert created.status_code == 201, created.text

    first = api.get("/api/v1/schedules/prod-squad/calendar.ics")
    clock.advance(timedelta(minutes=5))
    again = api.get(
        f"/api/v1/people/ada/calendar.ics?token={world.tokens['ada']}",
        headers={"Authorization": ""},
    )

    assert first.status_code == 200 and again.status_code == 200, again.text
    assert first.headers["content-type"].startswith("text/calendar")
    schedule_events = icalendar.Calendar.from_ical(first.content).walk("VEVENT")
    person_events = icalendar.Calendar.from_ical(again.content).walk("VEVENT")
    assert schedule_events and person_events
    assert {str(e["UID"]) for e in person_events} <= {str(e["UID"]) for e in schedule_events}
    assert all("ada" in str(e["SUMMARY"]) for e in person_events)
    busy = [
        e
        for e in schedule_events
        if e.decoded("DTSTART") <= MONDAY + timedelta(hours=1) < e.decoded("DTEND")
    ]
    assert [str(e["SUMMARY"]) for e in busy] == [
        "On call: ada (prod-squad, primary)",
        "On call: grace (prod-squad, secondary)",
    ]
