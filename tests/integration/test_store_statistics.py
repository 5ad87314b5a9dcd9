"""A storm keeps PostgreSQL's planner statistics current: each doubling of the rows the intake
wrote analyzes the tables at once, rather than a minute later when autovacuum looks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from fireline.intake.service import _OPEN_TICKETS_OF
from fireline.store.db import Database
from fireline.store.statistics import GrowthWatch

if TYPE_CHECKING:
    from conftest import World


def estimated_rows(db: Database, table: str) -> float:
    """What the planner believes: -1 until the table is first analyzed."""
    with db.engine.connect() as connection:
        value = connection.execute(
            text("SELECT reltuples FROM pg_class WHERE relname = :table"), {"table": table}
        ).scalar_one()
    return float(value)


def test_each_doubling_analyzes_once_on_postgresql_only(db: Database) -> None:
    watch = GrowthWatch(db, ("tickets", "alerts"), first=100)
    watch.grew(99)
    watch.wait(30)
    assert watch.analyzed == 0
    watch.grew(1)  # 100 rows: the first threshold
    watch.wait(30)
    expected_runs = 1 if db.dialect == "postgresql" else 0
    assert watch.analyzed == expected_runs
    watch.grew(99)  # 199 < 200, the next threshold
    watch.wait(30)
    assert watch.analyzed == expected_runs
    watch.grew(1)
    watch.wait(30)
    assert watch.analyzed == 2 * expected_runs


def test_a_storm_through_http_leaves_the_tickets_analyzed(
    db: Database, app_client: TestClient, world: World
) -> None:
    on_postgresql = db.dialect == "postgresql"
    if on_postgresql:
        # The tests empty tables by DELETE, which leaves the planner's last estimate; a
        # TRUNCATE of the (empty) tables forgets it.
        with db.engine.begin() as connection:
            connection.execute(text("TRUNCATE tickets, alerts CASCADE"))
        assert estimated_rows(db, "tickets") == -1  # the planner knows nothing
    app_client.headers["Authorization"] = f"Bearer {world.tokens['admin']}"
    created = app_client.post(
        "/api/v1/integrations", json={"team": "meltano", "kind": "generic", "name": "storm"}
    )
    key = created.json()["key"]
    storm = [
        {"title": f"disk {n} full", "service": "hub", "dedup_key": f"d{n}"} for n in range(1000)
    ]
    answer = app_client.post(
        "/api/v1/alerts/generic", json=storm, headers={"Authorization": f"Bearer {key}"}
    )
    assert answer.status_code == 202, answer.text
    watch: GrowthWatch = app_client.app.state.statistics  # type: ignore[attr-defined]
    watch.wait(30)
    assert [o["outcome"] for o in answer.json()["alerts"]] == ["opened"] * 1000
    if not on_postgresql:
        assert watch.analyzed == 0
        return
    assert watch.analyzed == 1
    assert estimated_rows(db, "tickets") == pytest.approx(1000)
    assert estimated_rows(db, "alerts") == pytest.approx(1000)


def test_sqlite_finds_a_batchs_open_tickets_by_the_fingerprint_index(
    sqlite_db: Database,
) -> None:
    """SQLite uses a partial index only when the query names the index's own terms; before
    migration 0009 it read every open ticket of the organisation by another index.
    (PostgreSQL's plan depends on its statistics: see above.)"""
    statement = _OPEN_TICKETS_OF.params(integration_id=1, prints=["generic:a", "generic:b"])
    with sqlite_db.engine.connect() as connection:
        sql = str(statement.compile(connection, compile_kwargs={"literal_binds": True}))
        plan = " ".join(row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    assert "USING INDEX uq_tickets_open_fingerprint" in plan, plan
