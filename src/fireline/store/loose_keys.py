"""References that PostgreSQL does not check on the tables alert intake writes.

Checking a foreign key costs PostgreSQL a lookup and a row lock of the referenced row for
each row inserted: on the intake's tables that was half of its work for each alert taken
in. These references were dropped there (migrations 0013, 0016) and are kept by the code
instead: a ticket's id is written only once the ticket is inserted or found (and locked) in
the same transaction, the other ids are of rows read from the database, and none of the
rows referred to (organisations, teams, policy versions, integrations, tickets) is ever
deleted. SQLite still checks them all (its migrations keep the constraints), and the
test suite looks for orphans on PostgreSQL after every test (`orphans`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class LooseKey:
    table: str
    column: str
    refers_to: str


LOOSE_KEYS = (
    # Migration 0013: an organisation is also its team's, integration's, ticket's.
    LooseKey("tickets", "org_id", "organisations"),
    LooseKey("alerts", "org_id", "organisations"),
    LooseKey("timeline_events", "org_id", "organisations"),
    # Migration 0016: what each alert taken in writes.
    LooseKey("tickets", "team_id", "teams"),
    LooseKey("tickets", "policy_version_id", "policy_versions"),
    LooseKey("tickets", "integration_id", "integrations"),
    LooseKey("alerts", "integration_id", "integrations"),
    LooseKey("alerts", "ticket_id", "tickets"),
    LooseKey("timeline_events", "ticket_id", "tickets"),
    LooseKey("ticket_comments", "ticket_id", "tickets"),
)


def orphans(connection: Connection) -> list[str]:
    """Each loose reference that names a row which does not exist, as
    "table.column -> referred table: count"; empty when all hold."""
    found = []
    for key in LOOSE_KEYS:
        count = connection.execute(
            text(
                f"SELECT count(*) FROM {key.table} AS r WHERE r.{key.column} IS NOT NULL "
                f"AND NOT EXISTS (SELECT 1 FROM {key.refers_to} AS p WHERE p.id = r.{key.column})"
            )
        ).scalar_one()
        if count:
            found.append(f"{key.table}.{key.column} -> {key.refers_to}: {count}")
    return found
