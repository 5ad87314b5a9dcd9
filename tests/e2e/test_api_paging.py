"""Paging through the HTTP API: schedules, escalation policies, contact methods, the engine's
work seen in the notification log and the inbox, acknowledgement, and engine health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from fireline.app import create_app
from fireline.clock.now import ManualClock
from fireline.engine.cycle import Engine
from fireline.escalation.models import Escalation, Timer
from fireline.notify.channels.registry import Channels
from fireline.store.db import Database

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from tests.conftest import World

PROBLEM = "application/problem+json"


def setup_paging(api: TestClient) -> None:
    schedule = api.post(
        "/api/v1/schedules",
        json={
            "slug": "squad",
            "name": "Squad",
            "timezone": "UTC",
            "layers": [
                {
                    "name": "primary",
                    "members": ["ada", "grace"],
                    "start": "2026-11-23T00:00:00Z",
                    "unit": "days",
                }
            ],
        },
    )
    assert schedule.status_code == 201, schedule.text
    policy = api.post(
        "/api/v1/escalation-policies",
        json={
            "slug": "hail",
            "name": "Hail",
            "teams": ["hail"],
            "steps": [
                {"targets": [{"kind": "schedule", "name": "squad"}], "delay_minutes": 5},
                {"targets": [{"kind": "person", "name": "admin"}], "delay_minutes": 5},
            ],
        },
    )
    assert policy.status_code == 201, policy.text


def test_a_page_is_logged_delivered_to_the_inbox_and_acknowledged(
    api: TestClient, db: Database, clock: ManualClock, world: World
) -> None:
    setup_paging(api)
    ada = {"Authorization": f"Bearer {world.tokens['ada']}"}
    ticket = api.post(
        "/api/v1/tickets",
        json={"team": "hail", "title": "CI merges nothing", "signals": {"ci_failure_ratio": 1}},
    ).json()

    Engine(db, clock, Channels(db, clock, "s"), instance="t").cycle()

    [log] = api.get(f"/api/v1/tickets/{ticket['id']}/notifications").json()
    assert (log["person"], log["status"]) == ("ada", "sent")  # Wednesday is ada's day
    assert [m["subject"] for m in api.get("/api/v1/me/inbox", headers=ada).json()] == [
        f"[P1] #{ticket['id']} CI merges nothing"
    ]
    acked = api.post(f"/api/v1/tickets/{ticket['id']}/acknowledge", headers=ada)
    assert acked.status_code == 200 and acked.json()["acknowledged_by"] == "ada"
    again = api.post(f"/api/v1/tickets/{ticket['id']}/acknowledge", headers=ada)
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM
    assert api.get(f"/api/v1/tickets/{ticket['id']}").json()["responded_at"] is not None


def test_an_escalation_step_naming_an_unknown_schedule_is_refused(api: TestClient) -> None:
    refused = api.post(
        "/api/v1/escalation-policies",
        json={
            "slug": "x",
            "name": "X",
            "steps": [{"targets": [{"kind": "schedule", "name": "nope"}], "delay_minutes": 5}],
        },
    )

    assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM
    assert refused.json()["field"] == "steps.0.targets"
    assert api.get("/api/v1/escalation-policies").json() == []


def test_contact_methods_are_checked_and_only_admins_change_other_peoples(
    api: TestClient, world: World
) -> None:
    ada = {"Authorization": f"Bearer {world.tokens['ada']}"}
    bad = api.post(
        "/api/v1/people/ada/contact-methods",
        headers=ada,
        json={"name": "hook", "kind": "webhook", "target": "not a url"},
    )
    other = api.post(
        "/api/v1/people/grace/contact-methods",
        headers=ada,
        json={"name": "mail", "kind": "email", "target": "g@example.org"},
    )
    mine = api.post(
        "/api/v1/people/ada/contact-methods",
        headers=ada,
        json={"name": "mail", "kind": "email", "target": "ada@example.org", "delay_minutes": 5},
    )

    assert (bad.status_code, bad.json()["field"]) == (422, "target")
    assert other.status_code == 403
    assert mine.status_code == 201
    assert mine.json() == [
        {
            "id": mine.json()[0]["id"],
            "name": "mail",
            "kind": "email",
            "target": "ada@example.org",
            "delay_minutes": [5],
            "signed_with": None,
            "secret": None,
        }
    ]


def test_who_is_on_call_answers_with_the_reason(api: TestClient) -> None:
    setup_paging(api)

    [answer] = api.get("/api/v1/oncall", params={"at": "2026-11-24T12:00:00+00:00"}).json()

    assert (answer["schedule"], answer["responder"], answer["reason"]) == (
        "squad",
        "grace",
        "rotation",
    )
    assert "grace's turn since" in answer["detail"]


def test_engine_health_fails_until_an_engine_completes_a_cycle(
    db: Database, clock: ManualClock
) -> None:
    from fastapi.testclient import TestClient

    with TestClient(create_app(db=db, clock=clock)) as client:
        stalled = client.get("/health/engine")
        Engine(db, clock, Channels(db, clock, "s"), instance="t").cycle()
        healthy = client.get("/health/engine")
        clock.advance(timedelta(minutes=1))
        stale = client.get("/health/engine")

    assert stalled.status_code == 503 and stalled.headers["content-type"] == PROBLEM
    assert healthy.status_code == 200
    assert stale.status_code == 503 and "last engine cycle" in stale.json()["detail"]


def meltano_ticket_being_escalated(api: TestClient) -> int:
    policy = api.post(
        "/api/v1/escalation-policies",
        json={
            "slug": "meltano",
            "name": "Meltano",
            "teams": ["meltano"],
            "steps": [{"targets": [{"kind": "person", "name": "ada"}], "delay_minutes": 5}],
        },
    )
    assert policy.status_code == 201, policy.text
    ticket = api.post(
        "/api/v1/tickets", json={"team": "meltano", "title": "Tap failing", "priority": "highest"}
    )
    assert ticket.status_code == 201, ticket.text
    ticket_id: int = ticket.json()["id"]
    assert api.get(f"/api/v1/tickets/{ticket_id}/escalation").json()["state"] == "active"
    return ticket_id


def test_meltanos_eyes_stop_the_paging_as_an_acknowledgement_does(api: TestClient) -> None:
    # "put the 👀 reaction on the thread when you are aware": the acknowledged state.
    ticket_id = meltano_ticket_being_escalated(api)
    moved = api.post(f"/api/v1/tickets/{ticket_id}/transitions", json={"to": "acknowledged"})
    assert moved.status_code == 200, moved.text
    escalation = api.get(f"/api/v1/tickets/{ticket_id}/escalation").json()
    assert (escalation["state"], escalation["acknowledged_by"]) == ("acknowledged", "admin")
    # Back to open and 👀 again: nothing is paging, so nothing to acknowledge twice.
    assert api.post(f"/api/v1/tickets/{ticket_id}/transitions", json={"to": "open"}).is_success
    again = api.post(f"/api/v1/tickets/{ticket_id}/transitions", json={"to": "acknowledged"})
    assert again.status_code == 200, again.text


def test_an_acknowledged_meltano_ticket_shows_the_eyes(api: TestClient) -> None:
    ticket_id = meltano_ticket_being_escalated(api)
    assert api.post(f"/api/v1/tickets/{ticket_id}/acknowledge").status_code == 200
    assert api.get(f"/api/v1/tickets/{ticket_id}").json()["status"] == "acknowledged"


def test_a_workflow_without_an_acknowledging_state_keeps_its_status_on_acknowledgement(
    api: TestClient,
) -> None:
    setup_paging(api)
    ticket = api.post(
        "/api/v1/tickets",
        json={"team": "hail", "title": "CI merges nothing", "signals": {"ci_failure_ratio": 1}},
    ).json()
    assert api.post(f"/api/v1/tickets/{ticket['id']}/acknowledge").status_code == 200
    assert api.get(f"/api/v1/tickets/{ticket['id']}").json()["status"] == ticket["status"]


def pending_page_due(db: Database, ticket_id: int) -> datetime:
    """When the ticket's escalation next pages (its timer still to fire)."""
    with db.transaction() as session:
        due = session.scalar(
            select(Timer.due_at)
            .join(Escalation, Escalation.id == Timer.escalation_id)
            .where(
                Escalation.ticket_id == ticket_id,
                Timer.done_at.is_(None),
                Timer.epoch == Escalation.epoch,
            )
        )
    assert due is not None
    return due


SATURDAY_NIGHT = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
MONDAY_MORNING = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # 09:00 in New York, Hail's


def hail_spend(api: TestClient, key: str, usd_an_hour: float) -> dict[str, Any]:
    alert = {"title": "Batch spend", "service": "batch", "dedup_key": "spend"}
    answer = api.post(
        "/api/v1/alerts/generic",
        json={**alert, "signals": {"cost_usd_per_hour": usd_an_hour}},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 202, answer.text
    outcome: dict[str, Any] = answer.json()["alerts"][0]
    return outcome


def hail_key(api: TestClient) -> str:
    created = api.post(
        "/api/v1/integrations", json={"team": "hail", "kind": "generic", "name": "spend"}
    )
    assert created.status_code == 201, created.text
    key: str = created.json()["key"]
    return key


def test_spend_that_rises_past_100_an_hour_raises_the_ticket_and_pages_now(
    api: TestClient, db: Database, clock: ManualClock
) -> None:
    # Hail: more than 25 USD/h is P2 (working hours); 100 USD/h or more is P1 (interrupt).
    setup_paging(api)
    key = hail_key(api)
    clock.set(SATURDAY_NIGHT)
    opened = hail_spend(api, key, 30)
    ticket_id = opened["ticket_id"]
    assert api.get(f"/api/v1/tickets/{ticket_id}").json()["priority"] == "P2"
    assert pending_page_due(db, ticket_id) == MONDAY_MORNING
    clock.advance(timedelta(minutes=10))
    assert hail_spend(api, key, 400)["outcome"] == "repeat"
    ticket = api.get(f"/api/v1/tickets/{ticket_id}").json()
    assert (ticket["priority"], ticket["priority_source"]) == ("P1", "policy")
    assert ticket["classification_rule"] == "cost-hourly-critical"
    assert pending_page_due(db, ticket_id) == SATURDAY_NIGHT + timedelta(minutes=10)
    # A lower spend later lowers nothing: lowering a priority is a person's mitigation.
    assert hail_spend(api, key, 30)["outcome"] == "repeat"
    assert api.get(f"/api/v1/tickets/{ticket_id}").json()["priority"] == "P1"


def test_a_mitigated_ticket_stays_where_a_person_put_it(
    api: TestClient, db: Database, clock: ManualClock
) -> None:
    setup_paging(api)
    key = hail_key(api)
    ticket_id = hail_spend(api, key, 400)["ticket_id"]
    mitigated = api.post(
        f"/api/v1/tickets/{ticket_id}/mitigate", json={"to": "P2", "note": "spend capped"}
    )
    assert mitigated.status_code == 200, mitigated.text
    hail_spend(api, key, 400)
    assert api.get(f"/api/v1/tickets/{ticket_id}").json()["priority"] == "P2"


def test_escalating_by_hand_pages_by_the_new_levels_hours(
    api: TestClient, db: Database, clock: ManualClock
) -> None:
    setup_paging(api)
    clock.set(SATURDAY_NIGHT)
    ticket = api.post(
        "/api/v1/tickets", json={"team": "hail", "title": "Spend", "priority": "P2"}
    ).json()
    assert pending_page_due(db, ticket["id"]) == MONDAY_MORNING
    raised = api.post(
        f"/api/v1/tickets/{ticket['id']}/escalate", json={"to": "P1", "note": "it is spreading"}
    )
    assert raised.status_code == 200, raised.text
    assert pending_page_due(db, ticket["id"]) == SATURDAY_NIGHT
