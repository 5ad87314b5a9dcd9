"""The HTTP API, end to end through the ASGI app, on SQLite and on PostgreSQL.

Every error leaves as RFC 9457 problem+json, and every refused write leaves the resource as it
was: after each error the test reads the resource back.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from conftest import World, as_user
from fireline.clock.now import ManualClock
from fireline.policy.load import preset_names, preset_text
from fireline.store.db import Database

PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance"}


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    """The response is problem+json with all five members, about the path that was asked."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_MEMBERS
    assert body["type"] == f"https://fireline.dev/problems/{kind}"
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert body["instance"] == response.request.url.path
    return body


def open_ticket(api: TestClient, **fields: Any) -> dict[str, Any]:
    response = api.post("/api/v1/tickets", json={"title": "something is wrong", **fields})
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


def declare(api: TestClient, **fields: Any) -> dict[str, Any]:
    response = api.post("/api/v1/incidents", json={"title": "something is on fire", **fields})
    assert response.status_code == 201, response.text
    incident: dict[str, Any] = response.json()
    return incident


def read(api: TestClient, ticket: dict[str, Any]) -> dict[str, Any]:
    """The ticket as it reads back, to compare with after a refused write."""
    found: dict[str, Any] = api.get(f"/api/v1/tickets/{ticket['id']}").json()
    return found


def ticket_count(api: TestClient) -> int:
    response = api.get("/api/v1/tickets")
    assert response.status_code == 200
    total: int = response.json()["total"]
    return total


# -- tickets ------------------------------------------------------------------------------------


def test_opening_a_ticket_answers_201_and_the_ticket_reads_back_the_same(api: TestClient) -> None:
    response = api.post(
        "/api/v1/tickets",
        json={"team": "hail", "title": "Batch costs", "signals": {"cost_usd_per_day": 720}},
    )

    assert response.status_code == 201
    created = response.json()
    assert created["team"] == "hail"
    assert created["priority"] == "P1"
    assert created["priority_source"] == "policy"
    assert created["classification_rule"] == "cost-daily-critical"
    assert created["status"] == "open"
    assert created["open"] is True
    assert created["reporter"] == "admin"
    assert created["allowed_next"] == ["in_progress", "resolved"]
    assert api.get(f"/api/v1/tickets/{created['id']}").json() == created


# -- problem+json, one family at a time ---------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer fl_not-a-real-token", "Basic YWRtaW46Y29ycmVjdCBob3JzZQ==", "Bearer "],
    ids=["no-header", "bad-token", "basic-scheme", "empty-token"],
)
def test_401_without_a_valid_token_is_a_problem_with_www_authenticate(
    app_client: TestClient, world: World, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    response = app_client.post(
        "/api/v1/tickets", json={"team": "hail", "title": "sneaky"}, headers=headers
    )

    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    admin = as_user(app_client, world, "admin")
    assert app_client.get("/api/v1/tickets", headers=admin).json()["total"] == 0


def test_401_on_reads_too(app_client: TestClient, world: World) -> None:
    for path in ("/api/v1/tickets", "/api/v1/incidents", "/api/v1/me", "/api/v1/presets"):
        assert_problem(app_client.get(path), 401, "unauthorized")


def test_403_a_viewer_may_read_but_not_write(api: TestClient, world: World) -> None:
    ticket = read(api, open_ticket(api, team="hail", signals={"cost_usd_per_hour": 30}))
    viewer = as_user(api, world, "vic")

    refused_open = api.post(
        "/api/v1/tickets", json={"team": "hail", "title": "by a viewer"}, headers=viewer
    )
    refused_move = api.post(
        f"/api/v1/tickets/{ticket['id']}/transitions", json={"to": "resolved"}, headers=viewer
    )

    for response in (refused_open, refused_move):
        body = assert_problem(response, 403, "forbidden")
        assert "viewer" in body["detail"]
    assert api.get(f"/api/v1/tickets/{ticket['id']}", headers=viewer).json() == ticket
    assert ticket_count(api) == 1


def test_404_an_unknown_ticket(api: TestClient) -> None:
    body = assert_problem(api.get("/api/v1/tickets/4242"), 404, "not-found")
    assert "4242" in body["detail"]


def test_404_an_unknown_path_is_problem_json_too(api: TestClient) -> None:
    assert_problem(api.get("/api/v1/no-such-thing"), 404, "not-found")


def test_409_a_refused_transition_lists_the_allowed_next_states(api: TestClient) -> None:
    incident = declare(api, team="openverse", severity="severity-1", status="stabilization_pending")
    before = api.get(f"/api/v1/incidents/{incident['id']}/timeline").json()

    response = api.post(f"/api/v1/incidents/{incident['id']}/transitions", json={"to": "resolved"})

    body = assert_problem(response, 409, "transition-refused")
    assert body["allowed"] == ["stabilized"]
    assert body["current"] == "stabilization_pending"
    assert body["requested"] == "resolved"
    assert api.get(f"/api/v1/incidents/{incident['id']}").json() == incident
    assert api.get(f"/api/v1/incidents/{incident['id']}/timeline").json() == before


def test_409_a_mitigation_that_raises_the_priority_lists_the_allowed_levels(
    api: TestClient,
) -> None:
    ticket = read(api, open_ticket(api, team="hail", signals={"cost_usd_per_hour": 30}))
    assert ticket["priority"] == "P2"

    response = api.post(
        f"/api/v1/tickets/{ticket['id']}/mitigate", json={"to": "P1", "note": "worse, not better"}
    )

    body = assert_problem(response, 409, "conflict")
    assert body["allowed"] == ["P3"]
    assert body["current"] == "P2"
    assert body["requested"] == "P1"
    assert "escalate" in body["detail"]
    assert api.get(f"/api/v1/tickets/{ticket['id']}").json() == ticket


@pytest.mark.parametrize("note", ["", "   "])
def test_422_a_mitigation_without_the_note_the_policy_requires_names_the_note(
    api: TestClient, note: str
) -> None:
    ticket = read(api, open_ticket(api, team="hail", signals={"cost_usd_per_day": 720}))

    response = api.post(f"/api/v1/tickets/{ticket['id']}/mitigate", json={"to": "P2", "note": note})

    body = assert_problem(response, 422, "invalid-input")
    assert body["field"] == "note"
    after = api.get(f"/api/v1/tickets/{ticket['id']}").json()
    assert after == ticket
    assert after["priority"] == "P1"
    assert after["priority_changes"] == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"team": "hail", "title": "x", "colour": "red"}, "colour"),
        ({"team": "hail"}, "title"),
        ({"team": "hail", "title": ""}, "title"),
        ({"team": "hail", "title": "x", "signals": {"cost_usd_per_day": "lots"}}, "signals"),
    ],
    ids=["extra-field", "missing-field", "empty-title", "signal-not-a-number"],
)
def test_422_request_validation_names_the_field(
    api: TestClient, payload: dict[str, Any], field: str
) -> None:
    response = api.post("/api/v1/tickets", json=payload)

    body = assert_problem(response, 422, "invalid-input")
    fields = [error["field"] for error in body["errors"]]
    assert any(f == field or f.startswith(field + ".") for f in fields), fields
    assert ticket_count(api) == 0


def test_422_a_body_that_is_not_json(api: TestClient) -> None:
    response = api.post(
        "/api/v1/tickets", content=b"{not json", headers={"Content-Type": "application/json"}
    )

    assert_problem(response, 422, "invalid-input")
    assert ticket_count(api) == 0


# -- policies -----------------------------------------------------------------------------------


def broken_hail() -> tuple[str, int]:
    """Hail's preset with its first rule pointing at a level that does not exist."""
    source = preset_text("hail")
    lines = source.splitlines(keepends=True)
    line = next(
        n for n, text in enumerate(lines, 1) if text.strip() == "level: P1" and n > 50
    )  # the first classification rule's level
    lines[line - 1] = lines[line - 1].replace("P1", "P9")
    return "".join(lines), line


def test_422_an_invalid_policy_upload_lists_file_line_and_field_and_stores_nothing(
    api: TestClient,
) -> None:
    before = api.get("/api/v1/teams/hail/policy/versions").json()
    source, line = broken_hail()

    response = api.put(
        "/api/v1/teams/hail/policy", json={"source": source, "file": "hail-policy.yaml"}
    )

    body = assert_problem(response, 422, "policy-invalid")
    assert body["errors"] == [
        {
            "file": "hail-policy.yaml",
            "line": line,
            "field": "classification.rules[0].level",
            "message": "unknown level 'P9'; known: P1, P2, P3",
        }
    ]
    assert api.get("/api/v1/teams/hail/policy/versions").json() == before
    assert api.get("/api/v1/teams/hail/policy").json()["source"] == preset_text("hail")


def test_422_yaml_that_does_not_parse_names_its_line(api: TestClient) -> None:
    response = api.put("/api/v1/teams/hail/policy", json={"source": "fireline: 1\nname: [\n"})

    body = assert_problem(response, 422, "policy-invalid")
    assert len(body["errors"]) == 1
    assert body["errors"][0]["file"] == "<upload>"
    assert "YAML" in body["errors"][0]["message"]
    assert len(api.get("/api/v1/teams/hail/policy/versions").json()) == 1


def test_a_valid_upload_becomes_the_next_version_and_judges_new_tickets(
    api: TestClient, clock: ManualClock
) -> None:
    source = preset_text("hail").replace(
        "title: Hail — production issues", "title: Hail — production issues (v2)"
    )
    clock.advance(timedelta(minutes=5))

    response = api.put("/api/v1/teams/hail/policy", json={"source": source, "file": "hail.yaml"})

    assert response.status_code == 201, response.text
    assert response.json()["version"] == 2
    assert response.json()["name"] == "hail"
    versions = api.get("/api/v1/teams/hail/policy/versions").json()
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["content_sha256"] != versions[1]["content_sha256"]
    assert all(v["source"] is None for v in versions)  # the listing is a summary
    current = api.get("/api/v1/teams/hail/policy").json()
    assert current["version"] == 2
    assert current["source"] == source
    assert current["policy"]["title"] == "Hail — production issues (v2)"
    first = api.get("/api/v1/teams/hail/policy/versions/1").json()
    assert first["source"] == preset_text("hail")
    assert open_ticket(api, team="hail", priority="P3")["policy_version"] == 2


def test_a_viewer_cannot_upload_a_policy(api: TestClient, world: World) -> None:
    response = api.put(
        "/api/v1/teams/hail/policy",
        json={"source": preset_text("hail")},
        headers=as_user(api, world, "vic"),
    )

    assert_problem(response, 403, "forbidden")
    assert len(api.get("/api/v1/teams/hail/policy/versions").json()) == 1


def test_validate_reports_on_a_policy_without_storing_it(api: TestClient) -> None:
    response = api.post("/api/v1/policies/validate", json={"source": preset_text("hail")})

    assert response.status_code == 200, response.text
    assert response.json() == {
        "valid": True,
        "name": "hail",
        "levels": ["P1", "P2", "P3"],
        "examples": 23,
        "failures": [],
    }
    assert len(api.get("/api/v1/teams/hail/policy/versions").json()) == 1


def test_validate_reports_an_example_that_disagrees(api: TestClient) -> None:
    source = preset_text("hail").replace(
        "{name: cost exactly 100 USD/hour, signals: {cost_usd_per_hour: 100}, expect: P1,",
        "{name: cost exactly 100 USD/hour, signals: {cost_usd_per_hour: 100}, expect: P2,",
    )
    assert source != preset_text("hail")

    response = api.post("/api/v1/policies/validate", json={"source": source})

    assert response.status_code == 200, response.text
    report = response.json()
    assert report["valid"] is False
    assert len(report["failures"]) == 1
    assert "cost exactly 100 USD/hour" in report["failures"][0]


def test_validate_an_invalid_policy_is_422_with_its_errors(api: TestClient) -> None:
    source, line = broken_hail()

    response = api.post("/api/v1/policies/validate", json={"source": source, "file": "x.yaml"})

    body = assert_problem(response, 422, "policy-invalid")
    assert [(e["file"], e["line"], e["field"]) for e in body["errors"]] == [
        ("x.yaml", line, "classification.rules[0].level")
    ]


def test_presets_are_listed_and_each_can_be_read(api: TestClient) -> None:
    response = api.get("/api/v1/presets")

    assert response.status_code == 200
    assert sorted(response.json()) == ["2i2c", "caseflow", "hail", "meltano", "openverse"]
    assert response.json() == preset_names()
    hail = api.get("/api/v1/presets/hail").json()
    assert hail["source"] == preset_text("hail")
    assert [level["name"] for level in hail["policy"]["levels"]] == ["P1", "P2", "P3"]


def test_an_unknown_preset_is_422_naming_the_known_ones(api: TestClient) -> None:
    body = assert_problem(api.get("/api/v1/presets/pagerduty"), 422, "unknown-name")
    assert body["known"] == preset_names()


# -- what would the policy do? ------------------------------------------------------------------


def test_classify_names_the_level_and_the_rule_without_opening_anything(api: TestClient) -> None:
    response = api.post("/api/v1/teams/hail/classify", json={"signals": {"cost_usd_per_hour": 120}})

    assert response.status_code == 200, response.text
    assert response.json() == {
        "level": "P1",
        "rule": "cost-hourly-critical",
        "fired": ["cost-hourly-critical", "cost-hourly-severe"],
        "incident_criteria": [],
    }
    assert ticket_count(api) == 0


def test_classify_reports_no_level_and_the_incident_criteria_met(api: TestClient) -> None:
    quiet = api.post("/api/v1/teams/hail/classify", json={"signals": {"cost_usd_per_hour": 3}})
    offline = api.post(
        "/api/v1/teams/openverse/classify", json={"signals": {"openverse_org_up": 0}}
    )

    assert quiet.json() == {"level": None, "rule": None, "fired": [], "incident_criteria": []}
    assert offline.json()["level"] == "severity-1"
    assert offline.json()["incident_criteria"] == ["openverse-offline"]


def test_due_skips_thanksgiving_and_the_weekend(api: TestClient) -> None:
    # Wednesday 10:00 in New York: 7 hours that day, Thanksgiving off, Friday, the weekend off,
    # Monday, and the 24th business hour ends Tuesday at 10:00.
    response = api.post(
        "/api/v1/teams/hail/due", json={"level": "P2", "opened": "2026-11-25T10:00:00-05:00"}
    )

    assert response.status_code == 200, response.text
    due = response.json()
    assert due["level"] == "P2"
    assert due["response"] == "3 business days"
    assert due["response_due"] == "2026-12-01T10:00:00-05:00"
    assert due["resolution_due"] is None
    assert due["paging"] == "working_hours"


def test_due_needs_an_offset_and_a_known_level(api: TestClient) -> None:
    naive = api.post("/api/v1/teams/hail/due", json={"level": "P2", "opened": "2026-11-25T10:00"})
    unknown = api.post(
        "/api/v1/teams/hail/due", json={"level": "P7", "opened": "2026-11-25T10:00:00-05:00"}
    )

    assert assert_problem(naive, 422, "invalid-input")["field"] == "opened"
    assert assert_problem(unknown, 422, "unknown-name")["known"] == ["P1", "P2", "P3"]


def test_classify_for_an_unknown_team_is_404(api: TestClient) -> None:
    assert_problem(api.post("/api/v1/teams/nope/classify", json={}), 404, "not-found")


# -- incidents ----------------------------------------------------------------------------------


def test_the_openverse_lifecycle_through_http(api: TestClient, clock: ManualClock) -> None:
    incident = declare(api, team="openverse", severity="severity-2", status="stabilization_pending")
    assert incident["allowed_next"] == ["stabilized"]
    path = f"/api/v1/incidents/{incident['id']}"
    steps = [
        ("stabilized", ["under_investigation", "stabilization_pending"], True),
        ("under_investigation", ["stabilization_pending", "resolved"], True),
        ("resolved", ["stabilization_pending"], False),
        ("stabilization_pending", ["stabilized"], True),  # it recurred: roll back
    ]

    for to, allowed_next, is_open in steps:
        clock.advance(timedelta(minutes=10))
        response = api.post(f"{path}/transitions", json={"to": to, "note": f"now {to}"})
        assert response.status_code == 200, response.text
        moved = response.json()
        assert (moved["status"], sorted(moved["allowed_next"]), moved["open"]) == (
            to,
            sorted(allowed_next),
            is_open,
        )
        assert (moved["resolved_at"] is None) == is_open

    moves = [e for e in api.get(f"{path}/timeline").json() if e["kind"] == "incident.moved"]
    assert [(e["data"]["source"], e["data"]["target"]) for e in moves] == [
        ("stabilization_pending", "stabilized"),
        ("stabilized", "under_investigation"),
        ("under_investigation", "resolved"),
        ("resolved", "stabilization_pending"),
    ]
    assert {(e["actor"], e["via"]) for e in moves} == {("admin", "api")}
    assert [e["data"]["note"] for e in moves] == [f"now {to}" for to, _, _ in steps]
    times = [e["at"] for e in moves]
    assert times == sorted(times) and len(set(times)) == 4


def test_a_role_is_handed_off_and_the_history_kept(
    api: TestClient, world: World, clock: ManualClock
) -> None:
    incident = declare(api, team="openverse", severity="severity-3", commander="ada")
    lead = {r["role"]: r["person"] for r in incident["roles"]}["lead"]
    assert lead == "ada"
    clock.advance(timedelta(hours=8))

    response = api.put(
        f"/api/v1/incidents/{incident['id']}/roles/lead",
        json={"person": "grace", "note": "end of Ada's day"},
        headers=as_user(api, world, "ada"),
    )

    assert response.status_code == 200, response.text
    after = response.json()
    assert {r["role"]: r["person"] for r in after["roles"]}["lead"] == "grace"
    assert "grace" in after["members"]
    spells = [(s["person"], s["relieved_at"] is None) for s in after["role_history"]]
    assert ("ada", False) in spells and ("grace", True) in spells
    event = api.get(f"/api/v1/incidents/{incident['id']}/timeline").json()[-1]
    assert event["kind"] == "incident.role"
    assert (event["actor"], event["via"]) == ("ada", "api")
    assert (event["data"]["source"], event["data"]["target"]) == ("ada", "grace")


def test_tagging_out_leaves_the_role_vacant(api: TestClient) -> None:
    incident = declare(api, team="openverse", severity="severity-3", commander="ada")

    response = api.put(f"/api/v1/incidents/{incident['id']}/roles/lead", json={"person": None})

    assert response.status_code == 200, response.text
    assert {r["role"]: r["person"] for r in response.json()["roles"]}["lead"] is None


def test_a_role_hand_off_that_breaks_a_constraint_is_409_and_changes_nothing(
    api: TestClient,
) -> None:
    # 2i2c: the incident commander is a different person from the support steward (the declarer).
    incident = declare(api, team="2i2c", commander="grace")

    response = api.put(
        f"/api/v1/incidents/{incident['id']}/roles/incident_commander", json={"person": "admin"}
    )

    body = assert_problem(response, 409, "conflict")
    assert body["role"] == "incident_commander"
    assert api.get(f"/api/v1/incidents/{incident['id']}").json() == incident


def test_a_hand_off_of_an_unknown_role_or_to_an_unknown_person_is_422(api: TestClient) -> None:
    incident = declare(api, team="openverse", severity="severity-3")
    path = f"/api/v1/incidents/{incident['id']}/roles"

    role = assert_problem(api.put(f"{path}/pilot", json={"person": "ada"}), 422, "invalid-input")
    person = assert_problem(
        api.put(f"{path}/lead", json={"person": "nobody"}), 422, "invalid-input"
    )

    assert role["field"] == "role"
    assert sorted(role["known"]) == ["lead", "recorder"]
    assert person["field"] == "person"
    assert api.get(f"/api/v1/incidents/{incident['id']}").json() == incident


def test_a_private_security_incident_is_invisible_to_a_responder_outside_it(
    api: TestClient, world: World
) -> None:
    secret = declare(api, team="meltano", severity="highest", type="security")
    public = declare(api, team="meltano", severity="highest")
    assert secret["private"] is True
    ada = as_user(api, world, "ada")

    hidden = assert_problem(
        api.get(f"/api/v1/incidents/{secret['id']}", headers=ada), 404, "not-found"
    )
    missing = assert_problem(api.get("/api/v1/incidents/4242", headers=ada), 404, "not-found")
    timeline = api.get(f"/api/v1/incidents/{secret['id']}/timeline", headers=ada)
    move = api.post(
        f"/api/v1/incidents/{secret['id']}/transitions", json={"to": "resolved"}, headers=ada
    )

    # The same answer as for an incident that does not exist: its existence is private too.
    assert hidden["detail"].replace(str(secret["id"]), "N") == missing["detail"].replace(
        "4242", "N"
    )
    assert_problem(timeline, 404, "not-found")
    assert_problem(move, 404, "not-found")
    listed = api.get("/api/v1/incidents", headers=ada).json()
    assert [i["id"] for i in listed["items"]] == [public["id"]]
    assert listed["total"] == 1
    assert api.get(f"/api/v1/incidents/{secret['id']}").json() == secret
    assert {i["id"] for i in api.get("/api/v1/incidents").json()["items"]} == {
        secret["id"],
        public["id"],
    }


def test_adding_a_member_lets_them_see_the_private_incident(api: TestClient, world: World) -> None:
    secret = declare(api, team="meltano", severity="highest", type="security")

    added = api.post(f"/api/v1/incidents/{secret['id']}/members", json={"person": "ada"})

    assert added.status_code == 201, added.text
    seen = api.get(f"/api/v1/incidents/{secret['id']}", headers=as_user(api, world, "ada"))
    assert seen.status_code == 200
    assert seen.json()["private"] is True
    grace = as_user(api, world, "grace")
    assert api.get(f"/api/v1/incidents/{secret['id']}", headers=grace).status_code == 404


# -- the rest of the surface --------------------------------------------------------------------


def test_openapi_lists_the_api_paths(api: TestClient) -> None:
    response = api.get("/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/me",
        "/api/v1/tickets",
        "/api/v1/tickets/{ticket_id}",
        "/api/v1/tickets/{ticket_id}/mitigate",
        "/api/v1/tickets/{ticket_id}/incident",
        "/api/v1/incidents",
        "/api/v1/incidents/{incident_id}/transitions",
        "/api/v1/incidents/{incident_id}/roles/{role}",
        "/api/v1/incidents/{incident_id}/timeline",
        "/api/v1/teams/{team}/policy",
        "/api/v1/teams/{team}/policy/versions",
        "/api/v1/teams/{team}/classify",
        "/api/v1/teams/{team}/due",
        "/api/v1/policies/validate",
        "/api/v1/presets",
    ):
        assert path in paths, path
    assert "/" not in paths  # pages are not API


def test_the_front_page_is_html_and_counts_only_public_incidents(api: TestClient) -> None:
    open_ticket(api, team="hail", priority="P3")
    declare(api, team="meltano", severity="highest", type="security")
    declare(api, team="meltano", severity="highest")

    response = api.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Fireline</h1>" in response.text
    assert "Acme — 5 teams" in response.text
    assert "Open public incidents</span><div>1</div>" in response.text
    assert "Open tickets</span><div>1</div>" in response.text


def test_health_touches_the_database(app_client: TestClient, db: Database) -> None:
    response = app_client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": db.dialect}
