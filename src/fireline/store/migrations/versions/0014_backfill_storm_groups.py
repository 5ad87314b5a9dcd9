"""grouped_alerts for storm tickets opened before 0012 and still open

Before 0012 an alert grouped into a storm's ticket left only its alert rows (outcome
`grouped`): its acknowledgement and resolution were dropped, and the storm's first alert
resolving resolved the ticket for all. Each such open ticket gets its group now: every
fingerprint grouped into it, and the ticket's own, each firing unless its latest alert
was a resolve. A fingerprint that has an open ticket of its own stays with that ticket; one grouped
into two open storms' tickets joins the later one's group.
Tickets that already have a group are left as they are.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 07:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each member: a grouped fingerprint, or the ticket's own, of an open ticket with no group
# yet; joined when it first reached the ticket. Both databases read `action <> 'resolve'`
# as their boolean (SQLite's 0 or 1).
BACKFILL = """
INSERT INTO grouped_alerts
    (ticket_id, integration_id, fingerprint, firing, joined_at, resolved_at)
SELECT member.ticket_id, member.integration_id, member.fingerprint,
       latest.action <> 'resolve',
       member.joined_at,
       CASE WHEN latest.action = 'resolve' THEN latest.received_at END
FROM (
    SELECT grouped.ticket_id, grouped.org_id, grouped.integration_id, grouped.fingerprint,
           MIN(grouped.received_at) AS joined_at
    FROM alerts AS grouped
    JOIN tickets AS storm ON storm.id = grouped.ticket_id
    WHERE grouped.outcome = 'grouped' AND storm.is_open
    GROUP BY grouped.ticket_id, grouped.org_id, grouped.integration_id, grouped.fingerprint
    UNION
    SELECT storm.id, storm.org_id, storm.integration_id, storm.fingerprint, storm.created_at
    FROM tickets AS storm
    WHERE storm.is_open AND storm.fingerprint IS NOT NULL AND EXISTS (
        SELECT 1 FROM alerts AS grouped
        WHERE grouped.ticket_id = storm.id AND grouped.outcome = 'grouped'
    )
) AS member
JOIN alerts AS latest ON latest.id = (
    SELECT MAX(last.id) FROM alerts AS last
    WHERE last.org_id = member.org_id
      AND last.fingerprint = member.fingerprint
      AND last.integration_id = member.integration_id
)
WHERE NOT EXISTS (
    SELECT 1 FROM grouped_alerts AS known WHERE known.ticket_id = member.ticket_id
) AND NOT EXISTS (
    SELECT 1 FROM tickets AS own
    WHERE own.is_open
      AND own.integration_id = member.integration_id
      AND own.fingerprint = member.fingerprint
      AND own.id <> member.ticket_id
) AND NOT EXISTS (
    SELECT 1 FROM alerts AS later
    JOIN tickets AS newer ON newer.id = later.ticket_id
    WHERE later.outcome = 'grouped' AND newer.is_open
      AND later.integration_id = member.integration_id
      AND later.fingerprint = member.fingerprint
      AND later.ticket_id > member.ticket_id
)
"""


def upgrade() -> None:
    op.execute(BACKFILL)


def downgrade() -> None:
    pass  # the rows are what 0012's code would have written; they stay
