"""Alerts grouped into a storm's ticket keep their identity, on both databases: a grouped
alert's repeat, acknowledgement and resolution reach the group's ticket, the ticket resolves
when the last alert of its group still firing resolves, and a grouped alert's own impact,
priority and incident criteria count for the ticket."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from test_intake_api import (
    add_caseflow_contacts,
    am_alert,
    am_payload,
    bearer,
    impact_pages,
    integration,
    storm_team,
)

from fireline.clock.now import ManualClock
from fireline.store.db import Database
from fireline.timeline.models import Event

if TYPE_CHECKING:
    from conftest import World


def post(api: TestClient, key: str, status: str, *alerts: dict[str, Any]) -> list[Any]:
    answer = api.post(
        "/api/v1/alerts/alertmanager", json=am_payload(status, *alerts), headers=bearer(key)
    )
    assert answer.status_code == 202, answer.text
    return [(a["outcome"], a["ticket_id"]) for a in answer.json()["alerts"]]


def a_storm(api: TestClient, db: Database, clock: ManualClock, world: World, preset: str) -> Any:
    """Five alerts of Reader in a burst: storm-0 and storm-1 open tickets, and the storm's
    storm-2, -3 and -4 join storm-1's. The key, and the group's ticket."""
    storm_team(db, clock, world, preset, alerts=3)
    key = integration(api, "storm", "alertmanager")
    burst = post(api, key, "firing", *(am_alert("firing", f"storm-{n}") for n in range(5)))
    assert [outcome for outcome, _ in burst] == ["opened", "opened", *["grouped"] * 3]
    return key, burst[1][1]


def resolve(api: TestClient, key: str, print_: str) -> tuple[str, int | None]:
    [answer] = post(api, key, "resolved", am_alert("resolved", print_))
    return answer  # type: ignore[no-any-return]


def test_the_groups_ticket_resolves_when_its_last_firing_alert_resolves(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    key, group = a_storm(api, db, clock, world, "meltano")  # Meltano resolves on resolve
    assert resolve(api, key, "storm-3") == ("annotated", group)
    # The storm's first alert resolving no longer resolves the alerts still firing with it.
    assert resolve(api, key, "storm-1") == ("annotated", group)
    comments = [c["body"] for c in api.get(f"/api/v1/tickets/{group}").json()["comments"]]
    assert any("storm-3 resolved at the source; 3 other alerts" in c for c in comments)
    assert any("storm-1 resolved at the source; 2 other alerts" in c for c in comments)
    assert resolve(api, key, "storm-2") == ("annotated", group)
    assert api.get(f"/api/v1/tickets/{group}").json()["status"] == "open"
    assert resolve(api, key, "storm-4") == ("resolved", group)
    assert api.get(f"/api/v1/tickets/{group}").json()["status"] == "resolved"
    # The group is over: the same alert firing again opens a ticket of its own.
    clock.advance(timedelta(minutes=5))
    assert post(api, key, "firing", am_alert("firing", "storm-3"))[0][0] == "opened"


def test_a_grouped_alert_firing_again_keeps_its_group_open(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    key, group = a_storm(api, db, clock, world, "meltano")
    resolve(api, key, "storm-2")
    assert post(api, key, "firing", am_alert("firing", "storm-2")) == [("repeat", group)]
    for print_ in ("storm-1", "storm-3", "storm-4"):
        assert resolve(api, key, print_) == ("annotated", group)
    assert resolve(api, key, "storm-2") == ("resolved", group)


def test_a_grouped_alert_repeating_after_the_storm_joins_its_group_not_a_new_ticket(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    key, group = a_storm(api, db, clock, world, "caseflow")
    clock.advance(timedelta(minutes=10))  # the storm's window has long passed
    assert post(api, key, "firing", am_alert("firing", "storm-4")) == [("repeat", group)]
    assert api.get(f"/api/v1/tickets/{group}").json()["alert_count"] == 5


def test_a_grouped_alert_acknowledged_at_the_source_acknowledges_its_group(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    storm_team(db, clock, world, "meltano", alerts=2)
    key = integration(api, "storm", "generic")

    def send(dedup: str, action: str = "trigger") -> Any:
        alert = {"title": "Tap failing", "service": "taps", "dedup_key": dedup, "action": action}
        answer = api.post("/api/v1/alerts/generic", json=alert, headers=bearer(key))
        assert answer.status_code == 202, answer.text
        return answer.json()["alerts"][0]

    first, second = send("a"), send("b")
    assert (first["outcome"], second["outcome"]) == ("opened", "grouped")
    acknowledged = send("b", "acknowledge")
    assert (acknowledged["outcome"], acknowledged["ticket_id"]) == (
        "acknowledged",
        first["ticket_id"],
    )
    assert api.get(f"/api/v1/tickets/{first['ticket_id']}").json()["status"] == "acknowledged"


def test_a_grouped_alerts_own_impact_pages_its_contacts_and_raises_the_priority(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    add_caseflow_contacts(db, clock, world)
    key, group = a_storm(api, db, clock, world, "caseflow")
    assert impact_pages(db, group) == []
    corrupting = am_alert("firing", "storm-9", impact="data-corruption")
    assert post(api, key, "firing", corrupting) == [("grouped", group)]
    assert len(impact_pages(db, group)) == 5  # Reader's tech lead and the seed's four
    ticket = api.get(f"/api/v1/tickets/{group}").json()
    assert ticket["priority"] == "data-corruption-or-major-stoppage"
    # Another alert of the same impact joining pages nobody twice.
    post(api, key, "firing", am_alert("firing", "storm-10", impact="data-corruption"))
    assert len(impact_pages(db, group)) == 5
    with db.transaction() as session:
        told = session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.ticket_id == group, Event.kind == "alert.impact_paged")
        )
    assert told == 1


def test_a_grouped_alert_meeting_2i2cs_criteria_declares_an_incident_for_its_group(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    key, group = a_storm(api, db, clock, world, "2i2c")
    assert api.get(f"/api/v1/tickets/{group}").json()["incident_id"] is None
    locked_out = am_alert("firing", "storm-9", symptom="cannot-log-in")
    assert post(api, key, "firing", locked_out) == [("grouped", group)]
    assert api.get(f"/api/v1/tickets/{group}").json()["incident_id"] is not None
