"""What fuzzing the API through its OpenAPI document found, pinned, on both databases."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_intake_fuzz import integration

from fireline.clock.now import ManualClock
from fireline.intake.api import take_spooled
from fireline.intake.models import AlertRow
from fireline.intake.spool import Spooled
from fireline.store.db import Database

SENTRY_SECRET = "sentry-client-secret"
INTEGER_MAX = 2**31 - 1  # PostgreSQL's INTEGER (SQLite's goes to 2**63 - 1)


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
