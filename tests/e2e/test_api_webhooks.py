"""Outgoing webhooks through the HTTP API: each webhook contact method gets its own signing
secret, shown once; its pages are signed with it, and a receiver verifies them the way
docs/paging.md says, without any Fireline code."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING, Any

from fireline.clock.now import ManualClock
from fireline.engine.cycle import Engine
from fireline.notify.channels.registry import Channels
from fireline.store.db import Database

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from tests.conftest import WebhookReceiver, World

DEPLOYMENT_SECRET = "the deployment's fallback secret"
TOLERANCE = 300  # seconds a receiver accepts a signature's timestamp to be off by


def verify(secret: str, header: str, body: bytes, now: float) -> bool:
    """What a receiver does (docs/paging.md): recompute, compare in constant time, and refuse
    stale timestamps, so a captured request cannot be replayed later."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    timestamp = int(fields["t"])
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    fresh = abs(now - timestamp) <= TOLERANCE
    return fresh and hmac.compare_digest(expected.hexdigest(), fields["v1"])


def webhook(api: TestClient, world: World, name: str, url: str) -> dict[str, Any]:
    response = api.post(
        "/api/v1/people/ada/contact-methods",
        headers={"Authorization": f"Bearer {world.tokens['ada']}"},
        json={"name": name, "kind": "webhook", "target": url},
    )
    assert response.status_code == 201, response.text
    [made] = [m for m in response.json() if m["name"] == name]
    return dict(made)


def test_a_new_webhook_shows_its_own_secret_once(api: TestClient, world: World) -> None:
    first = webhook(api, world, "hook", "https://example.org/a")
    second = webhook(api, world, "other", "https://example.org/b")

    listed = api.get("/api/v1/people/ada/contact-methods").json()

    for made in (first, second):
        assert made["secret"].startswith("whsec_")
        assert len(made["secret"].removeprefix("whsec_")) >= 22  # >= 128 random bits, base64
        assert made["signed_with"] == "own-secret"
    assert first["secret"] != second["secret"]
    assert [(m["name"], m["signed_with"], m["secret"]) for m in listed] == [
        ("hook", "own-secret", None),
        ("other", "own-secret", None),
    ]
    # Creating another method does not show the first one's secret again.
    created = api.post(
        "/api/v1/people/ada/contact-methods",
        headers={"Authorization": f"Bearer {world.tokens['ada']}"},
        json={"name": "mail", "kind": "email", "target": "ada@example.org"},
    ).json()
    assert [m["secret"] for m in created] == [None, None, None]


def test_a_page_is_signed_with_its_webhooks_secret_and_a_receiver_can_verify_it(
    api: TestClient,
    db: Database,
    clock: ManualClock,
    world: World,
    receiver: WebhookReceiver,
) -> None:
    made = webhook(api, world, "hook", receiver.url)
    policy = api.post(
        "/api/v1/escalation-policies",
        json={
            "slug": "hail",
            "name": "Hail",
            "teams": ["hail"],
            "steps": [{"targets": [{"kind": "person", "name": "ada"}], "delay_minutes": 5}],
        },
    )
    assert policy.status_code == 201, policy.text
    ticket = api.post(
        "/api/v1/tickets",
        json={"team": "hail", "title": "CI merges nothing", "signals": {"ci_failure_ratio": 1}},
    ).json()

    Engine(db, clock, Channels(db, clock, DEPLOYMENT_SECRET), instance="t").cycle()

    [(headers, body)] = receiver.requests
    signature = headers["X-Fireline-Signature"]
    assert verify(made["secret"], signature, body, time.time())
    assert not verify(DEPLOYMENT_SECRET, signature, body, time.time())
    assert not verify(made["secret"], signature, body + b" ", time.time())
    assert not verify(made["secret"], signature, body, time.time() + 2 * TOLERANCE)
    assert json.loads(body)["ticket_id"] == ticket["id"]
    [logged] = api.get(f"/api/v1/tickets/{ticket['id']}/notifications").json()
    assert (logged["kind"], logged["status"]) == ("webhook", "sent")
    assert logged["idempotency_key"] == headers["Idempotency-Key"]
