"""Fixtures: the clock, a database per backend (SQLite and PostgreSQL), an organisation, HTTP,
and a webhook receiver.

Every test that takes `db` runs once on SQLite and once on PostgreSQL. With
FIRELINE_REQUIRE_POSTGRES=1 an unreachable PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from fireline.app import create_app
from fireline.auth.actor import Actor, Role, Via
from fireline.auth.service import actor_for, add_user, issue_token
from fireline.clock.now import Clock, ManualClock
from fireline.escalation.schemas import NewEscalationPolicy
from fireline.escalation.service import create_policy
from fireline.orgs.service import create_organisation, create_team, store_policy
from fireline.policy.load import preset_names, preset_text
from fireline.store.db import Database
from fireline.store.loose_keys import orphans
from fireline.store.migrate import upgrade
from fireline.store.models import Base

POSTGRES_ADMIN_URL = os.environ.get(
    "FIRELINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("FIRELINE_REQUIRE_POSTGRES") == "1"

# Wednesday 2026-11-25 10:00 in New York, the day before Thanksgiving.
START = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"fireline_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        admin.dispose()
        message = f"PostgreSQL unreachable at {POSTGRES_ADMIN_URL}: {error.orig}"
        if REQUIRE_POSTGRES:
            pytest.fail(message + " (FIRELINE_REQUIRE_POSTGRES=1)", pytrace=False)
        pytest.skip(message)
    url = (
        sa.engine.make_url(POSTGRES_ADMIN_URL)
        .set(database=name)
        .render_as_string(hide_password=False)
    )
    upgrade(url)
    yield url
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_db(postgres_url: str) -> Iterator[Database]:
    db = Database(postgres_url)
    yield db
    db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        path = tmp_path / "fireline.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite:///{path}")
        yield database
        database.dispose()
        return
    database = request.getfixturevalue("postgres_db")
    emptied(database)
    yield database
    assert_no_orphans(database)


@pytest.fixture
def sqlite_db(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """SQLite only: for what only SQLite has (its database-wide write lock, its planner)."""
    path = tmp_path / "fireline.db"
    shutil.copyfile(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


def emptied(database: Database) -> Database:
    """Every table emptied and every id sequence restarted (PostgreSQL). DELETE with the
    triggers off (the timeline's append-only ones, the foreign keys'): a TRUNCATE of every
    table cost five times as long, a third of a second before each test."""
    with database.engine.begin() as connection:
        connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        for table in Base.metadata.sorted_tables:
            connection.execute(sa.text(f'DELETE FROM "{table.name}"'))
        sequences = connection.execute(
            sa.text(
                "SELECT quote_ident(sequence_schema) || '.' || quote_ident(sequence_name) "
                "FROM information_schema.sequences"
            )
        ).scalars()
        for sequence in sequences.all():
            connection.execute(sa.text(f"ALTER SEQUENCE {sequence} RESTART"))
    return database


@pytest.fixture
def pg(postgres_db: Database) -> Iterator[Database]:
    """PostgreSQL only: for what needs several processes or real row locks."""
    yield emptied(postgres_db)
    assert_no_orphans(postgres_db)


def assert_no_orphans(database: Database) -> None:
    """PostgreSQL does not check the intake tables' references (`loose_keys`); the code
    keeps them, and every test on PostgreSQL proves it did (SQLite checks them itself)."""
    with database.engine.connect() as connection:
        found = orphans(connection)
    assert not found, f"rows refer to rows that do not exist: {found}"


# One weekly layer with ada alone, for the on-call pages' tests (overrides change who it is).
SUPPORT_SCHEDULE = {
    "slug": "support",
    "name": "Support",
    "timezone": "Europe/Berlin",
    "layers": [
        {
            "name": "runner",
            "members": ["ada"],
            "start": "2026-11-23T09:00:00+01:00",
            "unit": "weeks",
        }
    ],
}


@dataclass
class World:
    """One organisation with a team per preset and people of each role."""

    org_id: int
    admin: Actor
    responder: Actor
    other: Actor
    viewer: Actor
    tokens: dict[str, str]


@pytest.fixture
def world(db: Database, clock: ManualClock) -> World:
    with db.transaction() as session:
        org = create_organisation(session, clock, "acme", "Acme")
        for name in preset_names():
            team = create_team(session, clock, org.id, name, name)
            store_policy(session, clock, team, preset_text(name), f"preset:{name}", None)
        people = {
            "admin": add_user(
                session, clock, org.id, "admin", "Admin", Role.admin, password="correct horse"
            ),
            "ada": add_user(
                session, clock, org.id, "ada", "Ada", Role.responder, timezone="Europe/Berlin"
            ),
            "grace": add_user(
                session,
                clock,
                org.id,
                "grace",
                "Grace",
                Role.responder,
                timezone="America/New_York",
            ),
            "vic": add_user(session, clock, org.id, "vic", "Vic Viewer", Role.viewer),
        }
        tokens = {h: issue_token(session, clock, u, "test").token for h, u in people.items()}
        actors = {h: actor_for(u, Via.api) for h, u in people.items()}
    return World(org.id, actors["admin"], actors["ada"], actors["grace"], actors["vic"], tokens)


@pytest.fixture
def app_client(db: Database, clock: ManualClock) -> Iterator[TestClient]:
    with TestClient(create_app(db=db, clock=clock)) as client:
        yield client


@pytest.fixture
def api(app_client: TestClient, world: World) -> TestClient:
    """An HTTP client acting as the organisation's admin."""
    app_client.headers["Authorization"] = f"Bearer {world.tokens['admin']}"
    return app_client


def as_user(client: TestClient, world: World, handle: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[handle]}"}


class WebhookReceiver(ThreadingHTTPServer):
    """A real local webhook peer that records what it is sent and answers `status`."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 200

        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((dict(self.headers), body))
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


# The longest files start first: with `-n 3 --dist loadfile` each file runs whole on one
# worker, so a long one started last would finish alone, well after the rest.
LONGEST_FIRST = (
    "test_engine_instances.py",
    "test_openapi_fuzz.py",
    "test_browser.py",
    "test_engine_wake.py",
    "test_web_pages.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    order = {name: rank for rank, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: order.get(item.path.name, len(order)))


def paging_org(
    db: Database,
    clock: Clock,
    name: str,
    steps: list[str],
    delay_minutes: int = 1,
    policy: str = preset_text("hail"),
) -> Actor:
    """An organisation whose Hail team's escalation pages `steps` (a person each, `admin`
    its admin among them); the admin."""
    with db.transaction() as session:
        org = create_organisation(session, clock, name, name.title())
        team = create_team(session, clock, org.id, "hail", "Hail")
        store_policy(session, clock, team, policy, f"{name}.yaml", None)
        admin = actor_for(add_user(session, clock, org.id, "admin", "A", Role.admin), Via.api)
        for handle in set(steps) - {"admin"}:
            add_user(session, clock, org.id, handle, handle.title(), Role.responder)
    create_policy(
        db,
        clock,
        admin,
        NewEscalationPolicy.model_validate(
            {
                "slug": "p",
                "name": "P",
                "teams": ["hail"],
                "steps": [
                    {"targets": [{"kind": "person", "name": h}], "delay_minutes": delay_minutes}
                    for h in steps
                ],
            }
        ),
    )
    return admin
