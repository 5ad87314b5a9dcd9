"""Schemathesis against Fireline's own OpenAPI document (/openapi.json of a live server), on
both databases: every documented operation, sent data drawn from its schema and data that
breaks it, never answers a server error nor a status it does not document.

Most requests carry valid credentials, so that the fuzzer gets past authentication: the
admin's API token, or for intake the integration key of the endpoint's kind, where its source
sends it (a header, PagerDuty's `routing_key`, Sentry's URL), with a correct Sentry signature.
Some carry none, or a wrong one. The alert intake, integration and silence endpoints must
also answer only documented content types, headers and bodies. The tests at the end
pin the server errors it found and that are fixed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_server import live_server
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select
from test_intake_fuzz import integration

from fireline.clock.now import ManualClock
from fireline.intake.api import take_spooled
from fireline.intake.models import AlertRow
from fireline.intake.spool import Spooled
from fireline.storable import INTEGER_MAX
from fireline.store.db import Database

if TYPE_CHECKING:
    from conftest import World

SENTRY_SECRET = "sentry-client-secret"
INTAKE_KINDS = {
    "/api/v1/alerts/alertmanager": "alertmanager",
    "/api/v1/alerts/generic": "generic",
    "/api/v1/alerts/heartbeat": "heartbeat",
    "/api/v1/alerts/sentry/{key}": "sentry",
    "/api/v1/alerts/pagerduty/v2/enqueue": "pagerduty",
    "/v2/enqueue": "pagerduty",
}
CONFORMING = {"alert intake", "integrations", "silences"}  # tags held to their documentation
# Per operation: conforming ones, the others. Kept small so `make test` stays within its 10
# minutes on two cores; raise them (or run the file alone) for a deeper search.
EXAMPLES = {True: 12, False: 5}
WRONG_KEY = "fl_0123456789abcdef0123456789abcdef"


@pytest.fixture
def fireline_url(db: Database, clock: ManualClock, world: World) -> Iterator[str]:
    with live_server(db, clock, engine=False) as url:
        yield url


@pytest.fixture
def keys(fireline_url: str, world: World) -> dict[str, str]:
    """The admin's token and an integration key per kind; an open ticket and an incident
    for the ids to find."""
    admin = {"Authorization": f"Bearer {world.tokens['admin']}"}
    found = {"admin": world.tokens["admin"]}
    with httpx.Client(base_url=fireline_url, headers=admin, timeout=10) as client:
        for kind in ("alertmanager", "generic", "heartbeat", "sentry", "pagerduty"):
            extra: dict[str, Any] = {
                "sentry": {"signing_secret": SENTRY_SECRET},
                "heartbeat": {"interval_minutes": 5},
            }.get(kind, {})
            created = client.post(
                "/api/v1/integrations",
                json={"team": "caseflow", "kind": kind, "name": kind, **extra},
            )
            assert created.status_code == 201, created.text
            found[kind] = created.json()["key"]
        for path, body in (
            ("/api/v1/tickets", {"team": "caseflow", "title": "Reader is down"}),
            ("/api/v1/incidents", {"team": "2i2c", "title": "Users cannot log in"}),
        ):
            assert client.post(path, json=body).status_code == 201
    return found


def wire_body(case: schemathesis.Case) -> bytes:
    """The case's body as the bytes to send, so that what is signed is what is sent."""
    if isinstance(case.body, NotSet):
        return b""
    if isinstance(case.body, bytes):
        return case.body
    return json.dumps(case.body, default=str).encode()


def credentials(case: schemathesis.Case, keys: dict[str, str], how: str) -> dict[str, Any]:
    """Keyword arguments for `case.call` carrying `how` (valid, wrong or no) credentials."""
    kind = INTAKE_KINDS.get(case.operation.path)
    key = keys[kind or "admin"] if how == "valid" else WRONG_KEY
    if kind == "pagerduty":
        if how != "none" and isinstance(case.body, dict) and "routing_key" in case.body:
            case.body["routing_key"] = key
        return {}
    if kind == "sentry":
        raw = wire_body(case)
        headers = {"Content-Type": "application/json"}
        if how != "none":
            case.path_parameters["key"] = key
        if how == "valid":
            headers["Sentry-Hook-Signature"] = hmac.new(
                SENTRY_SECRET.encode(), raw, hashlib.sha256
            ).hexdigest()
        return {"data": raw, "headers": headers}
    return {} if how == "none" else {"headers": {"Authorization": f"Bearer {key}"}}


def fuzz(operation: schemathesis.APIOperation, keys: dict[str, str]) -> None:
    """Send one operation its cases and check every answer."""
    conforming = bool(CONFORMING & set(operation.tags or []))
    checks = [not_a_server_error, status_code_conformance]
    if conforming:
        checks += [
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        ]
    # One case in four breaks the schema on purpose; such cases cost three times as much
    # to draw.
    positive = operation.as_strategy(GenerationMode.POSITIVE)
    negative = operation.as_strategy(GenerationMode.NEGATIVE)
    cases = st.sampled_from([positive] * 3 + [negative]).flatmap(lambda drawn: drawn)
    how = st.sampled_from(["valid"] * 5 + ["wrong", "none"])

    @given(case=cases, how=how)
    @settings(
        max_examples=EXAMPLES[conforming],
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def send(case: schemathesis.Case, how: str) -> None:
        response = case.call(**credentials(case, keys, how))
        if operation.path == "/health/engine":
            assert response.status_code in (200, 503)  # no engine runs here: 503 is right
            return
        case.validate_response(response, checks=checks)

    send()


@pytest.mark.db
def test_no_request_makes_fireline_fail(
    fireline_url: str, keys: dict[str, str], subtests: pytest.Subtests
) -> None:
    schema = schemathesis.openapi.from_url(f"{fireline_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {operation.path for operation in operations} >= set(INTAKE_KINDS)
    for operation in operations:
        with subtests.test(msg=operation.label):
            fuzz(operation, keys)


# -- what the fuzzer found, pinned ---------------------------------------------------------------


@pytest.mark.db
def test_a_nul_in_an_alert_is_taken_in_as_a_replacement_character(api: TestClient) -> None:
    """PostgreSQL text cannot hold NUL; the alert is kept rather than refused or failed."""
    key = integration(api, "generic")
    sent = api.post(
        "/api/v1/alerts/generic",
        json={"title": "disk\x00full", "labels": {"host\x00": "db\x00-1"}},
        headers={"Authorization": f"Bearer {key}"},
    )

    assert sent.status_code == 202, sent.text
    [outcome] = sent.json()["alerts"]
    ticket = api.get(f"/api/v1/tickets/{outcome['ticket_id']}").json()
    assert ticket["title"] == "disk\ufffdfull"


@pytest.mark.db
def test_a_spooled_sentry_hook_with_a_nul_is_taken_in(
    api: TestClient, db: Database, clock: ManualClock
) -> None:
    key = integration(api, "sentry", signing_secret=SENTRY_SECRET)
    body = json.dumps(
        {"action": "created", "data": {"issue": {"id": "7", "title": "bad\x00byte"}}}
    ).encode()
    signature = hmac.new(SENTRY_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"sentry-hook-resource": "issue", "sentry-hook-signature": signature}

    take_spooled(db, clock)(Spooled("sentry", key, headers, body))

    with db.transaction() as session:
        assert session.scalars(select(AlertRow.fingerprint)).all() == ["sentry:issue:7"]


@pytest.mark.db
@pytest.mark.parametrize("path", ["/api/v1/integrations", "/api/v1/silences"])
def test_an_id_beyond_integer_is_refused_as_input(api: TestClient, path: str) -> None:
    response = api.delete(f"{path}/{INTEGER_MAX + 1}")

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.db
def test_an_empty_preset_name_is_an_unknown_preset(api: TestClient) -> None:
    response = api.post("/api/v1/teams", json={"slug": "ops", "name": "Ops", "preset": ""})

    assert response.status_code == 422, response.text


@pytest.mark.db
@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/api/v1/silences",
            {
                "matchers": [{"name": "service", "value": "Reader\x00"}],
                "ends_at": "2026-11-26T15:00:00Z",
                "reason": "known",
            },
        ),
        ("/api/v1/integrations", {"team": "caseflow", "kind": "generic", "name": "prod\x00"}),
    ],
)
def test_a_nul_in_what_a_person_sends_is_refused(
    api: TestClient, path: str, body: dict[str, Any]
) -> None:
    """Unlike an alert, a person can send it again: refused alike on either database."""
    response = api.post(path, json=body)

    assert response.status_code == 422, response.text
    assert "NUL" in response.json()["detail"]
