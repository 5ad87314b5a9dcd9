"""Fuzzing the intake endpoints through HTTP, on both databases: whatever body arrives, the
answer is never a 5xx; a refusal is problem+json, and a refused body stores nothing."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from fireline.intake.models import AlertRow
from fireline.store.db import Database

if TYPE_CHECKING:
    from conftest import World

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)
names = st.sampled_from(
    [
        "title",
        "service",
        "labels",
        "signals",
        "dedup_key",
        "action",
        "status",
        "alerts",
        "version",
        "routing_key",
        "event_action",
        "payload",
        "summary",
        "severity",
        "source",
        "fingerprint",
        "annotations",
        "startsAt",
        "endsAt",
        "links",
        "data",
        "issue",
        "event",
        "id",
        "custom_details",
    ]
)
# Objects whose keys are the sources' field names reach deeper than arbitrary JSON does.
near_miss = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=6),
    max_leaves=30,
)
bodies = (
    json_values.map(lambda v: json.dumps(v).encode())
    | near_miss.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=200)
)


def integration(api: TestClient, kind: str, **extra: Any) -> str:
    created = api.post(
        "/api/v1/integrations", json={"team": "meltano", "kind": kind, "name": kind, **extra}
    )
    assert created.status_code == 201, created.text
    key: str = created.json()["key"]
    return key


@pytest.mark.parametrize("kind", ["alertmanager", "generic", "pagerduty", "sentry", "heartbeat"])
def test_no_body_makes_an_intake_endpoint_fail(
    api: TestClient, app_client: TestClient, world: World, db: Database, kind: str
) -> None:
    extra: dict[str, Any] = {"signing_secret": "s"} if kind == "sentry" else {}
    if kind == "heartbeat":
        extra["interval_minutes"] = 5
    key = integration(api, kind, **extra)
    path = {
        "alertmanager": "/api/v1/alerts/alertmanager",
        "generic": "/api/v1/alerts/generic",
        "pagerduty": "/api/v1/alerts/pagerduty/v2/enqueue",
        "sentry": f"/api/v1/alerts/sentry/{key}",
        "heartbeat": "/api/v1/alerts/heartbeat",
    }[kind]
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(body=bodies, resource=st.sampled_from(["issue", "event_alert", "installation", ""]))
    def post(body: bytes, resource: str) -> None:
        with db.transaction() as session:
            before = session.scalar(select(func.count()).select_from(AlertRow)) or 0
        sent = dict(headers, **{"Sentry-Hook-Resource": resource, "Sentry-Hook-Signature": "0"})
        if kind == "pagerduty":
            try:  # the routing key travels in the body; give a well-formed one a real key
                parsed = json.loads(body)
                if isinstance(parsed, dict) and "routing_key" in parsed:
                    parsed["routing_key"] = key
                    body = json.dumps(parsed).encode()
            except ValueError:
                pass
        response = app_client.post(path, content=body, headers=sent)
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json"
            with db.transaction() as session:
                after = session.scalar(select(func.count()).select_from(AlertRow)) or 0
            assert after == before

    post()
