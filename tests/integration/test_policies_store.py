"""Policy versions, API tokens and the schema itself, against a real database.

Tests taking `db` run on SQLite and on PostgreSQL. The migration round trip runs on a fresh
SQLite file; on PostgreSQL the session's migrated database is compared with the models.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from fireline.auth.actor import Role, Via
from fireline.auth.service import authenticate, create_token, create_user
from fireline.clock.now import ManualClock
from fireline.errors import Conflict, Forbidden, NotFound, Unauthorized
from fireline.intake import service as intake
from fireline.intake.schemas import NewIntegration
from fireline.intake.sources import generic
from fireline.orgs.service import (
    add_team,
    apply_policy,
    create_team,
    policies_in_force,
    policy_in_force,
    team_versions,
)
from fireline.policy.errors import PolicyInvalid
from fireline.policy.load import preset_text
from fireline.store.db import Database
from fireline.store.loose_keys import LOOSE_KEYS, orphans
from fireline.store.migrate import downgrade, upgrade
from fireline.store.models import Base
from fireline.tickets.models import Ticket

if TYPE_CHECKING:
    from conftest import World

HAIL = preset_text("hail")


def line_of(text: str, fragment: str) -> int:
    [number] = [n for n, line in enumerate(text.splitlines(), 1) if fragment in line]
    return number


# -- policy versions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("broken", "fragment", "field"),
    [
        (HAIL.replace("rank: 2", "rank: two", 1), "rank: two", "levels[1].rank"),
        (HAIL.replace("level: P1", "level: P9", 1), "level: P9", "classification.rules[0].level"),
    ],
)
def test_an_invalid_policy_names_line_and_field_and_stores_nothing(
    db: Database, clock: ManualClock, world: World, broken: str, fragment: str, field: str
) -> None:
    with pytest.raises(PolicyInvalid) as refused:
        apply_policy(db, clock, world.admin, "hail", broken, "hail.yaml")

    [problem] = refused.value.problems
    assert (problem.file, problem.line, problem.field) == (
        "hail.yaml",
        line_of(broken, fragment),
        field,
    )
    assert f"hail.yaml:{problem.line}: {field}" in str(refused.value)
    assert [v.version for v in team_versions(db, world.admin, "hail")] == [1]


def test_reapplying_the_same_text_creates_no_version(
    db: Database, clock: ManualClock, world: World
) -> None:
    again = apply_policy(db, clock, world.admin, "hail", HAIL, "hail.yaml")

    assert again.version == 1
    assert [v.version for v in team_versions(db, world.admin, "hail")] == [1]


def test_each_changed_policy_is_the_next_version_and_the_one_in_force(
    db: Database, clock: ManualClock, world: World
) -> None:
    slower = HAIL.replace("response: 3 business days", "response: 5 business days")
    slowest = HAIL.replace("response: 3 business days", "response: 10 business days")

    numbers = [
        apply_policy(db, clock, world.admin, "hail", text, "hail.yaml").version
        for text in (slower, slowest, slowest, HAIL)
    ]

    assert numbers == [2, 3, 3, 4]
    stored = team_versions(db, world.admin, "hail")
    assert [(v.version, v.source, v.created_by_id) for v in stored] == [
        (1, HAIL, None),
        (2, slower, world.admin.user_id),
        (3, slowest, world.admin.user_id),
        (4, HAIL, world.admin.user_id),
    ]
    with db.transaction() as session:
        team_id = stored[0].team_id
        assert policy_in_force(session, team_id).version == 4
    # Other teams keep their own numbering.
    other = team_versions(db, world.admin, "2i2c")
    assert [v.version for v in other] == [1]
    # Several teams in one query: each one's own version in force.
    with db.transaction() as session:
        both = policies_in_force(session, {team_id, other[0].team_id})
        assert {t: p.version for t, p in both.items()} == {team_id: 4, other[0].team_id: 1}
        assert both[team_id] == policy_in_force(session, team_id)
        assert policies_in_force(session, set()) == {}
        bare = create_team(session, clock, world.org_id, "bare", "Bare")
        with pytest.raises(Conflict, match="no policy yet"):
            policies_in_force(session, {team_id, bare.id})


def test_only_an_admin_changes_policies_and_teams(
    db: Database, clock: ManualClock, world: World
) -> None:
    changed = HAIL.replace("response: 3 business days", "response: 5 business days")
    for person in (world.responder, world.viewer):
        with pytest.raises(Forbidden):
            apply_policy(db, clock, person, "hail", changed, "hail.yaml")
        with pytest.raises(Forbidden):
            add_team(db, clock, person, "infra", "Infra", changed, "hail.yaml")
    assert [v.version for v in team_versions(db, world.admin, "hail")] == [1]
    with pytest.raises(NotFound):
        team_versions(db, world.admin, "infra")


def test_a_new_team_starts_with_its_policy_and_an_invalid_one_leaves_no_team(
    db: Database, clock: ManualClock, world: World
) -> None:
    with pytest.raises(PolicyInvalid):
        add_team(db, clock, world.admin, "infra", "Infra", "fireline: 1\n", "infra.yaml")
    with pytest.raises(NotFound):
        team_versions(db, world.admin, "infra")

    add_team(db, clock, world.admin, "infra", "Infra", HAIL, "infra.yaml")
    assert [v.version for v in team_versions(db, world.admin, "infra")] == [1]
    with pytest.raises(Conflict):
        add_team(db, clock, world.admin, "infra", "Infra", HAIL, "infra.yaml")


# -- tokens ----------------------------------------------------------------------------------


def test_a_good_token_authenticates_its_user(db: Database, world: World) -> None:
    actor = authenticate(db, world.tokens["ada"], Via.cli)

    assert (actor.handle, actor.role, actor.via) == ("ada", Role.responder, Via.cli)
    assert (actor.user_id, actor.org_id) == (world.responder.user_id, world.org_id)
    assert authenticate(db, world.tokens["vic"]).role is Role.viewer


@pytest.mark.parametrize(
    "token",
    ["", "not-a-token", "fl_", "fl_definitely-not-issued", "Bearer fl_x"],
)
def test_a_bad_token_is_unauthorized(db: Database, world: World, token: str) -> None:
    with pytest.raises(Unauthorized):
        authenticate(db, token)


def test_a_token_differing_by_one_character_is_unauthorized(db: Database, world: World) -> None:
    good = world.tokens["admin"]
    bad = good[:-1] + ("A" if good[-1] != "A" else "B")

    with pytest.raises(Unauthorized):
        authenticate(db, bad)


def test_tokens_are_stored_only_as_hashes(db: Database, clock: ManualClock, world: World) -> None:
    issued = create_token(db, clock, world.other, "laptop")
    tokens = [*world.tokens.values(), issued.token]

    with db.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT * FROM api_tokens")).mappings().all()
    assert len(rows) == len(tokens)
    stored_text = " ".join(str(value) for row in rows for value in row.values())
    for token in tokens:
        assert token not in stored_text
        assert token[10:] not in stored_text
    digests = {row["token_sha256"] for row in rows}
    assert digests == {hashlib.sha256(t.encode()).hexdigest() for t in tokens}
    assert authenticate(db, issued.token).handle == "grace"


def test_a_new_user_has_no_token_until_one_is_issued(
    db: Database, clock: ManualClock, world: World
) -> None:
    user = create_user(db, clock, world.admin, "linus", "Linus", Role.responder, None, "UTC", None)
    with db.engine.connect() as connection:
        held = connection.execute(
            sa.text("SELECT count(*) FROM api_tokens WHERE user_id = :id"), {"id": user.id}
        ).scalar_one()
    assert held == 0
    with pytest.raises(Forbidden):
        create_user(db, clock, world.responder, "eve", "Eve", Role.admin, None, "UTC", None)


# -- the schema ------------------------------------------------------------------------------


# Alembic cannot compare an index on an expression (SQLite's reflection skips it, PostgreSQL's
# cannot be matched to the model's text); `test_expression_indexes_exist` checks it by name.
EXPRESSION_INDEXES = {"ix_tickets_org_open_next_due"}


# The foreign keys that migrations 0013 and 0016 drop on PostgreSQL only (SQLite would have
# to rebuild the tables): the models no longer declare them (`fireline.store.loose_keys`).
# By table and column: SQLite's key of a ticket's integration has no name.
SQLITE_ONLY_FOREIGN_KEYS = {(key.table, key.column) for key in LOOSE_KEYS}


def _compared_on(dialect: str) -> Callable[..., bool]:
    def compared(obj: object, name: str | None, kind: str, *_: object) -> bool:
        if kind == "index" and name in EXPRESSION_INDEXES:
            return False
        if kind != "foreign_key_constraint" or dialect != "sqlite":
            return True
        assert isinstance(obj, sa.ForeignKeyConstraint)
        return (obj.table.name, *obj.column_keys) not in SQLITE_ONLY_FOREIGN_KEYS

    return compared


def schema_differences(engine: sa.Engine) -> list[object]:
    with engine.connect() as connection, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        compared = _compared_on(connection.dialect.name)
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": compared}
        )
        return list(compare_metadata(context, Base.metadata))


def test_the_loose_foreign_keys_are_gone_on_postgresql_only(db: Database) -> None:
    found = foreign_keys_of_the_loose_tables(db)
    kept = found & SQLITE_ONLY_FOREIGN_KEYS
    assert kept == (SQLITE_ONLY_FOREIGN_KEYS if db.dialect == "sqlite" else set())
    # The other keys of those tables stay: an alert's silence, a ticket's incident.
    assert {("alerts", "silence_id"), ("tickets", "incident_id")} <= found


def foreign_keys_of_the_loose_tables(db: Database) -> set[tuple[str, ...]]:
    """(table, column) of each foreign key on the tables `LOOSE_KEYS` names."""
    with db.engine.connect() as connection:
        return {
            (table, *fk["constrained_columns"])
            for table in {key.table for key in LOOSE_KEYS}
            for fk in sa.inspect(connection).get_foreign_keys(table)
        }


def test_downgrading_0016_gives_postgresql_its_keys_back(pg: Database) -> None:
    restored = {(key.table, key.column) for key in LOOSE_KEYS if key.refers_to != "organisations"}
    pg.dispose()  # no pooled connection may hold the tables the migration alters
    try:
        downgrade(pg.url, "0015")
        pg.dispose()
        assert foreign_keys_of_the_loose_tables(pg) & SQLITE_ONLY_FOREIGN_KEYS == restored
    finally:
        upgrade(pg.url)
        pg.dispose()
    assert foreign_keys_of_the_loose_tables(pg) & SQLITE_ONLY_FOREIGN_KEYS == set()


def test_a_loose_key_is_checked_on_sqlite_and_its_orphan_found_on_postgresql(
    db: Database, world: World
) -> None:
    """SQLite refuses the orphan; on PostgreSQL it goes in, and the check the suite runs
    after each test (`orphans`) finds it."""
    orphan = sa.text(
        "INSERT INTO ticket_comments (ticket_id, body, via, created_at) "
        "VALUES (1000000, 'lost', 'web', :at)"
    )
    at = {"at": datetime(2026, 11, 28, tzinfo=UTC)}
    with db.engine.connect() as connection:
        assert orphans(connection) == []
        if db.dialect == "sqlite":
            with pytest.raises(sa.exc.IntegrityError, match="FOREIGN KEY"):
                connection.execute(orphan, at)
            return
        connection.execute(orphan, at)
        assert orphans(connection) == ["ticket_comments.ticket_id -> tickets: 1"]
        connection.rollback()


def test_expression_indexes_exist(db: Database) -> None:
    catalog = (
        "SELECT name FROM sqlite_master WHERE type = 'index'"
        if db.dialect == "sqlite"
        else "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    )
    with db.engine.connect() as connection:
        names = set(connection.execute(sa.text(catalog)).scalars())
    assert names >= EXPRESSION_INDEXES


def test_the_models_match_the_migrations(db: Database, world: World) -> None:
    """What the models declare is exactly what the migrations built (on this backend)."""
    assert schema_differences(db.engine) == []


def test_migrations_go_down_to_nothing_and_up_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    everything = {t.name for t in Base.metadata.sorted_tables}

    upgrade(url)
    engine = sa.create_engine(url)
    try:
        assert set(sa.inspect(engine).get_table_names()) == everything | {"alembic_version"}
        downgrade(url, "base")
        engine.dispose()
        assert set(sa.inspect(engine).get_table_names()) == {"alembic_version"}
        with engine.connect() as connection:
            triggers = connection.execute(
                sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            ).all()
        assert triggers == []

        upgrade(url)
        engine.dispose()
        assert set(sa.inspect(engine).get_table_names()) == everything | {"alembic_version"}
        assert schema_differences(engine) == []
        with engine.connect() as connection:
            triggers = connection.execute(
                sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
            ).all()
        assert [name for (name,) in triggers] == ["timeline_no_delete", "timeline_no_update"]

        # The comparison is not vacuous: a missing index is a difference.
        with engine.begin() as connection:
            connection.execute(sa.text("DROP INDEX ix_timeline_ticket"))
        assert schema_differences(engine) != []
    finally:
        engine.dispose()


def test_migration_0010_gives_each_alert_ticket_the_integration_of_its_first_alert(
    db: Database, clock: ManualClock, world: World
) -> None:
    created = intake.create_integration(
        db, clock, world.admin, NewIntegration(team="meltano", kind="generic", name="w")
    )
    source = intake.source_for_key(db, created.key, "generic")
    intake.accept_many(db, clock, [(source, generic.parse({"title": "a", "dedup_key": "a"}))])
    db.dispose()  # no pooled connection may hold the tables the migration alters
    try:
        downgrade(db.url, "0009")
        with db.engine.connect() as connection:
            columns = {c["name"] for c in sa.inspect(connection).get_columns("tickets")}
        assert "integration_id" not in columns
    finally:
        upgrade(db.url)
        db.dispose()
    with db.transaction() as session:
        stored = session.execute(sa.select(Ticket.integration_id, Ticket.fingerprint)).all()
    assert stored == [(created.id, "generic:a")]
