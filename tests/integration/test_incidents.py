"""Incidents against a real database: workflow, roles and hand-offs, privacy, the timeline.

Every test runs on SQLite and on PostgreSQL (the `db` fixture).
Seeds: shared/seeds/002_8c93dbe06ffd41bb.txt (2i2c), 003_99da209470a807f6.txt (Openverse),
004_5052860858eb7f21.txt (Meltano).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from fireline.auth.actor import Via
from fireline.clock.now import ManualClock
from fireline.errors import Conflict, Forbidden, Invalid, NotFound
from fireline.incidents.schemas import NewIncident
from fireline.incidents.service import (
    add_member,
    assign_role,
    change_severity,
    declare_from_ticket,
    declare_incident,
    get_incident,
    incident_timeline,
    link_ticket,
    list_incidents,
    move_incident,
    post_update,
)
from fireline.incidents.workflow import TransitionRefused
from fireline.store.db import Database
from fireline.tickets.schemas import DeclareFromTicket, NewTicket
from fireline.tickets.service import get_ticket, open_ticket, ticket_timeline

if TYPE_CHECKING:
    from conftest import World

# -- Openverse's workflow --------------------------------------------------------------------

# Openverse seed, the diagram: A[Stabilization pending] B[Stabilized] C[Under investigation]
# D[Resolved]; A --> B, B --> C, B --> A, C --> A, C --> D, D --> A.
A, B, C, D = "stabilization_pending", "stabilized", "under_investigation", "resolved"
DIAGRAM = {(A, B), (B, C), (B, A), (C, A), (C, D), (D, A)}
# The allowed next states of each, in the order the policy lists them.
NEXT = {A: [B], B: [C, A], C: [A, D], D: [A]}
# A path from a new incident (which starts in A) to each state.
PATH = {A: [], B: [B], C: [B, C], D: [B, C, D]}


def openverse_incident(db: Database, clock: ManualClock, world: World, state: str) -> int:
    incident = declare_incident(
        db,
        clock,
        world.responder,
        NewIncident(team="openverse", severity="severity-1", title="Openverse.org is down"),
    )
    assert incident.status == A
    for step in PATH[state]:
        move_incident(db, clock, world.responder, incident.id, step)
    return incident.id


@pytest.mark.parametrize(
    ("source", "target"),
    [(s, t) for s in (A, B, C, D) for t in (A, B, C, D) if (s, t) in DIAGRAM],
)
def test_openverse_allows_each_move_of_its_diagram(
    db: Database, clock: ManualClock, world: World, source: str, target: str
) -> None:
    """Openverse seed: the status flowchart, arrow by arrow."""
    incident_id = openverse_incident(db, clock, world, source)

    moved = move_incident(db, clock, world.responder, incident_id, target)

    assert moved.status == target
    assert moved.allowed_next == NEXT[target]
    assert get_incident(db, world.responder, incident_id).status == target
    last = incident_timeline(db, world.responder, incident_id)[-1]
    assert (last.kind, last.data["source"], last.data["target"]) == (
        "incident.moved",
        source,
        target,
    )


@pytest.mark.parametrize(
    ("source", "target"),
    [(s, t) for s in (A, B, C, D) for t in (A, B, C, D) if (s, t) not in DIAGRAM],
)
def test_openverse_refuses_every_move_not_in_its_diagram(
    db: Database, clock: ManualClock, world: World, source: str, target: str
) -> None:
    """Openverse seed: no arrow, no move; the refusal lists the arrows out of the state."""
    incident_id = openverse_incident(db, clock, world, source)
    before = get_incident(db, world.responder, incident_id)
    events_before = incident_timeline(db, world.responder, incident_id)
    clock.advance(timedelta(minutes=5))

    with pytest.raises(TransitionRefused) as refused:
        move_incident(db, clock, world.responder, incident_id, target)

    assert (refused.value.current, refused.value.requested) == (source, target)
    assert refused.value.allowed == NEXT[source]
    assert get_incident(db, world.responder, incident_id) == before
    assert incident_timeline(db, world.responder, incident_id) == events_before


def test_an_openverse_incident_may_be_recorded_as_stabilized_but_not_later(
    db: Database, clock: ManualClock, world: World
) -> None:
    """Openverse seed, step 1 (Record): "Stabilization pending OR Stabilized (as appropriate)"."""
    stable = declare_incident(
        db,
        clock,
        world.responder,
        NewIncident(team="openverse", severity="severity-1", title="Slow API", status=B),
    )
    assert stable.status == B

    with pytest.raises(TransitionRefused) as refused:
        declare_incident(
            db,
            clock,
            world.responder,
            NewIncident(team="openverse", severity="severity-1", title="x", status=C),
        )
    assert refused.value.allowed == [A, B]
    with pytest.raises(Invalid) as unknown:
        declare_incident(
            db,
            clock,
            world.responder,
            NewIncident(team="openverse", severity="severity-1", title="x", status="fixed"),
        )
    assert unknown.value.field == "status"
    assert list_incidents(db, world.responder).total == 1


def test_resolving_sets_resolved_at_and_destabilizing_clears_it(
    db: Database, clock: ManualClock, world: World
) -> None:
    """Openverse seed: "incidents can be destabilized if they reoccur, and the state should
    rollback to 'Stabilization pending'"."""
    incident_id = openverse_incident(db, clock, world, C)
    clock.advance(timedelta(hours=2))

    resolved = move_incident(db, clock, world.responder, incident_id, D)
    assert (resolved.open, resolved.resolved_at) == (False, clock.now())
    assert get_incident(db, world.responder, incident_id).resolved_at == clock.now()
    assert list_incidents(db, world.responder, open=False).total == 1

    clock.advance(timedelta(days=1))
    reopened = move_incident(db, clock, world.responder, incident_id, A, "it happened again")
    assert (reopened.open, reopened.resolved_at) == (True, None)
    assert get_incident(db, world.responder, incident_id).resolved_at is None
    assert list_incidents(db, world.responder, open=True).total == 1


def test_a_state_the_workflow_does_not_have_is_invalid(
    db: Database, clock: ManualClock, world: World
) -> None:
    incident_id = openverse_incident(db, clock, world, A)

    with pytest.raises(Invalid) as refused:
        move_incident(db, clock, world.responder, incident_id, "closed")
    assert refused.value.field == "to"


# -- 2i2c: roles -----------------------------------------------------------------------------


def login_ticket(db: Database, clock: ManualClock, world: World) -> int:
    return open_ticket(
        db,
        clock,
        world.responder,
        NewTicket(team="2i2c", title="Users can't log in", labels=["symptom=cannot-log-in"]),
    ).id


def test_the_support_steward_declares_and_tags_in_a_different_commander(
    db: Database, clock: ManualClock, world: World
) -> None:
    """2i2c seed: the support steward declares the incident, assigns an incident commander,
    and should "Respond to the support ticket by acknowledging the incident, tagging in the
    incident commander"."""
    ticket_id = login_ticket(db, clock, world)
    clock.advance(timedelta(minutes=10))

    incident = declare_from_ticket(
        db, clock, world.responder, ticket_id, DeclareFromTicket(commander="grace")
    )

    holders = {h.role: h.person for h in incident.roles}
    assert holders == {
        "incident_commander": "grace",
        "support_steward": "ada",
        "responder": None,
    }
    assert incident.lead_role == "incident_commander"
    assert (incident.type, incident.severity, incident.declared_by) == (
        "hub-incident",
        "urgent",
        "ada",
    )
    assert incident.tickets == [ticket_id]
    assert set(incident.members) == {"ada", "grace"}
    stored = get_incident(db, world.other, incident.id)
    assert stored.model_dump_json() == incident.model_dump_json()

    ticket = get_ticket(db, world.responder, ticket_id)
    assert ticket.incident_id == incident.id
    [comment] = ticket.comments
    assert comment.author == "ada"
    assert f"#{incident.id}" in comment.body
    assert "@grace" in comment.body
    assert comment.created_at == clock.now()
    assert ticket_timeline(db, world.responder, ticket_id)[-1].kind == "ticket.commented"


def test_a_ticket_escalated_into_a_private_incident_does_not_learn_its_title(
    db: Database, clock: ManualClock, world: World
) -> None:
    """Meltano seed: security incidents are handled privately; the ticket everyone can read is
    acknowledged without the incident's title."""
    ticket = open_ticket(
        db,
        clock,
        world.responder,
        NewTicket(team="meltano", title="Leaked credentials in CI logs", priority="highest"),
    )

    incident = declare_from_ticket(
        db,
        clock,
        world.responder,
        ticket.id,
        DeclareFromTicket(type="security", title="Token exfiltrated from the CI runner"),
    )

    assert incident.private
    [comment] = get_ticket(db, world.other, ticket.id).comments
    assert f"private incident #{incident.id}" in comment.body
    assert "exfiltrated" not in comment.body
    with pytest.raises(NotFound):
        get_incident(db, world.other, incident.id)


def test_the_commander_may_not_be_the_steward_and_a_refusal_writes_nothing(
    db: Database, clock: ManualClock, world: World
) -> None:
    """2i2c seed: "The expectation should be that this is different person than the support
    steward"."""
    ticket_id = login_ticket(db, clock, world)
    ticket_before = get_ticket(db, world.responder, ticket_id)
    events_before = ticket_timeline(db, world.responder, ticket_id)

    with pytest.raises(Conflict) as refused:
        declare_from_ticket(
            db, clock, world.responder, ticket_id, DeclareFromTicket(commander="ada")
        )

    assert refused.value.extensions == {
        "role": "incident_commander",
        "conflicting": "support_steward",
    }
    assert list_incidents(db, world.admin).total == 0
    assert get_ticket(db, world.responder, ticket_id) == ticket_before
    assert ticket_timeline(db, world.responder, ticket_id) == events_before


def test_the_steward_may_not_take_command_later_either(
    db: Database, clock: ManualClock, world: World
) -> None:
    ticket_id = login_ticket(db, clock, world)
    incident = declare_from_ticket(
        db, clock, world.responder, ticket_id, DeclareFromTicket(commander="grace")
    )
    events_before = incident_timeline(db, world.responder, incident.id)

    with pytest.raises(Conflict):
        assign_role(db, clock, world.other, incident.id, "incident_commander", "ada")

    assert get_incident(db, world.responder, incident.id) == incident
    assert incident_timeline(db, world.responder, incident.id) == events_before


def test_tagging_out_hands_the_role_off_and_keeps_its_history(
    db: Database, clock: ManualClock, world: World
) -> None:
    """2i2c seed: the incident commander "can tag out when it is no longer working hours"."""
    ticket_id = login_ticket(db, clock, world)
    incident = declare_from_ticket(
        db, clock, world.responder, ticket_id, DeclareFromTicket(commander="grace")
    )
    declared_at = clock.now()
    clock.advance(timedelta(hours=7))

    handed = assign_role(
        db, clock, world.other, incident.id, "incident_commander", "admin", "end of my day"
    )

    assert {h.role: h.person for h in handed.roles}["incident_commander"] == "admin"
    commanders = [
        (s.person, s.assigned_at, s.relieved_at)
        for s in get_incident(db, world.admin, incident.id).role_history
        if s.role == "incident_commander"
    ]
    assert commanders == [("grace", declared_at, clock.now()), ("admin", clock.now(), None)]
    event = incident_timeline(db, world.admin, incident.id)[-1]
    assert (event.kind, event.actor, event.at) == ("incident.role", "grace", clock.now())
    assert (event.data["role"], event.data["source"], event.data["target"]) == (
        "incident_commander",
        "grace",
        "admin",
    )
    assert "end of my day" in event.summary


def test_tagging_out_with_nobody_leaves_the_role_vacant(
    db: Database, clock: ManualClock, world: World
) -> None:
    ticket_id = login_ticket(db, clock, world)
    incident = declare_from_ticket(
        db, clock, world.responder, ticket_id, DeclareFromTicket(commander="grace")
    )
    clock.advance(timedelta(hours=7))

    vacated = assign_role(db, clock, world.other, incident.id, "incident_commander", None)

    [commander] = [h for h in vacated.roles if h.role == "incident_commander"]
    assert (commander.person, commander.since) == (None, None)
    [spell] = [s for s in vacated.role_history if s.role == "incident_commander"]
    assert (spell.person, spell.relieved_at) == ("grace", clock.now())
    event = incident_timeline(db, world.other, incident.id)[-1]
    assert (event.kind, event.data["source"], event.data["target"]) == (
        "incident.role",
        "grace",
        None,
    )

    with pytest.raises(Invalid) as unknown:
        assign_role(db, clock, world.other, incident.id, "scribe", None)
    assert unknown.value.field == "role"


# -- Meltano: private security incidents -----------------------------------------------------


def test_meltano_security_incidents_are_seen_only_by_their_members(
    db: Database, clock: ManualClock, world: World
) -> None:
    """Meltano seed: "Potential security incident must be reported to the ISM and other on-call
    engineers promptly ... (#internal-infra-alerts)": a private channel, not the team at large."""
    public = declare_incident(
        db,
        clock,
        world.other,
        NewIncident(team="meltano", severity="highest", title="meltano.com is down"),
    )
    secret = declare_incident(
        db,
        clock,
        world.other,
        NewIncident(
            team="meltano", severity="highest", title="Leaked credentials", type="security"
        ),
    )
    assert (public.private, secret.private) == (False, True)

    for outsider in (world.responder, world.viewer):
        with pytest.raises(NotFound) as hidden:
            get_incident(db, outsider, secret.id)
        assert hidden.value.detail == f"no incident {secret.id}"
        with pytest.raises(NotFound):
            incident_timeline(db, outsider, secret.id)
        page = list_incidents(db, outsider)
        assert ([i.id for i in page.items], page.total) == ([public.id], 1)
    with pytest.raises(NotFound):
        post_update(db, clock, world.responder, secret.id, "peeking")
    with pytest.raises(NotFound):
        add_member(db, clock, world.responder, secret.id, "ada")

    assert get_incident(db, world.other, secret.id).members == ["grace"]
    assert [i.id for i in list_incidents(db, world.other).items] == [secret.id, public.id]

    add_member(db, clock, world.other, secret.id, "ada")

    assert get_incident(db, world.responder, secret.id).members == ["grace", "ada"]
    assert list_incidents(db, world.responder).total == 2
    with pytest.raises(NotFound):
        get_incident(db, world.viewer, secret.id)


def test_a_viewer_cannot_declare_or_change_an_incident(
    db: Database, clock: ManualClock, world: World
) -> None:
    incident_id = openverse_incident(db, clock, world, A)

    with pytest.raises(Forbidden):
        declare_incident(
            db, clock, world.viewer, NewIncident(team="openverse", severity="severity-1", title="x")
        )
    with pytest.raises(Forbidden):
        move_incident(db, clock, world.viewer, incident_id, B)
    with pytest.raises(Forbidden):
        post_update(db, clock, world.viewer, incident_id, "hi")
    assert get_incident(db, world.viewer, incident_id).status == A


# -- the timeline ----------------------------------------------------------------------------


def test_the_timeline_records_who_did_what_when_and_through_what_in_order(
    db: Database, clock: ManualClock, world: World
) -> None:
    ticket = open_ticket(
        db, clock, world.responder, NewTicket(team="hail", title="Batch down", priority="P1")
    )
    start = clock.now()
    incident = declare_incident(
        db, clock, world.responder, NewIncident(team="hail", title="Batch is down")
    )
    clock.advance(timedelta(minutes=5))
    post_update(db, clock, world.other.with_via(Via.cli), incident.id, "looking at the pods")
    clock.advance(timedelta(minutes=5))
    assign_role(db, clock, world.responder, incident.id, "incident_commander", "grace")
    clock.advance(timedelta(minutes=5))
    link_ticket(db, clock, world.other.with_via(Via.web), incident.id, ticket.id)
    clock.advance(timedelta(minutes=5))
    change_severity(db, clock, world.other, incident.id, "P2", "half the jobs run again")
    clock.advance(timedelta(minutes=5))
    move_incident(db, clock, world.admin.with_via(Via.cli), incident.id, "mitigated")

    events = [
        (e.kind, e.actor, e.via, e.at, e.incident_id)
        for e in incident_timeline(db, world.viewer, incident.id)
    ]
    minutes = [start + timedelta(minutes=m) for m in (0, 5, 10, 15, 20, 25)]
    i = incident.id
    assert events == [
        ("incident.declared", "ada", "api", minutes[0], i),
        ("incident.update", "grace", "cli", minutes[1], i),
        ("incident.role", "ada", "api", minutes[2], i),
        ("incident.ticket_linked", "grace", "web", minutes[3], i),
        ("incident.severity", "grace", "api", minutes[4], i),
        ("incident.moved", "admin", "cli", minutes[5], i),
    ]
    timeline = incident_timeline(db, world.viewer, incident.id)
    assert timeline[1].summary == "looking at the pods"
    assert (timeline[4].data["source"], timeline[4].data["target"]) == ("P1", "P2")
    assert [e.id for e in timeline] == sorted(e.id for e in timeline)
    # Linking shows on the ticket's own timeline too.
    ticket_events = ticket_timeline(db, world.viewer, ticket.id)
    assert [(e.kind, e.actor, e.via) for e in ticket_events[-2:]] == [
        ("ticket.incident", "grace", "web"),
        ("incident.ticket_linked", "grace", "web"),
    ]


def test_the_database_refuses_to_rewrite_or_delete_timeline_events(
    db: Database, clock: ManualClock, world: World
) -> None:
    """The timeline is evidence: even raw SQL, past the services, cannot change it."""
    incident_id = openverse_incident(db, clock, world, B)
    before = incident_timeline(db, world.responder, incident_id)
    assert len(before) == 3

    statements = [
        "UPDATE timeline_events SET summary = 'nothing happened'",
        "UPDATE timeline_events SET at = at WHERE id = :id",
        "DELETE FROM timeline_events WHERE id = :id",
        "DELETE FROM timeline_events",
    ]
    for statement in statements:
        with pytest.raises(sa.exc.SQLAlchemyError), db.engine.begin() as connection:
            connection.execute(sa.text(statement), {"id": before[0].id})

    assert incident_timeline(db, world.responder, incident_id) == before
