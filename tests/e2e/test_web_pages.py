"""The web app over HTTP (no browser): sign-in, CSRF, pages, forms, and what a viewer may see.

Both backends; the browser tests in test_browser.py cover the same flows through chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from conftest import SUPPORT_SCHEDULE, World
from fireline.app import create_app
from fireline.auth.models import User
from fireline.auth.service import hash_password
from fireline.clock.now import ManualClock
from fireline.store.db import Database
from fireline.tickets.schemas import COMMENTS_SHOWN
from fireline.timeline.service import latest_event_id

pytestmark = pytest.mark.db

PASSWORD = "a long enough secret"
HASHED = hash_password(PASSWORD)  # scrypt is slow on purpose: once for the whole file


@pytest.fixture
def web(db: Database, clock: ManualClock, world: World) -> Iterator[TestClient]:
    with db.transaction() as session:
        session.execute(update(User).values(password_hash=HASHED))
    with TestClient(create_app(db=db, clock=clock), follow_redirects=False) as client:
        yield client


def sign_in(client: TestClient, handle: str) -> str:
    """Signs in and returns the CSRF token the pages carry."""
    answer = client.post(
        "/login",
        data={"organisation": "acme", "handle": handle, "password": PASSWORD, "then": "/app"},
    )
    assert answer.status_code == 303, answer.text
    page = client.get("/app")
    assert page.status_code == 200
    return csrf_of(page.text)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


SEVERITY = {"openverse": "severity-2", "meltano": "high"}


def declare(client: TestClient, csrf: str, **fields: str) -> int:
    fields.setdefault("severity", SEVERITY.get(fields["team"], ""))
    answer = client.post("/app/incidents", data={"csrf_token": csrf, **fields})
    assert answer.status_code == 303
    found = re.match(r"/app/incidents/(\d+)\?flash=", answer.headers["location"])
    assert found, answer.headers["location"]
    return int(found.group(1))


def test_pages_send_a_stranger_to_sign_in_and_back(web: TestClient) -> None:
    answer = web.get("/app/incidents?open=yes")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?then=%2Fapp%2Fincidents%3Fopen%3Dyes"
    signed = web.post(
        "/login",
        data={
            "organisation": "acme",
            "handle": "ada",
            "password": PASSWORD,
            "then": "/app/incidents?open=yes",
        },
    )
    assert signed.headers["location"] == "/app/incidents?open=yes"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie


@pytest.mark.parametrize(
    ("organisation", "handle", "password"),
    [
        ("acme", "ada", "wrong password"),
        ("acme", "nobody", PASSWORD),
        ("elsewhere", "ada", PASSWORD),
    ],
)
def test_a_wrong_sign_in_says_the_same_thing_whatever_was_wrong(
    web: TestClient, organisation: str, handle: str, password: str
) -> None:
    answer = web.post(
        "/login", data={"organisation": organisation, "handle": handle, "password": password}
    )
    assert answer.status_code == 401
    assert "wrong organisation, handle or password" in answer.text
    assert "set-cookie" not in answer.headers
    assert web.get("/app").status_code == 303


@pytest.mark.parametrize("then", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_sign_in_never_redirects_off_the_site(web: TestClient, then: str) -> None:
    answer = web.post(
        "/login",
        data={"organisation": "acme", "handle": "ada", "password": PASSWORD, "then": then},
    )
    assert answer.headers["location"] == "/app"


def test_a_form_without_the_sessions_csrf_token_changes_nothing(web: TestClient) -> None:
    csrf = sign_in(web, "ada")
    for sent in ({}, {"csrf_token": "forged"}):
        answer = web.post("/app/incidents", data={"team": "openverse", "title": "X", **sent})
        assert answer.status_code == 403
        assert "CSRF" in answer.text
    assert "No incidents match" in web.get("/app/incidents").text
    declare(web, csrf, team="openverse", title="Real one")
    assert "Real one" in web.get("/app/incidents").text


def test_nul_in_a_form_is_refused_on_the_page_and_stores_nothing(web: TestClient) -> None:
    """PostgreSQL cannot store NUL: a form carrying it gets the page's 422, never a 500."""
    csrf = sign_in(web, "ada")
    answer = web.post(
        "/app/incidents", data={"csrf_token": csrf, "team": "openverse", "title": "X\x00Y"}
    )
    assert answer.status_code == 422
    assert "NUL" in answer.text
    assert "No incidents match" in web.get("/app/incidents").text
    web.cookies.clear()
    login = web.post("/login", data={"organisation": "acme", "handle": "ada\x00", "password": "x"})
    assert login.status_code == 422


def test_signing_out_ends_the_session_for_good(web: TestClient) -> None:
    csrf = sign_in(web, "ada")
    cookie = web.cookies.get("fireline_session")
    assert web.post("/logout", data={"csrf_token": csrf}).status_code == 303
    web.cookies.set("fireline_session", cookie or "")
    assert web.get("/app").status_code == 303


def test_a_session_expires_after_twelve_hours(web: TestClient, clock: ManualClock) -> None:
    sign_in(web, "ada")
    clock.advance(timedelta(hours=12))
    assert web.get("/app").status_code == 303


def test_the_incident_page_offers_only_the_moves_the_workflow_allows(
    web: TestClient, world: World
) -> None:
    csrf = sign_in(web, "ada")
    incident = declare(web, csrf, team="openverse", title="Search is down")
    page = web.get(f"/app/incidents/{incident}").text
    offered = re.findall(r'name="to" value="([^"]+)"', page)
    # Openverse (seed): a new incident can only be stabilized or resolved… as its policy says.
    api_view = web.get(
        f"/api/v1/incidents/{incident}",
        headers={"Authorization": "Bearer " + world.tokens["ada"]},
    )
    assert offered == api_view.json()["allowed_next"]
    assert offered, "a new incident must have somewhere to go"
    moved = web.post(
        f"/app/incidents/{incident}/move",
        data={"csrf_token": csrf, "to": offered[0], "note": "rolled back"},
    )
    assert moved.status_code == 303 and "flash=" in moved.headers["location"]
    page = web.get(f"/app/incidents/{incident}").text
    assert f'data-testid="incident-status">{offered[0]}<' in page
    assert "rolled back" in page


def test_a_refused_move_comes_back_with_the_allowed_ones(web: TestClient) -> None:
    csrf = sign_in(web, "ada")
    incident = declare(web, csrf, team="openverse", title="Search is down")
    refused = web.post(
        f"/app/incidents/{incident}/move", data={"csrf_token": csrf, "to": "no-such-state"}
    )
    location = refused.headers["location"]
    assert "error=" in location
    assert "error" in web.get(location).text


def test_a_viewer_never_sees_a_private_incident(web: TestClient) -> None:
    csrf = sign_in(web, "ada")
    secret = declare(web, csrf, team="meltano", title="Credential leak", private="1")
    public = declare(web, csrf, team="meltano", title="Hub slow")
    web.cookies.clear()
    sign_in(web, "vic")
    for path in ("/app", "/app/incidents", "/app/search?q=leak", "/status/acme"):
        body = web.get(path).text
        assert "Credential leak" not in body, path
    assert "Hub slow" in web.get("/app/incidents").text
    hidden = web.get(f"/app/incidents/{secret}")
    assert hidden.status_code == 404
    assert f"no incident {secret}" in hidden.text
    assert web.get(f"/app/incidents/{public}").status_code == 200


def test_a_viewer_may_read_but_not_act(web: TestClient) -> None:
    csrf = sign_in(web, "vic")
    answer = web.post(
        "/app/incidents", data={"csrf_token": csrf, "team": "openverse", "title": "Nope"}
    )
    assert "error=" in answer.headers["location"]
    assert "viewer" in web.get(answer.headers["location"]).text
    assert "Nope" not in web.get("/app/incidents").text


def test_what_people_type_is_shown_as_text_never_as_markup(web: TestClient) -> None:
    csrf = sign_in(web, "ada")
    incident = declare(web, csrf, team="openverse", title="<script>alert(1)</script>")
    page = web.get(f"/app/incidents/{incident}").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_publishing_puts_the_update_on_the_public_page_and_feed(
    web: TestClient, world: World
) -> None:
    csrf = sign_in(web, "admin")
    token = world.tokens["admin"]
    created = web.post(
        "/api/v1/status/components",
        json={"slug": "website", "name": "Website"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201
    incident = declare(web, csrf, team="openverse", title="Openverse.org is offline")
    published = web.post(
        f"/app/incidents/{incident}/publish",
        data={
            "csrf_token": csrf,
            "body": "We are looking into it.",
            "component:website": "major_outage",
        },
    )
    assert "flash=" in published.headers["location"]
    web.cookies.clear()
    page = web.get("/status/acme")
    assert page.status_code == 200
    assert "We are looking into it." in page.text
    assert 'data-testid="component-website">Major outage<' in page.text
    feed = web.get("/status/acme/feed.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert "We are looking into it." in feed.text


def test_an_override_added_on_the_page_changes_who_is_on_call(
    web: TestClient, clock: ManualClock, world: World
) -> None:
    token = world.tokens["admin"]
    created = web.post(
        "/api/v1/schedules",
        json=SUPPORT_SCHEDULE,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201, created.text
    csrf = sign_in(web, "grace")  # grace reads times in America/New_York
    assert 'data-testid="responder">ada<' in web.get("/app/oncall/support").text
    now = clock.now()
    answer = web.post(
        "/app/oncall/support/overrides",
        data={
            "csrf_token": csrf,
            "person": "grace",
            "starts": "2026-11-25T09:00",  # 14:00 UTC, before the test clock's 15:00 UTC
            "ends": "2026-11-25T12:00",
            "reason": "swap",
        },
    )
    assert "flash=" in answer.headers["location"], answer.headers["location"]
    assert now.hour == 15
    page = web.get("/app/oncall/support").text
    assert 'data-testid="responder">grace<' in page
    assert "swap" in page


@pytest.mark.parametrize(
    ("starts", "utc"),
    [
        ("2026-12-01T22:00", "2026-12-01T21:00:00+00:00"),  # ada reads Berlin time
        # Berlin's clocks skip 02:00-03:00 on 28 March 2027: the window starts at 03:00 CEST.
        ("2027-03-28T02:30", "2027-03-28T01:00:00+00:00"),
        # 02:30 comes twice on 31 October 2027: its first pass, still CEST.
        ("2027-10-31T02:30", "2027-10-31T00:30:00+00:00"),
    ],
)
def test_a_maintenance_window_planned_on_the_page_starts_on_the_persons_clock(
    web: TestClient, world: World, starts: str, utc: str
) -> None:
    csrf = sign_in(web, "ada")
    answer = web.post(
        "/app/silences",
        data={
            "csrf_token": csrf,
            "matchers": "service=search",
            "starts": starts,
            "hours": "3",
            "reason": "database upgrade",
            "kind": "maintenance",
        },
    )
    assert "flash=" in answer.headers["location"], answer.headers["location"]
    [planned] = web.get(
        "/api/v1/silences", headers={"Authorization": f"Bearer {world.tokens['ada']}"}
    ).json()
    assert (planned["kind"], planned["state"]) == ("maintenance", "pending")
    assert datetime.fromisoformat(planned["starts_at"]) == datetime.fromisoformat(utc)
    assert datetime.fromisoformat(planned["ends_at"]) - datetime.fromisoformat(utc) == timedelta(
        hours=3
    )


def test_a_silence_with_no_start_on_the_page_starts_now(
    web: TestClient, world: World, clock: ManualClock
) -> None:
    csrf = sign_in(web, "ada")
    data = {"csrf_token": csrf, "matchers": "service=search", "hours": "2", "reason": "known"}
    assert "flash=" in web.post("/app/silences", data=data).headers["location"]
    [now] = web.get(
        "/api/v1/silences", headers={"Authorization": f"Bearer {world.tokens['ada']}"}
    ).json()
    assert now["state"] == "active"
    assert datetime.fromisoformat(now["starts_at"]) == clock.now()
    bad = web.post("/app/silences", data={**data, "starts": "next tuesday"})
    assert "not%20a%20date%20and%20time" in bad.headers["location"]


@pytest.mark.parametrize(
    "path",
    [
        "/app",
        "/app/incidents",
        "/app/incidents/new",
        "/app/tickets",
        "/app/oncall",
        "/app/escalation",
        "/app/silences",
        "/app/policies?team=hail",
        "/app/search?q=x",
    ],
)
def test_every_page_renders_for_a_signed_in_person(web: TestClient, path: str) -> None:
    sign_in(web, "ada")
    answer = web.get(path)
    assert answer.status_code == 200, answer.text
    assert 'name="viewport"' in answer.text


def test_the_policy_page_shows_each_level_with_the_seeds_examples(web: TestClient) -> None:
    sign_in(web, "ada")
    page = web.get("/app/policies?team=hail").text
    assert "Worked examples from the seed" in page
    assert "P1" in page


def test_hail_mitigation_on_the_ticket_page_needs_its_note(web: TestClient, world: World) -> None:
    opened = web.post(
        "/api/v1/tickets",
        json={"team": "hail", "title": "Batch burns money", "priority": "P1"},
        headers={"Authorization": f"Bearer {world.tokens['ada']}"},
    )
    assert opened.status_code == 201, opened.text
    ticket = opened.json()["id"]
    csrf = sign_in(web, "ada")
    page = web.get(f"/app/tickets/{ticket}").text
    assert 'aria-label="Change the level"' in page
    bare = web.post(
        f"/app/tickets/{ticket}/level",
        data={"csrf_token": csrf, "to": "P2", "kind": "mitigate", "note": ""},
    )
    assert "error=" in bare.headers["location"]
    noted = web.post(
        f"/app/tickets/{ticket}/level",
        data={"csrf_token": csrf, "to": "P2", "kind": "mitigate", "note": "rate limited batch"},
    )
    assert "flash=" in noted.headers["location"], noted.headers["location"]
    page = web.get(f"/app/tickets/{ticket}").text
    assert "Level: P2" in page
    assert "rate limited batch" in page


def test_a_deactivated_person_cannot_sign_in(web: TestClient, world: World) -> None:
    sign_in(web, "ada")
    gone = web.delete(
        "/api/v1/people/ada", headers={"Authorization": f"Bearer {world.tokens['admin']}"}
    )
    assert gone.status_code in (200, 204), gone.text
    assert web.get("/app").status_code == 303  # the open session ends with the person
    web.cookies.clear()
    answer = web.post(
        "/login", data={"organisation": "acme", "handle": "ada", "password": PASSWORD}
    )
    assert answer.status_code == 401
    assert "wrong organisation, handle or password" in answer.text


def test_a_page_tells_its_live_stream_the_newest_event_it_shows(
    web: TestClient, db: Database, world: World
) -> None:
    csrf = sign_in(web, "ada")
    declare(web, csrf, team="openverse", title="Thumbnails are broken")
    with db.reading() as session:
        newest = latest_event_id(session, world.org_id)
    assert newest > 0
    assert f'<main id="main" data-live="{newest}">' in web.get("/app").text


def test_the_ticket_page_shows_the_latest_comments_and_links_to_older_ones(
    web: TestClient, world: World
) -> None:
    auth = {"Authorization": f"Bearer {world.tokens['ada']}"}
    opened = web.post(
        "/api/v1/tickets", json={"team": "hail", "title": "chatty", "priority": "P2"}, headers=auth
    )
    ticket = opened.json()["id"]
    for n in range(COMMENTS_SHOWN + 2):
        web.post(f"/api/v1/tickets/{ticket}/comments", json={"body": f"note {n}!"}, headers=auth)
    sign_in(web, "ada")

    def comments_on(path: str) -> str:  # the Comments panel (the timeline tells them too)
        return web.get(path).text.partition('id="comment-h"')[2].partition("</section>")[0]

    shown = comments_on(f"/app/tickets/{ticket}")
    assert f"note {COMMENTS_SHOWN + 1}!" in shown and "note 1!" not in shown
    older = re.search(r'href="(/app/tickets/\d+\?comments_before=\d+)#comment-h"', shown)
    assert older is not None, "no link to the older comments"
    shown = comments_on(older.group(1))
    assert "note 0!" in shown and "note 1!" in shown and "note 2!" not in shown
    assert f'href="/app/tickets/{ticket}#comment-h"' in shown  # back to the latest
