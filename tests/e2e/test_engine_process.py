"""`fireline serve`'s engine in a process of its own (the default): an alert taken in wakes it
at once (its interval here is a minute), a child that dies is replaced, and the server
stopping stops it. Real processes, a real local webhook receiver, the system clock."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_engine_instances import Receiver, serve

from conftest import paging_org
from fireline.app import create_app
from fireline.clock.now import SystemClock
from fireline.engine.process import EngineProcess
from fireline.intake import service
from fireline.intake.schemas import NewIntegration
from fireline.notify.schemas import NewContactMethod
from fireline.notify.service import add_contact_method
from fireline.settings import Settings
from fireline.store.db import Database


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve(Receiver())


def spend(client: TestClient, key: str, dedup: str) -> None:
    """Hail: 400 USD/h is P1, paged at once."""
    alert = {"title": "Batch spend", "service": "batch", "dedup_key": dedup}
    answer = client.post(
        "/api/v1/alerts/generic",
        json={**alert, "signals": {"cost_usd_per_hour": 400}},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 202, answer.text


def paged(receiver: Receiver, count: int, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with receiver.lock:
            if sum(receiver.keys.values()) >= count:
                return True
        time.sleep(0.05)
    return False


def test_the_engine_process_is_woken_by_intake_replaced_when_it_dies_and_stopped(
    db: Database, tmp_path: Path, receiver: Receiver
) -> None:
    clock = SystemClock()
    admin = paging_org(db, clock, "proc", ["admin"])
    add_contact_method(
        db,
        clock,
        admin,
        "admin",
        NewContactMethod(name="hook", kind="webhook", target=receiver.url),
    )
    key = service.create_integration(
        db, clock, admin, NewIntegration(team="hail", kind="generic", name="spend")
    ).key
    # A minute between cycles: a page within seconds means intake's commit woke the child.
    settings = Settings(database_url=db.url, engine_interval=60, spool_dir=str(tmp_path / "spool"))
    with TestClient(create_app(settings)) as client:
        engine = client.app.state.engine  # type: ignore[attr-defined]
        assert isinstance(engine, EngineProcess)
        first = engine.pid
        assert first is not None
        spend(client, key, "first")
        assert paged(receiver, 1)

        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while engine.pid in (first, None):
            assert time.monotonic() < deadline, "no new engine process"
            time.sleep(0.05)
        spend(client, key, "second")
        assert paged(receiver, 2)
        last = engine.pid
    # Stopped with the server: no child left behind.
    with pytest.raises(ProcessLookupError):
        os.kill(last, 0)
