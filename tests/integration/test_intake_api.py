"""Alert intake through HTTP, on both databases: keys, dedup into one open ticket, routing,
silences, acknowledgements and resolutions, and bad input that stores nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from fireline.app import create_app
from fireline.auth.actor import Role
from fireline.auth.service import add_user
from fireline.clock.now import ManualClock
from fireline.intake.models import AlertRow
from fireline.intake.sources import generic
from fireline.notify.models import OutboxMessage
from fireline.settings import Settings
from fireline.store.db import Database
from fireline.tickets import service as tickets_service
from fireline.tickets.models import Ticket
from sentry_hooks import sentry_metric_alert

if TYPE_CHECKING:
    from conftest import World


def integration(api: TestClient, team: str, kind: str, **extra: Any) -> str:
    response = api.post(
        "/api/v1/integrations", json={"team": team, "kind": kind, "name": f"{team}-{kind}", **extra}
    )
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    return key


def am_payload(status: str, *alerts: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="X"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "fireline",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://am:9093",
        "alerts": list(alerts),
    }


def am_alert(
    status: str, fingerprint: str, service: str = "Reader", **labels: str
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "ErrorRate", "service": service, **labels},
        "annotations": {"summary": f"Errors in {service}"},
        "startsAt": "2026-11-25T14:59:00Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-25T15:10:00Z",
        "generatorURL": f"http://prometheus/graph?{fingerprint}",
        "fingerprint": fingerprint,
    }


# Reader's tech lead, then the four the seed names for data corruption.
CASEFLOW_CONTACTS = ("mark", "alan-ning", "nick-heiner", "raven", "sandra")


def add_caseflow_contacts(db: Database, clock: ManualClock, world: World) -> None:
    with db.transaction() as session:
        for handle in CASEFLOW_CONTACTS:
            add_user(session, clock, world.org_id, handle, handle, Role.responder)


def fire(api: TestClient, key: str, alert: dict[str, Any]) -> int:
    """Send one firing Alertmanager alert; its ticket's id."""
    answer = api.post(
        "/api/v1/alerts/alertmanager", json=am_payload("firing", alert), headers=bearer(key)
    )
    assert answer.status_code == 202, answer.text
    ticket_id: int = answer.json()["alerts"][0]["ticket_id"]
    return ticket_id


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def count(db: Database, model: Any, *where: Any) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_a_repeat_joins_the_open_ticket_with_a_comment_linking_the_latest_occurrence(
    api: TestClient, world: World, db: Database
) -> None:
    key = integration(api, "caseflow", "alertmanager")
    first = api.post(
        "/api/v1/alerts/alertmanager",
        json=am_payload("firing", am_alert("firing", "aaa1")),
        headers=bearer(key),
    )
    assert first.status_code == 202, first.text
    opened = first.json()["alerts"][0]
    assert opened["outcome"] == "opened"
    again = api.post(
        "/api/v1/alerts/alertmanager",
        json=am_payload("firing", am_alert("firing", "aaa1")),
        headers=bearer(key),
    )
    assert again.json()["alerts"][0] == {**opened, "outcome": "repeat"}
    ticket = api.get(f"/api/v1/tickets/{opened['ticket_id']}").json()
    assert "prod-alert" in ticket["labels"]
    assert ticket["service"] == "Reader"
    comments = [c["body"] for c in ticket["comments"]]
    assert any("Occurrence 2" in c and "http://prometheus/graph?aaa1" in c for c in comments)
    assert count(db, Ticket) == 1
    assert count(db, AlertRow) == 2


def test_an_alert_for_an_owned_service_is_assigned_to_its_tech_lead(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    with db.transaction() as session:
        add_user(session, clock, world.org_id, "sharon", "Sharon", Role.responder)
    key = integration(api, "caseflow", "alertmanager")
    body = am_payload("firing", am_alert("firing", "d1", service="Dispatch"))
    ticket_id = api.post("/api/v1/alerts/alertmanager", json=body, headers=bearer(key)).json()[
        "alerts"
    ][0]["ticket_id"]
    ticket = api.get(f"/api/v1/tickets/{ticket_id}").json()
    assert ticket["assignee"] == "sharon"
    timeline = api.get(f"/api/v1/tickets/{ticket_id}/timeline").json()
    # One opening event tells the priority, the alert and the owner.
    (opened,) = [e for e in timeline if e["kind"] == "ticket.opened"]
    assert "from alertmanager alert alertmanager:d1; owner:" in opened["summary"]
    assert "tech lead of Tango, which owns Dispatch" in opened["summary"]
    assert opened["data"]["fingerprint"] == "alertmanager:d1"
    assert opened["data"]["owner"] == "Tango"


def test_an_unknown_service_is_never_dropped(api: TestClient, world: World) -> None:
    key = integration(api, "caseflow", "alertmanager")
    body = am_payload("firing", am_alert("firing", "u1", service="Nobody Owns This"))
    outcome = api.post("/api/v1/alerts/alertmanager", json=body, headers=bearer(key)).json()
    assert outcome["alerts"][0]["outcome"] == "opened"
    assert outcome["alerts"][0]["ticket_id"] is not None


def test_data_corruption_pages_its_four_contacts_and_the_tech_lead_at_once(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    add_caseflow_contacts(db, clock, world)
    key = integration(api, "caseflow", "alertmanager")
    body = am_payload("firing", am_alert("firing", "dc1", impact="data-corruption"))
    outcome = api.post("/api/v1/alerts/alertmanager", json=body, headers=bearer(key)).json()
    ticket_id = outcome["alerts"][0]["ticket_id"]
    with db.transaction() as session:
        paged = set(
            session.scalars(
                select(OutboxMessage.idempotency_key).where(OutboxMessage.ticket_id == ticket_id)
            )
        )
    assert len([k for k in paged if k.startswith("impact.")]) == 5
    ticket = api.get(f"/api/v1/tickets/{ticket_id}").json()
    assert ticket["priority"] == "data-corruption-or-major-stoppage"


def test_resolved_alert_annotates_by_caseflow_policy_and_resolves_by_meltano_policy(
    api: TestClient, world: World
) -> None:
    outcomes = {}
    for team in ("caseflow", "meltano"):
        key = integration(api, team, "alertmanager")
        response = api.post(
            "/api/v1/alerts/alertmanager",
            json=am_payload("firing", am_alert("firing", f"r-{team}")),
            headers=bearer(key),
        )
        assert response.status_code == 202, response.text
        fired = response.json()["alerts"][0]
        resolved = api.post(
            "/api/v1/alerts/alertmanager",
            json=am_payload("resolved", am_alert("resolved", f"r-{team}")),
            headers=bearer(key),
        ).json()["alerts"][0]
        ticket = api.get(f"/api/v1/tickets/{fired['ticket_id']}").json()
        outcomes[team] = (resolved["outcome"], ticket["status"], ticket["open"])
    assert outcomes["caseflow"] == ("annotated", "open", True)
    assert outcomes["meltano"] == ("resolved", "resolved", False)


def test_a_trigger_after_the_ticket_closed_opens_a_new_ticket(
    api: TestClient, world: World
) -> None:
    key = integration(api, "meltano", "generic")
    alert = {"title": "Tap failing", "service": "hub", "dedup_key": "tap-1"}
    first = api.post("/api/v1/alerts/generic", json=alert, headers=bearer(key)).json()
    api.post("/api/v1/alerts/generic", json={**alert, "action": "resolve"}, headers=bearer(key))
    second = api.post("/api/v1/alerts/generic", json=alert, headers=bearer(key)).json()
    assert second["alerts"][0]["outcome"] == "opened"
    assert second["alerts"][0]["ticket_id"] != first["alerts"][0]["ticket_id"]


@pytest.mark.parametrize(
    ("signals", "priority"),
    [
        ({"cost_usd_per_hour": 500}, "P1"),
        ({"ui_page_latency_seconds": 7}, "P2"),
        ({"ci_failure_ratio": 0.5}, "P2"),
    ],
)
def test_hail_signals_through_the_generic_endpoint_get_the_seed_priority(
    api: TestClient, world: World, signals: dict[str, float], priority: str
) -> None:
    key = integration(api, "hail", "generic")
    outcome = api.post(
        "/api/v1/alerts/generic",
        json={"title": "signal", "service": "batch", "signals": signals},
        headers=bearer(key),
    ).json()
    ticket = api.get(f"/api/v1/tickets/{outcome['alerts'][0]['ticket_id']}").json()
    assert ticket["priority"] == priority


def test_a_silenced_alert_is_recorded_and_counted_but_opens_nothing_until_expiry(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    key = integration(api, "caseflow", "alertmanager")
    silence = api.post(
        "/api/v1/silences",
        json={
            "matchers": [{"name": "service", "op": "=", "value": "Reader"}],
            "ends_at": (clock.now() + timedelta(hours=1)).isoformat(),
            "reason": "known flaky, fix deploying",
        },
    )
    assert silence.status_code == 201, silence.text
    body = am_payload("firing", am_alert("firing", "s1"))
    outcome = api.post("/api/v1/alerts/alertmanager", json=body, headers=bearer(key)).json()
    assert outcome["alerts"][0]["outcome"] == "silenced"
    assert outcome["alerts"][0]["silence_id"] == silence.json()["id"]
    assert count(db, Ticket) == 0
    listed = api.get("/api/v1/silences").json()
    assert listed[0]["alerts_silenced"] == 1 and listed[0]["state"] == "active"
    clock.advance(timedelta(hours=1))
    outcome = api.post("/api/v1/alerts/alertmanager", json=body, headers=bearer(key)).json()
    assert outcome["alerts"][0]["outcome"] == "opened"


def test_users_who_cannot_log_in_make_2i2c_declare_an_incident_at_once(
    api: TestClient, world: World
) -> None:
    key = integration(api, "2i2c", "generic")
    outcome = api.post(
        "/api/v1/alerts/generic",
        json={
            "title": "Hub login failing",
            "service": "hub",
            "labels": {"symptom": "cannot-log-in"},
        },
        headers=bearer(key),
    )
    assert outcome.status_code == 202, outcome.text
    ticket = api.get(f"/api/v1/tickets/{outcome.json()['alerts'][0]['ticket_id']}").json()
    assert ticket["incident_id"] is not None
    incident = api.get(f"/api/v1/incidents/{ticket['incident_id']}").json()
    assert incident["severity"] == "urgent"
    assert any("Declared incident" in c["body"] for c in ticket["comments"])


def test_an_alert_that_meets_no_criterion_declares_nothing(api: TestClient, world: World) -> None:
    key = integration(api, "2i2c", "generic")
    outcome = api.post(
        "/api/v1/alerts/generic",
        json={"title": "Slow dashboard", "service": "hub"},
        headers=bearer(key),
    ).json()
    ticket = api.get(f"/api/v1/tickets/{outcome['alerts'][0]['ticket_id']}").json()
    assert ticket["incident_id"] is None


SENTRY_SECRET = "sentry-client-secret"


def sentry_post(
    client: TestClient, key: str, resource: str, payload: dict[str, Any], secret: str
) -> Any:
    body = json.dumps(payload, separators=(",", ":")).encode()  # as Sentry serialises
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        f"/api/v1/alerts/sentry/{key}",
        content=body,
        headers={
            "Content-Type": "application/json",
            "Sentry-Hook-Resource": resource,
            "Sentry-Hook-Timestamp": "1764082800",
            "Sentry-Hook-Signature": signature,
            "Request-ID": "0" * 32,
        },
    )


def sentry_issue(action: str, issue_id: str = "1170820242") -> dict[str, Any]:
    return {
        "action": action,
        "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
        "data": {
            "issue": {
                "id": issue_id,
                "shortId": "READER-9",
                "title": "ReferenceError: blooopy is not defined",
                "culprit": "?(runner)",
                "level": "error",
                "status": "unresolved",
                "count": "1",
                "firstSeen": "2026-11-25T14:58:37.391000Z",
                "lastSeen": "2026-11-25T14:58:37.391000Z",
                "permalink": None,
                "project": {"id": "1", "name": "Reader", "slug": "Reader", "platform": ""},
            }
        },
        "actor": {"type": "application", "id": "sentry", "name": "Sentry"},
    }


def test_a_signed_sentry_issue_opens_and_resolves_a_ticket(
    app_client: TestClient, api: TestClient, world: World
) -> None:
    key = integration(api, "meltano", "sentry", signing_secret=SENTRY_SECRET)
    created = sentry_post(app_client, key, "issue", sentry_issue("created"), SENTRY_SECRET)
    assert created.status_code == 202, created.text
    assert created.json()["alerts"][0]["fingerprint"] == "sentry:issue:1170820242"
    resolved = sentry_post(app_client, key, "issue", sentry_issue("resolved"), SENTRY_SECRET)
    assert resolved.json()["alerts"][0]["outcome"] == "resolved"


def test_a_badly_signed_sentry_hook_is_refused_and_nothing_is_stored(
    app_client: TestClient, api: TestClient, world: World, db: Database
) -> None:
    key = integration(api, "meltano", "sentry", signing_secret=SENTRY_SECRET)
    refused = sentry_post(app_client, key, "issue", sentry_issue("created"), "wrong secret")
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert count(db, AlertRow) == 0 and count(db, Ticket) == 0


@pytest.mark.parametrize(
    ("body", "headers", "status", "kind"),
    [
        (b"{not json", {}, 400, "malformed-json"),
        (json.dumps({"version": "4"}).encode(), {}, 422, "invalid-input"),
        (
            json.dumps({"version": "3", "status": "firing", "alerts": []}).encode(),
            {},
            422,
            "invalid-input",
        ),
        (b" " * (16 * 1024 * 1024 + 1), {}, 413, "body-too-large"),
        (b"{}", {"Authorization": "Bearer 0123456789abcdef0123456789abcdef"}, 404, "not-found"),
        (b"{}", {"Authorization": ""}, 401, "unauthorized"),
    ],
)
def test_bad_input_gets_a_problem_and_stores_nothing(
    app_client: TestClient,
    api: TestClient,
    world: World,
    db: Database,
    body: bytes,
    headers: dict[str, str],
    status: int,
    kind: str,
) -> None:
    key = integration(api, "caseflow", "alertmanager")
    response = app_client.post(
        "/api/v1/alerts/alertmanager",
        content=body,
        headers={"Content-Type": "application/json", **bearer(key), **headers},
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith(kind)
    assert count(db, AlertRow) == 0 and count(db, Ticket) == 0


def test_a_revoked_key_opens_nothing(api: TestClient, world: World) -> None:
    key = integration(api, "caseflow", "generic")
    integration_id = api.get("/api/v1/integrations").json()[0]["id"]
    assert api.delete(f"/api/v1/integrations/{integration_id}").json()["revoked_at"]
    refused = api.post("/api/v1/alerts/generic", json={"title": "x"}, headers=bearer(key))
    assert refused.status_code == 404


def test_the_key_is_shown_once_and_stored_only_as_a_hash(
    api: TestClient, world: World, db: Database
) -> None:
    key = integration(api, "caseflow", "generic")
    assert len(key) == 32 and int(key, 16) >= 0  # 128 random bits
    assert "key" not in api.get("/api/v1/integrations").json()[0]
    from fireline.intake.models import Integration

    with db.transaction() as session:
        stored = session.scalar(select(Integration.key_hash))
    assert stored == hashlib.sha256(key.encode()).hexdigest() and key not in str(stored)


def storm_team(db: Database, clock: ManualClock, world: World, preset: str, alerts: int) -> None:
    """A team `storm` on `preset`, grouping `alerts` alerts of one service in a minute."""
    import yaml

    from fireline.orgs.service import create_team, store_policy
    from fireline.policy.load import preset_text

    policy = yaml.safe_load(preset_text(preset))
    policy.setdefault("alerts", {})["grouping"] = {"alerts": alerts, "seconds": 60}
    text = yaml.safe_dump(policy, sort_keys=False, allow_unicode=True)
    with db.transaction() as session:
        team = create_team(session, clock, world.org_id, "storm", "Storm")
        store_policy(session, clock, team, text, "storm.yaml", None)


def test_a_storm_of_one_service_collapses_into_one_ticket_after_the_threshold(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    storm_team(db, clock, world, "caseflow", alerts=3)
    key = integration(api, "storm", "alertmanager")
    burst = am_payload(
        "firing",
        *(am_alert("firing", f"storm-{n}") for n in range(5)),
        am_alert("firing", "other", service="Dispatch"),
    )
    outcomes = api.post("/api/v1/alerts/alertmanager", json=burst, headers=bearer(key)).json()
    kinds = [(a["outcome"], a["ticket_id"]) for a in outcomes["alerts"]]
    assert [k for k, _ in kinds] == ["opened", "opened", "grouped", "grouped", "grouped", "opened"]
    assert kinds[1][1] == kinds[2][1] == kinds[3][1] == kinds[4][1] != kinds[0][1]
    assert api.get(f"/api/v1/tickets/{kinds[1][1]}").json()["alert_count"] == 4
    # Still in the storm's window, in a later request: joins the same ticket.
    later = api.post(
        "/api/v1/alerts/alertmanager",
        json=am_payload("firing", am_alert("firing", "storm-5")),
        headers=bearer(key),
    ).json()["alerts"][0]
    assert (later["outcome"], later["ticket_id"]) == ("grouped", kinds[1][1])
    assert api.get(f"/api/v1/tickets/{kinds[1][1]}").json()["alert_count"] == 5  # counted too
    clock.advance(timedelta(seconds=61))
    calm = api.post(
        "/api/v1/alerts/alertmanager",
        json=am_payload("firing", am_alert("firing", "storm-6")),
        headers=bearer(key),
    ).json()["alerts"][0]
    assert calm["outcome"] == "opened"


def test_an_upstream_outage_alert_opens_a_ticket_that_pages_nobody(
    api: TestClient, world: World, db: Database
) -> None:
    made = api.post(
        "/api/v1/escalation-policies",
        json={
            "slug": "meltano-oncall",
            "name": "Meltano on call",
            "steps": [{"targets": [{"kind": "person", "name": "ada"}], "delay_minutes": 5}],
            "teams": ["meltano"],
        },
    )
    assert made.status_code == 201, made.text
    key = integration(api, "meltano", "generic")
    paged = api.post(
        "/api/v1/alerts/generic",
        json={"title": "Hub down", "service": "hub", "severity": "critical"},
        headers=bearer(key),
    ).json()["alerts"][0]
    upstream = api.post(
        "/api/v1/alerts/generic",
        json={
            "title": "pipx install meltano failing",
            "service": "pypi",
            "severity": "critical",
            "labels": {"upstream": "PyPI"},
        },
        headers=bearer(key),
    ).json()["alerts"][0]
    assert api.get(f"/api/v1/tickets/{paged['ticket_id']}/escalation").json()["state"] == "active"
    ticket = api.get(f"/api/v1/tickets/{upstream['ticket_id']}").json()
    assert {"upstream", "upstream=PyPI"} <= set(ticket["labels"]) and ticket["open"]
    assert (
        api.get(f"/api/v1/tickets/{upstream['ticket_id']}/escalation").json()["state"] != "active"
    )
    timeline = [
        e["summary"] for e in api.get(f"/api/v1/tickets/{upstream['ticket_id']}/timeline").json()
    ]
    assert "upstream outage (PyPI): nobody is paged" in timeline


def test_a_responder_marks_an_open_ticket_as_an_upstream_outage(
    api: TestClient, world: World
) -> None:
    opened = api.post(
        "/api/v1/tickets",
        json={"team": "meltano", "title": "GitLab CI down", "type": "outage"},
    ).json()
    marked = api.post(
        f"/api/v1/tickets/{opened['id']}/upstream",
        json={"upstream": "GitLab", "note": "status page red"},
    )
    assert marked.status_code == 200, marked.text
    assert "upstream=GitLab" in marked.json()["labels"]
    timeline = [e["summary"] for e in api.get(f"/api/v1/tickets/{opened['id']}/timeline").json()]
    assert (
        "marked an upstream outage (GitLab); users are told on the status page: status page red"
        in timeline
    )


def test_the_intake_lane_takes_posts_only_and_leaves_the_rest_to_the_routes(
    api: TestClient, world: World
) -> None:
    """POSTs to the alert paths go through `IntakeLane`; other methods, and paths it does not
    own, still get FastAPI's answers as problem+json."""
    key = integration(api, "meltano", "generic")
    headers = {"Authorization": f"Bearer {key}"}
    taken = api.post("/api/v1/alerts/generic", json={"title": "lane"}, headers=headers)
    assert taken.status_code == 202
    assert taken.headers["content-type"] == "application/json"
    assert taken.json()["alerts"][0]["outcome"] == "opened"
    refused = api.post("/api/v1/alerts/generic", content=b"{", headers=headers)
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["instance"] == "/api/v1/alerts/generic"
    wrong_method = api.get("/api/v1/alerts/generic", headers=headers)
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"] == "application/problem+json"
    for path in ("/api/v1/alerts/sentry/", "/api/v1/alerts/sentry/a/b", "/api/v1/alerts/x"):
        unknown = api.post(path, json={}, headers=headers)
        assert unknown.status_code == 404, path
        assert unknown.headers["content-type"] == "application/problem+json"


def access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "fireline.access"]


def test_the_access_log_has_a_line_for_each_request_but_not_for_each_accepted_alert(
    api: TestClient, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Lines in uvicorn's format, secrets in URLs redacted; an alert taken in gets none."""
    key = integration(api, "meltano", "generic")
    paging = integration(api, "meltano", "pagerduty")
    caplog.set_level(logging.INFO, logger="fireline.access")
    taken = api.post("/api/v1/alerts/generic", json={"title": "a"}, headers=bearer(key))
    assert taken.status_code == 202
    payload = {"summary": "Disk full", "source": "db-1", "severity": "critical"}
    event = {"routing_key": paging, "event_action": "trigger", "payload": payload}
    assert api.post("/v2/enqueue", json=event).status_code == 202
    assert access_lines(caplog) == []
    refusals = [
        api.post("/api/v1/alerts/generic", json={"title": "a"}, headers={"Authorization": ""}),
        api.post("/api/v1/alerts/sentry/s3cr3tkey", json={}),
        api.get("/api/v1/tickets?limit=5"),
        api.get("/schedules/nobody/calendar.ics?token=abcdef"),
    ]
    statuses = [r.status_code for r in refusals]
    assert statuses[:3] == [401, 404, 200]
    assert access_lines(caplog) == [
        'testclient:50000 - "POST /api/v1/alerts/generic HTTP/1.1" 401',
        'testclient:50000 - "POST /api/v1/alerts/sentry/[redacted] HTTP/1.1" 404',
        'testclient:50000 - "GET /api/v1/tickets?limit=5 HTTP/1.1" 200',
        f'testclient:50000 - "GET /schedules/nobody/calendar.ics?token=[redacted] HTTP/1.1" '
        f"{statuses[3]}",
    ]
    assert "s3cr3tkey" not in caplog.text and "abcdef" not in caplog.text


def test_no_access_log_when_the_settings_turn_it_off(
    db: Database, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="fireline.access")
    app = create_app(Settings(access_log=False), db=db, clock=clock)
    with TestClient(app) as client:
        assert client.post("/api/v1/alerts/generic", json={}).status_code == 401
        assert client.get("/health").status_code == 200
    assert access_lines(caplog) == []


def test_an_unexpected_failure_is_a_logged_500_in_problem_json_in_and_out_of_the_lane(
    db: Database,
    clock: ManualClock,
    world: World,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(*_: object, **__: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(generic, "parse", fail)
    monkeypatch.setattr(tickets_service, "list_tickets", fail)
    caplog.set_level(logging.INFO)
    app = create_app(db=db, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {world.tokens['admin']}"
        key = integration(client, "meltano", "generic")
        failures = [
            client.post("/api/v1/alerts/generic", json={"title": "a"}, headers=bearer(key)),
            client.get("/api/v1/tickets"),
        ]
    for failed in failures:
        assert failed.status_code == 500
        assert failed.headers["content-type"] == "application/problem+json"
        assert failed.json()["type"] == "https://fireline.dev/problems/internal-error"
        assert "a bug" not in failed.text  # the error is for the log, not the client
    assert access_lines(caplog)[-2:] == [
        'testclient:50000 - "POST /api/v1/alerts/generic HTTP/1.1" 500',
        'testclient:50000 - "GET /api/v1/tickets HTTP/1.1" 500',
    ]
    # The lane logs its own failure; elsewhere the exception goes on to the server, which
    # logs it (here, the test client raises it).
    logged = [r for r in caplog.records if r.exc_info and "a bug" in str(r.exc_info[1])]
    assert [r.name for r in logged] == ["fireline.intake"]
    with TestClient(app) as client, pytest.raises(RuntimeError, match="a bug"):
        client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {world.tokens['admin']}"})
    assert count(db, AlertRow) == 0


def test_one_dedup_key_from_two_integrations_makes_two_tickets_as_pagerduty_keeps_them(
    api: TestClient, db: Database
) -> None:
    # PagerDuty: "subsequent events for the same dedup_key will only apply to the open alert
    # if the events are sent via the same routing_key".
    first, second = integration(api, "meltano", "pagerduty"), integration(api, "hail", "pagerduty")
    payload = {"summary": "MySQL down", "source": "srv01", "severity": "critical"}

    def send(key: str, action: str) -> str:
        event = {"routing_key": key, "event_action": action, "dedup_key": "srv01/mysql"}
        answer = api.post("/v2/enqueue", json={**event, "payload": payload})
        assert answer.status_code == 202, answer.text
        return str(answer.json()["dedup_key"])

    assert send(first, "trigger") == send(second, "trigger") == "srv01/mysql"
    with db.transaction() as session:
        tickets = session.execute(select(Ticket.id, Ticket.team_id, Ticket.is_open)).all()
    assert len(tickets) == 2 and len({t.team_id for t in tickets}) == 2
    send(second, "resolve")
    send(first, "trigger")
    with db.transaction() as session:
        opened = session.scalars(select(Ticket).order_by(Ticket.id)).all()
    assert [(t.is_open, t.alert_count) for t in opened] == [(True, 2), (False, 1)]


def impact_pages(db: Database, ticket_id: int) -> list[tuple[str, str]]:
    with db.transaction() as session:
        rows = session.execute(
            select(OutboxMessage.idempotency_key, OutboxMessage.status)
            .where(OutboxMessage.ticket_id == ticket_id)
            .order_by(OutboxMessage.id)
        ).all()
    return [(key, status) for key, status in rows if key.startswith("impact.")]


def test_an_upstream_alert_pages_nobody_not_even_its_impact_contacts(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    add_caseflow_contacts(db, clock, world)
    key = integration(api, "caseflow", "alertmanager")
    alert = am_alert("firing", "up1", impact="data-corruption", upstream="GitHub")
    ticket_id = fire(api, key, alert)
    assert impact_pages(db, ticket_id) == []
    timeline = api.get(f"/api/v1/tickets/{ticket_id}/timeline").json()
    assert "alert.impact_paged" not in [e["kind"] for e in timeline]


@pytest.mark.parametrize("how", ["acknowledged at the source", "closed in Fireline"])
def test_impact_pages_not_yet_sent_stop_when_the_ticket_is_acknowledged_or_resolved(
    api: TestClient, world: World, db: Database, clock: ManualClock, how: str
) -> None:
    add_caseflow_contacts(db, clock, world)
    # Product support is reached only after ten minutes (its one contact method's delay).
    later = {"name": "later", "kind": "inbox", "target": "sandra", "delay_minutes": 10}
    assert api.post("/api/v1/people/sandra/contact-methods", json=later).status_code == 201
    key = integration(api, "caseflow", "generic")
    alert = {"title": "Rows lost", "dedup_key": "dc", "labels": {"impact": "data-corruption"}}
    opened = api.post("/api/v1/alerts/generic", json=alert, headers=bearer(key)).json()
    ticket_id = opened["alerts"][0]["ticket_id"]
    before = impact_pages(db, ticket_id)
    assert len(before) == 4 and {status for _, status in before} == {"pending"}
    clock.advance(timedelta(minutes=1))
    if how == "acknowledged at the source":
        ack = {**alert, "action": "acknowledge"}
        assert api.post("/api/v1/alerts/generic", json=ack, headers=bearer(key)).status_code == 202
    else:
        moved = api.post(f"/api/v1/tickets/{ticket_id}/transitions", json={"to": "closed"})
        assert moved.status_code == 200, moved.text
    after = dict(impact_pages(db, ticket_id))
    # Those due at once are the outbox's to send; only the later one is called off.
    assert sorted(after.values()) == ["cancelled"] + ["pending"] * 3


@pytest.mark.parametrize(
    ("impact", "paged_at_once", "priority"),
    [
        # "Potentially corrupting data or causing a major user work stoppage: Ping the
        # following people immediately" (the tech lead of Reader, mark, and the four).
        ("data-corruption", 5, "data-corruption-or-major-stoppage"),
        ("major-work-stoppage", 5, "data-corruption-or-major-stoppage"),
        # "You're not totally sure: Ping the tech lead for the team responsible."
        ("not-sure", 1, "not-sure"),
        # "Obviously annoying to end users": batched up and told later, nobody paged now.
        ("annoying", 0, "annoying-to-users"),
        ("annoying-to-users", 0, "annoying-to-users"),
    ],
)
def test_caseflow_impacts_page_whom_the_seed_says_when_it_says(
    api: TestClient,
    world: World,
    db: Database,
    clock: ManualClock,
    impact: str,
    paged_at_once: int,
    priority: str,
) -> None:
    add_caseflow_contacts(db, clock, world)
    key = integration(api, "caseflow", "alertmanager")
    alert = am_alert("firing", f"i-{impact}", impact=impact)
    ticket_id = fire(api, key, alert)
    assert len(impact_pages(db, ticket_id)) == paged_at_once
    assert api.get(f"/api/v1/tickets/{ticket_id}").json()["priority"] == priority


def test_a_meltano_alert_acknowledged_at_the_source_shows_the_eyes(api: TestClient) -> None:
    key = integration(api, "meltano", "generic")
    alert = {"title": "Tap failing", "service": "hub", "dedup_key": "tap"}
    opened = api.post("/api/v1/alerts/generic", json=alert, headers=bearer(key)).json()
    ack = {**alert, "action": "acknowledge"}
    assert api.post("/api/v1/alerts/generic", json=ack, headers=bearer(key)).status_code == 202
    ticket = api.get(f"/api/v1/tickets/{opened['alerts'][0]['ticket_id']}").json()
    assert ticket["status"] == "acknowledged"


def test_a_sentry_hook_the_database_is_too_slow_for_is_spooled_within_sentrys_second(
    db: Database, clock: ManualClock, world: World, tmp_path: Path
) -> None:
    # Sentry gives a hook one second and never retries. Here a repeat waits for its ticket's
    # row (PostgreSQL) or the write lock (SQLite), which another transaction holds for 3 s.
    spool = tmp_path / "spool"
    app = create_app(Settings(spool_dir=str(spool)), db=db, clock=clock)
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {world.tokens['admin']}"
        key = integration(client, "meltano", "sentry", signing_secret=SENTRY_SECRET)
        hook = sentry_issue("created")
        first = sentry_post(client, key, "issue", hook, SENTRY_SECRET)
        assert first.json()["alerts"][0]["outcome"] == "opened"
        holding = threading.Event()

        def hold() -> None:
            with db.transaction() as holder:
                holder.execute(select(Ticket).with_for_update()).all()
                holding.set()
                time.sleep(3)

        holder = threading.Thread(target=hold)
        holder.start()
        holding.wait(5)
        slow = sentry_post(client, key, "issue", hook, SENTRY_SECRET)
        assert slow.status_code == 202 and slow.json()["status"] == "spooled"
        holder.join(10)
        # The slow commit went through after all: the spooled copy, held from the drain
        # meanwhile, is withdrawn rather than taken in a second time.
        deadline = time.monotonic() + 20
        while list(spool.glob("*.json")) or count(db, AlertRow) < 2:
            assert time.monotonic() < deadline, (list(spool.glob("*.json")), count(db, AlertRow))
            time.sleep(0.1)
        time.sleep(2.5)  # a drain's interval: nothing more is taken in
    with db.transaction() as session:
        ticket = session.scalars(select(Ticket)).one()
    assert ticket.alert_count == 2 and count(db, AlertRow) == 2


def test_an_alertmanager_group_over_a_mebibyte_is_taken_in_whole(
    api: TestClient, db: Database
) -> None:
    # Alertmanager retries only a 5xx: a group refused 413 would be lost for the storm.
    key = integration(api, "meltano", "alertmanager")
    alerts = [am_alert("firing", f"big{n}", service="hub") for n in range(600)]
    for alert in alerts:
        alert["annotations"]["description"] = "x" * 2000
    body = json.dumps(am_payload("firing", *alerts)).encode()
    assert len(body) > 1024 * 1024
    taken = api.post(
        "/api/v1/alerts/alertmanager",
        content=body,
        headers={"Content-Type": "application/json", **bearer(key)},
    )
    assert taken.status_code == 202, taken.text[:300]
    assert count(db, Ticket) == 600


def test_a_sentry_metric_alert_opens_its_ticket_and_its_resolution_resolves_it(
    api: TestClient, app_client: TestClient, db: Database
) -> None:
    key = integration(api, "meltano", "sentry", signing_secret=SENTRY_SECRET)
    critical = sentry_post(
        app_client, key, "metric_alert", sentry_metric_alert("critical"), SENTRY_SECRET
    )
    assert critical.status_code == 202, critical.text
    (opened,) = critical.json()["alerts"]
    assert opened["outcome"] == "opened"
    warning = sentry_post(
        app_client, key, "metric_alert", sentry_metric_alert("warning"), SENTRY_SECRET
    )
    assert warning.json()["alerts"][0]["outcome"] == "repeat"
    resolved = sentry_post(
        app_client, key, "metric_alert", sentry_metric_alert("resolved"), SENTRY_SECRET
    )
    assert resolved.json()["alerts"][0]["outcome"] == "resolved"
    ticket = api.get(f"/api/v1/tickets/{opened['ticket_id']}").json()
    assert (ticket["service"], ticket["open"]) == ("bar", False)


def test_one_request_that_opens_resolves_and_repeats_counts_every_alert_on_open_tickets(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    # Meltano resolves a ticket when its alert resolves; a storm is two alerts of a service.
    storm_team(db, clock, world, "meltano", alerts=2)
    key = integration(api, "storm", "generic")
    a = {"title": "Tap a failing", "service": "hub", "dedup_key": "a"}
    b = {"title": "Tap b failing", "service": "hub", "dedup_key": "b"}

    def send(*alerts: dict[str, str]) -> list[tuple[str, int | None]]:
        answer = api.post("/api/v1/alerts/generic", json=list(alerts), headers=bearer(key))
        assert answer.status_code == 202, answer.text
        return [(x["outcome"], x["ticket_id"]) for x in answer.json()["alerts"]]

    # a opens and closes; b, the storm's second alert, must not join a's closed ticket.
    (opened, resolved, second) = send(a, {**a, "action": "resolve"}, b)
    assert (opened[0], resolved[0], second[0]) == ("opened", "resolved", "opened")
    assert second[1] != opened[1]
    # A repeat and a resolve of b in one request: the repeat is still counted.
    send({**b, "links": ["https://ci/run/2"]}, {**b, "action": "resolve"})
    ticket = api.get(f"/api/v1/tickets/{second[1]}").json()
    assert (ticket["alert_count"], ticket["open"]) == (2, False)
    comments = [c["body"] for c in ticket["comments"]]
    assert any("Occurrence 2" in c and "https://ci/run/2" in c for c in comments)


def test_an_impact_page_says_why_no_tech_lead_was_paged(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    add_caseflow_contacts(db, clock, world)
    key = integration(api, "caseflow", "alertmanager")
    alert = am_alert("firing", "q1", service="Queue", impact="data-corruption")  # unowned
    ticket_id = fire(api, key, alert)
    assert len(impact_pages(db, ticket_id)) == 4  # the four named contacts
    timeline = api.get(f"/api/v1/tickets/{ticket_id}/timeline").json()
    (paged,) = [e["summary"] for e in timeline if e["kind"] == "alert.impact_paged"]
    assert "data-corruption:" in paged.split("at once", 1)[1] and "Queue" in paged
