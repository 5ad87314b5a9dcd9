"""PagerDuty's own Python client (pdpyras' EventsAPISession) pages Fireline by changing only its
base URL: trigger, repeat, acknowledge and resolve by dedup_key, as PagerDuty answers them, on
SQLite and PostgreSQL. Meltano's policy resolves the ticket when the alert resolves.

A real HTTP server: uvicorn on a free port, spoken to by requests through pdpyras.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pdpyras
import pytest
import requests
from live_server import live_server
from sqlalchemy import func, select

from fireline.clock.now import ManualClock
from fireline.intake.models import AlertRow
from fireline.store.db import Database
from fireline.tickets.models import Ticket

if TYPE_CHECKING:
    from conftest import World


@pytest.fixture
def fireline_url(db: Database, clock: ManualClock) -> Iterator[str]:
    with live_server(db, clock, engine=False) as url:
        yield url


@pytest.fixture
def fireline(fireline_url: str, world: World) -> Iterator[httpx.Client]:
    """Fireline's API as the organisation's admin."""
    headers = {"Authorization": f"Bearer {world.tokens['admin']}"}
    with httpx.Client(base_url=fireline_url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def meltano_key(fireline: httpx.Client) -> str:
    created = fireline.post(
        "/api/v1/integrations",
        json={"team": "meltano", "kind": "pagerduty", "name": "pd-events"},
    )
    assert created.status_code == 201, created.text
    key: str = created.json()["key"]
    return key


@dataclass
class Client:
    """A pdpyras Events API session aimed at Fireline, keeping every HTTP response it got."""

    session: pdpyras.EventsAPISession
    responses: list[requests.Response]

    def last(self) -> tuple[int, Any, str]:
        response = self.responses[-1]
        return response.status_code, response.json(), response.headers["content-type"]


def events_client(base_url: str, key: str) -> Client:
    session = pdpyras.EventsAPISession(key)
    session.url = base_url
    session.retry = {}  # fail at once: no backing off on 5xx
    session.max_network_attempts = 0
    session.timeout = 10
    responses: list[requests.Response] = []

    def keep(response: requests.Response, *_: Any, **__: Any) -> None:
        responses.append(response)

    session.hooks["response"].append(keep)
    return Client(session, responses)


def alert_rows(db: Database) -> list[tuple[str, str, str, int | None]]:
    with db.transaction() as session:
        rows = session.execute(
            select(
                AlertRow.fingerprint, AlertRow.action, AlertRow.outcome, AlertRow.ticket_id
            ).order_by(AlertRow.id)
        ).all()
    return [(fp, action, outcome, ticket_id) for fp, action, outcome, ticket_id in rows]


def count(db: Database, model: Any) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def accepted(client: Client, dedup_key: str) -> None:
    """PagerDuty's answer to an accepted event, which pdpyras expects."""
    status, body, content_type = client.last()
    assert status == 202
    assert content_type.startswith("application/json")
    assert body == {"status": "success", "message": "Event processed", "dedup_key": dedup_key}


def test_trigger_repeat_acknowledge_resolve_and_retrigger_by_dedup_key(
    fireline: httpx.Client, fireline_url: str, meltano_key: str, db: Database
) -> None:
    escalation = fireline.post(
        "/api/v1/escalation-policies",
        json={
            "slug": "meltano-pages",
            "name": "Meltano pages",
            "teams": ["meltano"],
            "steps": [{"targets": [{"kind": "person", "name": "admin"}], "delay_minutes": 30}],
        },
    )
    assert escalation.status_code == 201, escalation.text
    # The documented base URL: PagerDuty's `/v2/enqueue` below Fireline's PagerDuty prefix.
    client = events_client(f"{fireline_url}/api/v1/alerts/pagerduty", meltano_key)
    pd = client.session
    link = {"href": "https://ci.example/runs/42", "text": "CI run"}

    key = pd.trigger(
        "Tap failing on hub",
        "hub",
        dedup_key="tap-42",
        severity="critical",
        custom_details={"failed_runs": 7, "note": "since 14:00"},
        links=[link],
    )
    assert key == "tap-42"
    accepted(client, "tap-42")
    [(fingerprint, action, outcome, ticket_id)] = alert_rows(db)
    assert (fingerprint, action, outcome) == ("pagerduty:tap-42", "trigger", "opened")
    assert ticket_id is not None
    ticket = fireline.get(f"/api/v1/tickets/{ticket_id}").json()
    assert (ticket["team"], ticket["title"], ticket["service"]) == (
        "meltano",
        "Tap failing on hub",
        "hub",
    )
    assert ticket["signals"] == {"failed_runs": 7.0}  # the number; the note is no signal
    assert ticket["priority"] == "highest"  # critical, by Meltano's alert levels
    assert [entry["url"] for entry in ticket["links"]] == [link["href"]]
    assert '"failed_runs": 7' in ticket["description"]
    assert (ticket["status"], ticket["open"], ticket["responded_at"]) == ("open", True, None)
    assert fireline.get(f"/api/v1/tickets/{ticket_id}/escalation").json()["state"] == "active"

    assert pd.trigger("Tap failing on hub", "hub", dedup_key="tap-42") == "tap-42"
    accepted(client, "tap-42")
    assert alert_rows(db)[-1] == ("pagerduty:tap-42", "trigger", "repeat", ticket_id)
    comments = [c["body"] for c in fireline.get(f"/api/v1/tickets/{ticket_id}").json()["comments"]]
    assert any(c.startswith("Occurrence 2") for c in comments), comments

    assert pd.acknowledge("tap-42") == "tap-42"
    accepted(client, "tap-42")
    assert alert_rows(db)[-1] == ("pagerduty:tap-42", "acknowledge", "acknowledged", ticket_id)
    ticket = fireline.get(f"/api/v1/tickets/{ticket_id}").json()
    assert ticket["responded_at"] is not None and ticket["open"]
    paging = fireline.get(f"/api/v1/tickets/{ticket_id}/escalation").json()
    assert paging["state"] == "acknowledged" and paging["acknowledged_at"] is not None

    assert pd.resolve("tap-42") == "tap-42"
    accepted(client, "tap-42")
    assert alert_rows(db)[-1] == ("pagerduty:tap-42", "resolve", "resolved", ticket_id)
    ticket = fireline.get(f"/api/v1/tickets/{ticket_id}").json()
    assert (ticket["status"], ticket["open"]) == ("resolved", False)
    assert ticket["resolved_at"] is not None

    # The key's ticket is closed: the same dedup_key starts a new one, as in PagerDuty.
    assert pd.trigger("Tap failing on hub again", "hub", dedup_key="tap-42") == "tap-42"
    accepted(client, "tap-42")
    fingerprint, action, outcome, second = alert_rows(db)[-1]
    assert (fingerprint, action, outcome) == ("pagerduty:tap-42", "trigger", "opened")
    assert second is not None and second != ticket_id
    assert count(db, Ticket) == 2
    assert [c.status_code for c in client.responses] == [202] * 5


def test_an_unknown_resolve_is_dropped_and_a_trigger_without_key_gets_one(
    fireline_url: str, meltano_key: str, db: Database
) -> None:
    # PagerDuty's own base URL shape: Fireline answers `/v2/enqueue` at its root too.
    client = events_client(fireline_url, meltano_key)
    pd = client.session

    assert pd.resolve("never-triggered") == "never-triggered"
    accepted(client, "never-triggered")
    assert alert_rows(db) == [("pagerduty:never-triggered", "resolve", "dropped", None)]
    assert pd.acknowledge("never-triggered") == "never-triggered"
    accepted(client, "never-triggered")
    assert alert_rows(db)[-1] == ("pagerduty:never-triggered", "acknowledge", "dropped", None)
    assert count(db, Ticket) == 0

    key = pd.trigger("Disk almost full", "db-1", severity="warning")
    assert isinstance(key, str) and len(key) >= 16
    accepted(client, key)
    fingerprint, action, outcome, ticket_id = alert_rows(db)[-1]
    assert (fingerprint, action, outcome) == (f"pagerduty:{key}", "trigger", "opened")
    assert ticket_id is not None
    # The generated key names the alert from then on.
    assert pd.resolve(key) == key
    assert alert_rows(db)[-1] == (f"pagerduty:{key}", "resolve", "resolved", ticket_id)
    assert pd.trigger("Disk almost full", "db-1", severity="warning") != key  # a fresh key each


def test_an_invalid_event_or_an_unknown_key_raises_and_stores_nothing(
    fireline_url: str, meltano_key: str, db: Database
) -> None:
    client = events_client(fireline_url, meltano_key)
    with pytest.raises(pdpyras.PDHTTPError) as refused:
        client.session.trigger("Tap failing", "hub", dedup_key="bad-1", severity="fatal")
    # As PagerDuty answers an invalid event: 400, its `message` and `errors`.
    assert refused.value.response.status_code == 400
    assert refused.value.response.headers["content-type"] == "application/problem+json"
    problem = refused.value.response.json()
    assert problem["type"].endswith("invalid-event") and problem["field"] == "payload.severity"
    assert problem["message"] == "Event object is invalid"
    assert len(problem["errors"]) == 1 and "severity" in problem["errors"][0]
    assert len(client.responses) == 1  # not retried

    stranger = events_client(fireline_url, "0123456789abcdef0123456789abcdef")
    with pytest.raises(pdpyras.PDHTTPError) as unknown:
        stranger.session.trigger("Tap failing", "hub", dedup_key="bad-2")
    assert unknown.value.response.status_code == 404
    assert unknown.value.response.headers["content-type"] == "application/problem+json"
    assert count(db, AlertRow) == 0 and count(db, Ticket) == 0
