"""A ticket shows its latest comments and pages back through the rest: in an alert storm a
ticket gathers an occurrence comment for each of the intake's batches, hundreds a second,
and its page must not grow with them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi.testclient import TestClient

from fireline.tickets.schemas import COMMENTS_SHOWN

if TYPE_CHECKING:
    from conftest import World


def ticket_with_comments(client: TestClient, world: World, count: int) -> int:
    auth = {"Authorization": f"Bearer {world.tokens['ada']}"}
    opened = client.post(
        "/api/v1/tickets", json={"team": "hail", "title": "chatty", "priority": "P2"}, headers=auth
    )
    assert opened.status_code == 201, opened.text
    ticket = int(opened.json()["id"])
    for n in range(count):
        said = client.post(
            f"/api/v1/tickets/{ticket}/comments", json={"body": f"c{n}"}, headers=auth
        )
        assert said.status_code == 201, said.text
    return ticket


def bodies(comments: list[dict[str, Any]]) -> list[str]:
    return [c["body"] for c in comments]


def test_a_ticket_shows_its_latest_comments_and_pages_back_through_the_rest(
    app_client: TestClient, world: World
) -> None:
    count = COMMENTS_SHOWN + 10
    ticket = ticket_with_comments(app_client, world, count)
    auth = {"Authorization": f"Bearer {world.tokens['vic']}"}  # a viewer may read them
    shown = app_client.get(f"/api/v1/tickets/{ticket}", headers=auth).json()
    assert bodies(shown["comments"]) == [f"c{n}" for n in range(10, count)]
    assert shown["older_comments"] is True
    latest = app_client.get(f"/api/v1/tickets/{ticket}/comments", headers=auth).json()
    assert latest == {"items": shown["comments"], "older": True}
    first = shown["comments"][0]["id"]
    older = app_client.get(
        f"/api/v1/tickets/{ticket}/comments?before={first}&limit=4", headers=auth
    ).json()
    assert (bodies(older["items"]), older["older"]) == (["c6", "c7", "c8", "c9"], True)
    oldest = app_client.get(
        f"/api/v1/tickets/{ticket}/comments?before={older['items'][0]['id']}", headers=auth
    ).json()
    assert (bodies(oldest["items"]), oldest["older"]) == ([f"c{n}" for n in range(6)], False)
    assert all(c["author"] == "ada" for c in oldest["items"])


def test_a_ticket_with_few_comments_shows_them_all(app_client: TestClient, world: World) -> None:
    ticket = ticket_with_comments(app_client, world, 3)
    auth = {"Authorization": f"Bearer {world.tokens['ada']}"}
    shown = app_client.get(f"/api/v1/tickets/{ticket}", headers=auth).json()
    assert (bodies(shown["comments"]), shown["older_comments"]) == (["c0", "c1", "c2"], False)


def test_comments_of_a_ticket_one_cannot_see_or_with_a_bad_cursor_are_refused(
    app_client: TestClient, world: World
) -> None:
    auth = {"Authorization": f"Bearer {world.tokens['ada']}"}
    missing = app_client.get("/api/v1/tickets/999999/comments", headers=auth)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    ticket = ticket_with_comments(app_client, world, 1)
    for query in ("before=0", "limit=0", "limit=501", "before=x"):
        refused = app_client.get(f"/api/v1/tickets/{ticket}/comments?{query}", headers=auth)
        assert refused.status_code == 422, query
    assert app_client.get(f"/api/v1/tickets/{ticket}/comments").status_code == 401
