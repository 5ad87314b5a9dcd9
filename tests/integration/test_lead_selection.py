"""Openverse (shared/seeds/003_99da209470a807f6.txt): "By default, this is the week's MSR runner.
If it is outside of the MSR runner's working hours ... someone else will need to be the lead";
"has one person been handling most incidents and this time, someone new should take on?"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from fireline.auth.models import User
from fireline.clock.now import ManualClock
from fireline.incidents.schemas import NewIncident
from fireline.incidents.service import declare_incident, incident_timeline
from fireline.notify.models import OutboxMessage
from fireline.oncall.schemas import LayerSpec, NewSchedule
from fireline.oncall.service import create_schedule
from fireline.people.service import deactivate_person
from fireline.store.db import Database

if TYPE_CHECKING:
    from tests.conftest import World


def msr(db: Database, clock: ManualClock, world: World) -> None:
    """A weekly runner rotation for the openverse team: grace (New York) this week."""
    create_schedule(
        db,
        clock,
        world.admin,
        NewSchedule(
            slug="msr",
            name="MSR",
            timezone="UTC",
            team="openverse",
            layers=[
                LayerSpec(
                    name="runner",
                    members=["grace", "ada"],
                    start=datetime(2026, 11, 23, tzinfo=UTC),
                )
            ],
        ),
    )


def declare(db: Database, clock: ManualClock, world: World, at: datetime) -> tuple[str, str]:
    clock.set(at)
    incident = declare_incident(
        db,
        clock,
        world.responder,
        NewIncident(team="openverse", title=f"API slow at {at:%H:%M}", severity="severity-2"),
    )
    lead = next(h.person for h in incident.roles if h.role == incident.lead_role)
    [chosen] = [
        e
        for e in incident_timeline(db, world.admin, incident.id)
        if e.kind == "incident.lead_chosen"
    ]
    return lead or "", chosen.summary


def test_the_runner_leads_in_their_working_hours(
    db: Database, clock: ManualClock, world: World
) -> None:
    msr(db, clock, world)

    lead, why = declare(db, clock, world, datetime(2026, 11, 25, 15, tzinfo=UTC))  # 10:00 NY

    assert lead == "grace"
    assert "grace is on duty in the rotation and in working hours" in why


def test_outside_the_runners_hours_someone_in_working_hours_leads(
    db: Database, clock: ManualClock, world: World
) -> None:
    msr(db, clock, world)

    lead, why = declare(db, clock, world, datetime(2026, 11, 25, 8, tzinfo=UTC))  # 03:00 NY

    assert lead == "ada"  # 09:00 in Berlin; admin works 09:00-17:00 UTC
    assert "grace (on duty) is outside working hours" in why and "ada is in working hours" in why


def test_the_lead_goes_to_whoever_has_led_least_lately(
    db: Database, clock: ManualClock, world: World
) -> None:
    msr(db, clock, world)
    assert declare(db, clock, world, datetime(2026, 11, 25, 8, tzinfo=UTC))[0] == "ada"

    lead, why = declare(db, clock, world, datetime(2026, 11, 25, 10, tzinfo=UTC))  # 05:00 NY

    assert lead == "admin"  # ada (11:00 Berlin) led one already; admin (10:00 UTC) none
    assert "has led 0 incidents in the last 30 days" in why


def test_a_deactivated_person_is_never_chosen_to_lead(
    db: Database, clock: ManualClock, world: World
) -> None:
    msr(db, clock, world)
    deactivate_person(db, clock, world.admin, "ada")

    lead, why = declare(db, clock, world, datetime(2026, 11, 25, 10, tzinfo=UTC))  # 05:00 NY

    assert lead == "admin"  # ada (11:00 in Berlin) is in working hours, but she has left
    assert "ada" not in why


def test_the_chosen_lead_is_paged_at_once_and_a_lead_who_declared_is_not(
    db: Database, clock: ManualClock, world: World
) -> None:
    # 2i2c: "tagging in the incident commander": whoever the policy chose hears of it now,
    # whatever the ticket's own paging hours.
    msr(db, clock, world)
    declare(db, clock, world, datetime(2026, 11, 25, 15, tzinfo=UTC))  # grace leads
    with db.transaction() as session:
        pages = session.execute(
            select(User.handle, OutboxMessage.subject, OutboxMessage.deliver_after)
            .join(User, User.id == OutboxMessage.user_id)
            .where(OutboxMessage.idempotency_key.startswith("incident."))
        ).all()
    assert [(handle, when) for handle, _, when in pages] == [
        ("grace", datetime(2026, 11, 25, 15, tzinfo=UTC))
    ]
    assert "you are its" in pages[0][1]
    # Grace declares the next one herself: she is its lead, and not paged for it.
    clock.set(datetime(2026, 11, 25, 16, tzinfo=UTC))
    again = declare_incident(
        db, clock, world.other, NewIncident(team="openverse", title="Again", severity="severity-2")
    )
    assert next(h.person for h in again.roles if h.role == again.lead_role) == "grace"
    with db.transaction() as session:
        paged = session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.idempotency_key.startswith("incident."))
        )
    assert paged == 1
