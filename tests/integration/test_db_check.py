"""`fireline db check`: the references PostgreSQL leaves to Fireline, checked on demand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from fireline.cli.app import app
from fireline.store.db import Database


def check(monkeypatch: pytest.MonkeyPatch, db: Database) -> tuple[int, str]:
    monkeypatch.setenv("FIRELINE_DATABASE_URL", db.engine.url.render_as_string(False))
    result = CliRunner().invoke(app, ["db", "check"], catch_exceptions=False)
    return result.exit_code, result.stdout


def test_a_database_whose_references_hold_passes(
    monkeypatch: pytest.MonkeyPatch, db: Database
) -> None:
    assert check(monkeypatch, db) == (0, "every reference holds\n")


def test_a_row_that_refers_to_nothing_is_named_and_fails_the_check(
    monkeypatch: pytest.MonkeyPatch, pg: Database
) -> None:
    with pg.engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO ticket_comments (ticket_id, body, via, created_at) "
                "VALUES (424242, 'lost', 'web', :at)"
            ),
            {"at": datetime(2026, 11, 28, tzinfo=UTC)},
        )
    try:
        code, said = check(monkeypatch, pg)
    finally:
        with pg.engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM ticket_comments WHERE ticket_id = 424242"))
    assert (code, said) == (1, "refers to nothing: ticket_comments.ticket_id -> tickets: 1\n")
