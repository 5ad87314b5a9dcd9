"""The web app in a real browser: Debian's chromium driven by Playwright, headless, against
Fireline served over HTTP. Both backends. `.ci/run` installs chromium; with
FIRELINE_REQUIRE_POSTGRES=1 (CI) a missing chromium fails instead of skipping. Playwright's own
browser download is never used."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator

import httpx
import pytest
from live_server import live_server
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import update

from conftest import SUPPORT_SCHEDULE, World
from fireline.auth.models import User
from fireline.auth.service import hash_password
from fireline.clock.now import ManualClock
from fireline.store.db import Database

pytestmark = pytest.mark.db

CHROMIUM = shutil.which("chromium")
PASSWORD = "a long enough secret"
HASHED = hash_password(PASSWORD)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if CHROMIUM is None:
        if os.environ.get("FIRELINE_REQUIRE_POSTGRES") == "1":
            pytest.fail("chromium is missing (apt-get install chromium)", pytrace=False)
        pytest.skip("chromium is missing (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def site(db: Database, clock: ManualClock, world: World) -> Iterator[str]:
    with db.transaction() as session:
        session.execute(update(User).values(password_hash=HASHED))
    with live_server(db, clock, engine=False) as base:
        yield base


@pytest.fixture
def page(browser: Browser, site: str) -> Iterator[Page]:
    context = browser.new_context(base_url=site, viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def sign_in(page: Page, handle: str) -> None:
    page.goto("/app")
    expect(page).to_have_url(re.compile(r"/login\?then=%2Fapp$"))
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="What is on fire")).to_be_visible()


def declare(page: Page, team: str, title: str, severity: str, *, private: bool = False) -> str:
    page.goto("/app/incidents/new")
    page.get_by_label("Team").select_option(team)
    page.get_by_label("Title").fill(title)
    page.get_by_label("Severity").select_option(severity)
    if private:
        page.get_by_label("Private").check()
    page.get_by_role("button", name="Declare").click()
    expect(page.get_by_role("status")).to_have_text("Incident declared")
    return page.url.split("?")[0]


def offered_moves(page: Page) -> list[str]:
    buttons = page.locator('form[aria-label="Move the incident"] button[name="to"]')
    return [b.get_attribute("value") or "" for b in buttons.all()]


# Openverse's incident workflow (seeds/openverse): each state and the moves it allows.
OPENVERSE_PATH = [
    ("stabilization_pending", ["stabilized"]),
    ("stabilized", ["under_investigation", "stabilization_pending"]),
    ("under_investigation", ["stabilization_pending", "resolved"]),
    ("resolved", ["stabilization_pending"]),
]


def test_a_responder_runs_an_openverse_incident_to_the_end(page: Page) -> None:
    sign_in(page, "ada")
    declare(page, "openverse", "Openverse.org is completely offline", "severity-1")
    status = page.get_by_test_id("incident-status")
    for n, (state, allowed) in enumerate(OPENVERSE_PATH):
        expect(status).to_have_text(state)
        # Only the moves the workflow allows are offered; refused ones never appear.
        assert offered_moves(page) == allowed, state
        if n + 1 < len(OPENVERSE_PATH):
            following = OPENVERSE_PATH[n + 1][0]
            page.get_by_label("Note (optional)").fill(f"now {following}")
            page.locator(f'button[name="to"][value="{following}"]').click()
            expect(page.get_by_role("status")).to_have_text(f"Moved to {following}")
    expect(page.get_by_text("under_investigation → resolved: now resolved")).to_be_visible()


def test_lead_handed_off_and_update_published_reach_the_public_page_and_feed(
    page: Page, site: str, world: World
) -> None:
    created = httpx.post(
        f"{site}/api/v1/status/components",
        json={"slug": "website", "name": "Website"},
        headers={"Authorization": f"Bearer {world.tokens['admin']}"},
    )
    assert created.status_code == 201
    sign_in(page, "ada")
    declare(page, "openverse", "Search results are empty", "severity-2")
    form = page.locator('form[aria-label="Hand off a role"]')
    role = form.get_by_label("Hand off").locator("option").first.inner_text()
    form.get_by_label("Hand off").select_option(role)
    form.get_by_label("to", exact=True).select_option("grace")
    form.get_by_label("Note").fill("Going off shift; grace has the context")
    form.get_by_role("button", name="Hand off").click()
    expect(page.get_by_test_id(f"role-{role}")).to_contain_text("grace")
    expect(page.get_by_text("Going off shift; grace has the context")).to_be_visible()

    publish = page.locator('form[aria-label="Publish a status update"]')
    publish.get_by_label("Public update").fill("Search returns no results; we are on it.")
    publish.get_by_label("Website").select_option("partial_outage")
    publish.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("status")).to_have_text("Published on the status page")

    page.goto("/status/acme")
    expect(page.get_by_text("Search returns no results; we are on it.")).to_be_visible()
    expect(page.get_by_test_id("component-website")).to_have_text("Partial outage")
    feed = page.request.get("/status/acme/feed.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert "Search returns no results; we are on it." in feed.text()


def test_an_override_changes_the_on_call_view(page: Page, site: str, world: World) -> None:
    created = httpx.post(
        f"{site}/api/v1/schedules",
        json=SUPPORT_SCHEDULE,
        headers={"Authorization": f"Bearer {world.tokens['admin']}"},
    )
    assert created.status_code == 201, created.text
    sign_in(page, "grace")  # reads times in America/New_York; the test clock says 10:00 there
    page.goto("/app/oncall")
    expect(page.get_by_test_id("responder-support")).to_have_text("ada")
    page.get_by_role("link", name="Support").click()
    page.get_by_label("Who takes over").select_option("grace")
    page.get_by_label("From (America/New_York)").fill("2026-11-25T09:00")
    page.get_by_label("Until (America/New_York)").fill("2026-11-25T17:00")
    page.get_by_label("Reason").fill("ada at the dentist")
    page.get_by_role("button", name="Add override").click()
    expect(page.get_by_role("status")).to_have_text("Override added")
    expect(page.get_by_test_id("responder")).to_have_text("grace")
    expect(page.get_by_role("cell", name="ada at the dentist", exact=True)).to_be_visible()
    page.goto("/app/oncall")
    expect(page.get_by_test_id("responder-support")).to_have_text("grace")


def test_a_viewer_never_sees_a_private_incident(browser: Browser, site: str) -> None:
    responder = browser.new_context(base_url=site)
    ada = responder.new_page()
    sign_in(ada, "ada")
    secret = declare(ada, "meltano", "Potential credential exposure", "highest", private=True)
    declare(ada, "meltano", "Hub is slow", "high")
    responder.close()

    viewer = browser.new_context(base_url=site)
    vic = viewer.new_page()
    sign_in(vic, "vic")
    for path in ("/app", "/app/incidents", "/app/search?q=credential", "/status/acme"):
        vic.goto(path)
        expect(vic.get_by_text("Potential credential exposure")).to_have_count(0)
    vic.goto("/app/incidents")
    expect(vic.get_by_text("Hub is slow")).to_be_visible()
    answer = vic.goto(secret)
    assert answer is not None and answer.status == 404
    viewer.close()


def test_an_open_dashboard_shows_a_new_incident_without_a_reload(
    page: Page, site: str, world: World
) -> None:
    sign_in(page, "ada")
    page.evaluate("window.notReloaded = true")
    declared = httpx.post(
        f"{site}/api/v1/incidents",
        json={"team": "openverse", "title": "Thumbnails are broken", "severity": "severity-2"},
        headers={"Authorization": f"Bearer {world.tokens['grace']}"},
    )
    assert declared.status_code == 201, declared.text
    # The server-sent event arrives within a poll (2 s); the script swaps the main content in.
    expect(page.get_by_role("link", name=re.compile("Thumbnails are broken"))).to_be_visible(
        timeout=15_000
    )
    assert page.evaluate("window.notReloaded") is True
