"""Input the database cannot take is a 422 naming its field, never a 500, on SQLite and on
PostgreSQL alike: an id beyond SQL INTEGER (PostgreSQL's is 32-bit) in the path or the body,
and a NUL character (PostgreSQL text cannot hold one) in the path, the query or the body.
Nothing is stored. The OpenAPI document says so: every refusal an operation can answer is
documented as problem+json.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from test_api import assert_problem, declare, open_ticket

from fireline.app import create_app
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


# -- the OpenAPI document ---------------------------------------------------------------------

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """The document the app serves at /openapi.json (the same on either database)."""
    found: dict[str, Any] = create_app(db=Database("sqlite://")).openapi()
    return found


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


@pytest.mark.parametrize(
    ("method", "path", "statuses"),
    [
        ("get", "/api/v1/me", {"401"}),
        ("get", "/api/v1/tickets/{ticket_id}", {"401", "404", "422"}),
        (
            "post",
            "/api/v1/tickets/{ticket_id}/transitions",
            {"400", "401", "403", "404", "409", "422"},
        ),
        ("post", "/api/v1/incidents", {"400", "401", "403", "404", "409", "422"}),
        (
            "delete",
            "/api/v1/schedules/{slug}/overrides/{override_id}",
            {"401", "403", "404", "409", "422"},
        ),
        ("post", "/api/v1/users", {"400", "401", "403", "409", "422"}),
        ("post", "/api/v1/policies/validate", {"400", "401", "422"}),
        ("get", "/api/v1/public/status/{organisation}", {"404", "422"}),
        ("get", "/health/engine", {"503"}),
    ],
)
def test_the_openapi_documents_an_operation_s_refusals(
    document: dict[str, Any], method: str, path: str, statuses: set[str]
) -> None:
    responses = document["paths"][path][method]["responses"]

    assert {status for status in responses if status[0] in "45"} == statuses


def test_every_refusal_is_documented_as_problem_json(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if status[0] in "45":
                assert response["content"] == {
                    "application/problem+json": {"schema": PROBLEM_REF}
                }, (
                    method,
                    path,
                    status,
                )
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["components"]["schemas"]["Problem"]["required"] == [
        "type",
        "title",
        "status",
        "detail",
        "instance",
    ]


def test_every_operation_that_needs_a_token_documents_401_and_its_input_422(
    document: dict[str, Any],
) -> None:
    for method, path, operation in operations(document):
        responses = operation["responses"]
        if operation.get("security"):
            assert "401" in responses, (method, path)
        if operation.get("parameters") or "requestBody" in operation:
            assert "422" in responses, (method, path)


def test_the_openapi_bounds_every_row_id(document: dict[str, Any]) -> None:
    bounded = set()
    for _, path, operation in operations(document):
        for parameter in operation.get("parameters", []):
            if parameter["name"].endswith("_id") or parameter["name"] == "number":
                bounds = parameter["schema"]
                if (bounds.get("minimum"), bounds.get("maximum")) == (1, INTEGER_MAX):
                    bounded.add(path)
                else:
                    raise AssertionError(f"{path}: {parameter['name']} has no bounds")
    assert "/api/v1/teams/{team}/policy/versions/{number}" in bounded
    schemas = document["components"]["schemas"]
    assert schemas["LinkTicketRequest"]["properties"]["ticket"]["maximum"] == INTEGER_MAX
    assert schemas["NewIncident"]["properties"]["tickets"]["items"]["maximum"] == INTEGER_MAX
