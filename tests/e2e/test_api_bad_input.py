"""Input the database cannot take is a 422 naming its field, never a 500, on SQLite and on
PostgreSQL alike: an id beyond SQL INTEGER (PostgreSQL's is 32-bit) in the path or the body,
and a NUL character (PostgreSQL text cannot hold one) in the path, the query or the body.
Nothing is stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from test_api import assert_problem, declare, open_ticket

from fireline.storable import INTEGER_MAX
from fireline.store.db import Database
from fireline.store.models import Base

BEYOND = INTEGER_MAX + 1
NOT_EVEN_SQLITE = 2**64  # beyond SQLite's integers too


def stored(db: Database) -> dict[str, int]:
    """How many rows each table holds: a refused request changes none."""
    with db.engine.connect() as connection:
        return {
            table.name: connection.execute(
                sa.select(sa.func.count()).select_from(table)
            ).scalar_one()
            for table in Base.metadata.sorted_tables
        }


def refused_field(api: TestClient, db: Database, method: str, path: str, **sent: Any) -> str:
    """Send the request; it must be refused as invalid input, storing nothing. Its field."""
    before = stored(db)
    response = api.request(method, path, **sent)
    body = assert_problem(response, 422, "invalid-input")
    assert stored(db) == before
    [error] = body["errors"]
    assert error["field"] in body["detail"]
    return str(error["field"])


@pytest.fixture
def ids(api: TestClient) -> dict[str, int]:
    """A ticket and an incident that exist, so that only the id sent is wrong."""
    ticket = open_ticket(api, team="caseflow")
    incident = declare(api, team="2i2c")
    return {"ticket": ticket["id"], "incident": incident["id"]}


@pytest.mark.db
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/tickets/{ticket_id}", None),
        ("POST", "/api/v1/tickets/{ticket_id}/comments", {"body": "looking"}),
        ("POST", "/api/v1/tickets/{ticket_id}/acknowledge", None),
        ("GET", "/api/v1/tickets/{ticket_id}/notifications", None),
        ("GET", "/api/v1/incidents/{incident_id}", None),
        ("POST", "/api/v1/incidents/{incident_id}/members", {"person": "ada"}),
        ("POST", "/api/v1/incidents/{incident_id}/status-updates", {"body": "we are on it"}),
        ("GET", "/api/v1/teams/caseflow/policy/versions/{number}", None),
        ("DELETE", "/api/v1/schedules/support/overrides/{override_id}", None),
        ("DELETE", "/api/v1/people/ada/contact-methods/{method_id}", None),
        ("DELETE", "/api/v1/silences/{silence_id}", None),
    ],
)
def test_an_id_beyond_integer_in_the_path_is_refused(
    api: TestClient, db: Database, method: str, path: str, body: Any
) -> None:
    sent = {} if body is None else {"json": body}
    [name] = re.findall(r"{(\w+)}", path)
    for too_large in (BEYOND, NOT_EVEN_SQLITE):
        field = refused_field(api, db, method, path.format(**{name: too_large}), **sent)

        assert field == f"path.{name}"


@pytest.mark.db
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/api/v1/incidents",
            lambda n: {"team": "2i2c", "title": "Down", "tickets": [n]},
            "tickets.0",
        ),
        ("/api/v1/incidents/{incident}/tickets", lambda n: {"ticket": n}, "ticket"),
        (
            "/api/v1/status/components",
            lambda n: {"slug": "w", "name": "W", "position": n},
            "position",
        ),
    ],
)
def test_an_id_or_number_beyond_integer_in_the_body_is_refused(
    api: TestClient,
    db: Database,
    ids: dict[str, int],
    path: str,
    body: Callable[[int], dict[str, Any]],
    field: str,
) -> None:
    for too_large in (BEYOND, NOT_EVEN_SQLITE):
        sent = body(too_large)
        assert refused_field(api, db, "POST", path.format(**ids), json=sent) == field


@pytest.mark.db
def test_an_offset_beyond_integer_is_refused(api: TestClient, db: Database) -> None:
    for path in ("/api/v1/tickets", "/api/v1/incidents"):
        field = refused_field(api, db, "GET", path, params={"offset": NOT_EVEN_SQLITE})
        assert field == "query.offset"


NUL = "bad\x00byte"


@pytest.mark.db
@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/v1/tickets", {"team": "caseflow", "title": NUL}, "title"),
        (
            "POST",
            "/api/v1/tickets",
            {"team": "caseflow", "title": "t", "labels": [NUL]},
            "labels.0",
        ),
        (
            "POST",
            "/api/v1/tickets",
            {"team": "caseflow", "title": "t", "signals": {NUL: 1}},
            f"signals.{NUL}",
        ),
        ("POST", "/api/v1/tickets/{ticket}/comments", {"body": NUL}, "body"),
        ("POST", "/api/v1/incidents", {"team": "2i2c", "title": "t", "summary": NUL}, "summary"),
        ("POST", "/api/v1/incidents/{incident}/updates", {"body": NUL}, "body"),
        ("POST", "/api/v1/users", {"handle": "zed", "name": NUL}, "name"),
        ("PUT", "/api/v1/teams/hail/policy", {"source": NUL}, "source"),
        ("POST", "/api/v1/status/components", {"slug": "web", "name": NUL}, "name"),
        (
            "POST",
            "/api/v1/escalation-policies",
            {"slug": "p", "name": NUL, "steps": [{"targets": [{"kind": "person"}]}]},
            "name",
        ),
        (
            "POST",
            "/api/v1/people/ada/contact-methods",
            {"name": "mail", "kind": "email", "target": NUL},
            "target",
        ),
        (
            "POST",
            "/api/v1/absences",
            {
                "person": "ada",
                "starts": "2026-12-01T00:00Z",
                "ends": "2026-12-02T00:00Z",
                "reason": NUL,
            },
            "reason",
        ),
        (
            "POST",
            "/api/v1/silences",
            {"matchers": [{"name": "a", "value": NUL}]},
            "matchers.0.value",
        ),
        ("GET", "/api/v1/tickets?team=bad%00byte", None, "query.team"),
        ("GET", "/api/v1/schedules/bad%00byte", None, "path.slug"),
        ("GET", "/api/v1/public/status/bad%00byte", None, "path.organisation"),
    ],
)
def test_a_nul_in_text_is_refused_naming_the_field(
    api: TestClient,
    db: Database,
    ids: dict[str, int],
    method: str,
    path: str,
    body: dict[str, Any] | None,
    field: str,
) -> None:
    sent = {} if body is None else {"json": body}
    assert refused_field(api, db, method, path.format(**ids), **sent) == field


@pytest.mark.db
def test_a_nul_is_named_in_the_refusal_s_message(api: TestClient) -> None:
    response = api.post("/api/v1/tickets", json={"team": "caseflow", "title": NUL})

    [error] = assert_problem(response, 422, "invalid-input")["errors"]
    assert error == {"field": "title", "message": "NUL characters cannot be stored"}
