"""What the engine's steps read about a batch's tickets at once: each page's facts (title,
service, priority, status) and the policy version its ticket was judged under."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from fireline.errors import NotFound
from fireline.orgs.service import policy_of_version
from fireline.tickets.models import Ticket
from fireline.tickets.service import PageFacts


def page_facts_of(session: Session, ticket_ids: Iterable[int]) -> dict[int, PageFacts]:
    """`page_facts` of many tickets: one query for the tickets, one per policy version."""
    wanted = set(ticket_ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(
            Ticket.id,
            Ticket.title,
            Ticket.service,
            Ticket.priority,
            Ticket.status,
            Ticket.policy_version_id,
        ).where(Ticket.id.in_(wanted))
    ).all()
    if len(rows) < len(wanted):
        missing = sorted(wanted - {row.id for row in rows})
        raise NotFound(f"no ticket {missing[0]}")
    judged = {
        version_id: policy_of_version(session, version_id)
        for version_id in {row.policy_version_id for row in rows}
    }
    return {
        row.id: PageFacts(
            row.id, row.title, row.service, row.priority, row.status, judged[row.policy_version_id]
        )
        for row in rows
    }
