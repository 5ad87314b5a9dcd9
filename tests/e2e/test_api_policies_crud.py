"""Escalation policies and contact methods change and go away through the API, on both
databases; escalations under way follow the new steps or end cleanly."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fastapi.testclient import TestClient

from fireline.clock.now import ManualClock
from fireline.engine.cycle import Engine
from fireline.notify.channels.registry import Channels
from fireline.store.db import Database

if TYPE_CHECKING:
    from conftest import World


def policy(slug: str, *people: str, teams: tuple[str, ...] = ("hail",)) -> dict[str, Any]:
    return {
        "slug": slug,
        "name": slug.title(),
        "teams": list(teams),
        "steps": [
            {"targets": [{"kind": "person", "name": person}], "delay_minutes": 5}
            for person in people
        ],
    }


def cycle(db: Database, clock: ManualClock) -> None:
    Engine(db, clock, Channels(db, clock, "secret"), instance="crud").cycle()


def p1(api: TestClient) -> int:
    opened = api.post(
        "/api/v1/tickets",
        json={"team": "hail", "title": "Batch on fire", "signals": {"cost_usd_per_hour": 500}},
    )
    assert opened.status_code == 201, opened.text
    ticket_id: int = opened.json()["id"]
    return ticket_id


def test_a_policy_is_replaced_and_its_teams_follow(api: TestClient, world: World) -> None:
    assert api.post("/api/v1/escalation-policies", json=policy("day", "ada")).status_code == 201
    replaced = api.put(
        "/api/v1/escalation-policies/day", json=policy("day", "grace", "ada", teams=("meltano",))
    )
    assert replaced.status_code == 200, replaced.text
    view = api.get("/api/v1/escalation-policies/day").json()
    assert view["teams"] == ["meltano"]
    assert [s["targets"][0]["name"] for s in view["steps"]] == ["grace", "ada"]
    renamed = api.put("/api/v1/escalation-policies/day", json=policy("night", "ada"))
    assert renamed.status_code == 422 and renamed.json()["field"] == "slug"
    unknown = api.put("/api/v1/escalation-policies/day", json=policy("day", "nobody"))
    assert unknown.status_code == 422


def test_an_escalation_past_the_new_last_step_ends_with_a_reason(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    api.post("/api/v1/escalation-policies", json=policy("day", "ada", "grace"))
    ticket_id = p1(api)
    cycle(db, clock)  # step 1 pages ada
    api.put("/api/v1/escalation-policies/day", json=policy("day", "ada"))
    clock.advance(timedelta(minutes=6))
    cycle(db, clock)  # step 2 is gone
    summaries = [e["summary"] for e in api.get(f"/api/v1/tickets/{ticket_id}/timeline").json()]
    assert any("no longer exists in the escalation policy" in s for s in summaries)
    pages = api.get(f"/api/v1/tickets/{ticket_id}/notifications").json()
    assert {p["person"] for p in pages} == {"ada"}


def test_a_policy_in_use_cannot_be_deleted_until_its_escalations_stop(
    api: TestClient, world: World
) -> None:
    api.post("/api/v1/escalation-policies", json=policy("day", "ada"))
    ticket_id = p1(api)
    refused = api.delete("/api/v1/escalation-policies/day")
    assert refused.status_code == 409 and refused.json()["active"] == 1
    assert api.post(f"/api/v1/tickets/{ticket_id}/acknowledge").status_code == 200
    assert api.delete("/api/v1/escalation-policies/day").status_code == 204
    assert api.get("/api/v1/escalation-policies").json() == []
    assert api.get("/api/v1/escalation-policies/day").status_code == 404
    # The slug is free again, and the old escalation keeps its history.
    assert api.post("/api/v1/escalation-policies", json=policy("day", "grace")).status_code == 201
    assert api.get(f"/api/v1/tickets/{ticket_id}/escalation").json()["state"] == "acknowledged"


def test_a_contact_method_is_removed_and_its_log_survives(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    added = api.post(
        "/api/v1/people/ada/contact-methods",
        json={"name": "hook", "kind": "webhook", "target": "http://127.0.0.1:9/hook"},
    ).json()
    method_id = next(m["id"] for m in added if m["name"] == "hook")
    api.post("/api/v1/escalation-policies", json=policy("day", "ada"))
    ticket_id = p1(api)
    cycle(db, clock)
    left = api.delete(f"/api/v1/people/ada/contact-methods/{method_id}")
    assert left.status_code == 200, left.text
    assert all(m["name"] != "hook" for m in left.json())
    log = api.get(f"/api/v1/tickets/{ticket_id}/notifications").json()
    assert any(entry["kind"] == "webhook" for entry in log)
    again = api.delete(f"/api/v1/people/ada/contact-methods/{method_id}")
    assert again.status_code == 404
