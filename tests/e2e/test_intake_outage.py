"""Intake through a PostgreSQL outage: a TCP proxy between Fireline and PostgreSQL is cut and
restored. While it is cut, alert endpoints answer 503 with Retry-After and store nothing;
Sentry's hooks, whose sender never retries, are spooled to disk and taken in once the
database is back; the app reconnects by itself.

PostgreSQL only: an embedded SQLite file cannot become unreachable this way.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from fireline.app import create_app
from fireline.auth.actor import Role, Via
from fireline.auth.service import actor_for, add_user
from fireline.clock.now import ManualClock
from fireline.intake.models import AlertRow
from fireline.intake.schemas import NewIntegration
from fireline.intake.service import create_integration
from fireline.orgs.service import create_organisation, create_team, store_policy
from fireline.policy.load import preset_text
from fireline.settings import Settings
from fireline.store.db import Database
from fireline.tickets.models import Ticket

SECRET = "sentry-client-secret"


class Proxy:
    """A TCP forwarder that can be cut (every connection dropped, new ones refused) and
    restored on the same port."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        assert self.listener is not None
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close alone won't
        self.listener.close()
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            with self.lock:
                self.sockets += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.close()


class Outage:
    def __init__(self, client: TestClient, proxy: Proxy, db: Database, keys: dict[str, str]):
        self.client, self.proxy, self.db, self.keys = client, proxy, db, keys

    def count(self, model: Any) -> int:
        with self.db.transaction() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture(params=["thread", "process"])
def outage(
    pg: Database, postgres_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Outage]:
    """The intake's writer as a thread of the app (a database handed in, as tests do) and as
    `fireline serve` runs it, a process of its own."""
    clock = ManualClock(pg_now())
    with pg.transaction() as session:
        org = create_organisation(session, clock, "acme", "Acme")
        team = create_team(session, clock, org.id, "meltano", "Meltano")
        store_policy(session, clock, team, preset_text("meltano"), "preset:meltano", None)
        admin = actor_for(add_user(session, clock, org.id, "admin", "A", Role.admin), Via.cli)
    keys = {
        kind: create_integration(
            pg,
            clock,
            admin,
            NewIntegration(team="meltano", kind=kind, name=kind, signing_secret=secret),
        ).key
        for kind, secret in (("alertmanager", None), ("sentry", SECRET))
    }
    url = make_url(postgres_url)
    proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
    proxied_url = url.set(port=proxy.port).render_as_string(hide_password=False)
    proxied = Database(proxied_url)
    spool = str(tmp_path / "spool")
    if request.param == "thread":
        app = create_app(Settings(spool_dir=spool), db=proxied, clock=clock)
    else:
        app = create_app(Settings(database_url=proxied_url, spool_dir=spool, engine=False))
    with TestClient(app) as client:
        yield Outage(client, proxy, pg, keys)
    proxy.cut()
    proxied.dispose()


def pg_now() -> datetime:
    return datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def alertmanager(outage: Outage, fingerprint: str) -> Any:
    body = {
        "version": "4",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "Down", "service": "hub"},
                "annotations": {"summary": "Hub down"},
                "fingerprint": fingerprint,
            }
        ],
    }
    return outage.client.post(
        "/api/v1/alerts/alertmanager",
        json=body,
        headers={"Authorization": f"Bearer {outage.keys['alertmanager']}"},
    )


def sentry(outage: Outage, issue_id: str, secret: str = SECRET) -> Any:
    payload = {
        "action": "created",
        "data": {"issue": {"id": issue_id, "title": "TypeError", "project": {"slug": "hub"}}},
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    return outage.client.post(
        f"/api/v1/alerts/sentry/{outage.keys['sentry']}",
        content=body,
        headers={
            "Content-Type": "application/json",
            "Sentry-Hook-Resource": "issue",
            "Sentry-Hook-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        },
    )


def wait_for(condition: Any, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_an_outage_answers_503_stores_nothing_and_the_app_reconnects(outage: Outage) -> None:
    assert alertmanager(outage, "before").status_code == 202
    outage.proxy.cut()
    refused = alertmanager(outage, "during")
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "5"
    assert refused.headers["content-type"] == "application/problem+json"
    outage.proxy.restore()
    # Alertmanager retries the same group: the retry is taken in once the database is back.
    again = alertmanager(outage, "during")
    assert again.status_code == 202, again.text
    assert outage.count(Ticket) == 2 and outage.count(AlertRow) == 2


def test_sentry_hooks_are_spooled_through_an_outage_and_taken_in_after(
    outage: Outage, tmp_path: Path
) -> None:
    outage.proxy.cut()
    spooled = sentry(outage, "42")
    forged = sentry(outage, "43", secret="not the secret")
    assert spooled.status_code == forged.status_code == 202
    assert spooled.json()["status"] == "spooled"
    spool = tmp_path / "spool"
    assert len(list(spool.glob("*.json"))) == 2
    outage.proxy.restore()
    wait_for(lambda: not list(spool.glob("*.json")))
    with outage.db.transaction() as session:
        prints = session.scalars(select(AlertRow.fingerprint)).all()
    assert prints == ["sentry:issue:42"]  # the forged hook was checked, and dropped
    assert outage.count(Ticket) == 1
