"""The status page's API: components, publishing on incidents, the public JSON, page and feed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from conftest import World, as_user

pytestmark = pytest.mark.db


@pytest.fixture
def website(api: TestClient) -> None:
    for slug, name in (("website", "Website"), ("api", "API")):
        answer = api.post("/api/v1/status/components", json={"slug": slug, "name": name})
        assert answer.status_code == 201, answer.text


def incident(api: TestClient, title: str, *, private: bool = False) -> int:
    answer = api.post(
        "/api/v1/incidents",
        json={"team": "openverse", "title": title, "severity": "severity-1", "private": private},
    )
    assert answer.status_code == 201, answer.text
    found: int = answer.json()["id"]
    return found


def test_an_update_sets_component_states_and_reaches_the_public(
    api: TestClient, website: None
) -> None:
    outage = incident(api, "Openverse.org is offline")
    published = api.post(
        f"/api/v1/incidents/{outage}/status-updates",
        json={"body": "Investigating.", "components": {"website": "major_outage"}},
    )
    assert published.status_code == 201, published.text
    # The state as the public reads it: Openverse's title for it, not its name.
    assert published.json()["status"] == "Stabilization pending"
    public = api.get("/api/v1/public/status/acme", headers={"Authorization": ""}).json()
    states = {c["slug"]: c["state"] for c in public["components"]}
    assert states == {"website": "major_outage", "api": "operational"}
    assert [i["title"] for i in public["active"]] == ["Openverse.org is offline"]
    assert public["active"][0]["updates"][0]["body"] == "Investigating."
    assert public["history"] == []
    timeline = api.get(f"/api/v1/incidents/{outage}/timeline").json()
    assert timeline[-1]["kind"] == "incident.status_published"


def test_a_resolved_incident_moves_to_the_history(api: TestClient, website: None) -> None:
    outage = incident(api, "Search is down")
    api.post(f"/api/v1/incidents/{outage}/status-updates", json={"body": "Looking."})
    for state in ("stabilized", "under_investigation", "resolved"):
        assert (
            api.post(f"/api/v1/incidents/{outage}/transitions", json={"to": state}).status_code
            == 200
        )
    api.post(
        f"/api/v1/incidents/{outage}/status-updates",
        json={"body": "Fixed.", "components": {"website": "operational"}},
    )
    public = api.get("/api/v1/public/status/acme").json()
    assert public["active"] == []
    [past] = public["history"]
    assert [u["body"] for u in past["updates"]] == ["Fixed.", "Looking."]
    assert past["resolved_at"] is not None


def test_publishing_on_a_private_incident_is_refused_and_changes_nothing(
    api: TestClient, website: None
) -> None:
    secret = incident(api, "Credential leak", private=True)
    refused = api.post(
        f"/api/v1/incidents/{secret}/status-updates",
        json={"body": "Leak!", "components": {"website": "major_outage"}},
    )
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert "private" in refused.json()["detail"]
    public = api.get("/api/v1/public/status/acme").json()
    assert {c["state"] for c in public["components"]} == {"operational"}
    assert api.get(f"/api/v1/incidents/{secret}/status-updates").json() == []
    assert "Credential leak" not in api.get("/status/acme").text
    assert "Leak!" not in api.get("/status/acme/feed.atom").text


def test_an_unknown_component_is_refused_by_name_and_nothing_is_published(
    api: TestClient, website: None
) -> None:
    outage = incident(api, "Slow")
    refused = api.post(
        f"/api/v1/incidents/{outage}/status-updates",
        json={"body": "Slow.", "components": {"frontend": "degraded_performance"}},
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "components"
    assert refused.json()["known"] == ["api", "website"]
    assert api.get(f"/api/v1/incidents/{outage}/status-updates").json() == []


def test_a_viewer_may_not_publish(
    app_client: TestClient, api: TestClient, world: World, website: None
) -> None:
    outage = incident(api, "Slow")
    refused = app_client.post(
        f"/api/v1/incidents/{outage}/status-updates",
        json={"body": "Hi."},
        headers=as_user(app_client, world, "vic"),
    )
    assert refused.status_code == 403


def test_a_component_slug_is_taken_once(api: TestClient, website: None) -> None:
    again = api.post("/api/v1/status/components", json={"slug": "website", "name": "Again"})
    assert again.status_code == 409


def test_an_unknown_status_page_is_not_found(api: TestClient) -> None:
    assert api.get("/api/v1/public/status/nowhere").status_code == 404
    page = api.get("/status/nowhere")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert api.get("/status/nowhere/feed.atom").status_code == 404


def test_an_empty_feed_is_still_a_feed(api: TestClient) -> None:
    feed = api.get("/status/acme/feed.atom")
    assert feed.status_code == 200
    assert "<entry>" not in feed.text
    assert "Acme status" in feed.text
