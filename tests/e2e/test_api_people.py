"""Deactivating people through the HTTP API: history is kept, they are never paged again,
schedules and escalation steps skip them with a reason, and new ones cannot name them.

Issue 3, bad input: "a step pointing at a deleted person" gets a clear answer, and a schedule
with a gap pages its fallback and says so."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from fireline.clock.now import ManualClock
from fireline.engine.cycle import Engine
from fireline.notify.channels.registry import Channels
from fireline.store.db import Database

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from tests.conftest import World

PROBLEM = "application/problem+json"
DEACTIVATED = "https://fireline.dev/problems/person-deactivated"


def schedule(slug: str, members: list[str], fallback: str | None = None) -> dict[str, Any]:
    return {
        "slug": slug,
        "name": slug.title(),
        "timezone": "UTC",
        "fallback": fallback,
        "layers": [
            {"name": "primary", "members": members, "start": "2026-11-23T00:00:00Z", "unit": "days"}
        ],
    }


def policy(slug: str, *steps: list[dict[str, str]], teams: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "slug": slug,
        "name": slug.title(),
        "teams": list(teams),
        "steps": [{"targets": targets, "delay_minutes": 10} for targets in steps],
    }


def person(handle: str) -> list[dict[str, str]]:
    return [{"kind": "person", "name": handle}]


def created(response: Any) -> Any:
    assert response.status_code == 201, response.text
    return response.json()


def refused_as_deactivated(response: Any, field: str, handle: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert (problem["type"], problem["field"], problem["deactivated"]) == (
        DEACTIVATED,
        field,
        [handle],
    )
    assert f"{handle} was deactivated" in problem["detail"]


def p1(api: TestClient, title: str = "CI merges nothing") -> int:
    ticket = created(
        api.post(
            "/api/v1/tickets",
            json={"team": "hail", "title": title, "signals": {"ci_failure_ratio": 1}},
        )
    )
    return int(ticket["id"])


def timeline(api: TestClient, ticket: int, kind: str) -> list[str]:
    events = api.get(f"/api/v1/tickets/{ticket}/timeline").json()
    return [e["summary"] for e in events if e["kind"] == kind]


def cycle(db: Database, clock: ManualClock) -> None:
    Engine(db, clock, Channels(db, clock, "s"), instance="t").cycle()


# -- the deactivation itself -------------------------------------------------------------------


def test_deactivating_keeps_the_person_and_says_where_they_are_still_named(
    api: TestClient, clock: ManualClock
) -> None:
    created(api.post("/api/v1/schedules", json=schedule("squad", ["ada", "grace"], "ada")))
    created(
        api.post("/api/v1/escalation-policies", json=policy("p", person("grace"), person("ada")))
    )

    gone = api.delete("/api/v1/people/ada")
    again = api.delete("/api/v1/people/ada")

    assert gone.status_code == 200, gone.text
    assert gone.json() == {
        "handle": "ada",
        "name": "Ada",
        "deactivated_at": "2026-11-25T15:00:00Z",
        "pages_cancelled": 0,
        "still_named_in": [
            "schedule squad, layer primary",
            "schedule squad, fallback",
            "escalation policy p, step 2",
        ],
    }
    assert again.json() == gone.json()  # asking again changes nothing
    users = {u["handle"]: u for u in api.get("/api/v1/users").json()}
    assert users["ada"]["deactivated_at"] == "2026-11-25T15:00:00Z"
    assert users["grace"]["deactivated_at"] is None
    assert api.get("/api/v1/schedules/squad").json()["deactivated"] == ["ada"]


def test_a_deactivated_persons_token_no_longer_works(api: TestClient, world: World) -> None:
    ada = {"Authorization": f"Bearer {world.tokens['ada']}"}
    assert api.get("/api/v1/me", headers=ada).status_code == 200

    api.delete("/api/v1/people/ada")

    refused = api.get("/api/v1/me", headers=ada)
    assert refused.status_code == 401 and refused.headers["content-type"] == PROBLEM
    assert "ada was deactivated" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("who", "handle", "status"),
    [
        pytest.param("ada", "grace", 403, id="a-responder-may-not"),
        pytest.param("admin", "admin", 409, id="not-yourself"),
        pytest.param("admin", "nobody", 404, id="an-unknown-person"),
    ],
)
def test_deactivation_is_refused_with_a_problem(
    api: TestClient, world: World, who: str, handle: str, status: int
) -> None:
    headers = {"Authorization": f"Bearer {world.tokens[who]}"}

    refused = api.delete(f"/api/v1/people/{handle}", headers=headers)

    assert refused.status_code == status and refused.headers["content-type"] == PROBLEM
    users = {u["handle"]: u["deactivated_at"] for u in api.get("/api/v1/users").json()}
    assert set(users.values()) == {None}


# -- never paged -------------------------------------------------------------------------------


def test_a_step_naming_a_deactivated_person_is_skipped_and_the_next_step_pages_at_once(
    api: TestClient, db: Database, clock: ManualClock, world: World
) -> None:
    created(
        api.post(
            "/api/v1/escalation-policies",
            json=policy("hail", person("ada"), person("grace"), teams=("hail",)),
        )
    )
    api.delete("/api/v1/people/ada")
    ticket = p1(api)

    cycle(db, clock)  # step 1: ada is skipped, nobody is left, so step 2 is due now
    cycle(db, clock)  # step 2, at the same instant: no ten-minute wait

    assert timeline(api, ticket, "escalation.skipped") == [
        "step 1 names ada, who was deactivated; skipped"
    ]
    first, second = timeline(api, ticket, "escalation.paged")
    assert "step 1: paged nobody" in first and "so step 2 at once" in first
    assert "step 2: paged grace" in second
    log = api.get(f"/api/v1/tickets/{ticket}/notifications").json()
    assert [(n["person"], n["status"]) for n in log] == [("grace", "sent")]


def test_a_step_keeps_paging_the_others_it_names(
    api: TestClient, db: Database, clock: ManualClock
) -> None:
    both = [{"kind": "person", "name": "ada"}, {"kind": "person", "name": "grace"}]
    created(api.post("/api/v1/escalation-policies", json=policy("hail", both, teams=("hail",))))
    api.delete("/api/v1/people/ada")
    ticket = p1(api)

    cycle(db, clock)

    [paged] = timeline(api, ticket, "escalation.paged")
    assert "paged grace" in paged and "last step" in paged
    assert timeline(api, ticket, "escalation.skipped") == [
        "step 1 names ada, who was deactivated; skipped"
    ]


def test_pages_waiting_for_a_person_are_cancelled_when_they_are_deactivated(
    api: TestClient, db: Database, clock: ManualClock, world: World
) -> None:
    ada = {"Authorization": f"Bearer {world.tokens['ada']}"}
    created(
        api.post(
            "/api/v1/people/ada/contact-methods",
            headers=ada,
            json={"name": "later", "kind": "inbox", "target": "ada", "delay_minutes": 5},
        )
    )
    created(
        api.post("/api/v1/escalation-policies", json=policy("hail", person("ada"), teams=("hail",)))
    )
    ticket = p1(api)
    cycle(db, clock)  # the page is queued for five minutes from now

    gone = api.delete("/api/v1/people/ada").json()
    clock.advance(timedelta(minutes=10))
    cycle(db, clock)

    assert gone["pages_cancelled"] == 1
    log = api.get(f"/api/v1/tickets/{ticket}/notifications").json()
    assert [(n["person"], n["status"]) for n in log] == [("ada", "cancelled")]


# -- schedules skip them -----------------------------------------------------------------------


def test_the_only_member_of_a_rotation_can_be_deactivated_and_the_fallback_answers(
    api: TestClient,
) -> None:
    created(api.post("/api/v1/schedules", json=schedule("solo", ["ada"], fallback="grace")))

    assert api.delete("/api/v1/people/ada").status_code == 200

    [answer] = api.get("/api/v1/oncall", params={"schedule": "solo"}).json()
    assert (answer["responder"], answer["reason"]) == ("grace", "fallback")
    assert "ada was deactivated" in answer["detail"]
    assert answer["layers"][0]["reason"] == "deactivated"


def test_a_rotation_passes_a_deactivated_persons_turn_to_the_fallback_then_resumes(
    api: TestClient,
) -> None:
    created(api.post("/api/v1/schedules", json=schedule("squad", ["ada", "grace"], "admin")))
    api.delete("/api/v1/people/ada")

    def at(instant: str) -> Any:
        [answer] = api.get("/api/v1/oncall", params={"at": instant}).json()
        return answer["responder"], answer["reason"]

    # Days from Monday 2026-11-23: ada, grace, ada (Wednesday, today), grace.
    assert at("2026-11-25T16:00:00Z") == ("admin", "fallback")
    assert at("2026-11-26T16:00:00Z") == ("grace", "rotation")


def test_before_their_deactivation_the_calendar_still_shows_their_turns(
    api: TestClient,
) -> None:
    created(api.post("/api/v1/schedules", json=schedule("squad", ["ada", "grace"])))
    api.delete("/api/v1/people/ada")

    found = api.get(
        "/api/v1/schedules/squad/spans",
        params={"since": "2026-11-23T00:00:00Z", "until": "2026-11-26T00:00:00Z"},
    ).json()

    primary = [(s["person"], s["starts"]) for s in found if s["layer"] == "primary"]
    assert primary == [
        ("ada", "2026-11-23T00:00:00Z"),
        ("grace", "2026-11-24T00:00:00Z"),
        ("ada", "2026-11-25T00:00:00Z"),
        (None, "2026-11-25T15:00:00Z"),
    ]


# -- nobody may name them anew -----------------------------------------------------------------


def test_a_new_or_rewritten_escalation_policy_naming_a_deactivated_person_is_refused(
    api: TestClient,
) -> None:
    created(api.post("/api/v1/escalation-policies", json=policy("p", person("ada"))))
    api.delete("/api/v1/people/ada")

    new = api.post("/api/v1/escalation-policies", json=policy("q", person("grace"), person("ada")))
    rewrite = api.put("/api/v1/escalation-policies/p", json=policy("p", person("ada")))
    unknown = api.post("/api/v1/escalation-policies", json=policy("r", person("nobody")))

    refused_as_deactivated(new, "steps.1.targets", "ada")
    refused_as_deactivated(rewrite, "steps.0.targets", "ada")
    assert unknown.status_code == 422 and unknown.json()["detail"] == "no user 'nobody'"
    assert [p["slug"] for p in api.get("/api/v1/escalation-policies").json()] == ["p"]
    fixed = api.put("/api/v1/escalation-policies/p", json=policy("p", person("grace")))
    assert fixed.status_code == 200


def test_a_new_or_rewritten_rotation_naming_a_deactivated_person_is_refused(
    api: TestClient,
) -> None:
    created(api.post("/api/v1/schedules", json=schedule("squad", ["ada", "grace"])))
    api.delete("/api/v1/people/ada")

    new = api.post("/api/v1/schedules", json=schedule("other", ["grace", "ada"]))
    rewrite = api.put("/api/v1/schedules/squad", json=schedule("squad", ["ada", "grace"]))
    as_fallback = api.post("/api/v1/schedules", json=schedule("third", ["grace"], "ada"))
    override = api.post(
        "/api/v1/schedules/squad/overrides",
        json={
            "person": "ada",
            "starts": "2026-11-26T00:00:00Z",
            "ends": "2026-11-27T00:00:00Z",
            "reason": "swap",
        },
    )

    refused_as_deactivated(new, "layers.0.members", "ada")
    refused_as_deactivated(rewrite, "layers.0.members", "ada")
    refused_as_deactivated(as_fallback, "fallback", "ada")
    refused_as_deactivated(override, "person", "ada")
    assert [s["slug"] for s in api.get("/api/v1/schedules").json()] == ["squad"]
    fixed = api.put("/api/v1/schedules/squad", json=schedule("squad", ["grace"]))
    assert fixed.status_code == 200 and fixed.json()["deactivated"] == []


def test_a_deactivated_person_cannot_be_given_a_ticket(api: TestClient) -> None:
    api.delete("/api/v1/people/ada")

    refused = api.post(
        "/api/v1/tickets",
        json={"team": "hail", "title": "x", "priority": "P3", "assignee": "ada"},
    )

    refused_as_deactivated(refused, "assignee", "ada")
