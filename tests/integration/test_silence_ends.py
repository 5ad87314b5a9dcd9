"""A silence's end restores notifications, on both databases: an alert first fired under a
silence opens its ticket when the silence ends if it still fires (Sentry, PagerDuty and
generic senders never send it again), and an escalation whose ticket a silence covers waits
for the silence's end, or pages at once when the silence is ended early."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_intake_api import bearer, integration, storm_team

from fireline.auth.models import User
from fireline.clock.now import ManualClock
from fireline.engine.cycle import Engine
from fireline.engine.steps import escalations
from fireline.intake.models import SilenceRow
from fireline.notify.channels.registry import Channels
from fireline.notify.models import OutboxMessage
from fireline.orgs.service import store_policy, team_by_slug
from fireline.policy.load import preset_text
from fireline.store.db import Database
from fireline.store.migrate import downgrade, upgrade
from fireline.tickets.models import Ticket
from fireline.timeline.models import Event

if TYPE_CHECKING:
    from conftest import World


def cycle(db: Database, clock: ManualClock) -> None:
    Engine(db, clock, Channels(db, clock, "test-secret"), instance="silence-engine").cycle()


def pages_ada(api: TestClient, team: str, delay_minutes: int = 5) -> None:
    """The team's escalation policy: ada, then ada again after `delay_minutes`."""
    policy = api.post(
        "/api/v1/escalation-policies",
        json={
            "slug": team,
            "name": team.title(),
            "teams": [team],
            "steps": [
                {"targets": [{"kind": "person", "name": "ada"}], "delay_minutes": delay_minutes}
            ],
        },
    )
    assert policy.status_code == 201, policy.text


def meltano_paging(api: TestClient) -> str:
    """Meltano pages ada at once for a critical alert; the generic integration's key."""
    pages_ada(api, "meltano")
    created = api.post(
        "/api/v1/integrations", json={"team": "meltano", "kind": "generic", "name": "probe"}
    )
    assert created.status_code == 201, created.text
    key: str = created.json()["key"]
    return key


def send(api: TestClient, key: str, action: str = "trigger", dedup: str = "tap") -> Any:
    answer = api.post(
        "/api/v1/alerts/generic",
        json={
            "title": "Tap failing",
            "service": "tap-github",
            "severity": "critical",
            "dedup_key": dedup,
            "action": action,
        },
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 202, answer.text
    return answer.json()["alerts"][0]


def silence(
    api: TestClient, clock: ManualClock, hours: float, service: str = "tap-github", **labels: str
) -> int:
    """A silence of `service`'s alerts, or of those with `labels`, for `hours` from now."""
    matched = labels or {"service": service}
    answer = api.post(
        "/api/v1/silences",
        json={
            "matchers": [{"name": n, "op": "=", "value": v} for n, v in matched.items()],
            "ends_at": (clock.now() + timedelta(hours=hours)).isoformat(),
            "reason": "GitHub API outage, known",
        },
    )
    assert answer.status_code == 201, answer.text
    silence_id: int = answer.json()["id"]
    return silence_id


def tickets(db: Database) -> list[tuple[int, str, bool]]:
    with db.transaction() as session:
        rows = session.execute(select(Ticket.id, Ticket.title, Ticket.is_open).order_by(Ticket.id))
        return [(ticket_id, title, is_open) for ticket_id, title, is_open in rows]


def pages(db: Database) -> list[str]:
    with db.transaction() as session:
        return list(
            session.scalars(select(OutboxMessage.idempotency_key).order_by(OutboxMessage.id))
        )


def ada_id(db: Database) -> int:
    with db.transaction() as session:
        found = session.scalar(select(User.id).where(User.handle == "ada"))
    assert found is not None
    return found


def events(db: Database, ticket_id: int, kind: str) -> list[str]:
    with db.transaction() as session:
        return list(
            session.scalars(
                select(Event.summary)
                .where(Event.ticket_id == ticket_id, Event.kind == kind)
                .order_by(Event.id)
            )
        )


def test_an_alert_first_fired_under_a_silence_opens_its_ticket_when_the_silence_ends(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    key = meltano_paging(api)
    silence_id = silence(api, clock, hours=1)
    assert send(api, key)["outcome"] == "silenced"
    clock.advance(timedelta(minutes=10))
    assert send(api, key)["outcome"] == "silenced"  # counted, still nobody told
    cycle(db, clock)
    assert tickets(db) == [] and pages(db) == []

    clock.advance(timedelta(minutes=50))  # the silence ends
    cycle(db, clock)
    [(ticket_id, title, is_open)] = tickets(db)
    assert (title, is_open) == ("Tap failing", True)
    ticket = api.get(f"/api/v1/tickets/{ticket_id}").json()
    assert ticket["priority"] == "highest"  # judged as the alert was
    [released] = events(db, ticket_id, "alert.released")
    assert f"silence {silence_id} ended" in released and "fired 2 times" in released
    [page] = pages(db)
    assert page.startswith("esc") and f".c0.s0.u{ada_id(db)}." in page
    # Released once: the next cycle opens nothing more, and the alert repeating joins it.
    cycle(db, clock)
    assert len(tickets(db)) == 1
    assert send(api, key)["outcome"] == "repeat"


def test_a_silence_releases_each_of_its_alerts_still_firing_and_only_those(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    key = meltano_paging(api)
    silence(api, clock, hours=1)
    for dedup in ("tap-1", "tap-2", "tap-3", "tap-4"):
        assert send(api, key, dedup=dedup)["outcome"] == "silenced"
    send(api, key, action="resolve", dedup="tap-2")
    send(api, key, dedup="tap-3")  # fired again, still silenced: released once
    clock.advance(timedelta(hours=1))
    cycle(db, clock)
    with db.transaction() as session:
        opened = session.execute(select(Ticket.fingerprint).order_by(Ticket.fingerprint))
        assert list(opened.scalars()) == ["generic:tap-1", "generic:tap-3", "generic:tap-4"]


def test_an_alert_resolved_under_its_silence_opens_nothing_when_the_silence_ends(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    key = meltano_paging(api)
    silence(api, clock, hours=1)
    send(api, key)
    assert send(api, key, action="resolve")["outcome"] == "dropped"
    clock.advance(timedelta(hours=1))
    cycle(db, clock)
    assert tickets(db) == [] and pages(db) == []


def test_ending_a_silence_early_releases_its_alerts_at_the_next_cycle(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    key = meltano_paging(api)
    silence_id = silence(api, clock, hours=4)
    send(api, key)
    clock.advance(timedelta(minutes=5))
    assert api.delete(f"/api/v1/silences/{silence_id}").status_code == 200
    cycle(db, clock)
    assert [is_open for *_, is_open in tickets(db)] == [True]


def test_a_later_silence_still_covering_the_alert_keeps_it_until_that_one_ends(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    key = meltano_paging(api)
    silence(api, clock, hours=1)
    send(api, key)
    longer = silence(api, clock, hours=3)
    clock.advance(timedelta(hours=1))
    cycle(db, clock)
    assert tickets(db) == []
    listed = {s["id"]: s for s in api.get("/api/v1/silences").json()}
    assert listed[longer]["alerts_silenced"] == 1  # taken again, and silenced by the other
    clock.advance(timedelta(hours=2))
    cycle(db, clock)
    assert len(tickets(db)) == 1


def test_a_silence_over_an_open_tickets_alert_holds_its_paging_until_the_silence_ends(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    key = meltano_paging(api)
    ticket_id = send(api, key)["ticket_id"]
    silence_id = silence(api, clock, hours=2)
    cycle(db, clock)
    assert pages(db) == []
    [held] = events(db, ticket_id, "escalation.silenced")
    assert f"silence {silence_id} covers" in held

    clock.advance(timedelta(hours=1))
    cycle(db, clock)
    assert pages(db) == []
    clock.advance(timedelta(hours=1))
    cycle(db, clock)
    assert len(pages(db)) == 1  # ada, step 1, at the silence's end


def test_ending_a_silence_early_pages_at_once_for_the_tickets_it_held(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    key = meltano_paging(api)
    send(api, key)
    silence_id = silence(api, clock, hours=8)
    cycle(db, clock)
    assert pages(db) == []
    clock.advance(timedelta(minutes=20))
    assert api.delete(f"/api/v1/silences/{silence_id}").status_code == 200
    cycle(db, clock)
    assert len(pages(db)) == 1


def test_a_silence_over_another_service_leaves_the_paging_alone(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    key = meltano_paging(api)
    send(api, key)
    silence(api, clock, hours=2, service="tap-gitlab")
    cycle(db, clock)
    assert len(pages(db)) == 1


def test_a_ticket_opened_by_hand_is_never_silenced(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    meltano_paging(api)
    opened = api.post(
        "/api/v1/tickets",
        json={"team": "meltano", "title": "Tap failing", "priority": "highest"},
    )
    assert opened.status_code == 201, opened.text
    api.post(
        "/api/v1/silences",
        json={
            "matchers": [{"name": "title", "op": "=~", "value": ".*"}],
            "ends_at": (clock.now() + timedelta(hours=1)).isoformat(),
            "reason": "everything",
        },
    )
    cycle(db, clock)
    assert len(pages(db)) == 1


def test_migration_0011_marks_silences_already_ended_as_released(
    db: Database, clock: ManualClock, world: World, api: TestClient
) -> None:
    # The test clock stands before the real date: this silence ended long ago.
    silence(api, clock, hours=1)
    assert clock.now() + timedelta(hours=1) < datetime.now(UTC)
    db.dispose()
    try:
        downgrade(db.url, "0010")
        with db.engine.connect() as connection:
            columns = {c["name"] for c in sa.inspect(connection).get_columns("silences")}
        assert "released_at" not in columns
    finally:
        upgrade(db.url)
        db.dispose()
    with db.transaction() as session:
        stored = session.execute(select(SilenceRow.ends_at, SilenceRow.released_at)).one()
    assert stored.released_at == stored.ends_at


def storm_paging(api: TestClient, db: Database, clock: ManualClock, world: World) -> str:
    """A Meltano team `storm` grouping two alerts of a service a minute, paging ada at once
    for a critical alert; its generic integration's key."""
    storm_team(db, clock, world, "meltano", alerts=2)
    pages_ada(api, "storm")
    return integration(api, "storm", "generic")


def on_host(api: TestClient, key: str, dedup: str, host: str, action: str = "trigger") -> Any:
    alert = {
        "title": "Tap failing",
        "service": "taps",
        "severity": "critical",
        "dedup_key": dedup,
        "action": action,
        "labels": {"host": host},
    }
    answer = api.post("/api/v1/alerts/generic", json=alert, headers=bearer(key))
    assert answer.status_code == 202, answer.text
    return answer.json()["alerts"][0]


def test_a_storms_ticket_pages_while_one_of_its_firing_alerts_is_not_silenced(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    # Alertmanager mutes a group only when every alert of it still firing is silenced.
    key = storm_paging(api, db, clock, world)
    first, second = on_host(api, key, "a", "db1"), on_host(api, key, "b", "db2")
    assert (first["outcome"], second["outcome"]) == ("opened", "grouped")
    silence(api, clock, hours=2, host="db2")
    cycle(db, clock)
    assert len(pages(db)) == 1


def test_a_storms_ticket_is_silenced_when_its_only_alert_still_firing_is(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    key = storm_paging(api, db, clock, world)
    first = on_host(api, key, "a", "db1")
    on_host(api, key, "b", "db2")
    assert on_host(api, key, "a", "db1", action="resolve")["outcome"] == "annotated"
    silence(api, clock, hours=2, host="db2")
    cycle(db, clock)
    assert pages(db) == []
    assert len(events(db, first["ticket_id"], "escalation.silenced")) == 1


def test_an_alert_resolved_under_a_new_fingerprint_is_not_released(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    key = meltano_paging(api)

    def keyless(action: str) -> Any:
        alert = {"title": "Tap failing", "service": "tap-github", "severity": "critical"}
        answer = api.post(
            "/api/v1/alerts/generic",
            json={**alert, "action": action, "labels": {"host": "h1"}},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert answer.status_code == 202, answer.text
        return answer.json()["alerts"][0]

    silence(api, clock, hours=1)
    assert keyless("trigger")["outcome"] == "silenced"
    # The team now fingerprints alerts without a key by service and title alone.
    policy = yaml.safe_load(preset_text("meltano"))
    policy["alerts"]["fingerprint"] = ["service", "title"]
    with db.transaction() as session:
        team = team_by_slug(session, world.org_id, "meltano")
        text = yaml.safe_dump(policy, sort_keys=False, allow_unicode=True)
        store_policy(session, clock, team, text, "meltano.yaml", None)
    clock.advance(timedelta(minutes=10))
    keyless("resolve")
    clock.advance(timedelta(hours=1))
    cycle(db, clock)
    assert tickets(db) == []


def test_a_silence_ended_while_the_engine_holds_its_escalation_pages_within_minutes(
    api: TestClient, world: World, db: Database, clock: ManualClock, monkeypatch: Any
) -> None:
    key = meltano_paging(api)
    send(api, key)
    silence_id = silence(api, clock, hours=8)
    judge = escalations.silences_covering
    ended: list[int] = []
    expiring: list[threading.Thread] = []

    def end_silence() -> None:
        ended.append(api.delete(f"/api/v1/silences/{silence_id}").status_code)

    def ended_meanwhile(session: Any, now: datetime, held: Any) -> Any:
        found = judge(session, now, held)
        if not expiring:
            # A person ends the silence while the engine decides. PostgreSQL lets the end
            # commit meanwhile; SQLite makes it wait for the engine's commit.
            expiring.append(threading.Thread(target=end_silence))
            expiring[0].start()
            expiring[0].join(timeout=20 if db.dialect == "postgresql" else 0.2)
        return found

    monkeypatch.setattr(escalations, "silences_covering", ended_meanwhile)
    cycle(db, clock)
    expiring[0].join(timeout=20)
    assert pages(db) == []
    clock.advance(escalations.SILENCE_RECHECK)
    cycle(db, clock)
    assert ended == [200] and len(pages(db)) == 1
