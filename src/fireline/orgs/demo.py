"""`fireline demo`: a demo organisation, one team per shipped preset, with lived-in data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from fireline.auth.actor import Actor, Role, Via
from fireline.auth.models import User
from fireline.auth.service import actor_for, add_user, issue_token
from fireline.clock.now import Clock, ManualClock
from fireline.escalation import service as escalation
from fireline.escalation.schemas import NewEscalationPolicy
from fireline.incidents import service as incidents
from fireline.incidents.schemas import NewIncident
from fireline.oncall import service as oncall
from fireline.oncall.schemas import LayerSpec, NewAbsence, NewSchedule
from fireline.orgs.models import Organisation
from fireline.orgs.service import create_organisation, create_team, store_policy
from fireline.policy.load import parse_policy, preset_names, preset_text
from fireline.statuspage import service as statuspage
from fireline.statuspage.schemas import ComponentState, NewComponent, NewStatusUpdate
from fireline.store.db import Database
from fireline.tickets import service as tickets
from fireline.tickets.schemas import DeclareFromTicket, NewTicket

DEMO_SLUG = "demo"
ADMIN = "admin"
ADMIN_PASSWORD = "fireline-demo"


@dataclass(frozen=True, slots=True)
class DemoLogin:
    created: bool
    handle: str
    password: str
    token: str


def load_demo(db: Database, clock: Clock) -> DemoLogin:
    """Create the demo organisation once; every run hands out a fresh admin token."""
    with db.transaction() as session:
        organisation = session.scalar(select(Organisation).where(Organisation.slug == DEMO_SLUG))
        created = organisation is None
        if organisation is None:
            organisation = create_organisation(session, clock, DEMO_SLUG, "Demo Organisation")
            add_user(
                session,
                clock,
                organisation.id,
                ADMIN,
                "Demo Admin",
                Role.admin,
                email="admin@example.org",
                timezone="America/New_York",
                password=ADMIN_PASSWORD,
            )
            handles = {ADMIN}
            for name in preset_names():
                source = preset_text(name)
                team = create_team(session, clock, organisation.id, name, name.capitalize())
                store_policy(session, clock, team, source, f"preset:{name}", None)
                policy = parse_policy(source, name)
                for person in policy.people:
                    if person.handle not in handles:
                        handles.add(person.handle)
                        add_user(
                            session,
                            clock,
                            organisation.id,
                            person.handle,
                            person.name,
                            Role.responder,
                            email=person.email,
                            timezone=policy.calendar.timezone,
                        )
            for handle, name in (("ada", "Ada Responder"), ("grace", "Grace Responder")):
                if handle not in handles:
                    add_user(
                        session,
                        clock,
                        organisation.id,
                        handle,
                        name,
                        Role.responder,
                        timezone="Europe/Berlin",
                        password=ADMIN_PASSWORD,
                    )
        admin = session.scalar(
            select(User).where(User.org_id == organisation.id, User.handle == ADMIN)
        )
        if admin is None:
            raise RuntimeError("the demo organisation has lost its admin user")
        token = issue_token(session, clock, admin, "demo").token
        admin_actor = actor_for(admin, Via.demo)
    if created:
        _lived_in(db, clock, admin_actor)
    return DemoLogin(created, ADMIN, ADMIN_PASSWORD, token)


def _lived_in(db: Database, clock: Clock, actor: Actor) -> None:
    """Tickets and incidents as the seeds describe them, opened over the past days."""
    _schedules(db, clock, actor)
    past = ManualClock(clock.now() - timedelta(days=6))

    def step(hours: float) -> ManualClock:
        past.advance(timedelta(hours=hours))
        return past

    cost = tickets.open_ticket(
        db,
        step(1),
        actor,
        NewTicket(
            team="hail",
            title="Batch is churning through machines without billable work",
            service="batch",
            signals={"cost_usd_per_hour": 140},
        ),
    )
    tickets.mitigate(
        db,
        step(3),
        actor,
        cost.id,
        "P2",
        "Froze Batch; the churn stopped (the seed's P1 mitigation).",
    )
    tickets.open_ticket(
        db,
        step(2),
        actor,
        NewTicket(
            team="hail",
            title="UI pages take 7 s to load",
            service="ui",
            signals={"ui_page_latency_seconds": 7.2},
        ),
    )
    tickets.open_ticket(
        db,
        step(5),
        actor,
        NewTicket(
            team="caseflow",
            title="Reader: 500 on document list",
            service="Reader",
            labels=["prod-alert", "impact=not-sure"],
        ),
    )
    login = tickets.open_ticket(
        db,
        step(4),
        actor,
        NewTicket(
            team="2i2c",
            title="Users can't log in to the hub",
            service="hub",
            labels=["symptom=cannot-log-in"],
        ),
    )
    incidents.declare_from_ticket(
        db, step(0.5), actor, login.id, DeclareFromTicket(commander="grace")
    )
    outage = incidents.declare_incident(
        db,
        step(6),
        actor,
        NewIncident(
            team="openverse", title="Openverse.org is completely offline", severity="severity-1"
        ),
    )
    for slug, name in (("website", "Website"), ("api", "API"), ("hub", "JupyterHub")):
        statuspage.add_component(db, clock, actor, NewComponent(slug=slug, name=name))
    statuspage.publish_update(
        db,
        step(0.25),
        actor,
        outage.id,
        NewStatusUpdate(
            body="openverse.org does not load. We are investigating.",
            components={"website": ComponentState.major_outage},
        ),
    )
    incidents.move_incident(
        db, step(1), actor, outage.id, "stabilized", "Rolled back the frontend deploy."
    )
    statuspage.publish_update(
        db,
        step(0.1),
        actor,
        outage.id,
        NewStatusUpdate(
            body="We rolled back a faulty release; the site loads again, slowly.",
            components={"website": ComponentState.degraded_performance},
        ),
    )
    pypi = tickets.open_ticket(
        db,
        step(3),
        actor,
        NewTicket(
            team="meltano",
            title="pipx install meltano fails: PyPI outage",
            type="outage",
            service="pipx install meltano",
        ),
    )
    # Meltano's upstream failure: nobody paged, users told on the status page.
    tickets.mark_upstream(db, step(0.1), actor, pypi.id, "PyPI", "Installs may fail for now.")
    incidents.declare_incident(
        db,
        step(2),
        actor,
        NewIncident(
            team="meltano",
            title="Potential credential exposure",
            type="security",
            severity="highest",
        ),
    )


def _schedules(db: Database, clock: Clock, actor: Actor) -> None:
    """Caseflow's prod squad (a primary and a secondary, business hours only) and Openverse's
    weekly support rotation, both started a few weeks back, with someone on PTO today."""
    ny = ZoneInfo("America/New_York")
    monday = clock.now().astimezone(ny).date() - timedelta(
        days=clock.now().astimezone(ny).weekday() + 21
    )
    start = datetime.combine(monday, time(9), tzinfo=ny)
    oncall.create_schedule(
        db,
        clock,
        actor,
        NewSchedule(
            slug="prod-squad",
            name="Caseflow prod squad",
            timezone="America/New_York",
            team="caseflow",
            fallback="alan-ning",
            layers=[
                LayerSpec(
                    name="primary",
                    members=["mark", "alex", "sharon", "ada"],
                    start=start,
                    business_hours_only=True,
                ),
                LayerSpec(
                    name="secondary",
                    members=["ada", "sharon", "alex", "mark"],
                    start=start,
                    business_hours_only=True,
                ),
            ],
        ),
    )
    oncall.create_schedule(
        db,
        clock,
        actor,
        NewSchedule(
            slug="msr",
            name="Openverse mini support rotation",
            timezone="UTC",
            team="openverse",
            layers=[LayerSpec(name="runner", members=["grace", "ada"], start=start)],
        ),
    )
    escalation.create_policy(
        db,
        clock,
        actor,
        NewEscalationPolicy.model_validate(
            {
                "slug": "prod-squad",
                "name": "Prod squad, then the DevOps lead",
                "teams": ["caseflow", "hail", "meltano"],
                "steps": [
                    {"targets": [{"kind": "schedule", "name": "prod-squad"}], "delay_minutes": 15},
                    {
                        "targets": [{"kind": "tech_lead"}, {"kind": "person", "name": "alan-ning"}],
                        "delay_minutes": 30,
                    },
                ],
            }
        ),
    )
    escalation.create_policy(
        db,
        clock,
        actor,
        NewEscalationPolicy.model_validate(
            {
                "slug": "msr",
                "name": "Mini support rotation",
                "teams": ["openverse", "2i2c"],
                "steps": [{"targets": [{"kind": "schedule", "name": "msr"}], "delay_minutes": 30}],
                "repeat": 2,
            }
        ),
    )
    today = clock.now().astimezone(ny).date()
    oncall.add_absence(
        db,
        clock,
        actor,
        NewAbsence(
            person="sharon",
            starts=datetime.combine(today, time(0), tzinfo=ny),
            ends=datetime.combine(today + timedelta(days=1), time(0), tzinfo=ny),
            reason="PTO",
        ),
    )
