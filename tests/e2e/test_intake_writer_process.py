"""The intake's writer in a process of its own (the default for `fireline serve`): alerts are
answered only once the child committed them, a child that dies is replaced and what it held
is answered 503, and closing answers everything handed over first."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi.testclient import TestClient
from live_server import free_port
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from fireline.app import create_app
from fireline.auth.actor import Role, Via
from fireline.auth.service import actor_for, add_user
from fireline.clock.now import ManualClock
from fireline.intake import group_commit, service
from fireline.intake.group_commit import GroupCommit, commit_each
from fireline.intake.models import AlertRow
from fireline.intake.schemas import NewIntegration
from fireline.intake.sources import generic
from fireline.intake.writer_process import RECALL_SECONDS, ProcessGroupCommit, WriterPool
from fireline.orgs.service import create_organisation, create_team, store_policy
from fireline.policy.load import preset_text
from fireline.settings import Settings
from fireline.store.db import Database, is_outage
from fireline.tickets.models import Ticket

if TYPE_CHECKING:
    from conftest import World

FIRELINE = str(Path(sys.executable).with_name("fireline"))


@pytest.fixture
def key(db: Database, clock: ManualClock, world: World) -> str:
    created = service.create_integration(
        db, clock, world.admin, NewIntegration(team="meltano", kind="generic", name="w")
    )
    return created.key


def served_settings(db: Database, tmp_path: Path, **overrides: Any) -> Settings:
    """The settings `fireline serve` would have, on the test's database, without the engine."""
    return Settings(
        database_url=db.url, engine=False, spool_dir=str(tmp_path / "spool"), **overrides
    )


@pytest.fixture
def served(db: Database, tmp_path: Path) -> Iterator[TestClient]:
    """The app as `fireline serve` builds it: its own database and clock, so its own writer."""
    with TestClient(create_app(served_settings(db, tmp_path))) as client:
        pool = client.app.state.intake  # type: ignore[attr-defined]
        assert isinstance(pool, WriterPool) and len(pool.writers) == 1
        yield client


def post(client: TestClient, key: str, alert: dict[str, str]) -> dict[str, object]:
    answer = client.post(
        "/api/v1/alerts/generic", json=alert, headers={"Authorization": f"Bearer {key}"}
    )
    assert answer.status_code == 202, answer.text
    outcome: dict[str, object] = answer.json()["alerts"][0]
    return outcome


def count(db: Database, model: object) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0  # type: ignore[arg-type]


def writer_pids(client: TestClient) -> set[int]:
    pool: WriterPool = client.app.state.intake  # type: ignore[attr-defined]
    return {writer._child.pid for writer in pool.writers if writer._child is not None}


def test_alerts_are_committed_by_the_child_before_the_answer(
    served: TestClient, key: str, db: Database
) -> None:
    assert os.getpid() not in writer_pids(served)
    opened = post(served, key, {"title": "Tap failing", "service": "hub", "dedup_key": "t1"})
    # The answer came after the commit: another connection sees the ticket at once.
    assert opened["outcome"] == "opened" and count(db, Ticket) == 1
    repeat = post(served, key, {"title": "Tap failing", "service": "hub", "dedup_key": "t1"})
    assert repeat["outcome"] == "repeat" and repeat["ticket_id"] == opened["ticket_id"]
    resolved = post(served, key, {"title": "x", "dedup_key": "t1", "action": "resolve"})
    assert resolved["outcome"] in ("resolved", "annotated")
    assert count(db, AlertRow) == 3


def test_a_refusal_raised_in_the_child_is_the_same_problem(
    served: TestClient, db: Database, clock: ManualClock, world: World
) -> None:
    with db.transaction() as session:
        create_team(session, clock, world.org_id, "bare", "Bare")  # no policy yet
    created = service.create_integration(
        db, clock, world.admin, NewIntegration(team="bare", kind="generic", name="bare")
    )
    answer = served.post(
        "/api/v1/alerts/generic",
        json={"title": "x", "dedup_key": "y"},
        headers={"Authorization": f"Bearer {created.key}"},
    )
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert "no policy" in answer.json()["detail"]
    assert count(db, AlertRow) == 0


def test_a_writer_that_dies_is_replaced_and_what_it_held_answers_503(
    served: TestClient, key: str, db: Database
) -> None:
    post(served, key, {"title": "before", "dedup_key": "before"})
    first = writer_pids(served)
    for pid in first:
        os.kill(pid, 9)
    retried_until_taken(served, key, {"title": "after", "dedup_key": "after"})
    assert writer_pids(served) - first
    # Retried after a 503, the alert was still taken in once.
    assert_two_alerts_taken_once(db)


def retried_until_taken(client: TestClient, key: str, alert: dict[str, str]) -> None:
    """Post as a sender that retries on 503 does, until the alert is taken (202)."""
    statuses = []
    deadline = time.monotonic() + 60
    while True:
        answer = client.post(
            "/api/v1/alerts/generic", json=alert, headers={"Authorization": f"Bearer {key}"}
        )
        statuses.append(answer.status_code)
        if answer.status_code == 202:
            return
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "5"
        assert time.monotonic() < deadline, statuses
        time.sleep(0.2)


def assert_two_alerts_taken_once(db: Database) -> None:
    with db.transaction() as session:
        prints = session.scalars(select(AlertRow.fingerprint).order_by(AlertRow.id)).all()
    assert len(prints) == 2 and len(set(prints)) == 2


STUCK = 3.0


def test_a_writer_that_stops_answering_is_killed_and_replaced(
    db: Database, key: str, tmp_path: Path
) -> None:
    """A writer process that is stopped (SIGSTOP: as hung as a process can be) while it
    holds a request: the request is answered 503 once the writer has held it
    `intake_writer_stuck_seconds`, the writer is killed, and a new one takes the retry."""
    settings = served_settings(db, tmp_path, intake_writer_stuck_seconds=STUCK)
    with TestClient(create_app(settings)) as client:
        # A first batch slower than that on a loaded machine is killed too: then retried.
        retried_until_taken(client, key, {"title": "before", "dedup_key": "before"})
        (stuck,) = writer_pids(client)
        os.kill(stuck, signal.SIGSTOP)
        with ThreadPoolExecutor(1) as sender:
            try:
                began = time.monotonic()
                held = sender.submit(
                    client.post,
                    "/api/v1/alerts/generic",
                    json={"title": "held", "dedup_key": "held"},
                    headers={"Authorization": f"Bearer {key}"},
                )
                # Without the watch the request would wait for ever: fail, not hang.
                answer = held.result(timeout=30)
                waited = time.monotonic() - began
                assert answer.status_code == 503, answer.text
                assert STUCK <= waited < 30, waited
                # Killed, not merely left stopped: reaped by the server, so gone.
                deadline = time.monotonic() + 10
                while os.path.exists(f"/proc/{stuck}") and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert not os.path.exists(f"/proc/{stuck}")
            finally:  # before the sender is waited for, which a stuck writer would hold up
                if os.path.exists(f"/proc/{stuck}"):
                    os.kill(stuck, signal.SIGKILL)
        retried_until_taken(client, key, {"title": "held", "dedup_key": "held"})
        assert writer_pids(client) - {stuck}
    assert_two_alerts_taken_once(db)


def test_closing_answers_every_request_handed_over(db: Database, key: str, world: World) -> None:
    source = service.source_for_key(db, key, "generic")

    async def storm() -> list[str]:
        intake = await ProcessGroupCommit.started(db.url)
        waiting = [
            asyncio.create_task(
                intake.accept(source, generic.parse({"title": f"a{n}", "dedup_key": f"k{n}"}))
            )
            for n in range(60)
        ]
        await asyncio.sleep(0)  # every request is handed over before the close begins
        await intake.aclose()
        return [outcome.outcome for done in await asyncio.gather(*waiting) for outcome in done]

    assert asyncio.run(storm()) == ["opened"] * 60
    assert count(db, Ticket) == 60


def test_a_request_goes_whole_to_one_writer_chosen_by_its_first_alert(
    db: Database, key: str
) -> None:
    source = service.source_for_key(db, key, "generic")
    pool = WriterPool([ProcessGroupCommit(db.url) for _ in range(2)])
    alerts = generic.parse([{"title": "a", "dedup_key": "same"}, {"title": "b"}])
    again = generic.parse({"title": "other title", "dedup_key": "same"})
    assert pool.shard(source, alerts) == pool.shard(source, again)
    spread = {pool.shard(source, generic.parse({"title": f"t{n}"})) for n in range(50)}
    assert spread == {0, 1}


def test_alerts_of_one_fingerprint_in_two_writers_at_once_make_one_ticket(
    db: Database, key: str
) -> None:
    # The pool keeps one alert's repeats in one writer, but a fingerprint may still reach two
    # (say, one made of labels while the titles differ): the database keeps it one ticket.
    source = service.source_for_key(db, key, "generic")

    async def race() -> list[str]:
        pool = await WriterPool.started(db.url, 2)
        sent = [
            writer.accept(source, generic.parse({"title": f"{n}", "dedup_key": f"k{n % 10}"}))
            for n in range(40)
            for writer in pool.writers
        ]
        try:
            return [outcome.outcome for done in await asyncio.gather(*sent) for outcome in done]
        finally:
            await pool.aclose()

    outcomes = asyncio.run(race())
    assert sorted(set(outcomes)) == ["opened", "repeat"] and outcomes.count("opened") == 10
    with db.transaction() as session:
        counts = session.execute(select(Ticket.fingerprint, Ticket.alert_count)).all()
    assert sorted(counts) == [(f"generic:k{n}", 8) for n in range(10)]
    assert count(db, AlertRow) == 80


def test_a_batch_that_meets_a_dead_connection_runs_again_on_a_new_one(
    pg: Database, clock: ManualClock, tmp_path: Path
) -> None:
    # PostgreSQL only: the child's pool does not test connections before each batch (a round
    # trip each); a server restart must still cost no alert.
    with pg.transaction() as session:
        org = create_organisation(session, clock, "acme", "Acme")
        team = create_team(session, clock, org.id, "meltano", "Meltano")
        store_policy(session, clock, team, preset_text("meltano"), "preset:meltano", None)
        admin = actor_for(add_user(session, clock, org.id, "admin", "A", Role.admin), Via.cli)
    created = service.create_integration(
        pg, clock, admin, NewIntegration(team="meltano", kind="generic", name="w")
    )
    source = service.source_for_key(pg, created.key, "generic")
    writer = Database(pg.url, pre_ping=False)
    try:
        alerts = generic.parse({"title": "one", "dedup_key": "one"})
        (first,) = commit_each(writer, clock, [(source, alerts)])
        assert not isinstance(first, BaseException)
        with pg.engine.connect() as connection:  # as a restart would: every other session ends
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        (second,) = commit_each(writer, clock, [(source, generic.parse({"title": "two"}))])
        assert not isinstance(second, BaseException), second
    finally:
        writer.dispose()
    assert count(pg, AlertRow) == 2


def test_a_new_silence_applies_within_the_writers_second(
    served: TestClient, key: str, world: World
) -> None:
    opened = post(served, key, {"title": "a", "service": "hub", "dedup_key": "a"})
    assert opened["outcome"] == "opened"  # the writer has now read the silences
    created = served.post(
        "/api/v1/silences",
        json={
            "matchers": [{"name": "service", "op": "=", "value": "hub"}],
            "ends_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            "reason": "deploying a fix",
        },
        headers={"Authorization": f"Bearer {world.tokens['admin']}"},
    )
    assert created.status_code == 201, created.text
    time.sleep(RECALL_SECONDS)
    silenced = post(served, key, {"title": "b", "service": "hub", "dedup_key": "b"})
    assert silenced["outcome"] == "silenced" and silenced["silence_id"] == created.json()["id"]


def test_fireline_serve_takes_alerts_through_its_writer_and_stops_cleanly(
    db: Database, key: str, tmp_path: Path
) -> None:
    # The real server, as `make run` starts it: uvicorn on uvloop (whose transports are not
    # asyncio's classes), SIGTERM to stop; with two writers, both stopped with it.
    port = free_port()
    env = {
        **os.environ,
        "FIRELINE_DATABASE_URL": db.url,
        "FIRELINE_SPOOL_DIR": str(tmp_path / "spool"),
        "FIRELINE_INTAKE_WRITERS": "2",
    }
    server = subprocess.Popen(
        [FIRELINE, "serve", "--no-engine", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.post(
                    f"{url}/api/v1/alerts/generic",
                    json={"title": "Tap failing", "dedup_key": "served"},
                    headers={"Authorization": f"Bearer {key}"},
                    timeout=30,
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, "no server"
                time.sleep(0.2)
        assert answer.status_code == 202, answer.text
        assert answer.json()["alerts"][0]["outcome"] == "opened"
        refused = httpx.post(f"{url}/api/v1/alerts/generic", json={"title": "x"}, timeout=30)
        assert refused.status_code == 401
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        assert len(children) == 2  # the writers asked for
        writers = [Path(f"/proc/{child}") for child in children]
        for writer in writers:
            assert b"fireline.intake.writer_process" in (writer / "cmdline").read_bytes()
    finally:
        server.terminate()
        output, errors = server.communicate(timeout=60)
    # uvicorn shuts down, then ends by the signal it was sent, as a process that did not
    # catch it would.
    assert server.returncode in (0, -signal.SIGTERM), errors.decode()
    assert b"Application shutdown complete" in errors
    assert not any(writer.exists() for writer in writers), "a writer outlived the server"
    assert b"Traceback" not in errors, errors.decode()
    assert count(db, Ticket) == 1
    # The access log, through uvicorn's handler (to stdout) and format: the refusal only.
    lines = [line for line in output.decode().splitlines() if " HTTP/1.1" in line]
    assert len(lines) == 1, lines
    assert lines[0].startswith("INFO:     127.0.0.1:")
    assert lines[0].endswith('"POST /api/v1/alerts/generic HTTP/1.1" 401 Unauthorized')


def test_a_writer_thread_when_the_settings_ask_for_one(
    db: Database, key: str, tmp_path: Path
) -> None:
    settings = served_settings(db, tmp_path, intake_writer="thread")
    with TestClient(create_app(settings)) as client:
        assert isinstance(client.app.state.intake, GroupCommit)  # type: ignore[attr-defined]
        assert post(client, key, {"title": "x", "dedup_key": "x"})["outcome"] == "opened"


def hold_tickets(db: Database, holding: threading.Event, release: threading.Event) -> None:
    """Lock every ticket (on SQLite: the whole database) until `release`, or for 10 s: a
    writer without a timeout would wait that long, then go on."""
    with db.transaction() as holder:
        holder.execute(select(Ticket).with_for_update()).all()
        holding.set()
        release.wait(10)


def test_a_batch_held_up_past_the_timeout_fails_every_request_at_once(
    db: Database, clock: ManualClock, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Held up by a lock (PostgreSQL: the ticket's row; SQLite: the write lock). Each request
    # waiting out the timeout again alone would keep the senders waiting N times as long.
    source = service.source_for_key(db, key, "generic")
    held = {"title": "held", "dedup_key": "held"}
    (opened,) = commit_each(db, clock, [(source, generic.parse(held))])
    assert not isinstance(opened, BaseException)
    hasty = Database(db.url, pre_ping=False, statement_timeout_seconds=0.3)
    runs: list[int] = []
    real = group_commit.accept_many

    def counted(*args: Any, **kwargs: Any) -> Any:
        runs.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(group_commit, "accept_many", counted)
    requests = [(source, generic.parse(held))] + [
        (source, generic.parse({"title": f"new {n}", "dedup_key": f"new {n}"})) for n in range(3)
    ]
    holding, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_tickets, args=(db, holding, release))
    holder.start()
    holding.wait(5)
    try:
        results = commit_each(hasty, clock, requests)
    finally:
        release.set()
        holder.join(10)
        hasty.dispose()
    assert len(runs) == 1
    assert len(results) == 4
    assert all(isinstance(r, OperationalError) and is_outage(r) for r in results), results
    assert count(db, AlertRow) == 1 and count(db, Ticket) == 1


def test_a_database_that_hangs_is_answered_503_and_the_retry_taken_in_once(
    db: Database, key: str, tmp_path: Path
) -> None:
    settings = served_settings(db, tmp_path, intake_statement_timeout_seconds=0.5)
    alert = {"title": "Tap failing", "service": "hub", "dedup_key": "t1"}
    holding, release = threading.Event(), threading.Event()
    with TestClient(create_app(settings)) as client:
        opened = post(client, key, alert)
        holder = threading.Thread(target=hold_tickets, args=(db, holding, release))
        holder.start()
        holding.wait(5)
        answer = client.post(
            "/api/v1/alerts/generic", json=alert, headers={"Authorization": f"Bearer {key}"}
        )
        release.set()
        holder.join(10)
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["retry-after"] == "5"
        assert count(db, AlertRow) == 1
        retried = post(client, key, alert)
    assert retried["outcome"] == "repeat" and retried["ticket_id"] == opened["ticket_id"]
    with db.transaction() as session:
        ticket = session.scalars(select(Ticket)).one()
    assert ticket.alert_count == 2 and count(db, AlertRow) == 2
