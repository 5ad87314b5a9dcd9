"""Heartbeats through HTTP and the engine, on both databases: silence past the interval
raises one alert, a check-in resolves it, and silence again opens a new ticket."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from fireline.clock.now import ManualClock
from fireline.engine.cycle import Engine
from fireline.intake.models import AlertRow
from fireline.notify.channels.registry import Channels
from fireline.store.db import Database
from fireline.tickets.models import Ticket

if TYPE_CHECKING:
    from conftest import World


def cycle(db: Database, clock: ManualClock) -> None:
    Engine(db, clock, Channels(db, clock, "test-secret"), instance="hb-engine").cycle()


def tickets(db: Database) -> list[tuple[str, str, bool]]:
    with db.transaction() as session:
        rows = session.execute(
            select(Ticket.title, Ticket.status, Ticket.is_open).order_by(Ticket.id)
        )
        return [(title, status, is_open) for title, status, is_open in rows]


def test_a_silent_heartbeat_raises_one_alert_and_its_check_in_resolves_it(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    created = api.post(
        "/api/v1/integrations",
        json={
            "team": "meltano",
            "kind": "heartbeat",
            "name": "nightly-backup",
            "interval_minutes": 5,
        },
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    ping = {"Authorization": f"Bearer {key}"}

    clock.advance(timedelta(minutes=4))
    cycle(db, clock)
    assert tickets(db) == []
    assert api.post("/api/v1/alerts/heartbeat", headers=ping).status_code == 202

    clock.advance(timedelta(minutes=5))  # due 5 min after the check-in: not yet late
    cycle(db, clock)
    assert tickets(db) == []
    clock.advance(timedelta(seconds=1))
    cycle(db, clock)
    cycle(db, clock)  # a second cycle raises nothing more
    assert tickets(db) == [("Heartbeat nightly-backup is silent", "open", True)]
    listed = api.get("/api/v1/integrations").json()[0]["heartbeat"]
    assert listed["late"] is True and listed["interval_minutes"] == 5

    answer = api.post("/api/v1/alerts/heartbeat", headers=ping).json()
    assert answer["alerts"][0]["outcome"] == "resolved"  # Meltano's policy resolves
    assert tickets(db) == [("Heartbeat nightly-backup is silent", "resolved", False)]

    clock.advance(timedelta(minutes=6))
    cycle(db, clock)
    assert [is_open for *_, is_open in tickets(db)] == [False, True]
    with db.transaction() as session:
        raised = session.scalar(
            select(func.count()).select_from(AlertRow).where(AlertRow.action == "trigger")
        )
    assert raised == 2


def test_a_heartbeat_needs_an_interval_and_only_a_heartbeat_has_one(
    api: TestClient, world: World
) -> None:
    missing = api.post(
        "/api/v1/integrations", json={"team": "meltano", "kind": "heartbeat", "name": "x"}
    )
    extra = api.post(
        "/api/v1/integrations",
        json={"team": "meltano", "kind": "generic", "name": "y", "interval_minutes": 5},
    )
    assert missing.status_code == extra.status_code == 422
    assert missing.json()["field"] == extra.json()["field"] == "interval_minutes"


def test_a_revoked_heartbeat_raises_nothing(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    created = api.post(
        "/api/v1/integrations",
        json={"team": "meltano", "kind": "heartbeat", "name": "gone", "interval_minutes": 1},
    ).json()
    api.delete(f"/api/v1/integrations/{created['id']}")
    clock.advance(timedelta(minutes=10))
    cycle(db, clock)
    assert tickets(db) == []
