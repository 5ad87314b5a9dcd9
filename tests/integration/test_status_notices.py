"""Meltano's upstream failures: "we may not need to open an issue but we should nevertheless
notify users". A ticket marked upstream, of a type whose policy notifies users, puts a notice
on the public status page until the ticket closes; the reopened ticket brings it back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from conftest import World
from fireline.clock.now import ManualClock

pytestmark = pytest.mark.db

NO_TOKEN = {"Authorization": ""}


def ticket(api: TestClient, type_: str, priority: str | None = None) -> int:
    opened = api.post(
        "/api/v1/tickets",
        json={
            "team": "meltano",
            "title": "pip resolver 503s from files.pythonhosted.org",
            "type": type_,
            "service": "pipx install",
            "priority": priority,
        },
    )
    assert opened.status_code == 201, opened.text
    found: int = opened.json()["id"]
    return found


def notices(api: TestClient) -> list[dict[str, object]]:
    answer = api.get("/api/v1/public/status/acme", headers=NO_TOKEN)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, object]] = answer.json()["notices"]
    return found


def move(api: TestClient, ticket_id: int, to: str) -> None:
    answer = api.post(f"/api/v1/tickets/{ticket_id}/transitions", json={"to": to})
    assert answer.status_code == 200, answer.text


def test_an_upstream_outage_is_told_to_the_public_until_its_ticket_closes(
    api: TestClient, world: World, clock: ManualClock
) -> None:
    outage = ticket(api, "outage")
    marked = api.post(
        f"/api/v1/tickets/{outage}/upstream", json={"upstream": "PyPI", "note": "Retry later."}
    )
    assert marked.status_code == 200, marked.text
    (notice,) = notices(api)
    assert notice["title"] == "Upstream outage: PyPI"
    assert notice["open"] is True and notice["closed_at"] is None
    assert "pipx install is affected" in str(notice["body"])
    assert str(notice["body"]).endswith("Retry later.")
    # The alert's own words are internal: they never reach the public.
    assert "pythonhosted" not in str(notice)
    page = api.get("/status/acme", headers=NO_TOKEN)
    assert "Upstream outage: PyPI" in page.text
    feed = api.get("/status/acme/feed.atom", headers=NO_TOKEN)
    assert "<title>Upstream outage: PyPI</title>" in feed.text

    clock.advance(timedelta(hours=2))
    move(api, outage, "resolved")
    (notice,) = notices(api)
    assert notice["open"] is False
    assert notice["closed_at"] is not None
    feed = api.get("/status/acme/feed.atom", headers=NO_TOKEN)
    assert "<title>Upstream outage: PyPI (over)</title>" in feed.text

    # Reopened and still upstream: marking it again brings the same notice back, open.
    move(api, outage, "open")
    api.post(f"/api/v1/tickets/{outage}/upstream", json={"upstream": "PyPI"})
    (notice,) = notices(api)
    assert notice["open"] is True

    # After 90 days a closed notice leaves the page.
    move(api, outage, "resolved")
    clock.advance(timedelta(days=91))
    assert notices(api) == []


def test_a_type_that_does_not_notify_users_puts_nothing_on_the_status_page(
    api: TestClient, world: World
) -> None:
    bug = ticket(api, "bug", "high")
    marked = api.post(f"/api/v1/tickets/{bug}/upstream", json={"upstream": "GitLab"})
    assert marked.status_code == 200, marked.text
    assert notices(api) == []
    timeline = [e["summary"] for e in api.get(f"/api/v1/tickets/{bug}/timeline").json()]
    assert "marked an upstream outage (GitLab)" in timeline


def test_an_upstream_alert_opens_a_notice_in_the_same_transaction(
    api: TestClient, world: World
) -> None:
    key = api.post(
        "/api/v1/integrations", json={"team": "meltano", "kind": "generic", "name": "probe"}
    ).json()["key"]
    sent = api.post(
        "/api/v1/alerts/generic",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "title": "pipx install meltano fails",
            "service": "pipx install",
            "labels": {"upstream": "PyPI", "type": "outage"},
            "dedup_key": "pypi",
        },
    )
    assert sent.status_code == 202, sent.text
    found = notices(api)
    assert [n["title"] for n in found] == ["Upstream outage: PyPI"]
