"""Alerts grouped into a storm's ticket keep their identity, on both databases: a grouped
alert's repeat, acknowledgement and resolution reach the group's ticket, the ticket resolves
when the last alert of its group still firing resolves, and a grouped alert's own impact,
priority and incident criteria count for the ticket."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fastapi.testclient import TestClient
from sqlalchemy import event, func, select, text
from test_intake_api import (
    add_caseflow_contacts,
    am_alert,
    am_payload,
    bearer,
    impact_pages,
    integration,
    storm_team,
)
from test_silence_ends import cycle, pages, pages_ada

from fireline.clock.now import ManualClock
from fireline.intake import service as service_module
from fireline.intake.alert import Action, IncomingAlert
from fireline.intake.models import AlertRow
from fireline.intake.service import accept_many, source_for_key
from fireline.orgs.service import store_policy, team_by_slug
from fireline.policy.load import preset_text
from fireline.store.db import Database
from fireline.store.migrate import downgrade, upgrade
from fireline.tickets.models import GroupedAlert, Ticket
from fireline.timeline.models import Event

if TYPE_CHECKING:
    from conftest import World

TOP = "data-corruption-or-major-stoppage"  # Caseflow's highest level


def post(api: TestClient, key: str, status: str, *alerts: dict[str, Any]) -> list[Any]:
    answer = api.post(
        "/api/v1/alerts/alertmanager", json=am_payload(status, *alerts), headers=bearer(key)
    )
    assert answer.status_code == 202, answer.text
    return [(a["outcome"], a["ticket_id"]) for a in answer.json()["alerts"]]


def a_storm(api: TestClient, db: Database, clock: ManualClock, world: World, preset: str) -> Any:
    """Five alerts of Reader in a burst: storm-0 and storm-1 open tickets, and the storm's
    storm-2, -3 and -4 join storm-1's. The key, and the group's ticket."""
    storm_team(db, clock, world, preset, alerts=3)
    key = integration(api, "storm", "alertmanager")
    burst = post(api, key, "firing", *(am_alert("firing", f"storm-{n}") for n in range(5)))
    assert [outcome for outcome, _ in burst] == ["opened", "opened", *["grouped"] * 3]
    return key, burst[1][1]


def resolve(api: TestClient, key: str, print_: str) -> tuple[str, int | None]:
    [answer] = post(api, key, "resolved", am_alert("resolved", print_))
    return answer  # type: ignore[no-any-return]


def test_the_groups_ticket_resolves_when_its_last_firing_alert_resolves(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    key, group = a_storm(api, db, clock, world, "meltano")  # Meltano resolves on resolve
    assert resolve(api, key, "storm-3") == ("annotated", group)
    # The storm's first alert resolving no longer resolves the alerts still firing with it.
    assert resolve(api, key, "storm-1") == ("annotated", group)
    comments = [c["body"] for c in api.get(f"/api/v1/tickets/{group}").json()["comments"]]
    assert any("storm-3 resolved at the source; 3 other alerts" in c for c in comments)
    assert any("storm-1 resolved at the source; 2 other alerts" in c for c in comments)
    assert resolve(api, key, "storm-2") == ("annotated", group)
    assert api.get(f"/api/v1/tickets/{group}").json()["status"] == "open"
    assert resolve(api, key, "storm-4") == ("resolved", group)
    assert api.get(f"/api/v1/tickets/{group}").json()["status"] == "resolved"
    # The group is over: the same alert firing again opens a ticket of its own.
    clock.advance(timedelta(minutes=5))
    assert post(api, key, "firing", am_alert("firing", "storm-3"))[0][0] == "opened"


def test_a_grouped_alert_firing_again_keeps_its_group_open(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    key, group = a_storm(api, db, clock, world, "meltano")
    resolve(api, key, "storm-2")
    assert post(api, key, "firing", am_alert("firing", "storm-2")) == [("repeat", group)]
    for print_ in ("storm-1", "storm-3", "storm-4"):
        assert resolve(api, key, print_) == ("annotated", group)
    assert resolve(api, key, "storm-2") == ("resolved", group)


def test_a_grouped_alert_repeating_after_the_storm_joins_its_group_not_a_new_ticket(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    key, group = a_storm(api, db, clock, world, "caseflow")
    clock.advance(timedelta(minutes=10))  # the storm's window has long passed
    assert post(api, key, "firing", am_alert("firing", "storm-4")) == [("repeat", group)]
    assert api.get(f"/api/v1/tickets/{group}").json()["alert_count"] == 5


def test_a_grouped_alert_acknowledged_at_the_source_acknowledges_its_group(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    storm_team(db, clock, world, "meltano", alerts=2)
    key = integration(api, "storm", "generic")

    def send(dedup: str, action: str = "trigger") -> Any:
        alert = {"title": "Tap failing", "service": "taps", "dedup_key": dedup, "action": action}
        answer = api.post("/api/v1/alerts/generic", json=alert, headers=bearer(key))
        assert answer.status_code == 202, answer.text
        return answer.json()["alerts"][0]

    first, second = send("a"), send("b")
    assert (first["outcome"], second["outcome"]) == ("opened", "grouped")
    acknowledged = send("b", "acknowledge")
    assert (acknowledged["outcome"], acknowledged["ticket_id"]) == (
        "acknowledged",
        first["ticket_id"],
    )
    assert api.get(f"/api/v1/tickets/{first['ticket_id']}").json()["status"] == "acknowledged"


def test_a_grouped_alerts_own_impact_pages_its_contacts_and_raises_the_priority(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    add_caseflow_contacts(db, clock, world)
    key, group = a_storm(api, db, clock, world, "caseflow")
    assert impact_pages(db, group) == []
    corrupting = am_alert("firing", "storm-9", impact="data-corruption")
    assert post(api, key, "firing", corrupting) == [("grouped", group)]
    assert len(impact_pages(db, group)) == 5  # Reader's tech lead and the seed's four
    ticket = api.get(f"/api/v1/tickets/{group}").json()
    assert ticket["priority"] == "data-corruption-or-major-stoppage"
    # Another alert of the same impact joining pages nobody twice.
    post(api, key, "firing", am_alert("firing", "storm-10", impact="data-corruption"))
    assert len(impact_pages(db, group)) == 5
    with db.transaction() as session:
        told = session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.ticket_id == group, Event.kind == "alert.impact_paged")
        )
    assert told == 1


def test_a_grouped_alert_meeting_2i2cs_criteria_declares_an_incident_for_its_group(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    key, group = a_storm(api, db, clock, world, "2i2c")
    assert api.get(f"/api/v1/tickets/{group}").json()["incident_id"] is None
    locked_out = am_alert("firing", "storm-9", symptom="cannot-log-in")
    assert post(api, key, "firing", locked_out) == [("grouped", group)]
    assert api.get(f"/api/v1/tickets/{group}").json()["incident_id"] is not None


def generic_storm(api: TestClient, db: Database, clock: ManualClock, world: World) -> Any:
    """A Meltano team grouping two alerts of one service a minute, and its generic
    integration as intake sees it."""
    storm_team(db, clock, world, "meltano", alerts=2)
    return source_for_key(db, integration(api, "storm", "generic"), "generic")


def tap(dedup: str, action: str = "trigger", **labels: str) -> IncomingAlert:
    return IncomingAlert(
        source="generic",
        action=Action(action),
        title="Tap failing",
        key=dedup,
        service="taps",
        labels=labels,
    )


def take(db: Database, clock: ManualClock, source: Any, *alerts: IncomingAlert) -> Any:
    [outcomes] = accept_many(db, clock, [(source, list(alerts))])
    return outcomes


def test_a_grouped_alert_never_lowers_the_priority_nor_overrides_a_persons(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    key, group = a_storm(api, db, clock, world, "caseflow")
    corrupting = am_alert("firing", "storm-9", impact="data-corruption")
    assert post(api, key, "firing", corrupting) == [("grouped", group)]
    assert api.get(f"/api/v1/tickets/{group}").json()["priority"] == TOP
    post(api, key, "firing", am_alert("firing", "storm-10", impact="annoying"))
    assert api.get(f"/api/v1/tickets/{group}").json()["priority"] == TOP


def test_a_grouped_alert_never_raises_a_priority_a_person_chose(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    storm_team(db, clock, world, "hail", alerts=2)
    key = integration(api, "storm", "generic")

    def spend(dedup: str, usd_an_hour: float) -> Any:
        alert = {"title": "Spend", "service": "batch", "dedup_key": dedup}
        answer = api.post(
            "/api/v1/alerts/generic",
            json={**alert, "signals": {"cost_usd_per_hour": usd_an_hour}},
            headers=bearer(key),
        )
        assert answer.status_code == 202, answer.text
        return answer.json()["alerts"][0]

    ticket = spend("a", 150)["ticket_id"]
    assert api.get(f"/api/v1/tickets/{ticket}").json()["priority"] == "P1"
    # "P1 issues can be mitigated such that they are re-characterized as a P2 issue."
    lowered = api.post(f"/api/v1/tickets/{ticket}/mitigate", json={"to": "P2", "note": "capped"})
    assert lowered.status_code == 200, lowered.text
    grouped = spend("b", 180)
    assert (grouped["outcome"], grouped["ticket_id"]) == ("grouped", ticket)
    assert api.get(f"/api/v1/tickets/{ticket}").json()["priority"] == "P2"


def test_a_grouped_alert_at_the_tickets_own_level_does_not_restart_its_paging(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    storm_team(db, clock, world, "caseflow", alerts=3)
    pages_ada(api, "storm", delay_minutes=30)
    key = integration(api, "storm", "alertmanager")
    burst = post(api, key, "firing", *(am_alert("firing", f"storm-{n}") for n in range(5)))
    group = burst[1][1]
    cycle(db, clock)
    paged = pages(db)
    for n in (9, 10):
        same = am_alert("firing", f"storm-{n}", impact="not-sure")
        assert post(api, key, "firing", same) == [("grouped", group)]
        cycle(db, clock)
    assert pages(db) == paged


def test_a_grouped_alert_raises_the_priority_of_a_ticket_its_own_batch_opened(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    storm_team(db, clock, world, "caseflow", alerts=3)
    key = integration(api, "storm", "alertmanager")
    alerts = [am_alert("firing", f"storm-{n}") for n in range(4)]
    burst = post(api, key, "firing", *alerts, am_alert("firing", "x", impact="data-corruption"))
    assert [outcome for outcome, _ in burst] == ["opened", "opened", *["grouped"] * 3]
    assert api.get(f"/api/v1/tickets/{burst[1][1]}").json()["priority"] == TOP


def test_a_member_firing_again_in_the_batch_that_closed_its_group_opens_a_ticket(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    source = generic_storm(api, db, clock, world)
    [opened], [grouped] = take(db, clock, source, tap("a")), take(db, clock, source, tap("b"))
    assert (opened.outcome, grouped.outcome) == ("opened", "grouped")
    # One group commit: the first request closes the group, the second fires b again.
    closing = [tap("b", "resolve"), tap("a", "resolve")]
    first, [again] = accept_many(db, clock, [(source, closing), (source, [tap("b")])])
    assert [o.outcome for o in first] == ["annotated", "resolved"]
    assert again.outcome == "opened" and again.ticket_id != opened.ticket_id


def test_a_reopened_group_ticket_stands_for_its_own_alert_alone(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    source = generic_storm(api, db, clock, world)
    [opened], _ = take(db, clock, source, tap("a")), take(db, clock, source, tap("b"))
    ticket = opened.ticket_id
    moved = api.post(f"/api/v1/tickets/{ticket}/transitions", json={"to": "resolved"})
    assert moved.status_code == 200, moved.text
    assert take(db, clock, source, tap("b", "resolve"))[0].outcome == "dropped"
    reopened = api.post(f"/api/v1/tickets/{ticket}/transitions", json={"to": "open"})
    assert reopened.status_code == 200, reopened.text
    assert take(db, clock, source, tap("a", "resolve"))[0].outcome == "resolved"


def test_a_team_that_stops_grouping_resolves_its_storm_tickets_by_their_own_alert(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    source = generic_storm(api, db, clock, world)
    take(db, clock, source, tap("a")), take(db, clock, source, tap("b"))
    with db.transaction() as session:
        team = team_by_slug(session, world.org_id, "storm")
        store_policy(session, clock, team, preset_text("meltano"), "meltano.yaml", None)
    assert take(db, clock, source, tap("b", "resolve"))[0].outcome == "dropped"
    assert take(db, clock, source, tap("a", "resolve"))[0].outcome == "resolved"


def test_a_team_that_does_not_group_reads_no_groups(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    source = source_for_key(db, integration(api, "meltano", "generic"), "generic")
    take(db, clock, source, tap("a"))
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        take(db, clock, source, tap("a"), tap("a", "acknowledge"), tap("a", "resolve"))
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert statements and not [s for s in statements if "grouped_alerts" in s]


def test_two_batches_locking_group_tickets_in_opposite_orders_do_not_deadlock(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    source = generic_storm(api, db, clock, world)
    for dedup, service in (("a", "X"), ("b", "X"), ("c", "Y"), ("d", "Y")):
        take(db, clock, source, replace(tap(dedup), service=service))
    # b joined a's ticket, d joined c's. Each batch asks for a member of one group and the
    # owner of the other. After its first locking statement each waits (a second at most)
    # for the other to lock too: locks taken in two statements would now deadlock.
    both = threading.Barrier(2)
    failures: list[BaseException] = []

    def lock(prints: list[str]) -> None:
        paused = threading.Event()

        def pause_after_first_lock(*args: Any) -> None:
            if "FOR UPDATE" in args[2] and not paused.is_set():
                paused.set()
                # Broken when the other waits for our locks, as it should.
                with contextlib.suppress(threading.BrokenBarrierError):
                    both.wait(timeout=1)

        try:
            with db.transaction() as session:
                connection = session.connection()
                event.listen(connection, "after_cursor_execute", pause_after_first_lock)
                batch = service_module._Batch(
                    session, clock, clock.now(), False, service_module.Recall(0)
                )
                batch.find_open_tickets({(source.id, p) for p in prints}, {source.id})
        except BaseException as failure:
            failures.append(failure)

    threads = [
        threading.Thread(target=lock, args=(prints,))
        for prints in (["generic:c", "generic:b"], ["generic:a", "generic:d"])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []


def test_a_ticket_whose_own_alert_resolved_before_its_storm_counts_only_the_joiners(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    # Caseflow only comments on a resolve: the ticket stays open after its own alert ends.
    storm_team(db, clock, world, "caseflow", alerts=2)
    key = integration(api, "storm", "alertmanager")
    [(_, ticket)] = post(api, key, "firing", am_alert("firing", "own"))
    assert resolve(api, key, "own") == ("annotated", ticket)
    assert post(api, key, "firing", am_alert("firing", "joiner")) == [("grouped", ticket)]
    assert resolve(api, key, "joiner") == ("annotated", ticket)
    comments = [c["body"] for c in api.get(f"/api/v1/tickets/{ticket}").json()["comments"]]
    assert not [c for c in comments if "still fire" in c]


def test_migration_0014_gives_storm_tickets_opened_before_0012_their_groups(
    api: TestClient, world: World, db: Database, clock: ManualClock
) -> None:
    key, group = a_storm(api, db, clock, world, "meltano")
    assert resolve(api, key, "storm-3") == ("annotated", group)
    columns = (
        GroupedAlert.ticket_id,
        GroupedAlert.integration_id,
        GroupedAlert.fingerprint,
        GroupedAlert.firing,
        GroupedAlert.joined_at,
        GroupedAlert.resolved_at,
    )
    with db.transaction() as session:
        written = set(session.execute(select(*columns)).all())
    assert len(written) == 4  # storm-1's own, storm-2, -3 (resolved) and -4
    with db.transaction() as session:
        storm_2 = session.scalar(
            select(AlertRow.fingerprint).where(AlertRow.outcome == "grouped").order_by(AlertRow.id)
        )
    db.dispose()  # no pooled connection may hold the tables the migrations alter
    try:
        downgrade(db.url, "0011")  # as before 0012: the alert rows, no groups
        # Before 0012, storm-2 repeating after the storm's window opened a ticket of its own.
        names = [column.name for column in Ticket.__table__.c if column.name != "id"]
        copied = [":print" if name == "fingerprint" else name for name in names]
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    f"INSERT INTO tickets ({', '.join(names)}) "
                    f"SELECT {', '.join(copied)} FROM tickets WHERE id = :group"
                ),
                {"print": storm_2, "group": group},
            )
    finally:
        upgrade(db.url)
        db.dispose()
    with db.transaction() as session:
        backfilled = set(session.execute(select(*columns)).all())
    # storm-2 stays with its own ticket; the others are as 0012's code wrote them.
    assert backfilled == {row for row in written if row.fingerprint != storm_2}
    assert len(backfilled) == 3
    # The group works as if its alerts had arrived after 0012.
    assert resolve(api, key, "storm-1") == ("annotated", group)
    own = resolve(api, key, "storm-2")
    assert own[0] == "resolved" and own[1] != group
    assert resolve(api, key, "storm-4") == ("resolved", group)
